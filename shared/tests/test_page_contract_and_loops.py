"""The page contract (records list, no short page before the total), paging-loop guards and bounded waits."""

from __future__ import annotations

import json

import pytest
import requests
from airbyte_cdk.sources.types import Record
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared.error_handling import PageContract, RateLimitAwareBackoff, VendorErrorHandler
from connectors_shared.pagination import CursorPaginationWithoutLoops, OffsetToTotal, PageNumberToTotal


def answer(body, url="https://api.example.com/orders", status=200, headers=None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.url = url
    response.headers.update(headers or {})
    response.request = requests.Request("GET", url).prepare()
    return response


WICKED = PageContract(records_path=["results"], total_path=["totalPages"], page_path=["page"], page_size_param="limit")
LEADWAY = PageContract(records_path=["data"], total_path=["totalCount"], offset_param="offset", page_size_param="limit")
OPENLETTER = PageContract(records_path=["data", "rows"], total_path=["data", "count"], page_param="page",
                          page_size_param="pageSize")
SHOPLINE = PageContract(records_path=["items"], total_path=["pagination", "total_pages"], total_counts="pages",
                        page_param="page", start_from_page=1, page_size_param="per_page")


@pytest.mark.parametrize(
    "contract, body, query, problem",
    [
        (WICKED, {"status": "success"}, "limit=2", "no list of records at 'results' (no such field)"),
        (WICKED, {"results": None}, "limit=2", "no list of records at 'results' (nothing)"),
        (WICKED, {"results": {"id": 1}}, "limit=2", "no list of records at 'results' (a dict)"),
        (OPENLETTER, {"data": {"count": 3}}, "page=0&pageSize=2", "no list of records at 'data.rows' (nothing)"),
        (WICKED, {"results": [{"id": 1}], "page": 1, "totalPages": 3}, "limit=2", "a short page: 1 records"),
        (WICKED, {"results": [{"id": 1}], "page": 3, "totalPages": 3}, "limit=2", None),
        (WICKED, {"results": [], "page": 1, "totalPages": 0}, "limit=2", None),
        (LEADWAY, {"data": [], "totalCount": 250}, "offset=100&limit=100", "a short page: 0 records"),
        (LEADWAY, {"data": [{"id": 1}] * 50, "totalCount": 250}, "offset=200&limit=100", None),
        (LEADWAY, {"data": [{"id": 1}], "totalCount": 0}, "offset=0&limit=100", None),  # a total of 0 proves nothing
        (OPENLETTER, {"data": {"rows": [{"id": 1}], "count": 5}}, "page=1&pageSize=2", "a short page"),
        (OPENLETTER, {"data": {"rows": [{"id": 1}], "count": 5}}, "page=2&pageSize=2", None),
        (SHOPLINE, {"items": [], "pagination": {"total_pages": 4}}, "page=2&per_page=50", "a short page"),
        (SHOPLINE, {"items": [{"id": 1}], "pagination": {"total_pages": 4}}, "page=4&per_page=50", None),
        (SHOPLINE, {"items": [{"id": 1}]}, "limit=50", None),  # keyset pages advertise no total
    ],
)
def test_the_page_contract(contract, body, query, problem):
    found = contract.problem(answer(body, f"https://api.example.com/x?{query}"), body)
    assert (found is None) if problem is None else (found is not None and found.startswith(problem))


def test_a_broken_page_is_retried_with_a_message_naming_vendor_stream_and_path():
    handler = VendorErrorHandler(config={}, parameters={"name": "orders"}, vendor="Wicked Reports",
                                 records_path=["results"])
    resolution = handler.interpret_response(answer({"status": "success"}, "https://api.example.com/orders?limit=5"))
    assert resolution.response_action.name == "RETRY"
    assert "Wicked Reports" in resolution.error_message and "stream orders" in resolution.error_message
    assert "/orders" in resolution.error_message and "'results'" in resolution.error_message


def record(data) -> Record:
    return Record(data=data, stream_name="orders", associated_slice=None)


def test_a_repeated_next_token_fails_the_partition():
    strategy = CursorPaginationWithoutLoops(cursor_value="{{ response.get('next') }}", config={},
                                            parameters={"name": "orders"}, vendor="Wicked Reports")
    body = {"results": [{"id": 1}], "next": "abc"}
    assert strategy.next_page_token(answer(body), 1, record({"id": 1}), None) == "abc"
    with pytest.raises(AirbyteTracedException, match="same next-page token twice"):
        strategy.next_page_token(answer(body), 1, record({"id": 2}), "abc")


def test_a_page_repeating_the_last_record_fails_the_partition():
    strategy = OffsetToTotal(config={}, page_size=2, parameters={"name": "orders"}, total_path=[], vendor="Leadway")
    body = {"data": [{"id": 1}, {"id": 2}]}
    assert strategy.next_page_token(answer(body), 2, record({"id": 2}), None) == 2
    with pytest.raises(AirbyteTracedException, match="same record as the page before") as raised:
        strategy.next_page_token(answer(body), 2, record({"id": 2}), 2)
    assert "Leadway" in raised.value.message and "stream orders" in raised.value.message


def test_full_pages_far_beyond_the_total_fail_the_partition():
    strategy = PageNumberToTotal(config={}, page_size=10, parameters={"name": "orders"}, total_path=["total"],
                                 vendor="TextYess")
    token = None
    with pytest.raises(AirbyteTracedException, match="pages read where the advertised total allows"):
        for page in range(100):
            token = strategy.next_page_token(answer({"total": 25}), 10, record({"id": page}), token)
    assert page < 10


def test_a_new_partition_starts_counting_again():
    strategy = PageNumberToTotal(config={}, page_size=10, parameters={}, total_path=["total"])
    for _ in range(3):  # three partitions, each three pages of a total of 30
        token = None
        for page in range(3):
            token = strategy.next_page_token(answer({"total": 30}), 10, record({"id": page}), token)
        assert token is None


def test_a_retry_after_longer_than_the_maximum_fails_at_once_saying_what_was_asked():
    backoff = RateLimitAwareBackoff(vendor="TextYess", max_wait_seconds=600)
    with pytest.raises(AirbyteTracedException) as raised:
        backoff.backoff_time(answer({}, status=429, headers={"Retry-After": "100000"}), 1)
    assert "27.8 hours" in raised.value.message and "Retry-After: 100000" in raised.value.message


def test_a_retry_after_within_the_maximum_is_waited_for():
    backoff = RateLimitAwareBackoff(vendor="TextYess", max_wait_seconds=600)
    # The CDK adds a second to what a strategy answers.
    assert backoff.backoff_time(answer({}, status=429, headers={"Retry-After": "30"}), 1) == 29


def test_an_unreachable_host_stops_after_a_few_attempts_naming_it():
    backoff = RateLimitAwareBackoff(vendor="Leadway")
    error = requests.exceptions.ConnectionError("refused", request=requests.Request("GET", "http://10.0.0.1:81/x").prepare())
    assert backoff.backoff_time(error, 1) == 1.0
    with pytest.raises(AirbyteTracedException) as raised:
        backoff.backoff_time(error, 4)
    assert "http://10.0.0.1:81" in raised.value.message and "base_url" in raised.value.message
    assert raised.value.failure_type.value == "config_error"


def test_retries_are_logged_for_what_they_are(caplog):
    backoff = RateLimitAwareBackoff(vendor="Leadway")
    timeout = requests.exceptions.ReadTimeout("slow", request=requests.Request("GET", "http://x/orders").prepare())
    backoff.backoff_time(timeout, 2)
    backoff.backoff_time(answer({}, status=503), 3)
    messages = [r.message for r in caplog.records]
    assert "Leadway: a timeout for /orders (attempt 2 of 4); retrying in 4.0 s." in messages
    assert any("HTTP 503" in m for m in messages)
    assert not any("Rate limit" in m or "rate limited" in m for m in messages)


def test_a_record_that_is_not_an_object_breaks_the_contract():
    body = {"results": [{"id": 1}, "oops"]}
    found = WICKED.problem(answer(body, "https://api.example.com/x?limit=2"), body)
    assert found == "a record that is not a JSON object at 'results'[1] (str)"


def test_a_request_timing_out_through_its_attempts_stops_the_whole_sync(monkeypatch):
    from connectors_shared import sync_stop

    monkeypatch.setattr(sync_stop, "_requested", __import__("threading").Event())
    backoff = RateLimitAwareBackoff(vendor="Leadway")
    timeout = requests.exceptions.ReadTimeout("slow", request=requests.Request("GET", "http://x/orders").prepare())
    backoff.backoff_time(timeout, 3)
    assert not sync_stop.requested()
    with pytest.raises(AirbyteTracedException, match="did not answer /orders in time, 4 times in a row"):
        backoff.backoff_time(timeout, 4)
    assert sync_stop.requested()


def test_a_wait_longer_than_the_maximum_stops_the_whole_sync(monkeypatch):
    from connectors_shared import sync_stop

    monkeypatch.setattr(sync_stop, "_requested", __import__("threading").Event())
    with pytest.raises(AirbyteTracedException):
        RateLimitAwareBackoff(max_wait_seconds=10).backoff_time(answer({}, status=429, headers={"Retry-After": "11"}), 1)
    assert sync_stop.requested()
