"""spec, check and discover: what a user sees before the first sync."""

import pytest

from builders import API_KEY, WickedRequest, config, contact, error, page
from connectors_shared.testing import check, discover, run_command
from source_wickedreports import SourceWickedreports

CHECK_URL = WickedRequest.contacts().window("2024-01-01", "2024-01-20").url


def spec():
    output = run_command(SourceWickedreports(), ["spec"])
    return output.spec_messages[0].spec.connectionSpecification


def test_spec_declares_the_contract_fields_and_hides_the_key():
    properties = spec()["properties"]
    assert set(properties) == {"api_key", "start_date", "end_date", "page_size", "lookback_days", "max_wait_seconds", "base_url"}
    assert properties["api_key"]["airbyte_secret"] is True
    assert spec()["required"] == ["api_key", "start_date"]
    assert (properties["page_size"]["default"], properties["page_size"]["minimum"], properties["page_size"]["maximum"]) == (1000, 1, 1000)
    assert properties["base_url"]["default"] == "https://api.wickedreports.com"
    assert (properties["lookback_days"]["type"], properties["lookback_days"]["default"], properties["lookback_days"]["minimum"]) == ("integer", 30, 0)


def test_given_valid_key_when_check_then_succeeded(requests_mock):
    requests_mock.get(CHECK_URL, json=page([contact("AB-1")]), complete_qs=True)
    assert check(SourceWickedreports, config())["status"] == "SUCCEEDED"
    assert requests_mock.last_request.headers["apikey"] == API_KEY


def test_given_wrong_key_when_check_then_failed_with_where_to_find_the_key(requests_mock, no_waiting):
    requests_mock.get(CHECK_URL, status_code=401, json=error("Unauthorized"), complete_qs=True)
    result = check(SourceWickedreports, config())
    assert result["status"] == "FAILED"
    assert "did not accept the API key" in result["message"] and "Authorizations page" in result["message"]
    assert requests_mock.call_count == 1  # an auth failure is not retried


def test_given_outbound_api_not_enabled_when_check_then_failed_asking_to_enable_it(requests_mock, no_waiting):
    requests_mock.get(CHECK_URL, status_code=401, json=error("Outbound API not enabled for client."), complete_qs=True)
    result = check(SourceWickedreports, config())
    assert result["status"] == "FAILED"
    assert "Outbound API is not enabled" in result["message"] and "support" in result["message"]


def test_given_bad_request_when_check_then_failed_with_vendor_message(requests_mock, no_waiting):
    requests_mock.get(CHECK_URL, status_code=400, json=error("There was some problem with your request."), complete_qs=True)
    result = check(SourceWickedreports, config())
    assert result["status"] == "FAILED"
    assert "There was some problem with your request." in result["message"]


@pytest.mark.parametrize(
    "bad_config, fragment",
    [
        (config(start_date="01/02/2024"), "'01/02/2024' does not match"),
        (config(page_size=5000), "maximum of 1000"),
        (config(api_key=None), "'api_key' is a required property"),
    ],
)
def test_given_invalid_config_when_check_then_failed_before_any_request(bad_config, fragment, requests_mock):
    result = check(SourceWickedreports, bad_config)
    assert result["status"] in {"FAILED", "ERROR"}
    assert fragment in result["message"]
    assert requests_mock.call_count == 0


def test_discover_lists_streams_with_keys_cursors_and_modes():
    catalog = discover(SourceWickedreports, config()).catalog.catalog
    streams = {stream.name: stream for stream in catalog.streams}
    assert set(streams) == {"contacts", "clicks", "orders", "order_products", "order_payments"}
    assert streams["contacts"].source_defined_primary_key == [["id"]]
    assert streams["clicks"].source_defined_primary_key == [["contactId"], ["date"]]
    assert streams["orders"].source_defined_primary_key == [["id"]]
    assert streams["contacts"].default_cursor_field == ["createDate"]
    assert streams["clicks"].default_cursor_field == ["date"]
    assert streams["orders"].default_cursor_field == ["date"]
    for child in ("order_products", "order_payments"):  # see test_child_streams.py
        assert streams[child].source_defined_primary_key == [["order_id"], ["position"]]
        assert streams[child].default_cursor_field == ["order_date"]
    for stream in streams.values():
        assert {mode.value for mode in stream.supported_sync_modes} == {"full_refresh", "incremental"}
