"""Errors, retries and rate limiting: what happens when the API does not answer 200 with a clean page."""

import requests

from builders import ACCESS_TOKEN, START, TODAY, LeadwayRequest, config, error, order, page
from connectors_shared.testing import error_messages, failure_type, read
from source_leadway import SourceLeadway

ORDERS = LeadwayRequest.orders().window(START, TODAY).url
OK = {"json": page([order("o1")]), "status_code": 200}
RATE_HEADERS = {"X-RateLimit-Max": "100", "X-RateLimit-Interval-Milliseconds": "10000"}


def ids(output):
    return [message.record.data["_id"] for message in output.records]


def test_given_page_size_above_the_api_limit_when_read_then_config_error_naming_the_limit(requests_mock, no_waiting):
    requests_mock.get(LeadwayRequest.orders().window(START, TODAY).page(0, 500).url, status_code=422, complete_qs=True,
                      json=error(422, ["limit must not be greater than 100"], "Unprocessable Entity"))
    output = read(SourceLeadway, config(page_size=500), "orders")
    assert ids(output) == []
    assert "refused page_size 500: limit must not be greater than 100" in error_messages(output)
    assert failure_type(output) == "config_error"
    assert requests_mock.call_count == 1


def test_given_422_with_a_message_list_when_read_then_every_message_is_shown(requests_mock, no_waiting):
    messages = ["startAt must be a valid ISO 8601 date string", "endAt must be a valid ISO 8601 date string",
                "altType must be one of the following values: location"]
    requests_mock.get(ORDERS, status_code=422, json=error(422, messages, "Unprocessable Entity"), complete_qs=True)
    output = read(SourceLeadway, config(), "orders")
    assert "; ".join(messages) in error_messages(output)
    assert failure_type(output) == "config_error"
    assert requests_mock.call_count == 1


def test_given_401_during_read_when_read_then_config_error_and_no_retry(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=401, complete_qs=True,
                      json=error(401, "Invalid token: access token is invalid", "Unauthorized"))
    output = read(SourceLeadway, config(), "orders")
    assert "did not accept the access token" in error_messages(output)
    assert failure_type(output) == "config_error"
    assert requests_mock.call_count == 1


def test_given_403_on_one_stream_when_read_then_config_error_naming_the_missing_scope(requests_mock, no_waiting):
    requests_mock.get(LeadwayRequest.coupons().url, status_code=403, complete_qs=True,
                      json=error(403, "The token is not authorized for this scope.", "Forbidden"))
    output = read(SourceLeadway, config(), "coupons")
    assert "The token is not authorized for this scope." in error_messages(output)
    assert "payments/coupons.readonly" in error_messages(output)
    assert failure_type(output) == "config_error"


def test_given_404_when_read_then_config_error_pointing_at_base_url(requests_mock, no_waiting):
    base = "http://proxy.local/wrong"
    requests_mock.get(LeadwayRequest.orders(base_url=base).window(START, TODAY).url, status_code=404,
                      json=error(404, "Cannot GET /wrong/payments/orders", "Not Found"), complete_qs=True)
    output = read(SourceLeadway, config(base_url=base), "orders")
    assert "base_url" in error_messages(output) and "/wrong/payments/orders" in error_messages(output)
    assert failure_type(output) == "config_error"
    assert requests_mock.call_count == 1


def test_given_429_with_interval_header_when_read_then_waits_for_the_window_and_retries(requests_mock, no_waiting):
    throttled = {"status_code": 429, "json": error(429, "Too many requests"),
                 "headers": {**RATE_HEADERS, "X-RateLimit-Remaining": "0"}}
    requests_mock.get(ORDERS, [throttled, OK], complete_qs=True)
    output = read(SourceLeadway, config(), "orders")
    assert ids(output) == ["o1"] and not output.errors
    assert requests_mock.call_count == 2
    assert 10 in [round(seconds) for seconds in no_waiting.seconds]


def test_given_no_calls_remaining_when_next_request_then_paces_for_the_interval_without_a_429(
    requests_mock, no_waiting
):
    request = LeadwayRequest.orders().window(START, TODAY)
    requests_mock.get(request.page(0, 1).url, json=page([order("o1")], total=2), complete_qs=True,
                      headers={**RATE_HEADERS, "X-RateLimit-Remaining": "0"})
    requests_mock.get(request.page(1, 1).url, json=page([order("o2")], total=2), complete_qs=True,
                      headers={**RATE_HEADERS, "X-RateLimit-Remaining": "99"})
    output = read(SourceLeadway, config(page_size=1), "orders")
    assert ids(output) == ["o1", "o2"]
    assert requests_mock.call_count == 2
    assert [round(seconds) for seconds in no_waiting.seconds] == [10]


def test_given_remaining_calls_when_read_then_never_waits(requests_mock, no_waiting):
    requests_mock.get(ORDERS, json=page([order("o1")]), headers={**RATE_HEADERS, "X-RateLimit-Remaining": "57"},
                      complete_qs=True)
    read(SourceLeadway, config(), "orders")
    assert no_waiting.seconds == []


def test_given_5xx_then_success_when_read_then_retries(requests_mock, no_waiting):
    requests_mock.get(ORDERS, [{"status_code": 502, "text": "bad gateway"}, {"status_code": 500, "json": {}}, OK],
                      complete_qs=True)
    output = read(SourceLeadway, config(), "orders")
    assert ids(output) == ["o1"] and not output.errors
    assert requests_mock.call_count == 3


def test_given_persistent_5xx_when_read_then_gives_up_after_bounded_tries_with_clear_error(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=503, json=error(503, "maintenance"), complete_qs=True)
    output = read(SourceLeadway, config(), "orders")
    assert requests_mock.call_count == 6  # the first try and 5 retries
    assert "HTTP 503" in error_messages(output) and "maintenance" in error_messages(output)
    assert failure_type(output) == "transient_error"


def test_given_timeout_then_success_when_read_then_retries(requests_mock, no_waiting):
    requests_mock.get(ORDERS, [{"exc": requests.exceptions.ReadTimeout}, {"exc": requests.exceptions.ConnectTimeout},
                               OK], complete_qs=True)
    output = read(SourceLeadway, config(), "orders")
    assert ids(output) == ["o1"] and not output.errors
    assert requests_mock.call_count == 3


def test_given_malformed_json_then_valid_when_read_then_retries_instead_of_skipping_the_page(requests_mock, no_waiting):
    requests_mock.get(ORDERS, [{"status_code": 200, "text": '{"data": [{"_id"'}, OK], complete_qs=True)
    output = read(SourceLeadway, config(), "orders")
    assert ids(output) == ["o1"] and not output.errors
    assert requests_mock.call_count == 2


def test_given_always_malformed_json_when_read_then_fails_loudly(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=200, text="<html>gateway</html>", complete_qs=True)
    output = read(SourceLeadway, config(), "orders")
    assert ids(output) == []
    assert "not valid JSON" in error_messages(output)


def test_the_token_travels_in_the_header_and_never_in_urls(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=401, json=error(401, "Invalid token"), complete_qs=True)
    output = read(SourceLeadway, config(), "orders")
    assert output.errors
    assert requests_mock.last_request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert all(ACCESS_TOKEN not in request.url for request in requests_mock.request_history)
    assert ACCESS_TOKEN not in error_messages(output)
