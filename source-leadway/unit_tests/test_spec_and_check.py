"""spec, check and discover: what a user sees before the first sync."""

import re

import jsonschema
import pytest

from builders import (ACCESS_TOKEN, LOCATION_ID, SECOND_LOCATION_ID, LeadwayRequest, config, error, locations_config,
                      order, page)
from connectors_shared.testing import check, discover, run_command
from source_leadway import SourceLeadway

CHECK_URL = LeadwayRequest.check_probe().url
FORBIDDEN = error(403, "The token does not have access to this location.", "Forbidden")


def spec():
    output = run_command(SourceLeadway(), ["spec"])
    return output.spec_messages[0].spec.connectionSpecification


def test_spec_declares_the_contract_fields_and_hides_the_token():
    specification = spec()
    properties = specification["properties"]
    assert set(properties) == {"access_token", "location_ids", "location_id", "start_date", "lookback_days",
                               "page_size", "max_wait_seconds", "base_url"}
    assert properties["access_token"]["airbyte_secret"] is True
    # location_ids is required, except in a config written before it (with location_id), which every validator of
    # this spec must still accept as it is: PyAirbyte, for one, validates the config against the spec itself.
    assert specification["required"] == ["access_token", "start_date"]
    assert (specification["if"], specification["then"]) == ({"not": {"required": ["location_id"]}},
                                                             {"required": ["location_ids"]})
    locations = properties["location_ids"]
    assert (locations["type"], locations["items"]["type"], locations["minItems"], locations["uniqueItems"]) == (
        "array", "string", 1, True)
    assert properties["location_id"]["airbyte_hidden"] is True  # configs written before location_ids keep working
    assert properties["page_size"]["default"] == 100
    assert (properties["lookback_days"]["type"], properties["lookback_days"]["default"], properties["lookback_days"]["minimum"]) == ("integer", 30, 0)
    assert properties["base_url"]["default"] == "https://services.leadconnectorhq.com"


@pytest.mark.parametrize(
    "written, problem",
    [
        (config(), None),  # before location_ids
        (locations_config(), None),
        ({**locations_config(), "location_id": LOCATION_ID}, None),
        (config(location_id=None), "'location_ids' is a required property"),
        (config(location_id=""), "'' should be non-empty"),
        (locations_config(LOCATION_ID, LOCATION_ID), "has non-unique elements"),
    ],
)
def test_the_spec_accepts_configs_written_before_location_ids_as_they_are(written, problem):
    specification = spec()
    if problem is None:
        jsonschema.validate(written, specification)
    else:
        with pytest.raises(jsonschema.ValidationError, match=re.escape(problem)):
            jsonschema.validate(written, specification)


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
    requests_mock.get(CHECK_URL, status_code=403, complete_qs=True, json=FORBIDDEN)
    result = check(SourceLeadway, config())
    assert result["status"] == "FAILED"
    assert result["message"].startswith(
        f"Leadway refused the access token for 1 of the 1 location(s) in location_ids: {LOCATION_ID} (HTTP 403: The "
        "token does not have access to this location.). For each, use a token that may read that sub-account"
    )
    assert "location_id in older configs" in result["message"] and "payments/orders.readonly" in result["message"]
    assert requests_mock.call_count == 1


def test_given_two_locations_when_check_then_one_cheap_request_per_location(requests_mock):
    probes = [requests_mock.get(LeadwayRequest.check_probe(location).url, json=page([order("o1")]), complete_qs=True)
              for location in (LOCATION_ID, SECOND_LOCATION_ID)]
    assert check(SourceLeadway, locations_config()) == {"status": "SUCCEEDED", "message": ""}
    assert [probe.call_count for probe in probes] == [1, 1] and requests_mock.call_count == 2


@pytest.mark.parametrize("hidden", [[SECOND_LOCATION_ID], ["locHidden01", SECOND_LOCATION_ID]])
def test_given_locations_the_token_cannot_see_when_check_then_failed_naming_each_and_what_to_do(
    requests_mock, no_waiting, hidden
):
    listed = [LOCATION_ID, *hidden]
    requests_mock.get(LeadwayRequest.check_probe(LOCATION_ID).url, json=page([order("o1")]), complete_qs=True)
    for location in hidden:
        requests_mock.get(LeadwayRequest.check_probe(location).url, status_code=403, json=FORBIDDEN, complete_qs=True)
    result = check(SourceLeadway, locations_config(*listed))
    assert result["status"] == "FAILED"
    assert result["message"] == (
        f"Leadway refused the access token for {len(hidden)} of the {len(listed)} location(s) in location_ids: "
        f"{', '.join(hidden)} (HTTP 403: The token does not have access to this location.). For each, use a token "
        "that may read that sub-account (the API documents a Sub-Account access token or the Private "
        "Integration token of that sub-account) with the scopes payments/orders.readonly, "
        "payments/transactions.readonly, payments/subscriptions.readonly and payments/coupons.readonly; or remove "
        "the id from location_ids (location_id in older configs)."
    )
    assert LOCATION_ID not in result["message"].split(":")[1]  # the location the token reads is not blamed
    assert requests_mock.call_count == len(listed)  # every location is asked, once: a 403 is not retried


def test_given_a_location_that_fails_with_5xx_when_check_then_retried_like_a_sync(requests_mock, no_waiting):
    requests_mock.get(LeadwayRequest.check_probe(LOCATION_ID).url, complete_qs=True, response_list=[
        {"status_code": 503, "json": {"statusCode": 503, "message": "down"}}, {"json": page([order("o1")])}])
    assert check(SourceLeadway, config())["status"] == "SUCCEEDED"
    assert requests_mock.call_count == 2 and no_waiting.total() > 0


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
        (config(location_id=None), "'location_ids' is a required property"),
        (locations_config(LOCATION_ID, LOCATION_ID), "has non-unique elements"),
        ({**locations_config(), "location_ids": []}, "should be non-empty"),
        (locations_config(""), "'' should be non-empty"),
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
    for stream in streams.values():  # every record says which location it was read for
        assert stream.json_schema["properties"]["location_id"] == {
            "type": "string", "description": "The location (sub-account) the record was read for: one of location_ids."}


def test_old_and_new_configs_discover_the_same_catalog():
    old = discover(SourceLeadway, config()).catalog.catalog
    new = discover(SourceLeadway, locations_config(LOCATION_ID)).catalog.catalog
    assert old == new
