"""spec, check and discover: what a user sees before the first sync."""

import pytest

from builders import TOKEN, ShoplineRequest, campaign, config, error, page
from connectors_shared.testing import check, discover, run_command
from source_shopline import SourceShopline

CHECK_URL = ShoplineRequest.affiliate_campaigns().url


def spec():
    output = run_command(SourceShopline(), ["spec"])
    return output.spec_messages[0].spec.connectionSpecification


def test_spec_declares_the_contract_fields_and_hides_the_token():
    connection = spec()
    properties = connection["properties"]
    assert set(properties) == {"access_token", "start_date", "affiliate_campaign_ids", "lookback_days", "page_size", "max_wait_seconds", "base_url"}
    assert properties["access_token"]["airbyte_secret"] is True
    assert connection["required"] == ["access_token", "start_date"]
    assert (properties["page_size"]["default"], properties["page_size"]["maximum"]) == (50, 50)
    assert properties["base_url"]["default"] == "https://open.shopline.io"
    assert properties["affiliate_campaign_ids"]["type"] == "array"
    assert (properties["lookback_days"]["type"], properties["lookback_days"]["default"], properties["lookback_days"]["minimum"]) == ("integer", 1, 0)


def test_given_valid_token_when_check_then_succeeded_with_bearer_header(requests_mock):
    requests_mock.get(CHECK_URL, json=page([campaign("c1")]), complete_qs=True)
    assert check(SourceShopline, config())["status"] == "SUCCEEDED"
    headers = requests_mock.last_request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["User-Agent"] == "airbyte-source-shopline"
    assert TOKEN not in requests_mock.last_request.url


def test_given_wrong_token_when_check_then_failed_with_an_actionable_sentence(requests_mock, no_waiting):
    requests_mock.get(CHECK_URL, status_code=401, json=error("The access token is invalid.", "Unauthorized"),
                      complete_qs=True)
    result = check(SourceShopline, config())
    assert result["status"] == "FAILED"
    assert "did not accept the access token" in result["message"]
    assert "paste it into access_token" in result["message"]
    assert "The access token is invalid." in result["message"]
    assert TOKEN not in result["message"]
    assert requests_mock.call_count == 1  # an auth failure is not retried


def test_given_wrong_base_url_when_check_then_failed_pointing_at_base_url(requests_mock, no_waiting):
    requests_mock.get(CHECK_URL, status_code=404, json=error("Not Found"), complete_qs=True)
    result = check(SourceShopline, config())
    assert result["status"] == "FAILED" and "base_url" in result["message"]


@pytest.mark.parametrize(
    "bad_config, fragment",
    [
        (config(start_date="01/02/2024"), "'01/02/2024' does not match"),
        (config(page_size=51), "maximum of 50"),
        (config(access_token=None), "'access_token' is a required property"),
        (config(affiliate_campaign_ids="abc"), "is not of type 'array'"),
    ],
)
def test_given_invalid_config_when_check_then_failed_before_any_request(bad_config, fragment, requests_mock):
    result = check(SourceShopline, bad_config)
    assert result["status"] in {"FAILED", "ERROR"}
    assert fragment in result["message"]
    assert requests_mock.call_count == 0


@pytest.mark.parametrize("start_date", ["2024-02-25", "2024-02-25T00:00:00Z", "2024-02-25T08:00:00+08:00"])
def test_given_iso_8601_start_date_when_check_then_accepted(start_date, requests_mock):
    requests_mock.get(CHECK_URL, json=page([campaign("c1")]), complete_qs=True)
    assert check(SourceShopline, config(start_date=start_date))["status"] == "SUCCEEDED"


def test_discover_lists_streams_with_keys_cursors_and_modes():
    catalog = discover(SourceShopline, config()).catalog.catalog
    streams = {stream.name: stream for stream in catalog.streams}
    assert set(streams) == {"affiliate_campaigns", "affiliate_campaign_orders", "orders", "order_items"}
    assert streams["affiliate_campaigns"].source_defined_primary_key == [["id"]]
    assert streams["affiliate_campaign_orders"].source_defined_primary_key == [["affiliate_campaign_id"], ["id"]]
    assert streams["orders"].source_defined_primary_key == [["id"]]
    assert [mode.value for mode in streams["affiliate_campaigns"].supported_sync_modes] == ["full_refresh"]
    assert streams["order_items"].source_defined_primary_key == [["order_id"], ["id"]]
    for name, cursor in [("affiliate_campaign_orders", ["id"]), ("orders", ["updated_at"]),
                         ("order_items", ["order_updated_at"])]:
        assert {mode.value for mode in streams[name].supported_sync_modes} == {"full_refresh", "incremental"}
        assert streams[name].default_cursor_field == cursor


def test_discover_with_configured_campaigns_lists_the_same_streams():
    catalog = discover(SourceShopline, config(affiliate_campaign_ids=["c1"])).catalog.catalog
    assert sorted(stream.name for stream in catalog.streams) == [
        "affiliate_campaign_orders", "affiliate_campaigns", "order_items", "orders"]
