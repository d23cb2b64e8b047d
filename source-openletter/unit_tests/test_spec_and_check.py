"""spec, check and discover: what a user sees before the first sync."""

import pytest

from builders import API_TOKEN, DEMO_URL, OpenLetterRequest, config, error, order, page
from connectors_shared.testing import check, discover, run_command
from source_openletter import SourceOpenletter

CHECK_URL = OpenLetterRequest.orders().url


def spec():
    output = run_command(SourceOpenletter(), ["spec"])
    return output.spec_messages[0].spec.connectionSpecification


def test_spec_declares_the_contract_fields_and_hides_the_token():
    specification = spec()
    properties = specification["properties"]
    assert set(properties) == {"api_token", "environment", "base_url", "account_id", "page_size", "max_wait_seconds"}
    assert properties["api_token"]["airbyte_secret"] is True
    assert specification["required"] == ["api_token"]
    assert (properties["environment"]["enum"], properties["environment"]["default"]) == (["production", "demo"], "production")
    assert (properties["page_size"]["default"], properties["page_size"]["maximum"]) == (100, 100)
    assert "default" not in properties["base_url"]  # a default would always override environment


def test_given_valid_token_when_check_then_succeeded_with_bearer_header(requests_mock):
    requests_mock.get(CHECK_URL, json=page([order("1")]), complete_qs=True)
    assert check(SourceOpenletter, config())["status"] == "SUCCEEDED"
    assert requests_mock.last_request.headers["Authorization"] == f"Bearer {API_TOKEN}"
    assert API_TOKEN not in requests_mock.last_request.url


def test_given_demo_environment_when_check_then_calls_the_demo_api(requests_mock):
    requests_mock.get(OpenLetterRequest.orders(base_url=DEMO_URL).url, json=page([]), complete_qs=True)
    assert check(SourceOpenletter, config(environment="demo"))["status"] == "SUCCEEDED"


def test_given_wrong_token_when_check_then_failed_with_a_sentence_to_act_on(requests_mock, no_waiting):
    requests_mock.get(CHECK_URL, status_code=401, json=error("Unauthorized"), complete_qs=True)
    result = check(SourceOpenletter, config())
    assert result["status"] == "FAILED"
    assert "did not accept the API token (Unauthorized)" in result["message"]
    assert "into api_token" in result["message"] and "environment matches the key" in result["message"]
    assert API_TOKEN not in result["message"]
    assert requests_mock.call_count == 1  # an auth failure is not retried


def test_given_forbidden_when_check_then_failed_saying_what_the_key_must_be_allowed(requests_mock, no_waiting):
    requests_mock.get(CHECK_URL, status_code=403, json=error("Forbidden resource"), complete_qs=True)
    result = check(SourceOpenletter, config())
    assert result["status"] == "FAILED"
    assert "refused access (Forbidden resource)" in result["message"]
    assert "allowed to list orders, contacts and templates" in result["message"]


@pytest.mark.parametrize(
    "bad_config, fragment",
    [
        (config(page_size=500), "maximum of 100"),
        (config(environment="staging"), "'staging' is not one of"),
        (config(api_token=None), "'api_token' is a required property"),
        (config(base_url="api.example.com"), "does not match"),
    ],
)
def test_given_invalid_config_when_check_then_failed_before_any_request(bad_config, fragment, requests_mock):
    result = check(SourceOpenletter, bad_config)
    assert result["status"] in {"FAILED", "ERROR"}
    assert fragment in result["message"]
    assert requests_mock.call_count == 0


def test_discover_lists_four_full_refresh_streams_keyed_by_id():
    catalog = discover(SourceOpenletter, config()).catalog.catalog
    streams = {stream.name: stream for stream in catalog.streams}
    assert set(streams) == {"orders", "order_recipients", "contacts", "templates"}
    for stream in streams.values():
        assert stream.source_defined_primary_key == [["id"]]
        assert [mode.value for mode in stream.supported_sync_modes] == ["full_refresh"]
        assert not stream.default_cursor_field


def test_discover_schema_accepts_status_as_number_or_string():
    streams = {stream.name: stream for stream in discover(SourceOpenletter, config()).catalog.catalog.streams}
    orders = streams["orders"].json_schema["properties"]
    assert {"integer", "string"} <= set(orders["status"]["type"])
    assert {"integer", "string"} <= set(orders["contacts"]["items"]["properties"]["status"]["type"])
    assert {"campaign", "product", "contacts", "template"} <= set(orders)
