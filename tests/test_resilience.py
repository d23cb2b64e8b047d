"""What held before the fail-loudly work keeps holding, through real connector processes against the sandbox.

- Under 8% injected 5xx answers every stream still delivers exactly the records of a clean read, and the sync ends
  without an error (each 5xx is retried).
- A sync killed mid-way (after its first state messages) resumes from the last state it emitted and, together with
  what it had delivered, loses no record.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from typing import Any, Dict, List, Optional, Set, Tuple

import pytest

from tests.harness import Connector, ConnectorRunner, Run, _parse, configured_catalog, connectors
from tests.sandbox import Sandbox
from tests.sandbox.server import Request, Response

pytestmark = pytest.mark.integration
CONNECTORS = connectors()
IDS = [connector.name for connector in CONNECTORS]
FAST_RETRIES = {"CONNECTORS_WAIT_SCALE": "0.001"}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(records=200, prefix="/resilience") as running:
        yield running


def keys_by_stream(records: List[Dict[str, Any]], catalog: Dict[str, Any]) -> Dict[str, Set[str]]:
    """Each stream's records as primary-key values (the whole record where a stream has no key)."""
    key_paths = {s["stream"]["name"]: s.get("primary_key") or [] for s in catalog["streams"]}
    found: Dict[str, Set[str]] = {name: set() for name in key_paths}
    for record in records:
        paths = key_paths[record["stream"]]
        data = record["data"]
        key = [data.get(path[0]) for path in paths] if paths else data
        found[record["stream"]].add(json.dumps(key, sort_keys=True))
    return found


@pytest.fixture(scope="module")
def clean_reads(sandbox) -> Dict[str, Tuple[ConnectorRunner, Dict[str, Any], Dict[str, Set[str]]]]:
    reads = {}
    for connector in CONNECTORS:
        runner = ConnectorRunner(connector, connector.sandbox_config(sandbox.url))
        catalog = configured_catalog(runner.discover_catalog(), incremental=True)
        run = runner.run("read", catalog=catalog)
        assert run.returncode == 0 and not run.errors, run.errors or run.stderr[-2000:]
        reads[connector.name] = (runner, catalog, keys_by_stream(run.records, catalog))
    return reads


class FailSometimes:
    """Answer a share of the sandbox's successful answers with a 503 instead (seeded, so runs repeat).

    The second answer always fails, so that a connector making few requests meets at least one.
    """

    def __init__(self, share: float, seed: int = 8) -> None:
        self.share = share
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.seen = 0
        self.failed = 0

    def __call__(self, request: Request, response: Response) -> Optional[Response]:
        with self.lock:
            self.seen += response.status == 200
            hit = response.status == 200 and (self.seen == 2 or self.random.random() < self.share)
            self.failed += hit
        return Response(503, {"message": "Service Unavailable"}) if hit else None


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_every_stream_is_exact_under_8_percent_injected_5xx(connector: Connector, sandbox, clean_reads):
    runner, catalog, expected = clean_reads[connector.name]
    vendor = sandbox.vendor(connector.name.removeprefix("source-"))
    failing = FailSometimes(0.08)
    vendor.rewrite(failing)
    try:
        run = runner.run("read", catalog=catalog, env=FAST_RETRIES)
    finally:
        vendor.reset()
    assert failing.failed > 0, "no 5xx was injected: the test proves nothing"
    assert run.returncode == 0 and not run.errors, run.errors or run.stderr[-2000:]
    assert keys_by_stream(run.records, catalog) == expected


def read_until_killed(runner: ConnectorRunner, catalog: Dict[str, Any], states_before_kill: int) -> Run:
    """Start a read and kill it (SIGKILL) once it has written ``states_before_kill`` state messages."""
    argv = list(runner.connector.command) + [
        "read", "--config", runner._write("config.json", runner.config),
        "--catalog", runner._write("catalog.json", catalog),
    ]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=runner.workdir,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: List[str] = []
    states = 0
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith('{"type":"STATE"'):
            states += 1
            if states >= states_before_kill:
                process.kill()
                break
    process.wait(timeout=60)
    return Run(list(_parse("".join(lines))), process.returncode, "", "".join(lines))


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_a_killed_sync_resumes_from_its_last_state_without_a_gap(connector: Connector, sandbox, clean_reads):
    runner, catalog, expected = clean_reads[connector.name]
    vendor = sandbox.vendor(connector.name.removeprefix("source-"))
    vendor.rewrite(lambda request, response: time.sleep(0.02))  # slow enough to be killed mid-way
    try:
        killed = read_until_killed(runner, catalog, states_before_kill=2)
    finally:
        vendor.reset()
    assert killed.returncode == -9, "the sync ended before it could be killed: the test proves nothing"
    resumed = runner.run("read", catalog=catalog, state=killed.final_states())
    assert resumed.returncode == 0 and not resumed.errors, resumed.errors or resumed.stderr[-2000:]
    delivered = keys_by_stream(killed.records, catalog)
    again = keys_by_stream(resumed.records, catalog)
    for stream, keys in expected.items():
        missing = keys - delivered[stream] - again[stream]
        assert not missing, f"{stream}: {len(missing)} records never delivered after the resume, e.g. {sorted(missing)[:3]}"
