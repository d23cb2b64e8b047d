"""Every connector runs under PyAirbyte (``airbyte.get_source(..., local_executable=...)``), offline, loading all its
streams from the sandbox into a DuckDB cache; the rows per stream and the stored state match a run of the connector
through the Airbyte protocol, and a second read resumes from that state without duplicating rows.

Slow (PyAirbyte lives in its own ~800 MB virtualenv, ``.venv-pyairbyte``, created here if missing): opt-in with
``pytest tests/test_pyairbyte.py -m pyairbyte``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.harness import Connector, ConnectorRunner, Run, comparable_states, configured_catalog, connectors
from tests.sandbox import Sandbox

pytestmark = pytest.mark.pyairbyte

REPO = Path(__file__).resolve().parent.parent
LOAD_SCRIPT = REPO / "tests" / "containers" / "pyairbyte_load.py"
CONNECTORS = connectors()


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as running:
        yield running


def _load(python: Path, connector: Connector, config: Dict[str, Any], reads: int) -> Dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="pyairbyte-"))
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    env = {**os.environ, "AIRBYTE_OFFLINE_MODE": "true", "DO_NOT_TRACK": "1", "PYTHONPATH": ""}
    process = subprocess.run(
        [str(python), str(LOAD_SCRIPT), "--cache-dir", str(workdir / "duckdb"), "--reads", str(reads),
         "--connector", f"{connector.name}:{config_path}"],
        capture_output=True, text=True, timeout=900, env=env, cwd=workdir,
    )
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-5000:]
    report = json.loads(process.stdout.strip().splitlines()[-1])
    assert Path(report["duckdb"]).exists()
    return report["connectors"][connector.name]


def _distinct_keys(run: Run, catalog: Dict[str, Any]) -> Dict[str, int]:
    """Rows a deduplicating destination keeps per stream: distinct primary keys (all records without a key)."""
    keys = {s["name"]: s.get("source_defined_primary_key") or [] for s in catalog["streams"]}
    seen: Dict[str, set] = {}
    for record in run.records:
        stream, data = record["stream"], record["data"]
        key: List[Any] = [_path(data, path) for path in keys[stream]] or [json.dumps(data, sort_keys=True)]
        seen.setdefault(stream, set()).add(json.dumps(key, sort_keys=True, default=str))
    return {stream: len(values) for stream, values in seen.items()}


def _path(data: Dict[str, Any], path: List[str]) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


@pytest.mark.parametrize("connector", CONNECTORS, ids=[c.name for c in CONNECTORS])
def test_given_connector_when_read_with_pyairbyte_into_duckdb_then_rows_and_state_match_protocol_run(
    connector: Connector, pyairbyte_python: Path, sandbox: Sandbox
) -> None:
    config = connector.sandbox_config(sandbox.url)
    if not (REPO / ".venv" / "bin" / connector.name).exists():
        pytest.fail(f"{connector.name} is not installed in .venv: run bash tests/setup_venv.sh")

    # The reference: the same sync through the Airbyte protocol, and its resumption from the state it wrote.
    local = ConnectorRunner(connector, config)
    catalog = local.discover_catalog()
    configured = configured_catalog(catalog, incremental=True)
    first = local.run("read", catalog=configured)
    assert first.returncode == 0 and not first.errors, first.errors
    second = local.run("read", catalog=configured, state=first.final_states())
    assert second.returncode == 0 and not second.errors, second.errors

    loaded = _load(pyairbyte_python, connector, config, reads=2)
    streams = sorted(s["name"] for s in catalog["streams"])
    assert loaded["streams"] == streams

    first_load, second_load = loaded["reads"]
    assert first_load["records_read"] == len(first.records)
    expected_rows = _distinct_keys(first, catalog)
    assert set(expected_rows) == set(streams), "every stream should return records from the sandbox"
    assert first_load["rows"] == expected_rows
    assert comparable_states(first_load["state"]) == first.final_stream_states()

    # Resumed from the stored state: only what the connector re-reads (lookback, last window) comes again, and it
    # merges by primary key instead of adding rows.
    assert second_load["records_read"] == len(second.records)
    assert second_load["rows"] == expected_rows
    assert comparable_states(second_load["state"]) == second.final_stream_states()
