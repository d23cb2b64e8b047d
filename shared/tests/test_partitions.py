"""Streams read once per listed value (connectors_shared.partitions, cursors.PartitionWindowCursor, budget_per_value).

The per-partition cursor tests build it as a manifest would (the factory's public
``create_concurrent_cursor_from_perpartition_cursor`` with a ``ListPartitionRouter``), once with the CDK's stock
factory and once with a factory whose ``partition_cursor_class`` is ``PartitionWindowCursor``.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional

import pytest
import requests
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor import ConcurrentPerPartitionCursor
from airbyte_cdk.sources.declarative.models import DatetimeBasedCursor as DatetimeBasedCursorModel
from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory
from airbyte_cdk.sources.declarative.partition_routers import ListPartitionRouter
from airbyte_cdk.sources.message import InMemoryMessageRepository
from airbyte_cdk.sources.types import Record, StreamSlice

from connectors_shared import cdk_hooks
from connectors_shared.budget_per_value import BudgetPerQueryValue, query_value
from connectors_shared.component_factory import ComponentFactory
from connectors_shared.cursors import PartitionWindowCursor, SizedPartitionCursor
from connectors_shared.partitions import PartitionFields, PerPartitionStateOnly, PlainStateIntoPartition
from connectors_shared.rate_limiting import HeaderPacedBudget

CURSOR = {
    "type": "DatetimeBasedCursor",
    "cursor_field": "createdAt",
    "datetime_format": "%Y-%m-%d",
    "cursor_datetime_formats": ["%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%d"],
    "start_datetime": "2024-01-01",
    "end_datetime": "2024-03-30",
    "step": "P30D",
    "cursor_granularity": "P1D",
}


class PartitionFactory(ComponentFactory):
    partition_cursor_class = PartitionWindowCursor


def per_partition_cursor(factory_class: Optional[type], state: Mapping[str, Any], values=("A", "B"),
                         repository: Optional[InMemoryMessageRepository] = None) -> Any:
    factory = ModelToComponentFactory(message_repository=repository)
    if factory_class is not None:
        factory = cdk_hooks.recast(factory, factory_class)
    router = ListPartitionRouter(values=list(values), cursor_field="location_id", config={}, parameters={})
    return factory.create_concurrent_cursor_from_perpartition_cursor(
        state_manager=ConnectorStateManager(),
        model_type=DatetimeBasedCursorModel,
        component_definition=dict(CURSOR),
        stream_name="orders",
        stream_namespace=None,
        config={},
        stream_state=dict(state),
        partition_router=router,
    )


def first_window(cursor: Any) -> Dict[str, str]:
    """Each partition's first window start."""
    starts: Dict[str, str] = {}
    for stream_slice in cursor.stream_slices():
        starts.setdefault(stream_slice.partition["location_id"], stream_slice["start_time"])
    return starts


SAVED_BY_THE_CDK = {
    "use_global_cursor": False,
    "states": [{"partition": {"location_id": "A"}, "cursor": {"createdAt": "2024-03-01"}}],
    "state": {"createdAt": "2024-03-01"},
    "lookback_window": 0,
}


# --- a partition first seen -----------------------------------------------------------------------------------------


def test_the_cdk_starts_a_new_partition_at_the_other_partitions_cursor():
    # Why PerPartitionStateOnly exists: B, listed after A's sync, would skip January and February. If this fails, the
    # CDK changed its default and the migration may no longer be needed.
    cursor = per_partition_cursor(None, SAVED_BY_THE_CDK)
    assert type(cursor) is ConcurrentPerPartitionCursor
    # The shared factory's own per-partition cursor only sizes each partition's windows (window_sizing): it keeps
    # this default; PartitionWindowCursor drops it only when asked for.
    sized = per_partition_cursor(ComponentFactory, SAVED_BY_THE_CDK)
    assert type(sized) is SizedPartitionCursor
    assert first_window(cursor) == {"A": "2024-03-01", "B": "2024-03-01"}
    assert first_window(sized) == {"A": "2024-03-01", "B": "2024-03-01"}


def test_without_the_global_cursor_a_new_partition_starts_at_the_start_date():
    state = PerPartitionStateOnly().migrate(SAVED_BY_THE_CDK)
    assert state == {"use_global_cursor": False, "states": SAVED_BY_THE_CDK["states"]}
    for factory_class in (None, PartitionFactory):
        assert first_window(per_partition_cursor(factory_class, state)) == {"A": "2024-03-01", "B": "2024-01-01"}


@pytest.mark.parametrize(
    "state, migrates",
    [
        (SAVED_BY_THE_CDK, True),
        ({"states": [], "lookback_window": 3}, True),
        ({"use_global_cursor": False, "states": []}, False),
        ({"use_global_cursor": True, "states": [], "state": {"createdAt": "2024-03-01"}}, False),  # the only cursor
        ({"createdAt": "2024-03-01"}, False),
        ({}, False),
    ],
)
def test_per_partition_state_only_drops_the_global_cursor_of_per_partition_states_only(state, migrates):
    assert PerPartitionStateOnly().should_migrate(state) is migrates


# --- the cursor ----------------------------------------------------------------------------------------------------


class Done:
    """A partition the reader finished (what ``close_partition`` is handed)."""

    def __init__(self, stream_slice: StreamSlice) -> None:
        self.stream_slice = stream_slice

    def to_slice(self) -> StreamSlice:
        return self.stream_slice


def sync(cursor: Any, created: Dict[str, str]) -> List[StreamSlice]:
    """Read every window: one record per partition of ``created`` (in the window holding its day, or the partition's
    last window for a day after the end), every window closed, then the stream's end."""
    slices = list(cursor.stream_slices())
    last = {stream_slice.partition["location_id"]: stream_slice for stream_slice in slices}
    for stream_slice in slices:
        location = stream_slice.partition["location_id"]
        day = created.get(location, "")[:10]
        if day and (stream_slice["start_time"] <= day <= stream_slice["end_time"] or (
                day > stream_slice["end_time"] and stream_slice is last[location])):
            cursor.observe(Record(data={"createdAt": created[location]}, stream_name="orders",
                                  associated_slice=stream_slice))
        cursor.close_partition(Done(stream_slice))
    cursor.ensure_at_least_one_state_emitted()
    return slices


def test_partition_window_cursor_is_built_by_the_factory_with_hash_once_slices():
    cursor = per_partition_cursor(PartitionFactory, {})
    assert type(cursor) is PartitionWindowCursor and isinstance(cursor, cdk_hooks.HookedPartitionCursor)
    assert not cursor.uses_global_cursor
    stream_slice = next(iter(cursor.stream_slices()))
    assert hash(stream_slice) == hash(StreamSlice(partition=stream_slice.partition,
                                                  cursor_slice=stream_slice.cursor_slice))


def test_partition_window_cursor_keeps_a_vendor_date_in_the_future_out_of_every_partition_state():
    # Each partition's cursor is a DatetimeWindowCursor: an order dated 2099 counts as dated at its window's end.
    cursor = per_partition_cursor(PartitionFactory, {})
    sync(cursor, {"A": "2024-02-10T08:00:00.000Z", "B": "2099-01-01T00:00:00.000Z"})
    assert cursor.state["states"][1] == {"partition": {"location_id": "B"}, "cursor": {"createdAt": "2024-03-30"}}


def test_partition_window_cursor_hands_out_the_partitions_windows_in_turns():
    def windows_of(cursor: Any) -> List[tuple]:
        return [(s.partition["location_id"], s["start_time"]) for s in cursor.stream_slices()]

    stock, ours = windows_of(per_partition_cursor(None, {})), windows_of(per_partition_cursor(PartitionFactory, {}))
    windows = ["2024-01-01", "2024-01-31", "2024-03-01"]
    assert stock == [(p, w) for p in "AB" for w in windows]  # the CDK: every window of A, then B's
    assert ours == [(p, w) for w in windows for p in "AB"]


@pytest.mark.parametrize("factory_class", [None, PartitionFactory], ids=["stock", "ours"])
def test_partition_window_cursor_saves_what_the_cdk_saves_per_partition_and_no_global_cursor(factory_class):
    cursor = per_partition_cursor(factory_class, {})
    sync(cursor, {"A": "2024-02-10T08:00:00.000Z", "B": "2024-03-20T08:00:00.000Z"})
    state = cursor.state
    assert state["states"] == [
        {"partition": {"location_id": "A"}, "cursor": {"createdAt": "2024-02-10"}},
        {"partition": {"location_id": "B"}, "cursor": {"createdAt": "2024-03-20"}},
    ]
    if factory_class is None:
        assert state["state"] == {"createdAt": "2024-03-20"}  # where the CDK would start a partition first seen
    else:
        assert set(state) == {"use_global_cursor", "states"}


@pytest.mark.parametrize("factory_class, messages", [(None, 2), (PartitionFactory, 7)], ids=["stock", "ours"])
def test_partition_window_cursor_emits_a_state_after_every_window(factory_class, messages):
    # Six windows: the CDK emits after the first and at the end (then every 600 s); ours after each, and at the end.
    repository = InMemoryMessageRepository()
    cursor = per_partition_cursor(factory_class, {}, repository=repository)
    assert len(sync(cursor, {"A": "2024-02-10T08:00:00.000Z"})) == 6
    assert [message.type.value for message in repository.consume_queue()] == ["STATE"] * messages


# --- state saved when the stream read one value --------------------------------------------------------------------


def test_plain_state_moves_into_the_partition_the_config_names():
    migration = PlainStateIntoPartition(partition_field="location_id", partition_value="{{ config['location_id'] }}",
                                        config={"location_id": "A"}, parameters={"name": "orders"})
    assert migration.should_migrate({"createdAt": "2024-03-01"})
    state = migration.migrate({"createdAt": "2024-03-01"})
    assert state == {"states": [{"partition": {"location_id": "A"}, "cursor": {"createdAt": "2024-03-01"}}]}
    assert first_window(per_partition_cursor(PartitionFactory, state)) == {"A": "2024-03-01", "B": "2024-01-01"}
    for saved in (state, SAVED_BY_THE_CDK, {}, {"use_global_cursor": False}):
        assert not migration.should_migrate(saved)


def test_plain_state_of_an_unknown_partition_is_dropped_with_a_warning(caplog):
    migration = PlainStateIntoPartition(partition_field="location_id", partition_value="{{ config.get('x') or '' }}",
                                        config={}, parameters={"name": "orders"})
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        assert migration.migrate({"createdAt": "2024-03-01"}) == {}
    assert "stream orders" in caplog.text and "does not say which location_id" in caplog.text
    assert "none is skipped" in caplog.text


# --- records say which partition -----------------------------------------------------------------------------------


def test_partition_fields_copy_the_partition_into_every_record():
    transformation = PartitionFields(fields={"location_id": "location_id"})
    stream_slice = StreamSlice(partition={"location_id": "A"}, cursor_slice={"start_time": "2024-01-01"})
    record = {"_id": "1", "location_id": "from the API"}
    transformation.transform(record, stream_slice=stream_slice)
    assert record == {"_id": "1", "location_id": "A"}
    with pytest.raises(ValueError, match="needs fields"):
        PartitionFields(fields={})


# --- a rate limit per value ----------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: List[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def request_for(location: str) -> requests.PreparedRequest:
    return requests.Request("GET", "http://api.test/payments/orders", params={"altId": location, "limit": 1}).prepare()


def answer(remaining: int) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.headers.update({"X-RateLimit-Remaining": str(remaining), "X-RateLimit-Interval-Milliseconds": "10000"})
    return response


def test_each_value_is_paced_by_its_own_headers():
    clock = Clock()
    budget = BudgetPerQueryValue("altId", lambda: HeaderPacedBudget(
        "X-RateLimit-Remaining", "X-RateLimit-Interval-Milliseconds", clock=clock, sleep=clock.sleep))
    a, b = request_for("A"), request_for("B")
    budget.acquire_call(a)
    budget.update_from_response(a, answer(0))  # A's window is spent
    for _ in range(3):
        budget.acquire_call(b)
        budget.update_from_response(b, answer(50))
    assert clock.slept == []  # B is not paused by A's window
    budget.acquire_call(a)
    assert clock.slept == [10.0]  # A waits for its own window
    assert budget.keys == ["A", "B"] and query_value(a, "altId") == "A" and query_value(None, "altId") == ""
    assert isinstance(budget.budget_for(a), HeaderPacedBudget) and budget.budget_for(a) is not budget.budget_for(b)
