"""A stream read once per value the user lists (Leadway's locations): records that say which, and state per value.

A manifest partitions such a stream with the CDK's ``ListPartitionRouter`` over a config list; the CDK then keeps an
incremental cursor per partition (``connectors_shared.cursors.PartitionWindowCursor`` where the connector asks for
it). Three pieces the manifest language lacks:

- ``PartitionFields`` (a transformation): copies partition values into every record, ``{location_id: location_id}``.
  The CDK's ``AddFields`` does the same with a Jinja template rendered for every record, about 20 µs each; this is a
  dictionary lookup.
- ``PlainStateIntoPartition`` (a state migration): a stream that used to read one value (one ``location_id``) saved a
  plain cursor, ``{"createdAt": "2024-06-30"}``. The CDK would apply such a state to *every* partition, a value added
  later included, which would skip that value's history. This migration moves it into the partition it was saved
  for: ``{"states": [{"partition": {"location_id": "A"}, "cursor": {"createdAt": "2024-06-30"}}]}``. When the config
  cannot say which value that was, the state is dropped and every partition starts at the start date once (with a
  WARN log): records are read twice rather than skipped.
- ``PerPartitionStateOnly`` (a state migration): drops the global fallback cursor (``state``, ``lookback_window``)
  from a per-partition state, so a partition missing from ``states`` starts at the start date instead of at the
  newest record of the other partitions.

Example (manifest)::

    transformations:
      - type: CustomTransformation
        class_name: connectors_shared.partitions.PartitionFields
        fields: {location_id: location_id}
    state_migrations:
      - type: CustomStateMigration
        class_name: connectors_shared.partitions.PlainStateIntoPartition
        partition_field: location_id
        partition_value: "{{ config.get('location_id') or '' }}"
      - type: CustomStateMigration
        class_name: connectors_shared.partitions.PerPartitionStateOnly
"""

from __future__ import annotations

import json
import logging
from dataclasses import InitVar, dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from airbyte_cdk.sources.declarative.interpolation import InterpolatedString
from airbyte_cdk.sources.declarative.migrations.state_migration import StateMigration
from airbyte_cdk.sources.declarative.transformations import RecordTransformation
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState

logger = logging.getLogger("airbyte")

# Keys of a per-partition state that are not one partition's own cursor.
GLOBAL_CURSOR_KEYS = ("state", "lookback_window")


@dataclass
class PartitionFields(RecordTransformation):
    """Set ``record[field] = partition[key]`` for each ``field: key`` of ``fields``, on every record of a partition.

    ``fields: {location_id: location_id}`` turns ``{"_id": "653f..."}`` read for the partition
    ``{"location_id": "A"}`` into ``{"_id": "653f...", "location_id": "A"}``. The partition's value wins over a field
    of the same name sent by the API: it is the value the record was asked for.
    """

    fields: Mapping[str, str]
    config: Optional[Config] = None
    parameters: InitVar[Optional[Mapping[str, Any]]] = None

    def __post_init__(self, parameters: Optional[Mapping[str, Any]]) -> None:
        if not isinstance(self.fields, Mapping) or not self.fields:
            raise ValueError(f"PartitionFields needs fields, e.g. {{location_id: location_id}}; got {self.fields!r}")
        self._pairs: List[Tuple[str, str]] = [(str(target), str(key)) for target, key in self.fields.items()]

    def transform(
        self,
        record: Dict[str, Any],
        config: Optional[Config] = None,
        stream_state: Optional[StreamState] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> None:
        if stream_slice is None:
            return
        partition = stream_slice.partition
        for target, key in self._pairs:
            if key in partition:
                record[target] = partition[key]


def _is_per_partition(stream_state: Mapping[str, Any]) -> bool:
    return "states" in stream_state or "state" in stream_state or "use_global_cursor" in stream_state


@dataclass
class PlainStateIntoPartition(StateMigration):
    """Move a plain cursor state into the partition ``{partition_field: partition_value}`` (module docstring).

    ``partition_value`` is interpolated with the config; empty means "unknown": the state is dropped, with a WARN log.
    """

    partition_field: str
    partition_value: str
    config: Optional[Config] = None
    parameters: InitVar[Optional[Mapping[str, Any]]] = None

    def __post_init__(self, parameters: Optional[Mapping[str, Any]]) -> None:
        self._stream = str((parameters or {}).get("name") or "")
        self._value = InterpolatedString.create(str(self.partition_value), parameters=parameters or {})

    def partition(self) -> Optional[Mapping[str, str]]:
        """The partition a plain state belongs to, or ``None`` when the config does not say."""
        value = self._value.eval(self.config or {})
        text = "" if value in (None, "None") else str(value).strip()
        return {self.partition_field: text} if text else None

    def should_migrate(self, stream_state: Mapping[str, Any]) -> bool:
        return bool(stream_state) and not _is_per_partition(stream_state)

    def migrate(self, stream_state: Mapping[str, Any]) -> Mapping[str, Any]:
        partition = self.partition()
        if partition is None:
            stream = f" of stream {self._stream}" if self._stream else ""
            logger.warning(
                f"The saved state{stream} ({json.dumps(dict(stream_state))}) was saved before the stream kept a state "
                f"per {self.partition_field}, and the config does not say which {self.partition_field} it was saved "
                f"for. Every {self.partition_field}{stream} is read from the start date this once: records already "
                "synced are sent again, none is skipped."
            )
            return {}
        return {"states": [{"partition": dict(partition), "cursor": dict(stream_state)}]}


@dataclass
class PerPartitionStateOnly(StateMigration):
    """Drop the global fallback cursor from a per-partition state, so a partition first seen starts at the start date.

    Before: ``{"use_global_cursor": false, "states": [{"partition": {"location_id": "A"}, "cursor": {...}}],
    "state": {"createdAt": "2024-06-30"}, "lookback_window": 12}``; after: the same without ``state`` and
    ``lookback_window``. A state on the global cursor (``use_global_cursor`` true, past 10,000 partitions) is left
    as it is: ``state`` is then the only cursor.
    """

    config: Optional[Config] = None
    parameters: InitVar[Optional[Mapping[str, Any]]] = None
    keys: List[str] = field(default_factory=lambda: list(GLOBAL_CURSOR_KEYS))

    def should_migrate(self, stream_state: Mapping[str, Any]) -> bool:
        return bool(
            stream_state
            and "states" in stream_state
            and not stream_state.get("use_global_cursor")
            and any(key in stream_state for key in self.keys)
        )

    def migrate(self, stream_state: Mapping[str, Any]) -> Mapping[str, Any]:
        return {key: value for key, value in stream_state.items() if key not in self.keys}
