"""DatetimeWindowCursor: the CDK's ConcurrentCursor, same slices and same state, without per-record hashing and strptime."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List

import pytest
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.message import InMemoryMessageRepository
from airbyte_cdk.sources.streams.concurrent.cursor import ConcurrentCursor, CursorField
from airbyte_cdk.sources.streams.concurrent.state_converters.datetime_stream_state_converter import (
    CustomFormatConcurrentStreamStateConverter,
)
from airbyte_cdk.sources.types import Record, StreamSlice
from airbyte_cdk.utils import slice_hasher

from connectors_shared.cursors import DatetimeWindowCursor, HashedStreamSlice, parse_rfc3339_utc

UTC = dt.timezone.utc


def test_a_hashed_slice_equals_and_hashes_like_the_slice_it_copies():
    plain = StreamSlice(partition={"id": "c1"}, cursor_slice={"start_time": "2024-01-01", "end_time": "2024-01-30"},
                        extra_fields={"name": "x"})
    hashed = HashedStreamSlice.of(plain)
    assert hashed == plain and plain == hashed
    assert hash(hashed) == hash(plain)
    assert hashed.extra_fields == {"name": "x"} and dict(hashed) == dict(plain)
    values = {plain: 1}
    assert values[hashed] == 1  # the CDK looks records' slices up in dicts keyed by the partition's slice


def test_a_hashed_slice_is_hashed_once(monkeypatch):
    calls: List[Any] = []
    original = slice_hasher.SliceHasher.hash
    monkeypatch.setattr(slice_hasher.SliceHasher, "hash", classmethod(lambda cls, *a, **k: calls.append(1) or original(*a, **k)))
    hashed = HashedStreamSlice(partition={}, cursor_slice={"start_time": "2024-01-01", "end_time": "2024-01-30"})
    for _ in range(1000):
        hash(hashed)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-01-31T00:01:18.000Z", dt.datetime(2024, 1, 31, 0, 1, 18, tzinfo=UTC)),
        ("2024-01-31T00:01:18Z", dt.datetime(2024, 1, 31, 0, 1, 18, tzinfo=UTC)),
        ("2024-01-31T00:01:18.123456Z", dt.datetime(2024, 1, 31, 0, 1, 18, 123456, tzinfo=UTC)),
        ("2024-01-31T00:01:18+02:00", None),  # not UTC form: left to the manifest's formats
        ("2024-01-31", None),
        ("2024-13-31T00:01:18.000Z", None),  # shaped like a timestamp, but not one
        (1706659278, None),
        (None, None),
    ],
)
def test_only_rfc3339_utc_values_take_the_fast_path(value, expected):
    assert parse_rfc3339_utc(value) == expected


def _cursor(cursor_class: type, repository: InMemoryMessageRepository) -> ConcurrentCursor:
    return cursor_class(
        stream_name="orders",
        stream_namespace=None,
        stream_state={},
        message_repository=repository,
        connector_state_manager=ConnectorStateManager(),
        connector_state_converter=CustomFormatConcurrentStreamStateConverter(
            datetime_format="%Y-%m-%d",
            input_datetime_formats=["%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"],
            is_sequential_state=False,
            cursor_granularity=dt.timedelta(days=1),
        ),
        cursor_field=CursorField("date"),
        slice_boundary_fields=("start_time", "end_time"),
        start=dt.datetime(2024, 1, 1, tzinfo=UTC),
        end_provider=lambda: dt.datetime(2024, 3, 31, tzinfo=UTC),
        slice_range=dt.timedelta(days=30),
        cursor_granularity=dt.timedelta(days=1),
    )


class _Partition:
    def __init__(self, stream_slice: StreamSlice) -> None:
        self._slice = stream_slice

    def to_slice(self) -> StreamSlice:
        return self._slice

    def stream_name(self) -> str:
        return "orders"


# Cursor values as records carry them: normalized (Z), second precision, with an offset, a date, a broken one.
VALUES = ["2024-01-03T10:00:00.000Z", "2024-01-09T23:59:59Z", "2024-01-20T01:00:00+05:00", "2024-01-12",
          "not a date", "2024-02-14T08:30:00.250Z", "2024-02-02T00:00:00.000Z", "2024-03-30T12:00:00Z"]


def _read(cursor: ConcurrentCursor, repository: InMemoryMessageRepository) -> Dict[str, Any]:
    slices = list(cursor.stream_slices())
    for index, stream_slice in enumerate(slices):
        for value in VALUES:
            day = value[:10]
            if stream_slice["start_time"] <= day <= stream_slice["end_time"] or (index == 0 and day == "not a date"):
                cursor.observe(Record(data={"date": value}, stream_name="orders", associated_slice=stream_slice))
        cursor.close_partition(_Partition(stream_slice))
    states = [message.state.stream.stream_state for message in repository.consume_queue()]
    return {"slices": [dict(s) for s in slices], "states": states, "final": cursor.state}


def test_same_slices_and_same_state_as_the_cdk_cursor():
    ours_repository, cdk_repository = InMemoryMessageRepository(), InMemoryMessageRepository()
    ours = _read(_cursor(DatetimeWindowCursor, ours_repository), ours_repository)
    cdk = _read(_cursor(ConcurrentCursor, cdk_repository), cdk_repository)
    assert ours == cdk
    assert len(ours["slices"]) == 3 and ours["states"]
    assert ours["final"]["slices"][-1]["most_recent_cursor_value"] == "2024-03-30"


def test_slices_are_hashed_once_however_many_records(monkeypatch):
    calls: List[Any] = []
    original = slice_hasher.SliceHasher.hash
    monkeypatch.setattr(slice_hasher.SliceHasher, "hash", classmethod(lambda cls, *a, **k: calls.append(1) or original(*a, **k)))
    repository = InMemoryMessageRepository()
    cursor = _cursor(DatetimeWindowCursor, repository)
    (first, *_) = cursor.stream_slices()
    calls.clear()
    for second in range(5000):
        cursor.observe(Record(data={"date": f"2024-01-0{1 + second % 9}T00:00:{second % 60:02d}.000Z"},
                              stream_name="orders", associated_slice=first))
    assert len(calls) == 0


def test_observe_takes_the_fast_path_for_normalized_values(monkeypatch):
    # If the CDK stopped calling _extract_cursor_value from observe, this would fall back to strptime unnoticed.
    repository = InMemoryMessageRepository()
    cursor = _cursor(DatetimeWindowCursor, repository)
    first = next(iter(cursor.stream_slices()))
    parsed: List[Any] = []
    converter = cursor._connector_state_converter
    monkeypatch.setattr(converter, "parse_value", lambda value: parsed.append(value) or converter.parse_timestamp(value))
    cursor.observe(Record(data={"date": "2024-01-05T10:00:00.000Z"}, stream_name="orders", associated_slice=first))
    cursor.observe(Record(data={"date": "2024-01-06T10:00:00+02:00"}, stream_name="orders", associated_slice=first))
    assert parsed == ["2024-01-06T10:00:00+02:00"]
    cursor.close_partition(_Partition(first))
    assert cursor.state["slices"][-1]["most_recent_cursor_value"] == "2024-01-06"


def test_a_record_dated_in_the_future_never_moves_the_state_past_its_window():
    repository = InMemoryMessageRepository()
    cursor = _cursor(DatetimeWindowCursor, repository)
    first = next(iter(cursor.stream_slices()))
    cursor.observe(Record(data={"date": "2099-01-01T00:00:00.000Z"}, stream_name="orders", associated_slice=first))
    cursor.close_partition(_Partition(first))
    assert cursor.state["slices"][-1]["most_recent_cursor_value"] == first["end_time"]
    # The CDK's own cursor would have saved 2099: every later sync would read nothing new.
    cdk_repository = InMemoryMessageRepository()
    cdk = _cursor(ConcurrentCursor, cdk_repository)
    cdk_first = next(iter(cdk.stream_slices()))
    cdk.observe(Record(data={"date": "2099-01-01T00:00:00.000Z"}, stream_name="orders", associated_slice=cdk_first))
    cdk.close_partition(_Partition(cdk_first))
    assert cdk.state["slices"][-1]["most_recent_cursor_value"] == "2099-01-01"
