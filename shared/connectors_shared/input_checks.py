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
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import pendulum
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.interpolation import InterpolatedString
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

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
