"""What a person reads when a config is wrong or a check fails: the field named, what it expects said in words.

The config cases are a table of (config, exact message), as dlt's tests keep them; then every connector's own spec
is held to the same rules (no jsonschema phrasing, no regular expression, no secret quoted back).
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared.input_checks import check_config_against_spec, spec_problems
from connectors_shared.source import _PlainTracedErrors, plain_message

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = sorted(REPO.glob("source-*/source_*/manifest.yaml"))

SPEC: Dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["api_key", "start_date"],
    "properties": {
        "api_key": {"type": "string", "title": "API key", "airbyte_secret": True, "order": 0,
                    "description": "The key on the Authorizations page. Sent as a header."},
        "start_date": {"type": "string", "title": "Start date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                       "pattern_descriptor": "YYYY-MM-DD", "examples": ["2024-01-31"], "format": "date", "order": 1},
        "page_size": {"type": "integer", "default": 1000, "minimum": 1, "maximum": 1000, "order": 2},
        "environment": {"type": "string", "enum": ["production", "demo"], "order": 3},
        "base_url": {"type": "string", "pattern": "^https?://", "default": "https://api.example.com", "order": 4},
        "proxy_url": {"type": "string", "pattern": "^$|^https?://", "order": 5},
        "campaign_ids": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True,
                         "order": 6},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$", "pattern_descriptor": "three capital letters",
                 "order": 7},
        "region": {"type": "string", "pattern": "^[a-z]+-[0-9]$", "description": "The API's region. Rarely set.",
                   "order": 8},
    },
}
GOOD = {"api_key": "secret-key-123", "start_date": "2024-01-01"}

CASES = [
    ({"page_size": "lots"}, "page_size: 'lots' is not an integer, for example 1000 (the default)."),
    ({"start_date": "2024/01/01"}, "start_date: '2024/01/01' is not a date like 2024-01-31 (YYYY-MM-DD)."),
    ({"page_size": 5000}, "page_size: 5000 is above the maximum of 1000."),
    ({"page_size": 0}, "page_size: 0 is below the minimum of 1."),
    ({"environment": "prod"}, "environment: 'prod' is not one of: production, demo."),
    ({"base_url": "api.example.com"},
     "base_url: 'api.example.com' is not an address starting with http:// or https://, such as "
     "https://api.example.com (the default)."),
    ({"proxy_url": "proxy"}, "proxy_url: 'proxy' is not an address starting with http:// or https://, nor empty."),
    ({"campaign_ids": "abc"}, "campaign_ids: 'abc' is not a list."),
    ({"campaign_ids": ["a", "a"]}, 'campaign_ids: ["a", "a"] lists the same value more than once; list each value once.'),
    ({"campaign_ids": [""]}, "campaign_ids[0]: '' is empty; give it a value."),
    ({"code": "abc"}, "code: 'abc' is not in the form three capital letters."),
    ({"region": "EU"}, "region: 'EU' does not have the expected form (The API's region)."),
    ({"api_key": None}, "api_key: the value given is not text (a string in quotes)."),
    ({"api_key": 123456789}, "api_key: the value given is not text (a string in quotes)."),
    ({"start_date": None, "page_size": 2.5},
     "start_date: null is not text (a string in quotes), for example 2024-01-31. page_size: 2.5 is not an integer, for "
     "example 1000 (the default)."),
]


@pytest.mark.parametrize("overrides, message", CASES, ids=[message.split(":")[0] + str(i) for i, (_, message) in enumerate(CASES)])
def test_a_config_the_spec_refuses_is_named_by_field_in_words(overrides: Dict[str, Any], message: str) -> None:
    with pytest.raises(AirbyteTracedException) as raised:
        check_config_against_spec({**GOOD, **overrides}, SPEC)
    assert raised.value.message == message
    assert raised.value.failure_type == FailureType.config_error
    assert raised.value.internal_message.startswith("Config validation error: ")


def test_missing_fields_say_what_each_is_for() -> None:
    with pytest.raises(AirbyteTracedException) as raised:
        check_config_against_spec({}, SPEC)
    assert raised.value.message == (
        "api_key is missing; it is required (API key: The key on the Authorizations page). "
        "start_date is missing; it is required (Start date)."
    )
    assert raised.value.internal_message == (
        "Config validation error: 'api_key' is a required property; 'start_date' is a required property"
    )


def test_a_field_required_by_if_then_and_a_list_item_borrow_the_words_of_their_top_level_property() -> None:
    spec = {
        "type": "object",
        "if": {"not": {"required": ["location_id"]}},
        "then": {"required": ["location_ids"]},
        "properties": {
            "location_id": {"type": "string"},
            "location_ids": {"type": "array", "title": "Location ids", "description": "The locations read. More.",
                             "items": {"type": "string", "pattern": "^\\S+$"}, "examples": [["3Swdh", "ve9E"]]},
        },
    }
    assert [sentence for sentence, _ in spec_problems({}, spec)] == [
        "location_ids is missing; it is required (Location ids: The locations read)."]
    assert [sentence for sentence, _ in spec_problems({"location_ids": ["a b"]}, spec)] == [
        "location_ids[0]: 'a b' does not have the expected form, for example 3Swdh."]


def test_a_config_that_is_not_an_object_says_so() -> None:
    assert spec_problems([1, 2], SPEC)[0][0] == "The config must be a JSON object of settings, not [1, 2]."


def test_a_secret_is_never_quoted_back_not_even_in_the_internal_message() -> None:
    with pytest.raises(AirbyteTracedException) as raised:
        check_config_against_spec({**GOOD, "api_key": 987654321}, SPEC)
    assert "987654321" not in raised.value.message and "987654321" not in raised.value.internal_message


def test_a_valid_config_passes() -> None:
    check_config_against_spec({**GOOD, "page_size": 10, "campaign_ids": ["a", "b"], "proxy_url": ""}, SPEC)


def test_long_values_are_shortened() -> None:
    (sentence, _), = spec_problems({**GOOD, "code": "x" * 500}, SPEC)
    assert len(sentence) < 150 and "..." in sentence


# --- every connector's own spec --------------------------------------------------------------------------------------

JSONSCHEMA_PHRASES = re.compile(r"is not of type|does not match|is a required property|\^\[|\]\{|\$'")


def _spec(manifest: Path) -> Dict[str, Any]:
    return yaml.safe_load(manifest.read_text())["spec"]["connection_specification"]


def _bad_values(spec: Dict[str, Any]) -> Dict[str, Any]:
    """A wrong value for every property: text where a number goes, a number where text goes, and so on."""
    wrong: Dict[str, Any] = {}
    for name, prop in (spec.get("properties") or {}).items():
        kind = prop.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "integer" in kinds or "number" in kinds:
            wrong[name] = "lots"
        elif "array" in kinds:
            wrong[name] = "not-a-list"
        elif "string" in kinds and prop.get("pattern"):
            wrong[name] = "2024/01/01 is wrong"
        elif "string" in kinds:
            wrong[name] = 123456789
    return wrong


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[m.parts[-3] for m in MANIFESTS])
def test_every_field_of_every_connector_is_named_in_words_when_wrong(manifest: Path) -> None:
    spec = _spec(manifest)
    wrong = _bad_values(spec)
    problems = spec_problems(wrong, spec)
    named = {sentence.split(":")[0].split(" ")[0] for sentence, _ in problems}
    assert set(wrong) <= named, f"fields without a sentence: {set(wrong) - named}"
    for sentence, _ in problems:
        assert not JSONSCHEMA_PHRASES.search(sentence), sentence
        assert sentence.endswith(".")
    secrets = [name for name, prop in spec["properties"].items() if prop.get("airbyte_secret")]
    for sentence, raw in problems:
        for name in secrets:
            if sentence.startswith(f"{name}:"):
                assert "123456789" not in sentence and "123456789" not in raw


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[m.parts[-3] for m in MANIFESTS])
def test_every_required_field_of_every_connector_is_named_when_missing(manifest: Path) -> None:
    spec = _spec(manifest)
    sentences = [sentence for sentence, _ in spec_problems({}, spec)]
    named = [sentence.split(" ")[0] for sentence in sentences]
    assert set(spec["required"]) <= set(named)  # and any field an if/then of the spec requires as well
    assert named == sorted(named, key=lambda name: spec["properties"][name].get("order", 1000))
    for sentence in sentences:
        name = sentence.split(" ")[0]
        assert sentence.startswith(f"{name} is missing; it is required ({spec['properties'][name]['title']}")


# --- check messages ------------------------------------------------------------------------------------------------

PLAIN = [
    ("'Stream orders is not available: the key was refused.'", "Stream orders is not available: the key was refused."),
    ('"Stream orders is not available: no vendor at \'x\'."', "Stream orders is not available: no vendor at 'x'."),
    ("Exception('Stream orders is not available.')", "Stream orders is not available."),
    ("AirbyteTracedException(\"it's gone\")", "it's gone"),
    ("Stream orders is not available: 'x' is wrong", "Stream orders is not available: 'x' is wrong"),
    ("'a' or 'b'", "'a' or 'b'"),  # not one literal: left alone
    ("print('x')", "x"),  # a call is unwrapped, never run
    ("__import__('os').system('true')", "__import__('os').system('true')"),
    ("", ""),
]


@pytest.mark.parametrize("message, shown", PLAIN)
def test_plain_message_takes_off_only_the_quoting_repr_added(message: str, shown: str) -> None:
    assert plain_message(message) == shown


def _record(message: str, error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord("airbyte", logging.ERROR, __file__, 1, message, (), exc_info)


def test_a_traced_error_logged_with_a_pasted_traceback_keeps_the_sentence_only() -> None:
    error = AirbyteTracedException(message="base_url is wrong.", failure_type=FailureType.config_error)
    record = _record("Encountered an error while discovering streams. Error: base_url is wrong.Error traceback: \n "
                     "Traceback (most recent call last):\n  File \"x.py\", line 1", error)
    assert _PlainTracedErrors().filter(record)
    assert record.getMessage() == "Encountered an error while discovering streams. Error: base_url is wrong."
    assert record.exc_info is None


def test_a_traced_error_logged_with_exc_info_gets_its_sentence_added() -> None:
    record = _record("Exception while syncing stream orders", AirbyteTracedException(message="The key was refused."))
    assert _PlainTracedErrors().filter(record)
    assert record.getMessage() == "Exception while syncing stream orders: The key was refused."


def test_an_unexpected_error_keeps_its_traceback() -> None:
    record = _record("Something broke", ValueError("bug"))
    assert _PlainTracedErrors().filter(record)
    assert record.exc_info is not None
