"""Leadway's own error answers. What every connector shares (5xx, timeouts, malformed JSON, broken pages, 429 and
pacing by the X-RateLimit-* headers, generic 401/403/404/400/422) is tested once, over all five connectors, in
shared/tests/test_shared_behaviour_all_connectors.py."""

from builders import START, TODAY, LeadwayRequest, config, error
from connectors_shared.testing import error_messages, failure_type, read
from source_leadway import SourceLeadway


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


def test_given_403_on_one_stream_when_read_then_config_error_naming_the_missing_scope(requests_mock, no_waiting):
    requests_mock.get(LeadwayRequest.coupons().url, status_code=403, complete_qs=True,
                      json=error(403, "The token is not authorized for this scope.", "Forbidden"))
    output = read(SourceLeadway, config(), "coupons")
    assert "The token is not authorized for this scope." in error_messages(output)
    assert "payments/coupons.readonly" in error_messages(output)
    assert failure_type(output) == "config_error"
