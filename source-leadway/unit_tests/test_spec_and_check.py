"""spec, check and discover: what a user sees before the first sync."""

import pytest

from builders import ACCESS_TOKEN, START, TODAY, LeadwayRequest, config, error, order, page
from connectors_shared.testing import check, discover, run_command
from source_leadway import SourceLeadway

CHECK_URL = LeadwayRequest.orders().window(START, TODAY).url


def spec():
    output = run_command(SourceLeadway(), ["spec"])
    return output.spec_messages[0].spec.connectionSpecification


def test_spec_declares_the_contract_fields_and_hides_the_token():
    specification = spec()
    properties = specification["properties"]
    assert set(properties) == {"access_token", "location_id", "start_date", "lookback_days", "page_size", "max_wait_seconds", "base_url"}
    assert properties["access_token"]["airbyte_secret"] is True
    assert specification["required"] == ["access_token", "location_id", "start_date"]
    assert properties["page_size"]["default"] == 100
    assert (properties["lookback_days"]["type"], properties["lookback_days"]["default"], properties["lookback_days"]["minimum"]) == ("integer", 30, 0)
    assert properties["base_url"]["default"] == "https://services.leadconnectorhq.com"


def test_given_valid_token_when_check_then_succeeded_with_bearer_and_version_headers(requests_mock):
    requests_mock.get(CHECK_URL, json=page([order("o1")]), complete_qs=True)
    assert check(SourceLeadway, config())["status"] == "SUCCEEDED"
    headers = requests_mock.last_request.headers
    assert headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert headers["Version"] == "2021-07-28"


def test_given_invalid_token_when_check_then_failed_saying_how_to_get_a_token(requests_mock, no_waiting):
    requests_mock.get(CHECK_URL, status_code=401, complete_qs=True,
                      json=error(401, "Invalid token: access token is invalid", "Unauthorized"))
    result = check(SourceLeadway, config())
    assert result["status"] == "FAILED"
    assert "did not accept the access token (Invalid token: access token is invalid)" in result["message"]
    assert "Private Integration" in result["message"] and "access_token" in result["message"]
    assert requests_mock.call_count == 1  # an auth failure is not retried


def test_given_token_without_access_to_location_when_check_then_failed_naming_location_and_scopes(
    requests_mock, no_waiting
):
    requests_mock.get(CHECK_URL, status_code=403, complete_qs=True,
                      json=error(403, "The token does not have access to this location.", "Forbidden"))
    result = check(SourceLeadway, config())
    assert result["status"] == "FAILED"
    assert "The token does not have access to this location." in result["message"]
    assert "location_id" in result["message"] and "payments/orders.readonly" in result["message"]
    assert requests_mock.call_count == 1


def test_given_422_when_check_then_failed_with_every_vendor_message(requests_mock, no_waiting):
    requests_mock.get(CHECK_URL, status_code=422, complete_qs=True,
                      json=error(422, ["altId should not be empty", "altId must be a string"], "Unprocessable Entity"))
    result = check(SourceLeadway, config())
    assert result["status"] == "FAILED"
    assert "altId should not be empty; altId must be a string" in result["message"]


@pytest.mark.parametrize(
    "bad_config, fragment",
    [
        (config(start_date="01/02/2024"), "'01/02/2024' does not match"),
        (config(location_id=None), "'location_id' is a required property"),
        (config(access_token=None), "'access_token' is a required property"),
        (config(page_size=0), "minimum of 1"),
        (config(lookback_days=-1), "minimum of 0"),
    ],
)
def test_given_invalid_config_when_check_then_failed_before_any_request(bad_config, fragment, requests_mock):
    result = check(SourceLeadway, bad_config)
    assert result["status"] in {"FAILED", "ERROR"}
    assert fragment in result["message"]
    assert requests_mock.call_count == 0


def test_discover_lists_streams_with_keys_cursors_and_modes():
    catalog = discover(SourceLeadway, config()).catalog.catalog
    streams = {stream.name: stream for stream in catalog.streams}
    assert set(streams) == {"orders", "transactions", "subscriptions", "coupons"}
    for name in ("orders", "transactions", "subscriptions"):
        assert streams[name].source_defined_primary_key == [["_id"]]
        assert streams[name].default_cursor_field == ["createdAt"]
        assert {mode.value for mode in streams[name].supported_sync_modes} == {"full_refresh", "incremental"}
    assert streams["coupons"].source_defined_primary_key == [["_id"]]
    assert {mode.value for mode in streams["coupons"].supported_sync_modes} == {"full_refresh"}
