"""Errors, retries and rate limiting: what happens when SHOPLINE does not answer 200 with a clean page."""

import requests

from builders import NOW_PARAM, ShoplineRequest, config, error, order, page
from connectors_shared.testing import error_messages, read
from source_shopline import SourceShopline

ORDERS = ShoplineRequest.orders().window("2024-02-25 00:00:00.000", NOW_PARAM).url
OK = {"json": page([order("1")]), "status_code": 200}
RATE_LIMITED = error("Rate limit exceeded for attempts to access Open API. please try again later", "RateLimitExceeded")


def ids(output):
    return [message.record.data["id"] for message in output.records]


def test_given_documented_429_when_read_then_pauses_and_retries(requests_mock, no_waiting):
    requests_mock.get(ORDERS, [{"status_code": 429, "json": RATE_LIMITED}, OK], complete_qs=True)
    output = read(SourceShopline, config(), "orders")
    assert ids(output) == ["1"] and not output.errors
    assert requests_mock.call_count == 2
    assert no_waiting.total() > 0


def test_given_429_with_retry_after_when_read_then_waits_that_long(requests_mock, no_waiting):
    requests_mock.get(ORDERS, [{"status_code": 429, "json": RATE_LIMITED, "headers": {"Retry-After": "3"}}, OK],
                      complete_qs=True)
    assert ids(read(SourceShopline, config(), "orders")) == ["1"]
    assert 3 in [round(seconds) for seconds in no_waiting.seconds]


def test_given_5xx_then_success_when_read_then_retries(requests_mock, no_waiting):
    requests_mock.get(ORDERS, [{"status_code": 502, "text": "bad gateway"}, {"status_code": 500, "json": {}}, OK],
                      complete_qs=True)
    output = read(SourceShopline, config(), "orders")
    assert ids(output) == ["1"] and not output.errors
    assert requests_mock.call_count == 3


def test_given_persistent_5xx_when_read_then_gives_up_after_bounded_tries_with_transient_error(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=503, json=error("maintenance"), complete_qs=True)
    output = read(SourceShopline, config(), "orders")
    assert requests_mock.call_count == 7  # the first try and 6 retries
    assert "HTTP 503" in error_messages(output) and "maintenance" in error_messages(output)
    assert output.errors[0].trace.error.failure_type.value == "transient_error"


def test_given_timeout_then_success_when_read_then_retries(requests_mock, no_waiting):
    requests_mock.get(ORDERS, [{"exc": requests.exceptions.ReadTimeout}, {"exc": requests.exceptions.ConnectionError}, OK],
                      complete_qs=True)
    output = read(SourceShopline, config(), "orders")
    assert ids(output) == ["1"] and not output.errors


def test_given_malformed_json_then_valid_when_read_then_retries_instead_of_skipping_the_page(requests_mock, no_waiting):
    requests_mock.get(ORDERS, [{"status_code": 200, "text": '{"items": [{"id"'}, OK], complete_qs=True)
    output = read(SourceShopline, config(), "orders")
    assert ids(output) == ["1"] and not output.errors
    assert requests_mock.call_count == 2


def test_given_always_malformed_json_when_read_then_fails_loudly(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=200, text="<html>gateway</html>", complete_qs=True)
    output = read(SourceShopline, config(), "orders")
    assert ids(output) == [] and "not valid JSON" in error_messages(output)


def test_given_422_when_read_then_config_error_shows_the_vendors_message(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=422, json=error("updated_after is invalid", "InvalidParams"), complete_qs=True)
    output = read(SourceShopline, config(), "orders")
    assert "updated_after is invalid" in error_messages(output)
    assert output.errors[0].trace.error.failure_type.value == "config_error"
    assert requests_mock.call_count == 1


def test_given_422_with_a_list_of_messages_when_read_then_every_message_is_shown(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=422, json={"message": ["per_page is too large", "page is invalid"]},
                      complete_qs=True)
    assert "per_page is too large; page is invalid" in error_messages(read(SourceShopline, config(), "orders"))


def test_given_403_when_read_then_config_error_about_permissions(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=403, json=error("Forbidden"), complete_qs=True)
    output = read(SourceShopline, config(), "orders")
    assert "lacks the permission" in error_messages(output)
    assert output.errors[0].trace.error.failure_type.value == "config_error"


def test_given_401_during_read_when_read_then_config_error_and_the_token_is_never_shown(requests_mock, no_waiting):
    requests_mock.get(ORDERS, status_code=401, json=error("Unauthorized"), complete_qs=True)
    output = read(SourceShopline, config(), "orders")
    assert "did not accept the access token" in error_messages(output)
    assert config()["access_token"] not in error_messages(output)
