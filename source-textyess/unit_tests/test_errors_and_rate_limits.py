"""TextYess's own error answers. What every connector shares (5xx, timeouts, malformed JSON, broken pages, 429 and
pacing, generic 401/403/404/400/422) is tested once, over all five connectors, in
shared/tests/test_shared_behaviour_all_connectors.py."""

from builders import CAMPAIGN_A, TextyessRequest, config, days_ago, error
from connectors_shared.testing import error_messages, failure_type, read
from source_textyess import SourceTextyess


def test_given_404_for_a_campaign_when_read_then_config_error_pointing_at_campaign_ids(requests_mock, no_waiting):
    TextyessRequest.campaign_orders(CAMPAIGN_A).window(days_ago(3)).mock(
        requests_mock, status_code=404, json=error("Campaign not found"))
    output = read(SourceTextyess, config(campaign_ids=[CAMPAIGN_A]), "campaign_orders")
    assert "campaign_ids" in error_messages(output) and "Campaign not found" in error_messages(output)
    assert failure_type(output) == "config_error" and requests_mock.call_count == 1
