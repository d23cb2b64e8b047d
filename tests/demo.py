"""End-to-end demo: every connector against the local sandbox, as Airbyte would run it.

For each connector: spec, check, discover, a full read (every stream as a user would pick it, ``tests.make_catalog``:
incremental where supported, from an empty state), then an incremental read from the state the first read ended
with. Prints records and state per stream, one sample record per stream (cut to two lines) and, for streams whose
state is kept per partition (per campaign, per location), each partition with its cursor.
Run it with ``bash tests/demo.sh`` (which also sets up the virtualenv).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Dict, List, Mapping, Optional

from tests.harness import ConnectorRunner, connectors
from tests.make_catalog import configured_catalog
from tests.sandbox import Sandbox

LINE_WIDTH = 118  # the demo's lines stay within this many characters
SAMPLE_LINES = 2
PARTITIONS_SHOWN = 3
# What the CDK writes beside a state's cursor: bookkeeping, not something to resume from.
NO_CURSOR_KEYS = {"__ab_no_cursor_state_message", "__ab_full_refresh_sync_complete"}
PARTITIONED_KEYS = {"states", "state", "use_global_cursor", "lookback_window", "parent_state"}


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _cursor_text(cursor: Any) -> str:
    """``{"createdAt": "2024-12-30"}`` as ``createdAt 2024-12-30``."""
    if isinstance(cursor, Mapping) and cursor:
        return ", ".join(f"{key} {value}" for key, value in cursor.items())
    return _compact(cursor)


def _partition_text(partition: Any) -> str:
    """A partition's own keys (``{"campaign_id": "65a1...", "parent_slice": {}}`` as ``65a1...``)."""
    if not isinstance(partition, Mapping):
        return _compact(partition)
    shown = {key: value for key, value in partition.items() if key != "parent_slice" and value not in ({}, None)}
    return ", ".join(str(value) for value in shown.values()) if len(shown) == 1 else _compact(shown)


def _partition_keys(entries: List[Any]) -> str:
    keys: List[str] = []
    for entry in entries:
        for key in (entry.get("partition") or {}) if isinstance(entry, Mapping) else {}:
            if key != "parent_slice" and key not in keys:
                keys.append(key)
    return ", ".join(keys) or "partition"


def state_summary(stream_state: Optional[Mapping[str, Any]]) -> str:
    """One line a person reads: a cursor, ``partitions ...`` for a per-partition state, ``none`` without a cursor."""
    if not stream_state:
        return "-"
    if set(stream_state) <= NO_CURSOR_KEYS:
        return "none (read whole each time)"
    entries = stream_state.get("states")
    if isinstance(entries, list) and len(entries) == 1 and isinstance(entries[0], Mapping):
        only = entries[0]
        return f"{_partition_keys(entries)} {_partition_text(only.get('partition'))}: {_cursor_text(only.get('cursor'))}"
    if isinstance(entries, list):
        cursors = [entry.get("cursor") for entry in entries if isinstance(entry, Mapping)]
        values = sorted(str(value) for cursor in cursors if isinstance(cursor, Mapping) for value in cursor.values())
        field = next((key for cursor in cursors if isinstance(cursor, Mapping) for key in cursor), "cursor")
        text = f"{len(entries)} partition{'s' if len(entries) != 1 else ''} by {_partition_keys(entries)}"
        if values:
            text += f", {field} up to {values[-1]}"
        if stream_state.get("use_global_cursor"):
            text += f"; one cursor for all: {_cursor_text(stream_state.get('state'))}"
        return text
    own = {key: value for key, value in stream_state.items() if key not in NO_CURSOR_KEYS | PARTITIONED_KEYS}
    return _cursor_text(own) if own else _compact(stream_state)


def partition_lines(stream_state: Optional[Mapping[str, Any]], shown: int = PARTITIONS_SHOWN) -> List[str]:
    """Each partition with its cursor (the first ``shown``, then how many more), for a state of several partitions."""
    entries = (stream_state or {}).get("states")
    if not isinstance(entries, list) or len(entries) < 2:
        return []  # one partition is said whole by state_summary
    lines = [f"{_partition_text(entry.get('partition'))}: {_cursor_text(entry.get('cursor'))}"
             for entry in entries[:shown] if isinstance(entry, Mapping)]
    if len(entries) > shown:
        lines.append(f"... and {len(entries) - shown} more")
    return lines


def sample_lines(data: Any, width: int = 96, lines: int = SAMPLE_LINES) -> List[str]:
    """A record as compact JSON, cut into at most ``lines`` lines of ``width`` characters (``...`` where cut)."""
    text = _compact(data)
    chunks = [text[start:start + width] for start in range(0, len(text), width)] or [""]
    if len(chunks) > lines:
        chunks = chunks[:lines]
        chunks[-1] = chunks[-1][: width - 3] + "..."
    return chunks


def demo(records: int) -> int:
    failures = 0
    with Sandbox(records=records, prefix="/sandbox") as sandbox:
        print(f"Sandbox listening on {sandbox.url} ({records} records per stream)\n")
        for connector in connectors():
            runner = ConnectorRunner(connector, connector.sandbox_config(sandbox.url))
            print(f"== {connector.name}")
            spec = runner.run("spec").of_type("SPEC")
            print(f"   spec:      {'ok' if spec else 'FAILED'}")
            status = runner.run("check").of_type("CONNECTION_STATUS")
            check_ok = bool(status) and status[0]["connectionStatus"]["status"] == "SUCCEEDED"
            print(f"   check:     {'SUCCEEDED' if check_ok else status[0]['connectionStatus'] if status else 'no answer'}")
            catalog = runner.discover_catalog()
            print(f"   discover:  {', '.join(stream['name'] for stream in catalog['streams'])}")
            configured = configured_catalog(catalog)

            started = time.monotonic()
            full = runner.run("read", catalog=configured)
            full_seconds = time.monotonic() - started
            incremental = runner.run("read", catalog=configured, state=full.final_states())

            full_counts, incremental_counts = full.records_by_stream(), incremental.records_by_stream()
            states: Dict[str, Any] = {}
            for run in (full, incremental):  # the incremental read's state where it wrote one
                for state in run.final_states():
                    states[state["stream"]["stream_descriptor"]["name"]] = state["stream"].get("stream_state")
            samples: Dict[str, Any] = {}
            for record in full.records:
                samples.setdefault(record["stream"], record["data"])

            names = [entry["stream"]["name"] for entry in configured["streams"]]
            column = max([len(name) for name in names] + [6]) + 2
            print(f"   read:      {sum(full_counts.values())} records in {full_seconds:.1f} s")
            print(f"   {'stream':<{column}}{'mode':<13}{'full read':>10}{'incremental':>13}  state after incremental read")
            for entry in configured["streams"]:
                name = entry["stream"]["name"]
                print(f"   {name:<{column}}{entry['sync_mode']:<13}{full_counts.get(name, 0):>10}"
                      f"{incremental_counts.get(name, 0):>13}  {state_summary(states.get(name))}")
            for name in names:
                lines = partition_lines(states.get(name))
                if lines:
                    print(f"   {name}, state per partition:")
                    for line in lines:
                        print(f"     {line}")
            print("   sample record of each stream:")
            for name in names:
                width = max(40, LINE_WIDTH - 5 - column)
                lines = sample_lines(samples[name], width) if name in samples else ["(no records)"]
                for index, line in enumerate(lines):
                    print(f"     {name if index == 0 else '':<{column}}{line}")
            errors = full.errors + incremental.errors
            if errors or not check_ok or not spec:
                failures += 1
                for error in errors:
                    print(f"   ERROR: {error['message']}")
            print()
    print("Demo finished: " + ("all connectors ran cleanly." if not failures else f"{failures} connector(s) reported errors."))
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2000, help="records per stream in the sandbox")
    sys.exit(demo(parser.parse_args().records))


if __name__ == "__main__":
    main()
