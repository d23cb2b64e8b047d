"""Connector processes hand records from the CDK's workers to its main thread a page at a time and write them as
lines (the record_batches hook of connectors_shared.cdk_hooks). Through real processes against the sandbox, each
connector writes the records, states, per-state record counts and stream statuses the CDK's own one-by-one path
writes, and no record of a stream comes after its last state or its COMPLETE status.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List

import pytest

from tests.harness import Connector, ConnectorRunner, Run, configured_catalog, connectors
from tests.sandbox import Sandbox

pytestmark = pytest.mark.integration
CONNECTORS = {connector.name: connector for connector in connectors()}


@dataclass
class WithoutBatches(Connector):
    """The same connector, run with the record_batches hook left off: the CDK's own path for every record."""

    @property
    def command(self) -> List[str]:
        package = self.name.replace("-", "_")
        script = (
            "from connectors_shared import cdk_hooks\n"
            "cdk_hooks.record_batches = lambda on: False\n"
            f"from {package}.run import run\n"
            "run()\n"
        )
        return [sys.executable, "-c", script]


def records_by_stream(run: Run) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for record in run.records:
        found.setdefault(record["stream"], []).append(json.dumps(record["data"], sort_keys=True))
    return {stream: sorted(rows) for stream, rows in found.items()}


def statuses(run: Run) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for message in run.of_type("TRACE"):
        status = message["trace"].get("stream_status")
        if status:
            found.setdefault(status["stream_descriptor"]["name"], []).append(status["status"])
    return found


def order_problems(run: Run) -> List[str]:
    """Records after their stream's last state or COMPLETE status, and state record counts that do not add up."""
    problems: List[str] = []
    last_state: Dict[str, int] = {}
    complete: Dict[str, int] = {}
    counted: Counter = Counter()
    for position, message in enumerate(run.messages):
        if message.get("type") == "STATE" and message["state"].get("type") == "STREAM":
            stream = message["state"]["stream"]["stream_descriptor"]["name"]
            last_state[stream] = position
            counted[stream] += int(message["state"].get("sourceStats", {}).get("recordCount", 0))
        elif message.get("type") == "TRACE" and (message["trace"].get("stream_status") or {}).get("status") == "COMPLETE":
            complete[message["trace"]["stream_status"]["stream_descriptor"]["name"]] = position
    written: Counter = Counter()
    for position, message in enumerate(run.messages):
        if message.get("type") != "RECORD":
            continue
        stream = message["record"]["stream"]
        written[stream] += 1
        if position > last_state.get(stream, -1) or position > complete.get(stream, -1):
            problems.append(f"a {stream} record after the stream's last state or COMPLETE status")
    for stream, count in written.items():
        if counted[stream] != count:
            problems.append(f"{stream}: states count {counted[stream]} records, {count} written")
    return problems


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_a_connector_process_writes_what_the_cdks_own_path_writes(name: str) -> None:
    connector = CONNECTORS[name]
    with Sandbox(records=1200, prefix="/batches") as sandbox:
        config = connector.sandbox_config(sandbox.url)
        batched = ConnectorRunner(connector, config)
        catalog = configured_catalog(batched.discover_catalog(), incremental=True)
        ours = batched.run("read", catalog=catalog)
        stock = ConnectorRunner(WithoutBatches(connector.name, connector.folder), config).run("read", catalog=catalog)
    for run in (ours, stock):
        assert run.returncode == 0 and not run.errors, run.errors or run.stderr[-2000:]
    assert records_by_stream(ours) == records_by_stream(stock)
    assert sum(len(rows) for rows in records_by_stream(ours).values()) > 1000
    assert ours.final_stream_states() == stock.final_stream_states()
    assert statuses(ours) == statuses(stock)
    assert order_problems(ours) == [] and order_problems(stock) == []
    assert '"lastName":null' not in ours.stdout  # top-level nulls are left out, as the CDK's serializer does
