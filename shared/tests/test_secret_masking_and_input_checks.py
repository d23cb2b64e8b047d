"""Secrets masked in every printed line; config and state checked before any request."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from airbyte_cdk.models import AirbyteStateMessage, AirbyteStateType, AirbyteStreamState, StreamDescriptor
from airbyte_cdk.models import AirbyteStateBlob
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared.input_checks import DatetimeCursor, check_config, check_state, unknown_streams
from connectors_shared.secret_masking import MaskingStream, SecretMasker, secrets_of

SPEC = {"properties": {"api_key": {"type": "string", "airbyte_secret": True}, "start_date": {"type": "string"}}}
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)


def test_secrets_cover_encoded_forms_and_url_credentials():
    config = {"api_key": 'k3y/with "quotes"+plus', "start_date": "2024-01-01",
              "base_url": "https://proxyuser:proxy-pass@proxy.example.com/api"}
    found = secrets_of(SPEC, config)
    assert 'k3y/with "quotes"+plus' in found
    assert "k3y%2Fwith%20%22quotes%22%2Bplus" in found  # URL-encoded
    assert 'k3y/with \\"quotes\\"+plus' in found  # JSON-escaped
    assert "proxy-pass" in found and "proxyuser:proxy-pass" in found
    assert "2024-01-01" not in found


def test_masked_json_lines_stay_valid_and_records_are_left_alone():
    masker = SecretMasker(secrets_of(SPEC, {"api_key": "s3cr3t-token"}))
    target = io.StringIO()
    stream = MaskingStream(target, masker)
    trace = {"type": "TRACE", "trace": {"error": {"message": "bad key s3cr3t-token", "stack_trace": "x s3cr3t-token"}}}
    stream.write(json.dumps(trace) + "\n")
    stream.write("Traceback: token=s3cr3t-token\n")
    record = '{"type":"RECORD","record":{"data":{"note":"s3cr3t-token"}}}\n'
    stream.write(record)
    stream.flush()
    lines = target.getvalue().splitlines()
    assert json.loads(lines[0])["trace"]["error"] == {"message": "bad key ****", "stack_trace": "x ****"}
    assert lines[1] == "Traceback: token=****"
    assert lines[2] == record.strip()


def test_short_values_are_not_masked_everywhere():
    assert secrets_of(SPEC, {"api_key": "1"}) == []


@pytest.mark.parametrize(
    "config, field",
    [
        ({"start_date": "2024-13-45"}, "start_date"),
        ({"start_date": "2024-02-30"}, "start_date"),
        ({"start_date": "2030-01-01"}, "start_date"),
        ({"start_date": "2024-05-01", "end_date": "2024-04-30"}, "end_date"),
        ({"start_date": "2024-01-01", "base_url": "http://169.254.169.254/"}, "base_url"),
    ],
)
def test_impossible_config_is_a_config_error_naming_the_field(config, field):
    with pytest.raises(AirbyteTracedException) as raised:
        check_config(config, now=NOW)
    assert raised.value.failure_type.value == "config_error"
    assert raised.value.message.startswith(field)


@pytest.mark.parametrize("config", [{"start_date": "2024-01-01"}, {"start_date": "2024-01-01T10:00:00+0200"},
                                    {"start_date": "2024-01-01", "end_date": ""}, {"start_date": "2025-06-01"}])
def test_sensible_config_passes(config):
    check_config(config, now=NOW)


def _state(stream: str, value: dict) -> AirbyteStateMessage:
    return AirbyteStateMessage(
        type=AirbyteStateType.STREAM,
        stream=AirbyteStreamState(stream_descriptor=StreamDescriptor(name=stream), stream_state=AirbyteStateBlob(**value)),
    )


CURSORS = {"orders": DatetimeCursor("orders", "date", ["%Y-%m-%d"])}


@pytest.mark.parametrize(
    "value",
    [{"date": 12345}, {"date": "yesterday"}, {"states": "x"}, {"states": [{"partition": {}}]},
     {"states": [{"partition": {"id": 1}, "cursor": {"date": "nope"}}]}],
)
def test_a_state_no_cursor_can_start_from_is_a_config_error_naming_the_stream(value):
    with pytest.raises(AirbyteTracedException) as raised:
        check_state([_state("orders", value)], CURSORS, now=NOW)
    assert raised.value.failure_type.value == "config_error"
    assert "stream orders" in raised.value.message and "Reset" in raised.value.message


def test_a_future_state_is_accepted_with_a_warning(caplog):
    check_state([_state("orders", {"date": "2099-01-01"}), _state("other", {"x": 1})], CURSORS, now=NOW)
    assert any("orders" in r.message and "2099-01-01" in r.message and r.levelname == "WARNING" for r in caplog.records)


def test_unknown_streams_are_named():
    assert unknown_streams(["orders", "nope"], ["orders", "contacts"]) == ["nope"]
