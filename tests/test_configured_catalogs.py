"""Each connector's ``integration_tests/configured_catalog.json``: every stream discover lists, as a user picks it, and
a catalog the connector reads with.

When a stream is added (or a stream's modes, key or cursor change), the first test fails until the file is made
again: ``python -m tests.make_catalog source-x``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, DestinationSyncMode, SyncMode

from tests import make_catalog
from tests.harness import REPO, Connector, ConnectorRunner, connectors
from tests.sandbox import Sandbox

CONNECTORS = connectors()
IDS = [c.name for c in CONNECTORS]


@pytest.fixture(scope="module")
def discovered() -> Dict[str, Dict[str, Any]]:
    return {connector.name: make_catalog.discovered(connector) for connector in CONNECTORS}


def _file(connector: Connector) -> Dict[str, Any]:
    path = make_catalog.catalog_path(connector)
    assert path.exists(), f"{connector.name} has no {make_catalog.CATALOG_FILE}: run python -m tests.make_catalog {connector.name}"
    return json.loads(path.read_text())


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_given_connector_when_discovered_then_its_configured_catalog_file_matches(connector, discovered) -> None:
    expected = make_catalog.file_text(make_catalog.configured_catalog(discovered[connector.name], keep_schema=False))
    shipped = make_catalog.catalog_path(connector).read_text() if make_catalog.catalog_path(connector).exists() else ""
    names = [s["name"] for s in discovered[connector.name]["streams"]]
    listed = [s["stream"]["name"] for s in json.loads(shipped)["streams"]] if shipped else []
    assert shipped == expected, (
        f"{connector.name}/{make_catalog.CATALOG_FILE} is out of date (discover lists {names}, the file {listed}, or "
        f"a stream's modes, key or cursor changed): run python -m tests.make_catalog {connector.name}"
    )


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_given_configured_catalog_file_when_loaded_by_the_cdk_then_every_stream_is_selected_as_a_user_would(
    connector, discovered
) -> None:
    catalog = ConfiguredAirbyteCatalogSerializer.load(_file(connector))  # what `read --catalog` parses it with
    streams = {s["name"]: s for s in discovered[connector.name]["streams"]}
    assert [c.stream.name for c in catalog.streams] == list(streams)
    for configured in catalog.streams:
        stream = streams[configured.stream.name]
        assert configured.sync_mode.value in stream["supported_sync_modes"]
        if "incremental" in stream["supported_sync_modes"] and stream.get("source_defined_primary_key"):
            assert configured.sync_mode == SyncMode.incremental
            assert configured.destination_sync_mode == DestinationSyncMode.append_dedup
            assert configured.cursor_field == stream["default_cursor_field"]
            assert configured.primary_key == stream["source_defined_primary_key"]
        else:
            assert (configured.sync_mode, configured.destination_sync_mode) == (
                SyncMode.full_refresh, DestinationSyncMode.overwrite)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(records=40) as running:
        yield running


@pytest.mark.integration
@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_given_configured_catalog_file_when_read_against_the_sandbox_then_every_stream_syncs(connector, sandbox) -> None:
    """The file as shipped, passed to ``read --catalog``: every stream read, a state for every incremental one."""
    catalog = _file(connector)
    run = ConnectorRunner(connector, connector.sandbox_config(sandbox.url)).run("read", catalog=catalog)
    assert run.returncode == 0 and not run.errors, run.errors
    selected = [entry["stream"]["name"] for entry in catalog["streams"]]
    assert sorted(run.records_by_stream()) == sorted(selected), "every stream in the file should return records"
    incremental = [e["stream"]["name"] for e in catalog["streams"] if e["sync_mode"] == "incremental"]
    assert {s["stream"]["stream_descriptor"]["name"] for s in run.final_states()} >= set(incremental)


# --- the tool itself -------------------------------------------------------------------------------------------------

STREAMS = [
    {"name": "orders", "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh", "incremental"],
     "default_cursor_field": ["updated_at"], "source_defined_primary_key": [["id"]]},
    {"name": "coupons", "json_schema": {}, "supported_sync_modes": ["full_refresh"], "source_defined_primary_key": [["id"]]},
    {"name": "events", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"],
     "default_cursor_field": ["at"]},
]


def test_incremental_with_dedup_only_where_the_stream_has_a_cursor_and_a_key() -> None:
    configured = make_catalog.configured_catalog({"streams": STREAMS})["streams"]
    assert [(c["sync_mode"], c["destination_sync_mode"], c["cursor_field"], c["primary_key"]) for c in configured] == [
        ("incremental", "append_dedup", ["updated_at"], [["id"]]),
        ("full_refresh", "overwrite", [], [["id"]]),
        ("full_refresh", "overwrite", [], []),  # no key to deduplicate by: a whole copy each time
    ]
    assert configured[0]["stream"]["json_schema"] == {"type": "object"}
    assert make_catalog.configured_catalog({"streams": STREAMS}, keep_schema=False)["streams"][0]["stream"]["json_schema"] == {}


def test_from_discover_output_skips_logs_and_says_what_went_wrong() -> None:
    lines = [json.dumps({"type": "LOG", "log": {"level": "INFO", "message": "hi"}}),
             json.dumps({"type": "CATALOG", "catalog": {"streams": STREAMS[:1]}})]
    assert make_catalog.from_discover_output("\n".join(lines))["streams"][0]["sync_mode"] == "incremental"
    error = json.dumps({"type": "TRACE", "trace": {"type": "ERROR", "error": {"message": "api_key is missing."}}})
    with pytest.raises(SystemExit, match="no CATALOG message.*api_key is missing"):
        make_catalog.from_discover_output(error)


def test_a_connector_is_found_by_name_or_folder() -> None:
    first = CONNECTORS[0]
    assert make_catalog.find_connector(first.name) == first
    assert make_catalog.find_connector(str(first.folder) + "/") == first
    with pytest.raises(SystemExit, match="no connector"):
        make_catalog.find_connector("source-nothing")


def test_the_readme_commands_make_the_same_catalog_from_discover_piped_in(tmp_path) -> None:
    """The README's two pipes, run by a shell as written: into ``python -m tests.make_catalog --from-discover``, and
    into the standard-library one-liner inside single quotes."""
    connector = next(c for c in CONNECTORS if c.name == "source-wickedreports")
    script = Path(sys.executable).parent / connector.name  # the console script, as a user runs it
    command = shlex.quote(str(script)) if script.exists() else " ".join(map(shlex.quote, connector.command))
    config = tmp_path / "config.json"
    config.write_text(json.dumps(connector.sandbox_config(make_catalog.DISCOVER_URL)))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    discover = subprocess.run([*connector.command, "discover", "--config", str(config)], capture_output=True,
                              text=True, timeout=120, cwd=REPO, env=env)
    assert discover.returncode == 0, discover.stdout[-2000:]
    expected = make_catalog.from_discover_output(discover.stdout)
    python = shlex.quote(sys.executable)
    pipes = {
        "make_catalog": f"{command} discover --config {config} | {python} -m tests.make_catalog --from-discover",
        "one-liner": f"{command} discover --config {config} | {python} -c '{make_catalog.PYTHON_ONE_LINER}'",
    }
    for name, pipe in pipes.items():
        made = subprocess.run(["bash", "-c", pipe], capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
        assert made.returncode == 0, f"{name}: {made.stderr[-2000:]}"
        assert json.loads(made.stdout) == expected, name
    ConfiguredAirbyteCatalogSerializer.load(expected)
