"""Errors, retries and rate limiting: what happens when the API does not answer 200 with a clean page."""

import requests

from builders import API_KEY, WickedRequest, config, error, order, page
from connectors_shared.testing import error_messages, read
from source_wickedreports import SourceWickedreports

ORDERS = WickedRequest.orders().window("2024-01-01", "2024-01-20").url
OK = {"json": page([order("1")]), "status_code": 200}


def ids(output):
    return [message.record.data["id"] for message in output.records]


def test_given_429_with_reset_header_when_read_then_waits_for_reset_and_retries(requests_mock, no_waiting):
    throttled = {"status_code": 429, "json": error("Too many requests"),
                 "headers": {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "7"}}
    requests_mock.get(ORDERS, [throttled, OK], complete_qs=True)
    output = read(SourceWickedreports, config(), "orders")
    assert ids(output) == ["1"]
    assert requests_mock.call_count == 2
    assert 7 in [round(seconds) for seconds in no_waiting.seconds]


def test_given_no_calls_remaining_when_next_request_then_paces_until_reset_without_a_429(requests_mock, no_waiting):
    # Full pages (limit 1): a page 1 of 2 shorter than the limit would be a broken page, retried.
    first = WickedRequest.orders().window("2024-01-01", "2024-01-20").limit(1)
    requests_mock.get(first.url, json=page([order("1")], 1, 2, next_token="h2"),
                      headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "12"}, complete_qs=True)
    requests_mock.get(first.next("h2").url, json=page([order("2")], 2, 2), complete_qs=True)
    output = read(SourceWickedreports, config(page_size=1), "orders")
    assert ids(output) == ["1", "2"]
    assert requests_mock.call_count == 2
    assert [round(seconds) for seconds in no_waiting.seconds] == [12]


def test_given_remaining_calls_when_read_then_never_waits(requests_mock, no_waiting):
    requests_mock.get(ORDERS, json=page([order("1")]), headers={"x-ratelimit-remaining": "50", "x-ratelimit-reset": "30"},
                      complete_qs=True)
    read(SourceWickedreports, config(), "orders")
    assert no_waiting.seconds == []


def test_given_5xx_then_success_when_read_then_retries(requests_mock, no_waiting):
    requests_mock.get(ORDERS, [{"status_code": 502, "text": "bad gateway"}, {"status_code": 500, "json": {}}, OK],
                      complete_qs=True)
    output = read(SourceWickedreports, config(), "orders")
    assert ids(output) == ["1"] and not output.errors
    assert requests_mock.call_count == 3


def test_given_persistent_5xx_when_read_then_gives_up_after_bounded_tries_with_clear_error(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=503, json=error("maintenance"), complete_qs=True)
    output = read(SourceWickedreports, config(), "orders")
    assert requests_mock.call_count == 6  # the first try and 5 retries
    assert "HTTP 503" in error_messages(output) and "maintenance" in error_messages(output)
    assert output.errors[0].trace.error.failure_type.value == "transient_error"


def test_given_timeout_then_success_when_read_then_retries(requests_mock, no_waiting):
    requests_mock.get(ORDERS, [{"exc": requests.exceptions.ReadTimeout}, {"exc": requests.exceptions.ConnectionError}, OK],
                      complete_qs=True)
    output = read(SourceWickedreports, config(), "orders")
    assert ids(output) == ["1"] and not output.errors


def test_given_malformed_json_then_valid_when_read_then_retries_instead_of_skipping_the_page(requests_mock, no_waiting):
    requests_mock.get(ORDERS, [{"status_code": 200, "text": '{"status": "success", "results": [{"id"'}, OK],
                      complete_qs=True)
    output = read(SourceWickedreports, config(), "orders")
    assert ids(output) == ["1"] and not output.errors
    assert requests_mock.call_count == 2


def test_given_always_malformed_json_when_read_then_fails_loudly(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=200, text="<html>proxy error</html>", complete_qs=True)
    output = read(SourceWickedreports, config(), "orders")
    assert ids(output) == []
    assert "not valid JSON" in error_messages(output)


def test_given_404_when_read_then_config_error_pointing_at_base_url(requests_mock, no_waiting):
    url = WickedRequest.orders(base_url="http://proxy.local/wrong").window("2024-01-01", "2024-01-20").url
    requests_mock.get(url, status_code=404, text="Not Found", complete_qs=True)
    output = read(SourceWickedreports, config(base_url="http://proxy.local/wrong"), "orders")
    assert "base_url" in error_messages(output) and "/wrong/orders" in error_messages(output)
    assert output.errors[0].trace.error.failure_type.value == "config_error"
    assert requests_mock.call_count == 1


def test_given_400_when_read_then_config_error_with_vendor_message(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=400, json=error("The difference between from and to cannot exceed 30 days."),
                      complete_qs=True)
    output = read(SourceWickedreports, config(), "orders")
    assert "cannot exceed 30 days" in error_messages(output)
    assert output.errors[0].trace.error.failure_type.value == "config_error"


def test_the_api_key_travels_in_the_header_and_never_in_urls_or_error_traces(requests_mock, no_waiting):
    # Masking of what is printed (a vendor echoing the key in an error) is checked end to end, on the real stdout,
    # in tests/test_sandbox_integration.py: in-process messages are masked only when serialised.
    requests_mock.get(ORDERS, status_code=401, json=error("bad key"), complete_qs=True)
    output = read(SourceWickedreports, config(), "orders")
    assert output.errors
    assert requests_mock.last_request.headers["apikey"] == API_KEY
    assert all(API_KEY not in request.url for request in requests_mock.request_history)
