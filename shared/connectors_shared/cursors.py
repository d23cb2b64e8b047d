"""The CDK's datetime window cursor without its two per-record costs.

For every record it reads, the CDK's ``ConcurrentCursor.observe`` looks up the newest cursor value seen in the
record's slice, keyed by the slice itself, and parses the record's cursor value with ``strptime``:

- ``StreamSlice.__hash__`` serialises the slice to JSON and SHA-256-hashes it on every call, two calls per record;
- ``strptime`` tries each of the manifest's ``cursor_datetime_formats`` in turn, raising and catching on each miss.

Together they were a third of a Wicked Reports read's CPU. ``DatetimeWindowCursor`` is the same cursor with both
made cheap, and nothing else changed: same slices, same state, same order checks.

- Its slices are ``HashedStreamSlice``: equal to, and hashing like, the ``StreamSlice`` they copy, with the hash
  computed once. Records carry their slice, so every lookup by a record's slice reuses it.
- A cursor value in RFC 3339 UTC form (``2024-01-31T00:01:18.000Z``) is parsed with ``datetime.fromisoformat``.
  ``SchemaNormalizer`` writes every ``date-time`` field in this form. Any other value goes to the manifest's
  formats as before.

``ComponentFactory`` (``connectors_shared.component_factory``) builds this cursor wherever the CDK would build a
``ConcurrentCursor`` from a manifest's ``DatetimeBasedCursor``. What it overrides and reads of the CDK's cursor goes
through ``connectors_shared.cdk_hooks.HookedConcurrentCursor``.

``PartitionWindowCursor`` is the CDK's per-partition cursor over such cursors, for a stream read once per value the
user lists (Leadway's locations): no cursor shared by the partitions, a state after every window, partitions read in
turns. A factory that sets ``partition_cursor_class`` to it builds it (``HookedPartitionCursor`` in ``cdk_hooks``).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable, Mapping, MutableMapping, Optional

from airbyte_cdk.sources.types import Record, StreamSlice

from connectors_shared import window_sizing
from connectors_shared.cdk_hooks import HookedConcurrentCursor, HookedPartitionCursor, hashed_slice

_fromisoformat = _dt.datetime.fromisoformat


class HashedStreamSlice(StreamSlice):
    """A ``StreamSlice`` whose hash (the same value as ``StreamSlice``'s) is computed once, when it is made.

    A slice never changes after it is made, so its hash does not either.
    """

    def __init__(
        self,
        *,
        partition: Mapping[str, Any],
        cursor_slice: Mapping[str, Any],
        extra_fields: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(partition=partition, cursor_slice=cursor_slice, extra_fields=extra_fields)
        self._hash = super().__hash__()

    @classmethod
    def of(cls, stream_slice: StreamSlice) -> StreamSlice:
        """A hashed copy of ``stream_slice`` (``stream_slice`` itself if the CDK's slices changed shape)."""
        return hashed_slice(cls, stream_slice)

    def __hash__(self) -> int:
        return self._hash


def parse_rfc3339_utc(value: Any) -> Optional[_dt.datetime]:
    """``2024-01-31T00:01:18.000Z`` -> an aware UTC datetime; ``None`` for anything not in that form."""
    if type(value) is str and len(value) > 19 and value[10] == "T" and value[-1] == "Z":
        try:
            return _fromisoformat(value)
        except ValueError:
            return None
    return None


class DatetimeWindowCursor(HookedConcurrentCursor):
    """``ConcurrentCursor`` with hash-once slices, a fast path for RFC 3339 UTC cursor values (module docstring), and
    windows sized from the data (``connectors_shared.window_sizing``).

    The factory hands it the manifest's ``$parameters`` (``configure``: ``unsized_step``, the fixed window) and the
    stream's retriever (``attach_retriever``); the manifest's ``step`` is the widest window. A cursor without
    ``unsized_step`` cuts the manifest's ``step`` as the CDK does.
    """

    def configure(self, parameters: Mapping[str, Any]) -> None:
        self.__dict__["_unsized_step"] = window_sizing.unsized_step_of(parameters)

    def attach_retriever(self, retriever: Any) -> None:
        self.__dict__["_probe"] = window_sizing.WindowProbe(retriever, getattr(retriever, "name", ""))

    def stream_slices(self) -> Iterable[StreamSlice]:
        for stream_slice in self._sized_slices():
            yield HashedStreamSlice.of(stream_slice)

    def _sized_slices(self) -> Iterable[StreamSlice]:
        unsized = self.__dict__.get("_unsized_step")
        widest = self.slice_range
        if unsized is None or widest is None:
            yield from super().stream_slices()
            return
        # The range ends where it ended for the probe: "now" a second later would add a window of that second.
        range_end = window_sizing.sync_range_end(self.end_provider())
        self.end_provider = lambda: range_end
        # 1. The fixed windows: when the range fits in one, or nothing can probe, they are the windows.
        self.slice_range = unsized
        fixed = iter(super().stream_slices())
        first, second = next(fixed, None), next(fixed, None)
        probe, partition = self.__dict__.get("_probe"), None
        if probe is None:
            probe, partition = window_sizing.current_partition_probe() or (None, None)
        if second is None or probe is None:
            yield from (stream_slice for stream_slice in (first, second) if stream_slice is not None)
            yield from fixed
            return
        # 2. One probe over the first window at the widest step (the whole range when it fits), for the partition.
        self.slice_range = widest
        probed = next(iter(super().stream_slices()))
        if partition is not None:
            probed = StreamSlice(partition=partition.partition, cursor_slice=probed.cursor_slice,
                                 extra_fields=partition.extra_fields)
        start = self.parse_slice_boundary(probed.cursor_slice[self.slice_start_key])
        end = self.parse_slice_boundary(probed.cursor_slice[self.slice_end_key])
        pages = probe.pages(probed)
        # 3. The windows sized from its total.
        self.slice_range = window_sizing.sized_step(end - start, pages, self.cursor_granularity, widest, unsized)
        sized = iter(super().stream_slices())
        first = next(sized, None)
        if first is None or dict(first.cursor_slice) != dict(probed.cursor_slice):
            probe.take(probed)  # no window reads the probe's answer: let it go
        if first is not None:
            yield first
            yield from sized

    def cursor_value(self, record: Record) -> Any:
        value = self.cursor_field.extract_value(record)
        parsed = parse_rfc3339_utc(value)
        if parsed is None:
            parsed = self.parse_cursor_value(value)
        ceiling = self._ceiling(record.associated_slice)
        return ceiling if ceiling is not None and parsed > ceiling else parsed

    def _ceiling(self, stream_slice: Optional[StreamSlice]) -> Any:
        """The highest cursor value a record of ``stream_slice`` may advance the state to: the window's end, and now.

        A record dated in the future (a vendor bug: an order of 2099) is still emitted, but counts as dated at the end
        of its window. Otherwise the saved state would jump to 2099, and no later sync would read anything new.
        """
        if stream_slice is None:
            return None
        # Records arrive page by page from one slice object: remember the last one's ceiling.
        last = self.__dict__.get("_last_ceiling")
        if last is not None and last[0] is stream_slice:
            return last[1]
        end = stream_slice.cursor_slice.get(self.slice_end_key)
        ceilings = self.__dict__.setdefault("_ceilings", {})
        ceiling = ceilings.get(end)
        if ceiling is None:
            now = _dt.datetime.now(_dt.timezone.utc)
            try:
                ceiling = self.parse_slice_boundary(end)
            except (TypeError, ValueError):
                ceiling = now
            ceiling = min(ceiling, now) if ceiling.tzinfo else ceiling
            if len(ceilings) > 10_000:
                ceilings.clear()
            ceilings[end] = ceiling
        self.__dict__["_last_ceiling"] = (stream_slice, ceiling)
        return ceiling


class SizedPartitionCursor(HookedPartitionCursor):
    """The CDK's per-partition cursor whose partitions' windows are sized from the data: each partition's cursor
    probes through the stream's retriever with the partition in its slice (``connectors_shared.window_sizing``)."""

    def attach_retriever(self, retriever: Any) -> None:
        self.__dict__["_probe"] = window_sizing.WindowProbe(retriever, getattr(retriever, "name", ""))

    def partition_windows(self, partition: StreamSlice) -> Any:
        return window_sizing.partition_probe(self.__dict__.get("_probe"), partition)


class PartitionStateCursor(SizedPartitionCursor):
    """The per-partition cursor (windows sized from the data) without the CDK's cursor over all partitions:
    ``PartitionWindowCursor``'s first and third points below, for any partition router (TextYess's campaigns, read
    from a parent stream, too).

    The CDK's ``state`` (the newest record over every partition) is not capped as each partition's cursor is: one
    record dated 2099 in one campaign was saved there, and the next sync warned that it would read nothing. It is
    neither tracked nor saved.
    """

    track_global_cursor = False

    @property
    def state(self) -> MutableMapping[str, Any]:
        state = super().state
        if not self.uses_global_cursor:
            state.pop("state", None)
            state.pop("lookback_window", None)
        return state

    def stream_slices(self) -> Iterable[StreamSlice]:
        for stream_slice in super().stream_slices():
            yield HashedStreamSlice.of(stream_slice)


class PartitionWindowCursor(PartitionStateCursor):
    """Per-partition state for partitions the user lists (Leadway's locations): each its own window cursor, nothing
    shared between them.

    The CDK's per-partition cursor builds a ``DatetimeWindowCursor`` for each partition (through ``ComponentFactory``)
    and keeps their states under ``states``. Three things differ from it:

    - **No fallback to the other partitions' cursor.** The CDK also saves ``state``, the newest record over every
      partition, and starts any partition missing from ``states`` there: a location added to an existing connection
      would silently skip everything it has before the last sync. This cursor saves no ``state`` (nor the
      ``lookback_window`` that goes with it), so a new partition starts at ``start_date``. Before:
      ``{"use_global_cursor": false, "states": [{"partition": {"location_id": "A"}, "cursor": {"createdAt":
      "2024-06-30"}}], "state": {"createdAt": "2024-06-30"}, "lookback_window": 12}``; after: the same without its
      last two keys. ``connectors_shared.partitions.PerPartitionStateOnly`` removes them from a state saved before.
      Past 10,000 partitions the CDK keeps one cursor for all; that state is left as it is.
    - **A state message after every finished window**, **partitions read in turns**, and **records handed straight
      to their partition's cursor** (``HookedPartitionCursor``): a stopped sync resumes from its last window, the
      workers read several partitions at once, and no record pays for the cursor over all partitions it no longer
      saves.
    - **Slices hashed once** (``HashedStreamSlice``), as ``DatetimeWindowCursor``'s are.

    For partition routers without parent streams (``ListPartitionRouter``).
    """

    checkpoint_every_window = True
    interleave_partitions = True
