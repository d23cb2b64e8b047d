"""The behaviour every connector shares, tested once over all five manifests instead of a near-copy per connector.

Each connector reads its ``orders`` stream, through its own manifest, from mocked pages of its own API shape: 5xx,
timeouts, malformed JSON, broken pages, rate limits, generic 4xx answers and paging to the advertised total. What
is specific to one API (a vendor's own error body or status semantics) stays in that connector's ``unit_tests``.

One row of ``CONNECTORS`` says how to talk to one API: its source class, a minimal config, the endpoint, which
query parameters page it and what they are on page ``i``, what a page body with some records and a total looks
like, a minimal record, the auth header and the headers that announce a rate-limit reset. Pages hold ``SIZE``
records. Requests are matched on their paging parameters only: the rest of each endpoint's query (date windows,
filters) is asserted exactly by each connector's own tests. A request no mock answers raises requests_mock's
``NoMockAddress`` (a connection error, which the connector retries and then fails on), and every test asserts the
exact sequence of pages requested: a mock that is never used, or one request too many, fails the test.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from airbyte_cdk.models import AirbyteStreamStatus
from airbyte_cdk.sources.declarative import concurrent_declarative_source

from connectors_shared.error_handling import VendorErrorHandler
from connectors_shared.rate_limiting import window_margin
from connectors_shared.testing import error_messages, failure_type, read
from source_leadway import SourceLeadway
from source_openletter import SourceOpenletter
from source_shopline import SourceShopline
from source_textyess import SourceTextyess
from source_wickedreports import SourceWickedreports

SIZE = 2  # records per page: paging is reached with a handful of records
STREAM = "orders"  # every connector has one


def days_ago(days: int) -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=days)


Body = Dict[str, Any]


@dataclass(frozen=True)
class Connector:
    """How to read one connector's ``orders`` stream from mocked pages of its API."""

    name: str
    source: type
    vendor: str  # as the manifest names it in every message
    config: Dict[str, Any]  # page_size SIZE, one date window (where the stream has windows)
    base_url: str
    endpoint: str  # appended to base_url
    page_query: Callable[[int], Dict[str, str]]  # page index (0-based) -> its paging query parameters
    page: Callable[[List[Body], int, int], Body]  # (records, page index, total records) -> the page body
    records_path: Tuple[str, ...]
    record: Callable[[int], Body]  # a minimal valid record whose primary key is str(i)
    key: str  # the primary key field
    error: Callable[[Any], Body]  # the vendor's error body around a message
    attempts: int  # requests before a persistent failure gives up: the manifest's max_retries + 1
    auth_header: Tuple[str, str]  # the header the secret travels in, and its value
    secret: str
    auth_hint: str  # from the manifest's own 401 message: what to do about it
    forbidden_hint: str  # from its 403 message
    throttled: Callable[[int], Dict[str, str]]  # the headers of a 429 asking to wait n seconds
    spent: Callable[[int], Dict[str, str]]  # the headers of a 200 saying no calls remain for n seconds
    calls_left: Dict[str, str]  # the headers of a 200 saying calls remain

    @property
    def paging_keys(self) -> frozenset:
        return frozenset(self.page_query(0)) | frozenset(self.page_query(1))

    def __str__(self) -> str:
        return self.name


def _pages(total: int) -> int:
    return math.ceil(total / SIZE)


WICKED_TOKEN = "wr-secret-key-4f9a"
LEADWAY_TOKEN = "lw-secret-token-7c1e"
TEXTYESS_TOKEN = "ty-secret-jwt-3b7d9e"
OPENLETTER_TOKEN = "olc-secret-token-7c1e"
SHOPLINE_TOKEN = "shopline-secret-token-7c1e"

CONNECTORS = [
    Connector(
        name="wickedreports",
        source=SourceWickedreports,
        vendor="Wicked Reports",
        config={"api_key": WICKED_TOKEN, "start_date": "2024-01-01", "end_date": "2024-01-20", "page_size": SIZE,
                "lookback_days": 0},
        base_url="https://api.wickedreports.com",
        endpoint="/orders",
        # Cursor paging: the first page has no token, each page hands out the next one (on the last page too).
        page_query=lambda i: {"limit": str(SIZE), **({"next": f"p{i}"} if i else {})},
        page=lambda records, i, total: {"status": "success", "results": records, "page": i + 1,
                                        "totalPages": _pages(total), "total": total, "next": f"p{i + 1}"},
        records_path=("results",),
        record=lambda i: {"id": str(i), "date": "2024-01-05T10:00:00.000Z"},
        key="id",
        error=lambda message: {"status": "error", "message": message},
        attempts=6,
        auth_header=("apikey", WICKED_TOKEN),
        secret=WICKED_TOKEN,
        auth_hint="did not accept the API key",
        forbidden_hint="Enable the contacts and orders APIs",
        throttled=lambda seconds: {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(seconds)},
        spent=lambda seconds: {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(seconds)},
        calls_left={"x-ratelimit-remaining": "50", "x-ratelimit-reset": "30"},
    ),
    Connector(
        name="leadway",
        source=SourceLeadway,
        vendor="Leadway",
        # The single location_id config (location_ids, where it exists, is tested by the connector).
        config={"access_token": LEADWAY_TOKEN, "location_id": "loc3SwdhCu3svxI8AKs",
                "start_date": days_ago(10).isoformat(), "page_size": SIZE, "lookback_days": 0},
        base_url="https://services.leadconnectorhq.com",
        endpoint="/payments/orders",
        page_query=lambda i: {"limit": str(SIZE), "offset": str(i * SIZE)},
        page=lambda records, i, total: {"data": records, "totalCount": total},
        records_path=("data",),
        record=lambda i: {"_id": str(i), "createdAt": f"{days_ago(5).isoformat()}T10:23:36.515Z"},
        key="_id",
        error=lambda message: {"message": message, "error": "Error"},  # and statusCode, which no message uses
        attempts=6,
        auth_header=("Authorization", f"Bearer {LEADWAY_TOKEN}"),
        secret=LEADWAY_TOKEN,
        auth_hint="did not accept the access token",
        forbidden_hint="payments/orders.readonly",
        # LeadConnector announces its window's length, not a reset time.
        throttled=lambda seconds: {"X-RateLimit-Max": "100", "X-RateLimit-Remaining": "0",
                                   "X-RateLimit-Interval-Milliseconds": str(seconds * 1000)},
        spent=lambda seconds: {"X-RateLimit-Max": "100", "X-RateLimit-Remaining": "0",
                               "X-RateLimit-Interval-Milliseconds": str(seconds * 1000)},
        calls_left={"X-RateLimit-Max": "100", "X-RateLimit-Remaining": "57",
                    "X-RateLimit-Interval-Milliseconds": "10000"},
    ),
    Connector(
        name="textyess",
        source=SourceTextyess,
        vendor="TextYess",
        config={"api_token": TEXTYESS_TOKEN, "start_date": days_ago(3).isoformat(), "page_size": SIZE,
                "lookback_days": 1},
        base_url="https://api-ai.textyess.com",
        endpoint="/analytics/orders",
        page_query=lambda i: {"perPage": str(SIZE), "page": str(i)},
        page=lambda records, i, total: {"data": records, "pagination": {"total": total, "perPage": SIZE, "page": i}},
        records_path=("data",),
        record=lambda i: {"_id": str(i), "createdAt": f"{days_ago(1).isoformat()}T10:00:00.000Z"},
        key="_id",
        error=lambda message: {"message": message},
        attempts=6,
        auth_header=("x-auth-token", TEXTYESS_TOKEN),
        secret=TEXTYESS_TOKEN,
        auth_hint="did not accept the API token (token has expired)",
        forbidden_hint="refused access to /analytics/orders (not allowed for this account)",
        # A 429 says Retry-After; a 200 says when the window resets, as an epoch.
        throttled=lambda seconds: {"retry-after": str(seconds)},
        spent=lambda seconds: {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + seconds)},
        calls_left={"x-ratelimit-remaining": "40", "x-ratelimit-reset": str(int(time.time()) + 10)},
    ),
    Connector(
        name="openletter",
        source=SourceOpenletter,
        vendor="OpenLetter Connect",
        config={"api_token": OPENLETTER_TOKEN, "page_size": SIZE},
        base_url="https://api.openletterconnect.com/api/v1",
        endpoint="/orders/",
        page_query=lambda i: {"pageSize": str(SIZE), "page": str(i)},
        page=lambda records, i, total: {"message": "Success", "data": {"count": total, "rows": records}},
        records_path=("data", "rows"),
        record=lambda i: {"id": str(i)},
        key="id",
        error=lambda message: {"message": message},
        attempts=6,
        auth_header=("Authorization", f"Bearer {OPENLETTER_TOKEN}"),
        secret=OPENLETTER_TOKEN,
        auth_hint="did not accept the API token (token has expired)",
        forbidden_hint="allowed to list orders, contacts and templates",
        throttled=lambda seconds: {"x-ratelimit-reset": str(seconds)},
        spent=lambda seconds: {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(seconds)},
        calls_left={"x-ratelimit-remaining": "50", "x-ratelimit-reset": "10"},
    ),
    Connector(
        name="shopline",
        source=SourceShopline,
        vendor="SHOPLINE",
        config={"access_token": SHOPLINE_TOKEN, "start_date": days_ago(3).isoformat(), "page_size": SIZE,
                "lookback_days": 0},
        base_url="https://open.shopline.io",
        endpoint="/v1/orders",
        page_query=lambda i: {"per_page": str(SIZE), "page": str(i + 1)},
        page=lambda records, i, total: {"items": records, "pagination": {
            "current_page": i + 1, "per_page": SIZE, "total_pages": _pages(total), "total_count": total}},
        records_path=("items",),
        record=lambda i: {"id": str(i), "updated_at": f"{days_ago(1).isoformat()}T10:00:00.000Z"},
        key="id",
        error=lambda message: {"error": message, "code": "Error"},
        attempts=7,
        auth_header=("Authorization", f"Bearer {SHOPLINE_TOKEN}"),
        secret=SHOPLINE_TOKEN,
        auth_hint="did not accept the access token",
        forbidden_hint="lacks the permission",
        throttled=lambda seconds: {"Retry-After": str(seconds)},
        spent=lambda seconds: {"X-RateLimit-Remaining": "0", "Retry-After": str(seconds)},
        calls_left={"X-RateLimit-Remaining": "15"},
    ),
]

every_connector = pytest.mark.parametrize("api", CONNECTORS, ids=str)


@pytest.fixture(scope="module", autouse=True)
def component_schema_parsed_once():
    """Parse the CDK's component schema once for this module instead of once per source built.

    Every source built parses the CDK's 150 KB ``declarative_component_schema.yaml`` to validate its manifest: about
    0.13 s of the 0.18 s a mocked read takes. The schema is only read (validation), never changed, so one parse
    serves every read here; each test still builds its own source from its own manifest.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(concurrent_declarative_source, "get_declarative_component_schema",
                      functools.lru_cache(maxsize=None)(concurrent_declarative_source.get_declarative_component_schema))
        yield


def test_the_table_has_one_row_per_connector():
    folders = {path.name[len("source-"):] for path in Path(__file__).resolve().parents[2].glob("source-*")
               if (path / "pyproject.toml").exists()}
    assert {row.name for row in CONNECTORS} == folders


# --- helpers ---------------------------------------------------------------------------------------------------


def records(api: Connector, first: int, last: int, **extra: Any) -> List[Body]:
    return [{**api.record(i), **extra} for i in range(first, last + 1)]


def answer(api: Connector, index: int, rows: List[Body], total: int, **response: Any) -> Dict[str, Any]:
    """A 200 answer for page ``index`` holding ``rows`` of ``total`` records."""
    return {"status_code": 200, "json": api.page(rows, index, total), **response}


def on_page(requests_mock, api: Connector, index: int, responses: Sequence[Mapping[str, Any]],
            base_url: Optional[str] = None) -> None:
    """Answer page ``index`` (matched on its paging parameters) with ``responses``, in order, the last one repeated."""
    expected = api.page_query(index)

    def matches(request) -> bool:
        return paging_of(api, request.url) == expected

    requests_mock.get((base_url or api.base_url) + api.endpoint, list(responses), additional_matcher=matches)


def paging_of(api: Connector, url: str) -> Dict[str, str]:
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    return {key: values[0] for key, values in query.items() if key in api.paging_keys}


def pages_requested(requests_mock, api: Connector) -> List[Optional[int]]:
    """The index of the page each request asked for, in order (``None`` for a request of no page we know)."""
    queries = {tuple(sorted(api.page_query(i).items())): i for i in range(10)}
    return [queries.get(tuple(sorted(paging_of(api, request.url).items())))
            for request in requests_mock.request_history]


def ids(api: Connector, output) -> List[str]:
    return [message.record.data[api.key] for message in output.records]


def broken_page(api: Connector, value: Any) -> Body:
    """A page whose records path holds ``value`` instead of a list of records."""
    body = api.page([api.record(1)], 0, 1)
    holder = body
    for key in api.records_path[:-1]:
        holder = holder[key]
    holder[api.records_path[-1]] = value
    return body


def assert_stream_failed_loudly(api: Connector, output, *fragments: str) -> None:
    """No records, an error naming the vendor, the stream and ``fragments``, and a stream that did not complete."""
    assert ids(api, output) == []
    said = error_messages(output)
    assert api.vendor in said and f"did not sync successfully: {STREAM}" in said
    for fragment in fragments:
        assert fragment in said
    statuses = [status.name for status in output.get_stream_statuses(STREAM)]
    assert statuses[-1] == AirbyteStreamStatus.INCOMPLETE.name  # not an empty success


# --- 5xx and timeouts ------------------------------------------------------------------------------------------


@every_connector
def test_given_5xx_then_a_page_when_read_then_one_retry_and_every_record(api, requests_mock, no_waiting):
    on_page(requests_mock, api, 0, [{"status_code": 502, "text": "<html>Bad gateway</html>"},
                                    answer(api, 0, records(api, 1, 2), 2)])
    output = read(api.source, api.config, STREAM)
    assert ids(api, output) == ["1", "2"] and not output.errors
    assert pages_requested(requests_mock, api) == [0, 0]
    assert len(no_waiting.seconds) == 1


@every_connector
def test_given_5xx_every_time_when_read_then_bounded_retries_with_growing_backoff_then_a_clear_error(
    api, requests_mock, no_waiting
):
    on_page(requests_mock, api, 0, [{"status_code": 503, "json": api.error("down for maintenance")}])
    output = read(api.source, api.config, STREAM)
    assert pages_requested(requests_mock, api) == [0] * api.attempts
    assert_stream_failed_loudly(api, output, "HTTP 503", "down for maintenance")
    assert failure_type(output) == "transient_error"
    waits = no_waiting.seconds
    assert len(waits) == api.attempts - 1 and waits == sorted(waits) and waits[0] < waits[-1]


@every_connector
def test_given_timeouts_and_a_dropped_connection_then_a_page_when_read_then_retried_and_every_record(
    api, requests_mock, no_waiting
):
    on_page(requests_mock, api, 0, [{"exc": requests.exceptions.ReadTimeout},
                                    {"exc": requests.exceptions.ConnectTimeout},
                                    {"exc": requests.exceptions.ConnectionError},
                                    answer(api, 0, records(api, 1, 2), 2)])
    output = read(api.source, api.config, STREAM)
    assert ids(api, output) == ["1", "2"] and not output.errors
    assert pages_requested(requests_mock, api) == [0, 0, 0, 0]


# --- malformed bodies and the page contract ---------------------------------------------------------------------


@every_connector
def test_given_truncated_json_then_a_page_when_read_then_retried_instead_of_skipping_the_page(
    api, requests_mock, no_waiting
):
    truncated = json.dumps(api.page([api.record(1)], 0, 2))[:40]  # as a proxy cuts a body short
    on_page(requests_mock, api, 0, [{"status_code": 200, "text": truncated}, answer(api, 0, records(api, 1, 2), 2)])
    output = read(api.source, api.config, STREAM)
    assert ids(api, output) == ["1", "2"] and not output.errors
    assert pages_requested(requests_mock, api) == [0, 0]


@every_connector
def test_given_malformed_json_every_time_when_read_then_fails_loudly_not_as_an_empty_page(
    api, requests_mock, no_waiting
):
    on_page(requests_mock, api, 0, [{"status_code": 200, "text": "<html>502 proxy error</html>"}])
    output = read(api.source, api.config, STREAM)
    assert pages_requested(requests_mock, api) == [0] * api.attempts
    assert_stream_failed_loudly(api, output, "not valid JSON", api.endpoint)


@every_connector
def test_given_no_list_of_records_at_the_records_path_when_read_then_the_stream_fails(api, requests_mock, no_waiting):
    # What else may stand there (null, a missing field, a list of strings) is PageContract's, tested on its own.
    on_page(requests_mock, api, 0, [{"status_code": 200, "json": broken_page(api, {"id": "1"})}])
    output = read(api.source, api.config, STREAM)
    assert pages_requested(requests_mock, api) == [0] * api.attempts
    path = ".".join(api.records_path)
    assert_stream_failed_loudly(api, output, f"(stream {STREAM})", f"no list of records at '{path}' (a dict)")


@every_connector
def test_given_a_short_page_before_the_advertised_total_when_read_then_the_stream_fails(api, requests_mock, no_waiting):
    on_page(requests_mock, api, 0, [answer(api, 0, records(api, 1, 1), 5)])
    output = read(api.source, api.config, STREAM)
    assert pages_requested(requests_mock, api) == [0] * api.attempts
    assert_stream_failed_loudly(api, output, f"(stream {STREAM})", "a short page: 1 records where 2 were asked for")


@every_connector
def test_given_a_field_the_schema_does_not_know_when_read_then_it_is_still_emitted(api, requests_mock, no_waiting):
    surprise = {"added_by_the_vendor": {"nested": [1, "two"], "flag": True}}
    on_page(requests_mock, api, 0, [answer(api, 0, records(api, 1, 1, **surprise), 1)])
    output = read(api.source, api.config, STREAM)
    assert [message.record.data["added_by_the_vendor"] for message in output.records] == [
        surprise["added_by_the_vendor"]
    ]


# --- paging -----------------------------------------------------------------------------------------------------


@every_connector
def test_given_full_pages_up_to_the_total_when_read_then_pages_to_the_end_and_not_one_request_past_it(
    api, requests_mock, no_waiting
):
    # 6 records in 3 full pages: only the advertised total says the third page is the last.
    on_page(requests_mock, api, 0, [answer(api, 0, records(api, 1, 2), 6)])  # no rate-limit headers at all
    on_page(requests_mock, api, 1, [answer(api, 1, records(api, 3, 4), 6, headers=api.calls_left)])
    on_page(requests_mock, api, 2, [answer(api, 2, records(api, 5, 6), 6, headers=api.calls_left)])
    output = read(api.source, api.config, STREAM)
    assert ids(api, output) == ["1", "2", "3", "4", "5", "6"] and not output.errors
    assert pages_requested(requests_mock, api) == [0, 1, 2]
    assert no_waiting.seconds == []  # neither silence nor calls remaining is a reason to pause
    assert all(request.headers.get(api.auth_header[0]) == api.auth_header[1]
               for request in requests_mock.request_history)


# --- rate limits ------------------------------------------------------------------------------------------------


@every_connector
def test_given_429_announcing_a_reset_when_read_then_waits_that_long_and_retries(api, requests_mock, no_waiting):
    throttled = {"status_code": 429, "json": api.error("Too many requests"), "headers": api.throttled(7)}
    on_page(requests_mock, api, 0, [throttled, answer(api, 0, records(api, 1, 2), 2)])
    output = read(api.source, api.config, STREAM)
    assert ids(api, output) == ["1", "2"] and not output.errors
    assert pages_requested(requests_mock, api) == [0, 0]
    # The announced 7 s (the CDK adds a second to a strategy's answer), not an exponential backoff's 2 s.
    assert any(6.5 <= seconds <= 8 for seconds in no_waiting.seconds)


@every_connector
def test_given_429_without_headers_every_time_when_read_then_backs_off_a_bounded_number_of_times_then_fails(
    api, requests_mock, no_waiting
):
    on_page(requests_mock, api, 0, [{"status_code": 429, "json": api.error("Too many requests")}])
    output = read(api.source, api.config, STREAM)
    assert pages_requested(requests_mock, api) == [0] * api.attempts
    assert_stream_failed_loudly(api, output, "kept answering 429")
    assert failure_type(output) == "transient_error"
    assert len(no_waiting.seconds) >= api.attempts - 1  # a pause before every retry


@every_connector
def test_given_no_calls_remaining_when_the_next_page_is_due_then_paces_until_the_reset_without_a_429(
    api, requests_mock, no_waiting
):
    # 30 s: longer than any manifest's declared window but Wicked Reports' (60 s), the wait when no reset is sent.
    on_page(requests_mock, api, 0, [answer(api, 0, records(api, 1, 2), 3, headers=api.spent(30))])
    on_page(requests_mock, api, 1, [answer(api, 1, records(api, 3, 3), 3)])
    output = read(api.source, api.config, STREAM)
    assert ids(api, output) == ["1", "2", "3"] and not output.errors
    assert pages_requested(requests_mock, api) == [0, 1]
    waits = no_waiting.seconds
    # An epoch reset (TextYess) loses the time the read took; a window's length (Leadway) counts from the first call
    # of the window and adds the margin for network jitter.
    assert len(waits) == 1 and 27 <= waits[0] <= 30 + window_margin(30)


# --- errors that are the configuration's, not the API's ---------------------------------------------------------


@every_connector
def test_given_401_when_read_then_config_error_saying_what_to_do_at_once_and_the_secret_only_in_its_header(
    api, requests_mock, no_waiting
):
    on_page(requests_mock, api, 0, [{"status_code": 401, "json": api.error("token has expired")}])
    output = read(api.source, api.config, STREAM)
    assert pages_requested(requests_mock, api) == [0]
    assert failure_type(output) == "config_error"
    said = error_messages(output)
    assert api.vendor in said and "token has expired" in said and api.auth_hint in said
    sent = requests_mock.last_request
    assert sent.headers[api.auth_header[0]] == api.auth_header[1]
    assert api.secret not in sent.url
    assert api.secret not in "\n".join(str(message) for message in output.get_message_iterator())


@every_connector
def test_given_403_when_read_then_config_error_saying_what_to_do_at_once(api, requests_mock, no_waiting):
    on_page(requests_mock, api, 0, [{"status_code": 403, "json": api.error("not allowed for this account")}])
    output = read(api.source, api.config, STREAM)
    assert pages_requested(requests_mock, api) == [0]
    assert failure_type(output) == "config_error"
    said = error_messages(output)
    assert api.vendor in said and "not allowed for this account" in said and api.forbidden_hint in said


@every_connector
def test_given_404_when_read_then_config_error_naming_the_path_and_base_url(api, requests_mock, no_waiting):
    base = "http://proxy.local/wrong"
    on_page(requests_mock, api, 0, [{"status_code": 404, "text": "Not Found"}], base_url=base)
    output = read(api.source, {**api.config, "base_url": base}, STREAM)
    assert pages_requested(requests_mock, api) == [0]
    assert failure_type(output) == "config_error"
    said = error_messages(output)
    assert "base_url" in said and f"/wrong{api.endpoint}" in said


@every_connector
def test_given_a_rejected_request_when_read_then_config_error_quoting_every_vendor_message(
    api, requests_mock, no_waiting
):
    # 400 is answered exactly as 422: test_400_and_422_are_one_answer below.
    messages = ["from must be a date", "sort is invalid"]
    on_page(requests_mock, api, 0, [{"status_code": 422, "json": api.error(messages)}])
    output = read(api.source, api.config, STREAM)
    assert pages_requested(requests_mock, api) == [0]
    assert failure_type(output) == "config_error"
    assert "from must be a date; sort is invalid" in error_messages(output)


@pytest.mark.parametrize("status", [400, 422])
def test_400_and_422_are_one_answer(status):
    handler = VendorErrorHandler(config={}, parameters={"name": STREAM}, vendor="Acme",
                                 invalid_request_error_message="{vendor} rejected it (HTTP {status}: {message})")
    response = requests.Response()
    response.status_code, response._content = status, b'{"message": ["perPage must be a number", "page is required"]}'
    response.request = requests.Request("GET", "https://api.example.com/orders?page=0").prepare()
    resolution = handler.interpret_response(response)
    assert resolution.response_action.name == "FAIL" and resolution.failure_type.value == "config_error"
    assert resolution.error_message == (
        f"Acme rejected it (HTTP {status}: perPage must be a number; page is required)"
    )
