"""Checks of what the user hands a connector - config, saved state, catalog - before any request is sent.

A wrong value here used to crash deep inside the CDK (a ``system_error`` with a traceback) or, worse, to be accepted:
a start date in the future read nothing and saved a future state that went on hiding data after the date was
corrected. Each problem is now a ``config_error`` whose message names the field or stream and says what to do.

- ``check_config``: ``base_url`` (``connectors_shared.transport.check_base_url``); ``start_date`` and ``end_date``
  must be real dates (``2024-02-30`` is not), ``start_date`` not in the future, ``end_date`` not before it.
- ``check_state``: every datetime cursor in the saved state must parse as one (per-partition entries included).
  A cursor already past now is accepted - the stream reads nothing, as Airbyte's acceptance tests expect - and
  named in a WARN log with how to reset it.
- ``unknown_streams``: configured streams the connector does not have, for a WARN log.
- ``check_config_against_spec``: the spec's JSON schema, as the CDK validates it, but each problem said in words that
  name the field and what it expects (``page_size: 'lots' is not an integer, for example 1000.``) instead of
  jsonschema's ``'lots' is not of type 'integer'`` or a bare regular expression. The words come from the spec itself:
  each property's ``title``, ``description``, ``examples``, ``default`` and ``pattern_descriptor``. A secret
  (``airbyte_secret``) is never quoted back.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import pendulum
from airbyte_cdk.models import FailureType
from jsonschema import validators
from jsonschema.exceptions import ValidationError
from airbyte_cdk.sources.declarative.interpolation import InterpolatedString
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared.secret_masking import shorten
from connectors_shared.transport import check_base_url

logger = logging.getLogger("airbyte")

DATE_FIELDS = ("start_date", "end_date")
# Keys the CDK writes into states beside the cursor itself.
STATE_BOOKKEEPING_KEYS = {"state_type", "legacy", "slices", "use_global_cursor", "lookback_window", "parent_state",
                          "states", "state", "__ab_no_cursor_state_message", "__ab_full_refresh_sync_complete"}
RESET_HINT = (
    "Reset the stream's state (in Airbyte: the connection's Settings > Clear data for this stream, or edit the "
    "state file you pass with --state) and sync again."
)


def config_error(message: str) -> AirbyteTracedException:
    return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.config_error)


def parse_datetime(value: Any) -> Optional[dt.datetime]:
    """An ISO 8601 date or date-time as an aware datetime (UTC when no offset is given); ``None`` if it is not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        try:
            parsed = pendulum.parse(text, strict=True)  # forms the standard library refuses, e.g. +0200
        except Exception:  # pendulum raises several types for a string that is not a date
            return None
        if not isinstance(parsed, dt.datetime):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def check_config(config: Mapping[str, Any], now: Optional[dt.datetime] = None) -> None:
    """Raise a ``config_error`` for a config no request should be sent with (see the module docstring)."""
    check_base_url(config.get("base_url"))
    now = now or dt.datetime.now(dt.timezone.utc)
    dates: Dict[str, dt.datetime] = {}
    for field in DATE_FIELDS:
        value = config.get(field)
        if value in (None, ""):
            continue
        parsed = parse_datetime(value)
        if parsed is None:
            raise config_error(
                f"{field} {value!r} is not a real date. Write it as YYYY-MM-DD (for example 2024-01-31), a day that "
                "exists in the calendar."
            )
        dates[field] = parsed
    start = dates.get("start_date")
    if start is not None and start > now:
        raise config_error(
            f"start_date {config['start_date']!r} is in the future. Set it to the first day you want synced, today "
            f"({now.date().isoformat()}) or earlier."
        )
    end = dates.get("end_date")
    if start is not None and end is not None and end < start:
        raise config_error(
            f"end_date {config['end_date']!r} is before start_date {config['start_date']!r}. Set end_date on or "
            "after start_date, or leave it empty to sync up to today."
        )


@dataclass
class DatetimeCursor:
    """What a stream's saved state must hold: ``cursor_field`` as a date-time in one of ``formats``."""

    stream: str
    cursor_field: str
    formats: Sequence[str]

    def parse(self, value: Any) -> Optional[dt.datetime]:
        if not isinstance(value, str):
            return None
        for fmt in self.formats:
            if "%_" in fmt or "%s" in fmt:
                continue  # the CDK's own directives; the ISO parser below covers these forms
            try:
                parsed = dt.datetime.strptime(value, fmt)
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
        return parse_datetime(value)


def manifest_streams(streams: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    """The stream definitions of a resolved manifest, those inside ``ConditionalStreams`` included."""
    for stream in streams:
        if isinstance(stream, Mapping):
            if stream.get("type") == "ConditionalStreams":
                yield from manifest_streams(stream.get("streams") or [])
            else:
                yield stream


def datetime_cursors(manifest: Mapping[str, Any], config: Mapping[str, Any]) -> Dict[str, DatetimeCursor]:
    """The streams of a resolved manifest whose ``incremental_sync`` is a ``DatetimeBasedCursor``, by name."""
    cursors: Dict[str, DatetimeCursor] = {}
    for stream in manifest_streams(manifest.get("streams") or []):
        incremental = stream.get("incremental_sync") or {}
        if incremental.get("type") != "DatetimeBasedCursor":
            continue
        parameters = {**stream.get("$parameters", {}), **incremental.get("$parameters", {})}
        name = stream.get("name") or parameters.get("name")
        field = InterpolatedString.create(str(incremental.get("cursor_field")), parameters=parameters).eval(config)
        formats = [incremental.get("datetime_format")] + list(incremental.get("cursor_datetime_formats") or [])
        cursors[str(name)] = DatetimeCursor(str(name), str(field), [f for f in formats if f])
    return cursors


def _cursor_values(stream: str, state: Any, cursor: DatetimeCursor) -> Iterable[Any]:
    """Every value in ``state`` that must be a cursor of ``cursor.cursor_field``; raises for a malformed shape."""
    if not isinstance(state, Mapping):
        raise config_error(
            f"The saved state of stream {stream} is {state!r}, not an object such as "
            f'{{"{cursor.cursor_field}": "2024-01-31T00:00:00Z"}}. {RESET_HINT}'
        )
    if cursor.cursor_field in state:
        yield state[cursor.cursor_field]
    if "states" in state:
        entries = state["states"]
        if not isinstance(entries, list):
            raise config_error(
                f"The saved state of stream {stream} has 'states' = {entries!r}, not a list of "
                f'{{"partition": {{...}}, "cursor": {{"{cursor.cursor_field}": ...}}}} entries. {RESET_HINT}'
            )
        for entry in entries:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("partition"), Mapping) or not isinstance(
                entry.get("cursor"), Mapping
            ):
                raise config_error(
                    f"The saved state of stream {stream} has a per-partition entry {entry!r}, not of the form "
                    f'{{"partition": {{...}}, "cursor": {{"{cursor.cursor_field}": ...}}}}. {RESET_HINT}'
                )
            yield from _cursor_values(stream, entry["cursor"], cursor)
    if isinstance(state.get("state"), Mapping):
        yield from _cursor_values(stream, state["state"], cursor)
    for interval in state.get("slices") or [] if isinstance(state.get("slices"), list) else []:
        if isinstance(interval, Mapping):
            for key in ("start", "end", "most_recent_cursor_value"):
                if key in interval:
                    yield interval[key]


def check_state(
    states: Optional[List[Any]], cursors: Mapping[str, DatetimeCursor], now: Optional[dt.datetime] = None
) -> None:
    """Raise a ``config_error`` for a state no cursor can start from; warn of cursors past ``now``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    for message in states or []:
        stream_state = getattr(message, "stream", None)
        if stream_state is None:
            continue
        name = stream_state.stream_descriptor.name
        state = stream_state.stream_state
        state = state.__dict__ if hasattr(state, "__dict__") and not isinstance(state, Mapping) else state
        cursor = cursors.get(name)
        if cursor is None:
            # Not a datetime cursor (a keyset, say): its component checks the values; the shape is checked here.
            cursor = DatetimeCursor(name, "<cursor>", [])
            for _ in _cursor_values(name, state or {}, cursor):
                pass
            continue
        for value in _cursor_values(name, state or {}, cursor):
            parsed = cursor.parse(value)
            if parsed is None:
                raise config_error(
                    f"The saved state of stream {name} holds {cursor.cursor_field} = {value!r}, which is not a "
                    f"date-time (expected for example \"2024-01-31T00:00:00Z\"). {RESET_HINT}"
                )
            if parsed > now:
                logger.warning(
                    f"The saved state of stream {name} is in the future ({cursor.cursor_field} = {value!r}), so this "
                    f"sync reads nothing for {name}. If that date is wrong, {RESET_HINT[0].lower()}{RESET_HINT[1:]}"
                )


def unknown_streams(configured: Iterable[str], available: Iterable[str]) -> List[str]:
    known = set(available)
    return [name for name in configured if name not in known]


# --- the spec's JSON schema, in words ----------------------------------------------------------------------------

TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "text (a string in quotes)",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object of named settings",
}
SHOWN_VALUE_CHARACTERS = 60


def check_config_against_spec(config: Mapping[str, Any], connection_specification: Mapping[str, Any]) -> None:
    """Raise one ``config_error`` listing every way ``config`` breaks the spec, each named by field and in words.

    The same validation as the CDK's ``check_config_against_spec_or_exit`` (the spec's own JSON-schema draft), with
    messages a person can act on. ``internal_message`` keeps jsonschema's wording, secrets left out.
    """
    problems = spec_problems(config, connection_specification)
    if problems:
        message = " ".join(sentence for sentence, _ in problems)
        internal = "Config validation error: " + "; ".join(raw for _, raw in problems)
        raise AirbyteTracedException(message=message, internal_message=internal, failure_type=FailureType.config_error)


def spec_problems(config: Any, connection_specification: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """``(sentence, jsonschema's message)`` for each field of ``config`` the spec refuses, in the spec's field order."""
    validator = validators.validator_for(connection_specification)(connection_specification)
    properties = connection_specification.get("properties") or {}
    seen: set = set()
    found: List[Tuple[Tuple[Any, ...], str, str]] = []
    for error in validator.iter_errors(config):
        for field, sentence, raw in _sentences(error, properties):
            if field in seen:
                continue  # one problem per field: the first one jsonschema reports
            seen.add(field)
            top = field.split("[", 1)[0].split(".", 1)[0]
            order = (properties.get(top) or {}).get("order", 1000) if isinstance(properties.get(top), Mapping) else 1000
            if _is_secret(error.schema, top, properties) and error.validator != "required":
                raw = f"{field}: {error.validator} failed"  # jsonschema's message would quote the secret
            found.append(((order, field), sentence, raw))
    return [(sentence, raw) for _, sentence, raw in sorted(found, key=lambda item: item[0])]


def _field_name(path: Iterable[Any]) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _is_secret(schema: Any, top: str, properties: Mapping[str, Any]) -> bool:
    top_schema = properties.get(top)
    return bool(
        (isinstance(schema, Mapping) and schema.get("airbyte_secret"))
        or (isinstance(top_schema, Mapping) and top_schema.get("airbyte_secret"))
    )


def _shown(value: Any) -> str:
    """How a value is quoted back: strings as 'text' (as jsonschema does), anything else as JSON, shortened."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    elif isinstance(value, (int, float)):
        text = repr(value)
    else:
        text = json.dumps(value, default=str)
    return shorten(text, SHOWN_VALUE_CHARACTERS - 3, "...")


def _example(schema: Mapping[str, Any]) -> Optional[str]:
    """The spec's own example of a good value (``examples``, else ``default``), as text; None without one."""
    examples = schema.get("examples")
    if isinstance(examples, list) and examples and not isinstance(examples[0], (list, dict)):
        return " or ".join(str(example) for example in examples[:2])
    default = schema.get("default")
    if default not in (None, "", [], {}) and not isinstance(default, (list, dict, bool)):
        return f"{default} (the default)"
    return None


def _first_sentence(text: Any) -> str:
    words = " ".join(str(text or "").split())
    cut = words.find(". ")
    return (words if cut < 0 else words[:cut]).rstrip(".")


def _expected_types(value: Any) -> str:
    types = value if isinstance(value, list) else [value]
    words = [TYPE_WORDS.get(str(kind), str(kind)) for kind in types if kind != "null"]
    text = " or ".join(words) or "empty"
    return text + (" (or empty)" if "null" in types and words else "")


def _is_date_like(schema: Mapping[str, Any]) -> bool:
    descriptor = str(schema.get("pattern_descriptor") or "")
    return schema.get("format") in ("date", "date-time") or descriptor.startswith("YYYY")


def _pattern_words(shown: str, schema: Mapping[str, Any]) -> str:
    """What a value that does not match ``schema['pattern']`` should look like, said from the spec's own words."""
    pattern = str(schema.get("pattern") or "")
    descriptor = schema.get("pattern_descriptor")
    example = _example(schema)
    if _is_date_like(schema):
        like = f" like {example.removesuffix(' (the default)')}" if example else ""
        return f"{shown} is not a date{like}" + (f" ({descriptor})" if descriptor else "")
    if "https?://" in pattern:
        words = f"{shown} is not an address starting with http:// or https://"
        if pattern.startswith("^$|"):
            words += ", nor empty"
        return words + (f", such as {example}" if example else "")
    if descriptor:
        return f"{shown} is not in the form {descriptor}" + (f", for example {example}" if example else "")
    if example:
        return f"{shown} does not have the expected form, for example {example}"
    what = _first_sentence(schema.get("description"))
    return f"{shown} does not have the expected form" + (f" ({what})" if what else "")


# JSON-schema keywords whose failure reads the same whatever the field: "{shown}" is the field's value as shown.
_BOUND_WORDS = {
    "minimum": "{shown} is below the minimum of {expected}",
    "maximum": "{shown} is above the maximum of {expected}",
    "exclusiveMinimum": "{shown} must be more than {expected}",
    "exclusiveMaximum": "{shown} must be less than {expected}",
    "maxLength": "{shown} is longer than {expected} characters",
    "uniqueItems": "{shown} lists the same value more than once; list each value once",
    "minItems": "{shown} needs at least {expected} value(s)",
    "maxItems": "{shown} has more than {expected} value(s)",
}


def _sentences(error: ValidationError, properties: Mapping[str, Any]) -> Iterable[Tuple[str, str, str]]:
    """``(field, sentence, jsonschema's message)`` for one error (a missing-fields error: one per missing field).

    ``properties``: the spec's top-level properties, for the words a nested schema (``then``, an array's ``items``)
    does not repeat: the title and description of a field required by ``if``/``then``, an item's example.
    """
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    path = list(error.absolute_path)
    field = _field_name(path)
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        own = schema.get("properties") or {}
        for name in expected:
            if isinstance(value, Mapping) and name not in value:
                missing = _field_name([*path, name])
                prop = own.get(name) or (properties.get(name) if not path else None) or {}
                about = ": ".join(part for part in (prop.get("title"), _first_sentence(prop.get("description"))) if part)
                sentence = f"{missing} is missing; it is required" + (f" ({about})." if about else ".")
                yield missing, sentence, f"{name!r} is a required property"
        return
    if not path:
        if kind == "type":
            yield "config", f"The config must be a JSON object of settings, not {_shown(value)}.", error.message
        else:
            yield "config", f"The config does not fit the connector's spec: {error.message}.", error.message
        return
    secret = bool(schema.get("airbyte_secret"))
    shown = "the value given" if secret else _shown(value)
    top = properties.get(path[0]) if isinstance(path[0], str) else None
    if isinstance(path[-1], int) and isinstance(top, Mapping) and not _example(schema):
        # An item of a list: the list's own example (a list of good items) shows a good item.
        examples = top.get("examples")
        if isinstance(examples, list) and examples and isinstance(examples[0], list) and examples[0]:
            schema = {**schema, "examples": examples[0][:1]}
    example = None if secret else _example(schema)
    for_example = f", for example {example}" if example else ""
    if kind == "type":
        sentence = f"{shown} is not {_expected_types(expected)}{for_example}"
    elif kind == "pattern":
        sentence = _pattern_words(shown, schema)
    elif kind in _BOUND_WORDS:
        sentence = _BOUND_WORDS[kind].format(shown=shown, expected=expected)
    elif kind == "minLength":
        sentence = f"{shown} is empty; give it a value" if expected == 1 else f"{shown} is shorter than {expected} characters"
    elif kind in ("enum", "const"):
        options = expected if kind == "enum" else [expected]
        sentence = f"{shown} is not one of: {', '.join(str(option) for option in options)}"
    elif kind == "additionalProperties":
        extra = sorted(set(value) - set(schema.get("properties") or {})) if isinstance(value, Mapping) else []
        sentence = f"has settings this connector does not know: {', '.join(extra)}"
    else:
        what = _first_sentence(schema.get("description"))
        sentence = f"{shown} is not accepted ({what or error.message})"
    yield field, f"{field}: {sentence}.", error.message
