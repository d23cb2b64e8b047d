"""Error paths while reading: what is retried (429, 5xx, timeouts, malformed JSON) and what fails as config_error."""

import pytest
import requests
from airbyte_cdk.models import FailureType

from builders import API_TOKEN, OpenLetterRequest, config, error, order, page, rows
from connectors_shared.testing import read
from source_openletter import SourceOpenletter

FIRST_PAGE = OpenLetterRequest.orders().page_size(2).url
SECOND_PAGE = OpenLetterRequest.orders().page_size(2).page(1).url


def ids(output):
    return [message.record.data["id"] for message in output.records]


def error_messages(output):
    return [message.trace.error.message for message in output.errors]


def failure_types(output):
    return {message.trace.error.failure_type for message in output.errors}


def everything_said(output):
    """Every message the connector wrote, to prove the token never appears in any of them."""
    return "\n".join(str(message) for message in output._messages)


class TestRetried:
    def test_given_429_with_reset_header_when_read_then_waits_for_the_reset_and_continues(self, requests_mock, no_waiting):
        requests_mock.get(FIRST_PAGE, json=page(rows(1, 2), count=4), complete_qs=True)
        requests_mock.get(SECOND_PAGE, complete_qs=True, response_list=[
            {"status_code": 429, "json": error("Too many requests"), "headers": {"x-ratelimit-reset": "7"}},
            {"json": page(rows(3, 4), count=4)},
        ])
        output = read(SourceOpenletter, config(page_size=2), "orders")
        assert ids(output) == ["1", "2", "3", "4"] and not output.errors
        assert requests_mock.call_count == 3
        # The shared pacer holds the retry until the announced reset (7 s, minus the moment already spent).
        assert any(6 < seconds <= 7 for seconds in no_waiting.seconds)

    def test_given_429_without_headers_when_read_then_backs_off_and_continues(self, requests_mock, no_waiting):
        requests_mock.get(OpenLetterRequest.contacts().url, complete_qs=True, response_list=[
            {"status_code": 429, "json": error("Too many requests")},
            {"json": page(rows(1, 1))},
        ])
        output = read(SourceOpenletter, config(), "contacts")
        assert ids(output) == ["1"] and not output.errors
        assert no_waiting.total() > 0

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    def test_given_5xx_then_success_when_read_then_retried_with_growing_backoff(self, requests_mock, no_waiting, status):
        requests_mock.get(OpenLetterRequest.templates().url, complete_qs=True, response_list=[
            {"status_code": status, "json": error("Internal server error")},
            {"status_code": status, "text": "<html>Bad gateway</html>"},
            {"json": page(rows(1, 1))},
        ])
        output = read(SourceOpenletter, config(), "templates")
        assert ids(output) == ["1"] and not output.errors
        first, second = no_waiting.seconds[:2]
        assert 0 < first < second

    def test_given_5xx_every_time_when_read_then_fails_as_transient_after_retries(self, requests_mock, no_waiting):
        requests_mock.get(OpenLetterRequest.templates().url, status_code=503, json=error("Service unavailable"),
                          complete_qs=True)
        output = read(SourceOpenletter, config(), "templates")
        assert requests_mock.call_count == 6  # the first try and max_retries (5) retries
        assert FailureType.transient_error in failure_types(output)
        assert any("HTTP 503" in message and "Service unavailable" in message for message in error_messages(output))

    @pytest.mark.parametrize("exception", [requests.exceptions.ReadTimeout, requests.exceptions.ConnectTimeout,
                                           requests.exceptions.ConnectionError])
    def test_given_timeout_when_read_then_retried(self, requests_mock, no_waiting, exception):
        requests_mock.get(OpenLetterRequest.contacts().url, complete_qs=True, response_list=[
            {"exc": exception},
            {"json": page(rows(1, 2))},
        ])
        output = read(SourceOpenletter, config(), "contacts")
        assert ids(output) == ["1", "2"] and not output.errors
        assert requests_mock.call_count == 2

    def test_given_truncated_json_once_when_read_then_retried_and_no_page_is_lost(self, requests_mock, no_waiting):
        requests_mock.get(FIRST_PAGE, json=page(rows(1, 2), count=4), complete_qs=True)
        requests_mock.get(SECOND_PAGE, complete_qs=True, response_list=[
            {"text": '{"message": "Success", "data": {"count": 4, "rows": [{"id": "3"'},
            {"json": page(rows(3, 4), count=4)},
        ])
        output = read(SourceOpenletter, config(page_size=2), "orders")
        assert ids(output) == ["1", "2", "3", "4"] and not output.errors

    def test_given_malformed_json_every_time_when_read_then_fails_loudly_instead_of_an_empty_page(self, requests_mock, no_waiting):
        requests_mock.get(FIRST_PAGE, json=page(rows(1, 2), count=4), complete_qs=True)
        requests_mock.get(SECOND_PAGE, text="<html>maintenance</html>", complete_qs=True)
        output = read(SourceOpenletter, config(page_size=2), "orders")
        assert output.errors
        assert any("not valid JSON" in message for message in error_messages(output))
        assert ids(output) == ["1", "2"]


class TestNotRetried:
    def test_given_401_while_reading_when_read_then_config_error_that_says_what_to_fix(self, requests_mock, no_waiting):
        requests_mock.get(OpenLetterRequest.orders().url, status_code=401, json=error("jwt expired"), complete_qs=True)
        output = read(SourceOpenletter, config(), "orders")
        assert failure_types(output) == {FailureType.config_error}
        assert any("did not accept the API token (jwt expired)" in message for message in error_messages(output))
        assert requests_mock.call_count == 1
        assert API_TOKEN not in everything_said(output)

    def test_given_404_when_read_then_config_error_pointing_at_base_url(self, requests_mock, no_waiting):
        base = "http://proxy.local/wrong"
        requests_mock.get(OpenLetterRequest.orders(base_url=base).url, status_code=404,
                          json=error("Cannot GET /wrong/orders/"), complete_qs=True)
        output = read(SourceOpenletter, config(base_url=base), "orders")
        assert failure_types(output) == {FailureType.config_error}
        assert any("/wrong/orders/" in message and "base_url" in message for message in error_messages(output))
        assert requests_mock.call_count == 1

    @pytest.mark.parametrize("status", [400, 422])
    def test_given_rejected_request_when_read_then_config_error_quoting_every_vendor_message(self, requests_mock, no_waiting, status):
        requests_mock.get(OpenLetterRequest.orders().url, status_code=status,
                          json=error(["pageSize must not be greater than 100", "page must be a number"]), complete_qs=True)
        output = read(SourceOpenletter, config(), "orders")
        assert failure_types(output) == {FailureType.config_error}
        assert any("pageSize must not be greater than 100; page must be a number" in message
                   for message in error_messages(output))
        assert requests_mock.call_count == 1

    def test_given_403_when_read_then_config_error(self, requests_mock, no_waiting):
        requests_mock.get(OpenLetterRequest.templates().url, status_code=403, json=error("Forbidden"), complete_qs=True)
        output = read(SourceOpenletter, config(), "templates")
        assert failure_types(output) == {FailureType.config_error}
        assert requests_mock.call_count == 1


def test_given_an_order_page_when_read_then_the_token_is_only_in_the_authorization_header(requests_mock):
    requests_mock.get(OpenLetterRequest.orders().url, json=page([order("1")]), complete_qs=True)
    output = read(SourceOpenletter, config(), "orders")
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == f"Bearer {API_TOKEN}"
    assert API_TOKEN not in sent.url
    assert API_TOKEN not in everything_said(output)


class TestPacing:
    def test_given_no_calls_remaining_when_next_page_then_paces_until_reset_without_a_429(self, requests_mock, no_waiting):
        requests_mock.get(FIRST_PAGE, json=page(rows(1, 2), count=3), complete_qs=True,
                          headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "12"})
        requests_mock.get(SECOND_PAGE, json=page(rows(3, 3), count=3), complete_qs=True)
        output = read(SourceOpenletter, config(page_size=2), "orders")
        assert ids(output) == ["1", "2", "3"]
        assert requests_mock.call_count == 2
        assert [round(seconds) for seconds in no_waiting.seconds] == [12]

    def test_given_no_rate_limit_headers_when_read_then_never_waits(self, requests_mock, no_waiting):
        requests_mock.get(FIRST_PAGE, json=page(rows(1, 2), count=3), complete_qs=True)
        requests_mock.get(SECOND_PAGE, json=page(rows(3, 3), count=3), complete_qs=True)
        read(SourceOpenletter, config(page_size=2), "orders")
        assert no_waiting.seconds == []
