"""Test helpers every connector's unit tests use: run spec/check/discover/read in-process, without real waiting.

    from connectors_shared.testing import check, read, no_waiting

    def test_x(requests_mock, no_waiting):
        output = read(SourceX, config, "orders", sync_mode="incremental", state=[...])
        assert [r.record.data["id"] for r in output.records] == [...]
        assert no_waiting.total() == 0  # seconds the connector would have slept

Tests never sleep for real: ``no_waiting`` records every backoff and rate-limit pause instead, so a test can assert
that the connector waited (and how long) while running in milliseconds.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import pytest
from airbyte_cdk.models import AirbyteStateMessage, ConfiguredAirbyteCatalog, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder, ConfiguredAirbyteStreamBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, make_file
from airbyte_cdk.test.entrypoint_wrapper import discover as _discover
from airbyte_cdk.test.entrypoint_wrapper import read as _read
from airbyte_cdk.test.state_builder import StateBuilder

from connectors_shared import cdk_hooks, rate_limiting


class Waits:
    """The pauses the connector asked for, in seconds, in order."""

    def __init__(self) -> None:
        self.seconds: List[float] = []

    def __call__(self, seconds: float) -> None:
        if seconds > 0:  # the backoff library also "sleeps" 0 s between its own steps; those are not waits
            self.seconds.append(seconds)

    def total(self) -> float:
        return sum(self.seconds)


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> Waits:
    """Record retry backoffs and rate-limit pauses instead of sleeping."""
    waits = Waits()
    monkeypatch.setattr(time, "sleep", waits)  # the CDK's retry loop (the backoff library) sleeps with time.sleep
    monkeypatch.setattr(rate_limiting, "_sleep", waits)
    return waits


def run_command(source: Any, args: List[str]) -> EntrypointOutput:
    """Run ``spec``, ``check``, ``discover`` or ``read`` (``args`` as on the command line) in-process."""
    return cdk_hooks.run_command(source, args)


def catalog(stream: str, sync_mode: str = "full_refresh") -> ConfiguredAirbyteCatalog:
    mode = SyncMode.incremental if sync_mode == "incremental" else SyncMode.full_refresh
    return CatalogBuilder().with_stream(ConfiguredAirbyteStreamBuilder().with_name(stream).with_sync_mode(mode)).build()


def state(stream: str, value: Mapping[str, Any]) -> List[AirbyteStateMessage]:
    return StateBuilder().with_stream_state(stream, dict(value)).build()


def read(
    source_class: type,
    config: Mapping[str, Any],
    stream: str,
    sync_mode: str = "full_refresh",
    stream_state: Optional[Mapping[str, Any]] = None,
) -> EntrypointOutput:
    """Read one stream in-process, as ``read --config --catalog [--state]`` would."""
    configured = catalog(stream, sync_mode)
    states = state(stream, stream_state) if stream_state is not None else None
    source = source_class(catalog=configured, config=config, state=states)
    return _read(source, dict(config), configured, states)


def check(source_class: type, config: Mapping[str, Any]) -> Dict[str, Any]:
    """Run ``check`` and return the CONNECTION_STATUS as a dict: ``{"status": "FAILED", "message": ...}``."""
    with tempfile.TemporaryDirectory() as folder:
        config_file = make_file(Path(folder) / "config.json", dict(config))
        output = run_command(source_class(config=config), ["check", "--config", config_file])
    statuses = output.connection_status_messages
    if not statuses:
        errors = [message.trace.error.message for message in output.errors]
        return {"status": "ERROR", "message": " ".join(errors)}
    status = statuses[-1].connectionStatus
    return {"status": status.status.name, "message": status.message or ""}


def error_messages(output: EntrypointOutput) -> str:
    """Every error trace's message, joined: what a user would read in the sync log."""
    return " ".join(message.trace.error.message for message in output.errors)


def failure_type(output: EntrypointOutput) -> str:
    """The failure type of the first error trace (``config_error``, ``transient_error``, ...)."""
    return output.errors[0].trace.error.failure_type.value


def discover(source_class: type, config: Mapping[str, Any]) -> EntrypointOutput:
    return _discover(source_class(config=config), dict(config))
