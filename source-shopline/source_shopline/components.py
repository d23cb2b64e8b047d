"""A keyset cursor kept per partition, which the per-campaign order stream needs for its "last order id" state.

Nothing in it knows SHOPLINE; it lives here until a second connector needs it.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Dict, Iterable, Mapping, MutableMapping, Optional

from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.message import MessageRepository
from airbyte_cdk.sources.streams.concurrent.cursor import Cursor, CursorField
from airbyte_cdk.sources.streams.concurrent.partitions.partition import Partition
from airbyte_cdk.sources.types import Record, StreamSlice

from connectors_shared.component_factory import ComponentFactory
from connectors_shared.input_checks import RESET_HINT, config_error


# The slice key under which a partition's saved keyset value reaches the requester.
PREVIOUS_ID = "previous_id"
# A saved keyset value: an id-like string (SHOPLINE's `last_id` is a string, 24 hex digits in its examples). Any
# plain id of another shape still resumes; a number, an object or a blank is refused before any request.
ORDER_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


class KeysetPartitionCursor(Cursor):
    """Incremental state for keyset-paged partitions: the last id read in each partition.

    SHOPLINE pages a campaign's orders by ``previous_id`` (the ``last_id`` of the answer before), oldest first. The
    id of the last order read is therefore a complete bookmark: the next sync asks for ``previous_id=<that id>`` and
    gets only newer orders. The CDK's declarative cursors are datetime or integer based and refuse partitions with
    an integer cursor, hence this one.

    Each slice is a partition of the wrapped router plus ``cursor_slice={"previous_id": <saved id>}`` once the
    partition has state. State is written when a partition finishes (a partition that fails keeps its old value,
    so the next sync re-reads it from there)::

        {"states": [{"partition": {"affiliate_campaign_id": "c1"}, "cursor": {"id": "6386cd0b31b641004798fb00"}}]}
    """

    def __init__(
        self,
        stream_name: str,
        partition_router: Any,
        partition_field: str,
        cursor_field: str,
        stream_state: Optional[Mapping[str, Any]],
        message_repository: MessageRepository,
        connector_state_manager: ConnectorStateManager,
    ) -> None:
        self._stream_name = stream_name
        self._partition_router = partition_router
        self._partition_field = partition_field
        self.cursor_field = CursorField(cursor_field)
        self._message_repository = message_repository
        self._connector_state_manager = connector_state_manager
        self._lock = threading.Lock()
        self._last_ids: Dict[str, str] = self._parse_state(stream_state or {})
        self._seen: Dict[str, str] = {}  # last id read per partition still running

    def _parse_state(self, stream_state: Mapping[str, Any]) -> Dict[str, str]:
        last_ids: Dict[str, str] = {}
        for entry in stream_state.get("states") or []:
            key = (entry.get("partition") or {}).get(self._partition_field)
            value = (entry.get("cursor") or {}).get(self.cursor_field.cursor_field_key)
            if value is not None and not (isinstance(value, str) and ORDER_ID.match(value)):
                raise config_error(
                    f"The saved state of stream {self._stream_name} holds {self.cursor_field.cursor_field_key} = "
                    f"{value!r} for {self._partition_field} {key}, which is not an order id. {RESET_HINT}"
                )
            if key is not None and value not in (None, ""):
                last_ids[str(key)] = str(value)
        return last_ids

    @property
    def state(self) -> MutableMapping[str, Any]:
        with self._lock:
            return {
                "states": [
                    {"partition": {self._partition_field: key}, "cursor": {self.cursor_field.cursor_field_key: value}}
                    for key, value in sorted(self._last_ids.items())
                ]
            }

    def stream_slices(self) -> Iterable[StreamSlice]:
        for partition in self._partition_router.stream_slices():
            key = partition.partition.get(self._partition_field)
            previous = self._last_ids.get(str(key)) if key is not None else None
            yield StreamSlice(
                partition=partition.partition,
                cursor_slice={PREVIOUS_ID: previous} if previous else {},
                extra_fields=partition.extra_fields,
            )

    def observe(self, record: Record) -> None:
        value = record.data.get(self.cursor_field.cursor_field_key)
        slice_ = record.associated_slice
        if value in (None, "") or slice_ is None:
            return
        key = slice_.partition.get(self._partition_field)
        with self._lock:
            # Records of one partition arrive in API order, oldest first: the last one is the bookmark.
            self._seen[str(key)] = str(value)

    def close_partition(self, partition: Partition) -> None:
        slice_ = partition.to_slice()
        key = slice_.partition.get(self._partition_field) if slice_ is not None else None
        with self._lock:
            last = self._seen.pop(str(key), None)
            if last is not None:
                self._last_ids[str(key)] = last
        self._emit_state()

    def ensure_at_least_one_state_emitted(self) -> None:
        self._emit_state()

    def should_be_synced(self, record: Record) -> bool:
        return True

    def _emit_state(self) -> None:
        self._connector_state_manager.update_state_for_stream(self._stream_name, None, self.state)
        self._message_repository.emit_message(
            self._connector_state_manager.create_state_message(self._stream_name, None)
        )


class KeysetCursorComponentFactory(ComponentFactory):
    """Builds a ``KeysetPartitionCursor`` for a stream whose ``$parameters`` name ``keyset_cursor_field``.

    The manifest schema accepts only datetime and integer cursors in ``incremental_sync``, so a keyset stream
    declares its cursor in ``$parameters`` instead::

        $parameters: {name: affiliate_campaign_orders, keyset_cursor_field: id, keyset_partition_field: affiliate_campaign_id}

    Every other stream is built as by the shared factory. ``SourceShopline`` names it as its ``component_factory``.
    """

    def custom_concurrent_cursor(self, model: Any, stream_slicer: Any, config: Any) -> Optional[Cursor]:
        parameters = model.parameters or {}
        cursor_field = parameters.get("keyset_cursor_field")
        if not cursor_field or model.incremental_sync:
            return None
        stream_name = model.name or ""
        state_manager = self.connector_state_manager
        return KeysetPartitionCursor(
            stream_name=stream_name,
            partition_router=stream_slicer,
            partition_field=parameters["keyset_partition_field"],
            cursor_field=cursor_field,
            stream_state=state_manager.get_stream_state(stream_name, None),
            message_repository=self.get_message_repository(),
            connector_state_manager=state_manager,
        )
