"""Every enrolled connector, run as a subprocess (as Airbyte runs it) against the local sandbox."""

from __future__ import annotations

import json

import pytest

from tests.harness import ConnectorRunner, configured_catalog, connectors
from tests.sandbox import Sandbox
from tests.sandbox.common import RateWindow

pytestmark = pytest.mark.integration
CONNECTORS = connectors()
IDS = [connector.name for connector in CONNECTORS]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(records=300, prefix="/integration") as running:
        yield running


@pytest.fixture(scope="module")
def runs(sandbox):
    """spec, discover, a full read and an incremental read per connector, shared by the tests below."""
    results = {}
    for connector in CONNECTORS:
        runner = ConnectorRunner(connector, connector.sandbox_config(sandbox.url))
        catalog = configured_catalog(runner.discover_catalog(), incremental=True)
        full = runner.run("read", catalog=catalog)
        incremental = runner.run("read", catalog=catalog, state=full.final_states())
        results[connector.name] = (runner, catalog, full, incremental)
    return results


def secret_fields(runner: ConnectorRunner):
    spec = runner.run("spec").of_type("SPEC")[0]["spec"]["connectionSpecification"]
    return [name for name, prop in spec["properties"].items() if prop.get("airbyte_secret")]


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_check_succeeds_with_the_sandbox_credentials(connector, sandbox):
    run = ConnectorRunner(connector, connector.sandbox_config(sandbox.url)).run("check")
    assert run.of_type("CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED"


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_check_with_a_wrong_token_fails_with_an_actionable_message(connector, sandbox):
    config = connector.sandbox_config(sandbox.url)
    runner = ConnectorRunner(connector, config)
    for field in secret_fields(runner):
        config[field] = "definitely-not-a-valid-token"
    run = ConnectorRunner(connector, config).run("check")
    status = run.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED"
    assert len(status["message"]) > 40  # a sentence, not a bare status code
    assert "Traceback" not in status["message"]
    assert run.returncode == 0


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_full_read_emits_every_stream_without_errors(connector, runs):
    _, catalog, full, _ = runs[connector.name]
    assert full.returncode == 0, full.errors
    assert not full.errors
    counts = full.records_by_stream()
    for entry in catalog["streams"]:
        assert counts.get(entry["stream"]["name"], 0) > 0, f"no records for {entry['stream']['name']}"


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_incremental_read_from_final_state_rereads_only_the_lookback(connector, runs):
    _, catalog, full, incremental = runs[connector.name]
    assert not incremental.errors
    full_counts, incremental_counts = full.records_by_stream(), incremental.records_by_stream()
    incremental_streams = [e["stream"]["name"] for e in catalog["streams"] if e["sync_mode"] == "incremental"]
    if not incremental_streams:
        pytest.skip(f"{connector.name} has no incremental stream (documented in its README)")
    for name in incremental_streams:
        assert incremental_counts.get(name, 0) < full_counts[name], name
    assert {s["stream"]["stream_descriptor"]["name"] for s in incremental.final_states()} >= set(incremental_streams)


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_secrets_never_appear_in_what_the_connector_prints(connector, runs):
    runner, _, full, incremental = runs[connector.name]
    for field in secret_fields(runner):
        secret = str(runner.config[field])
        for run in (full, incremental):
            assert secret not in json.dumps(run.messages)
            assert secret not in run.stderr


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_records_are_json_objects_with_the_primary_key(connector, runs):
    _, catalog, full, _ = runs[connector.name]
    keys = {e["stream"]["name"]: e["primary_key"] for e in catalog["streams"]}
    for record in full.records[:500]:
        for path in keys[record["stream"]]:
            value = record["data"]
            for part in path:
                value = value[part]
            assert value not in (None, "")


def test_wickedreports_paces_by_rate_limit_headers_instead_of_collecting_429s():
    connector = next(c for c in CONNECTORS if c.name == "source-wickedreports")
    with Sandbox(records=50) as small:
        vendor = small.vendor("wickedreports")
        vendor.window = RateWindow(limit=4, seconds=2)  # the real API allows 120 per minute
        config = {**connector.sandbox_config(small.url), "page_size": 2, "start_date": "2024-01-01", "end_date": "2024-03-31"}
        runner = ConnectorRunner(connector, config)
        catalog = configured_catalog(runner.discover_catalog(), incremental=False)
        catalog["streams"] = [s for s in catalog["streams"] if s["stream"]["name"] == "orders"]
        run = runner.run("read", catalog=catalog)
    assert not run.errors
    assert run.records_by_stream()["orders"] == 13  # orders dated January to March in a 50-record year
    assert len(vendor.requests) > 4
    assert vendor.status_counts.get(429, 0) == 0
