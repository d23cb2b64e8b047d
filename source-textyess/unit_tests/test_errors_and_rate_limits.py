"""Errors, retries and rate limiting: what happens when TextYess does not answer 200 with a clean page."""

import time

import pytest
import requests

from builders import API_TOKEN, CAMPAIGN_A, TextyessRequest, config, days_ago, error, order, page
from connectors_shared.testing import error_messages, failure_type, read
from source_textyess import SourceTextyess

OK = {"status_code": 200, "json": page([order("1")])}


def orders_request():
    return TextyessRequest.orders().window(days_ago(3))


def ids(output):
    return [message.record.data["_id"] for message in output.records]


def test_given_429_with_retry_after_when_read_then_waits_and_retries(requests_mock, no_waiting):
    throttled = {"status_code": 429, "json": error("Too many requests, please try again later."),
                 "headers": {"retry-after": "7"}}
    orders_request().mock(requests_mock, [throttled, OK])
    output = read(SourceTextyess, config(), "orders")
    assert ids(output) == ["1"] and not output.errors
    assert requests_mock.call_count == 2
    # the CDK adds one second to a server-announced wait
    assert any(7 <= round(seconds) <= 8 for seconds in no_waiting.seconds)


def test_given_429_without_headers_when_read_then_backs_off_and_retries(requests_mock, no_waiting):
    orders_request().mock(requests_mock, [{"status_code": 429, "json": error("slow down")}, OK])
    output = read(SourceTextyess, config(), "orders")
    assert ids(output) == ["1"] and not output.errors
    assert no_waiting.total() > 0


def test_given_persistent_429_when_read_then_gives_up_after_bounded_tries(requests_mock, no_waiting):
    orders_request().mock(requests_mock, status_code=429, json=error("Too many requests"), headers={"retry-after": "3"})
    output = read(SourceTextyess, config(), "orders")
    assert requests_mock.call_count == 6  # the first try and 5 retries
    assert output.errors and failure_type(output) == "transient_error"


def test_given_no_calls_remaining_when_next_page_then_paces_until_reset_without_a_429(requests_mock, no_waiting):
    reset_epoch = str(int(time.time()) + 12)
    orders_request().mock(requests_mock, json=page([order("1")], total=2, per_page=1),
                          headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset_epoch})
    orders_request().per_page(1).mock(requests_mock, json=page([order("1")], total=2, per_page=1),
                                      headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset_epoch})
    orders_request().per_page(1).page(1).mock(requests_mock, json=page([order("2")], total=2, number=1, per_page=1))
    output = read(SourceTextyess, config(page_size=1), "orders")
    assert ids(output) == ["1", "2"]
    assert requests_mock.call_count == 2
    assert len(no_waiting.seconds) == 1 and 8 <= no_waiting.seconds[0] <= 12


def test_given_5xx_then_success_when_read_then_retries(requests_mock, no_waiting):
    orders_request().mock(requests_mock, [{"status_code": 502, "text": "Bad Gateway"}, {"status_code": 500, "json": {}}, OK])
    output = read(SourceTextyess, config(), "orders")
    assert ids(output) == ["1"] and not output.errors
    assert requests_mock.call_count == 3


def test_given_persistent_5xx_when_read_then_gives_up_after_bounded_tries_with_clear_error(requests_mock, no_waiting):
    orders_request().mock(requests_mock, status_code=503, json=error("maintenance"))
    output = read(SourceTextyess, config(), "orders")
    assert requests_mock.call_count == 6  # the first try and 5 retries
    assert "HTTP 503" in error_messages(output) and "maintenance" in error_messages(output)
    assert failure_type(output) == "transient_error"


def test_given_timeout_then_success_when_read_then_retries(requests_mock, no_waiting):
    orders_request().mock(requests_mock, [{"exc": requests.exceptions.ReadTimeout},
                                          {"exc": requests.exceptions.ConnectionError}, OK])
    output = read(SourceTextyess, config(), "orders")
    assert ids(output) == ["1"] and not output.errors


def test_given_malformed_json_then_valid_when_read_then_retries_instead_of_skipping_the_page(requests_mock, no_waiting):
    orders_request().mock(requests_mock, [{"status_code": 200, "text": '{"data": [{"_id"'}, OK])
    output = read(SourceTextyess, config(), "orders")
    assert ids(output) == ["1"] and not output.errors
    assert requests_mock.call_count == 2


def test_given_always_malformed_json_when_read_then_fails_loudly(requests_mock, no_waiting):
    orders_request().mock(requests_mock, status_code=200, text="<html>502 proxy error</html>")
    output = read(SourceTextyess, config(), "orders")
    assert ids(output) == []
    assert "not valid JSON" in error_messages(output)


def test_given_401_during_read_when_read_then_config_error_telling_where_to_get_a_token(requests_mock, no_waiting):
    orders_request().mock(requests_mock, status_code=401, json=error("Invalid token"))
    output = read(SourceTextyess, config(), "orders")
    assert "did not accept the API token (Invalid token)" in error_messages(output)
    assert failure_type(output) == "config_error" and requests_mock.call_count == 1


def test_given_403_when_read_then_config_error_about_access(requests_mock, no_waiting):
    orders_request().mock(requests_mock, status_code=403, json=error("Forbidden"))
    output = read(SourceTextyess, config(), "orders")
    assert "refused access to /analytics/orders (Forbidden)" in error_messages(output)
    assert failure_type(output) == "config_error"


def test_given_404_for_a_campaign_when_read_then_config_error_pointing_at_campaign_ids(requests_mock, no_waiting):
    TextyessRequest.campaign_orders(CAMPAIGN_A).window(days_ago(3)).mock(
        requests_mock, status_code=404, json=error("Campaign not found"))
    output = read(SourceTextyess, config(campaign_ids=[CAMPAIGN_A]), "campaign_orders")
    assert "campaign_ids" in error_messages(output) and "Campaign not found" in error_messages(output)
    assert failure_type(output) == "config_error" and requests_mock.call_count == 1


def test_given_404_for_orders_when_read_then_config_error_pointing_at_base_url(requests_mock, no_waiting):
    base = "http://proxy.local/wrong"
    TextyessRequest.orders(base_url=base).window(days_ago(3)).mock(requests_mock, status_code=404, text="Not Found")
    output = read(SourceTextyess, config(base_url=base), "orders")
    assert "base_url" in error_messages(output) and "/wrong/analytics/orders" in error_messages(output)
    assert failure_type(output) == "config_error"


@pytest.mark.parametrize("status", [400, 422])
def test_given_rejected_request_when_read_then_config_error_quoting_every_vendor_message(status, requests_mock, no_waiting):
    orders_request().mock(requests_mock, status_code=status, json={"message": ["perPage must be a number", "page is required"]})
    output = read(SourceTextyess, config(), "orders")
    assert "perPage must be a number; page is required" in error_messages(output)
    assert failure_type(output) == "config_error"


def test_the_token_travels_in_the_header_and_never_in_urls_or_error_traces(requests_mock, no_waiting):
    orders_request().mock(requests_mock, status_code=401, json=error("Invalid token"))
    output = read(SourceTextyess, config(), "orders")
    assert output.errors
    assert requests_mock.last_request.headers["x-auth-token"] == API_TOKEN
    assert all(API_TOKEN not in request.url for request in requests_mock.request_history)
    assert API_TOKEN not in error_messages(output)
