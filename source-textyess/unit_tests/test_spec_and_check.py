"""spec, check and discover: what a user sees before the first sync."""

import pytest

from builders import API_TOKEN, CAMPAIGN_A, CAMPAIGN_B, TextyessRequest, campaign_row, config, days_ago, error, order, page
from connectors_shared.testing import check, discover, run_command
from source_textyess import SourceTextyess


def spec():
    output = run_command(SourceTextyess(), ["spec"])
    return output.spec_messages[0].spec.connectionSpecification


def orders_probe():
    """CheckStream reads the first window of orders."""
    return TextyessRequest.orders().window(days_ago(3))


def campaigns_probe():
    return TextyessRequest.campaigns(days_ago(3)).per_page(1)


def campaign_probe(campaign_id):
    request = TextyessRequest.campaign_orders(campaign_id).per_page(1)
    return request


class TestSpec:
    def test_spec_declares_the_contract_fields_and_hides_the_token(self):
        properties = spec()["properties"]
        assert set(properties) == {"api_token", "start_date", "campaign_ids", "lookback_days", "page_size", "max_wait_seconds", "base_url"}
        assert properties["api_token"]["airbyte_secret"] is True
        assert spec()["required"] == ["api_token", "start_date"]
        assert properties["page_size"]["default"] == 100
        assert properties["base_url"]["default"] == "https://api-ai.textyess.com"
        assert properties["campaign_ids"]["type"] == "array"
        assert (properties["lookback_days"]["type"], properties["lookback_days"]["default"], properties["lookback_days"]["minimum"]) == ("integer", 30, 0)


class TestCheck:
    def test_given_valid_token_and_no_campaign_ids_when_check_then_succeeded_with_token_in_header_only(self, requests_mock):
        orders_probe().mock(requests_mock, json=page([order("1")]))
        campaigns_probe().mock(requests_mock, json=page([campaign_row("r1", CAMPAIGN_A)]))
        assert check(SourceTextyess, config()) == {"status": "SUCCEEDED", "message": ""}
        assert requests_mock.call_count == 2
        for sent in requests_mock.request_history:
            assert sent.headers["x-auth-token"] == API_TOKEN
            assert API_TOKEN not in sent.url

    def test_given_wrong_token_when_check_then_failed_with_where_to_find_the_token(self, requests_mock, no_waiting):
        orders_probe().mock(requests_mock, status_code=401, json=error("Invalid token"))
        result = check(SourceTextyess, config())
        assert result["status"] == "FAILED"
        assert result["message"].startswith("TextYess did not accept the API token (Invalid token).")
        assert "Developers section" in result["message"] and "api_token" in result["message"]
        assert requests_mock.call_count == 1  # an auth failure is not retried

    def test_given_malformed_campaign_id_when_check_then_failed_naming_it_without_any_request(self, requests_mock):
        result = check(SourceTextyess, config(campaign_ids=[CAMPAIGN_A, "spring-sale"]))
        assert result["status"] == "FAILED"
        assert "campaign_ids contains 'spring-sale', which is not a TextYess campaign id" in result["message"]
        assert "24 hexadecimal characters" in result["message"]
        assert requests_mock.call_count == 0

    def test_given_campaign_id_unknown_to_textyess_when_check_then_failed_naming_it(self, requests_mock):
        orders_probe().mock(requests_mock, json=page([]))
        campaign_probe(CAMPAIGN_A).mock(requests_mock, json=page([order("1")]))
        campaign_probe(CAMPAIGN_B).mock(requests_mock, status_code=404, json=error("Campaign not found"))
        result = check(SourceTextyess, config(campaign_ids=[CAMPAIGN_A, CAMPAIGN_B]))
        assert result["status"] == "FAILED"
        assert f"TextYess does not know the campaign {CAMPAIGN_B} listed in campaign_ids" in result["message"]
        assert "Campaign not found" in result["message"]

    def test_given_known_campaign_ids_when_check_then_succeeded_without_listing_campaigns(self, requests_mock):
        orders_probe().mock(requests_mock, json=page([]))
        campaign_probe(CAMPAIGN_A).mock(requests_mock, json=page([]))
        assert check(SourceTextyess, config(campaign_ids=[CAMPAIGN_A]))["status"] == "SUCCEEDED"
        assert [sent.path for sent in requests_mock.request_history] == [
            "/analytics/orders", f"/analytics/campaigns/{CAMPAIGN_A.lower()}/orders"]

    def test_given_no_campaign_ids_and_campaigns_404_when_check_then_failed_asking_to_list_campaign_ids(self, requests_mock):
        orders_probe().mock(requests_mock, json=page([]))
        campaigns_probe().mock(requests_mock, status_code=404, json=error("Cannot GET /analytics/campaigns"))
        result = check(SourceTextyess, config())
        assert result["status"] == "FAILED"
        assert "404 for /analytics/campaigns" in result["message"]
        assert "list the campaign ids" in result["message"].lower() and "campaign_ids" in result["message"]

    def test_given_campaigns_5xx_then_ok_when_check_then_probe_retried_with_the_shared_backoff(self, requests_mock, no_waiting):
        orders_probe().mock(requests_mock, json=page([]))
        campaigns_probe().mock(requests_mock, [{"status_code": 503, "json": error("down")},
                                               {"status_code": 200, "json": page([])}])
        assert check(SourceTextyess, config())["status"] == "SUCCEEDED"
        assert requests_mock.call_count == 3
        assert no_waiting.seconds == [2.0]  # the shared policy's first backoff, as in a sync

    def test_given_campaign_probe_429_with_retry_after_when_check_then_waits_what_the_api_asked(self, requests_mock, no_waiting):
        orders_probe().mock(requests_mock, json=page([]))
        campaign_probe(CAMPAIGN_A).mock(requests_mock, [
            {"status_code": 429, "json": error("Too many requests"), "headers": {"Retry-After": "7"}},
            {"status_code": 200, "json": page([order("1")])}])
        assert check(SourceTextyess, config(campaign_ids=[CAMPAIGN_A]))["status"] == "SUCCEEDED"
        # The Retry-After, then (as in a sync) the source's rate-limit budget holds the next request for the rest of
        # the manifest's window, the 429 having said no calls remain.
        assert no_waiting.seconds[0] == 7.0
        assert len(no_waiting.seconds) == 2 and no_waiting.seconds[1] <= 10.0

    def test_given_campaigns_5xx_every_time_when_check_then_failed_after_the_manifests_retries(self, requests_mock, no_waiting):
        orders_probe().mock(requests_mock, json=page([]))
        campaigns_probe().mock(requests_mock, status_code=503, json=error("down"))
        result = check(SourceTextyess, config())
        assert result["status"] == "FAILED"
        assert result["message"].startswith("TextYess answered HTTP 503 for /analytics/campaigns (down).")
        assert requests_mock.call_count == 1 + 6  # max_retries: 5 in the manifest's base_error_handler
        assert no_waiting.seconds == [2.0, 4.0, 8.0, 16.0, 32.0]

    def test_given_campaign_probe_asks_for_a_wait_beyond_max_wait_seconds_when_check_then_failed_saying_so(
        self, requests_mock, no_waiting
    ):
        orders_probe().mock(requests_mock, json=page([]))
        campaign_probe(CAMPAIGN_A).mock(requests_mock, status_code=429, json=error("slow down"),
                                        headers={"Retry-After": "3600"})
        result = check(SourceTextyess, config(campaign_ids=[CAMPAIGN_A], max_wait_seconds=60))
        assert result["status"] == "FAILED"
        assert "asked the connector to wait 1.0 hours" in result["message"] and "max_wait_seconds" in result["message"]
        assert no_waiting.total() == 0

    @pytest.mark.parametrize(
        "bad_config, fragment",
        [
            (config(start_date="01/02/2024"), "'01/02/2024' does not match"),
            (config(page_size=0), "less than the minimum of 1"),
            (config(api_token=None), "'api_token' is a required property"),
            (config(base_url="api-ai.textyess.com"), "does not match '^https?://'"),
        ],
    )
    def test_given_invalid_config_when_check_then_failed_with_validation_message(self, bad_config, fragment, requests_mock):
        result = check(SourceTextyess, bad_config)
        assert result["status"] == "FAILED"
        assert fragment in result["message"]
        assert requests_mock.call_count == 0

    @pytest.mark.parametrize(
        "bad_config, fragment",
        [
            (config(start_date=days_ago(-3)), "is in the future"),
            (config(base_url="http://169.254.169.254/latest"), "link-local"),
        ],
    )
    def test_given_config_the_shared_checks_refuse_when_check_then_refused_before_the_campaign_check(
        self, bad_config, fragment, requests_mock
    ):
        # SourceTextyess overrides connection_check, so ManifestSource.check still runs input_checks first.
        result = check(SourceTextyess, bad_config)
        assert result["status"] in ("FAILED", "ERROR")
        assert fragment in result["message"]
        assert requests_mock.call_count == 0


class TestDiscover:
    def test_discover_lists_streams_with_keys_cursors_and_sync_modes(self):
        streams = {stream.name: stream for stream in discover(SourceTextyess, config()).catalog.catalog.streams}
        assert set(streams) == {"orders", "campaigns", "campaign_orders"}
        assert streams["orders"].source_defined_primary_key == [["_id"]]
        assert streams["orders"].default_cursor_field == ["createdAt"]
        assert [mode.value for mode in streams["orders"].supported_sync_modes] == ["full_refresh", "incremental"]
        assert streams["campaigns"].source_defined_primary_key == [["_id"]]
        assert [mode.value for mode in streams["campaigns"].supported_sync_modes] == ["full_refresh"]
        assert streams["campaign_orders"].source_defined_primary_key == [["campaign_id"], ["_id"]]
        assert streams["campaign_orders"].default_cursor_field == ["createdAt"]
        assert "campaign_id" in streams["campaign_orders"].json_schema["properties"]
