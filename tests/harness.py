"""Run connectors as Airbyte does (a subprocess speaking the Airbyte protocol) against the sandbox.

Shared by the demo (``tests/demo.py``), the integration tests and the benchmark. Each connector opts in with
``source-<name>/integration_tests/sandbox_config.json``, whose ``{sandbox_url}`` placeholders are filled in here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Connector:
    name: str  # e.g. "source-wickedreports"
    folder: Path

    @property
    def command(self) -> List[str]:
        return [sys.executable, str(self.folder / "main.py")]

    def sandbox_config(self, sandbox_url: str) -> Dict[str, Any]:
        text = (self.folder / "integration_tests" / "sandbox_config.json").read_text()
        return json.loads(text.replace("{sandbox_url}", sandbox_url))


def connectors() -> List[Connector]:
    """Every connector folder that ships a sandbox config, in name order."""
    return [
        Connector(folder.name, folder)
        for folder in sorted(REPO.glob("source-*"))
        if (folder / "integration_tests" / "sandbox_config.json").exists()
    ]


@dataclass
class Run:
    messages: List[Dict[str, Any]]
    returncode: int
    stderr: str
    stdout: str = ""  # as printed, non-JSON lines included (secret scans look at everything)

    def of_type(self, kind: str) -> List[Dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    @property
    def records(self) -> List[Dict[str, Any]]:
        return [m["record"] for m in self.of_type("RECORD")]

    @property
    def states(self) -> List[Dict[str, Any]]:
        return [m["state"] for m in self.of_type("STATE")]

    @property
    def errors(self) -> List[Dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"].get("type") == "ERROR"]

    def records_by_stream(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for record in self.records:
            counts[record["stream"]] = counts.get(record["stream"], 0) + 1
        return counts

    def final_states(self) -> List[Dict[str, Any]]:
        """The last state message of each stream, ready to pass back with --state."""
        last: Dict[str, Dict[str, Any]] = {}
        for state in self.states:
            if state.get("type") == "STREAM":
                last[state["stream"]["stream_descriptor"]["name"]] = state
        return list(last.values())

    def final_stream_states(self) -> Dict[str, Any]:
        """Each stream's last ``stream_state``, by stream name, in the form two runs can be compared in."""
        return comparable_states(
            {s["stream"]["stream_descriptor"]["name"]: s["stream"].get("stream_state") for s in self.final_states()}
        )


# The CDK's per-partition cursor writes ``lookback_window``: the duration, in whole seconds, of the sync that wrote the
# state. It is the only part of a state that depends on the wall clock, so two runs of the same sync can differ there.
SYNC_DURATION_KEYS = ("lookback_window",)


def comparable_states(states: Dict[str, Any]) -> Dict[str, Any]:
    """Stream states by name, with each sync-duration field checked (a whole number of seconds) and then masked."""

    def mask(value: Any) -> Any:
        if isinstance(value, dict):
            masked = {key: mask(item) for key, item in value.items()}
            for key in SYNC_DURATION_KEYS:
                if key in masked:
                    duration = value[key]
                    assert isinstance(duration, int) and duration >= 0, f"{key} should be seconds, got {duration!r}"
                    masked[key] = "<sync duration>"
            return masked
        if isinstance(value, list):
            return [mask(item) for item in value]
        return value

    return {name: mask(state) for name, state in states.items()}


@dataclass
class ConnectorRunner:
    connector: Connector
    config: Dict[str, Any]
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="connector-run-")))

    def _write(self, name: str, value: Any) -> str:
        path = self.workdir / name
        path.write_text(json.dumps(value))
        return str(path)

    def run(self, *args: str, catalog: Optional[Dict[str, Any]] = None, state: Optional[List[Any]] = None,
            timeout: float = 600, env: Optional[Dict[str, str]] = None) -> Run:
        argv = list(self.connector.command) + list(args)
        if args and args[0] != "spec":
            argv += ["--config", self._write("config.json", self.config)]
        if catalog is not None:
            argv += ["--catalog", self._write("catalog.json", catalog)]
        if state is not None:
            argv += ["--state", self._write("state.json", state)]
        process = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.workdir,
                                 env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        return Run(list(_parse(process.stdout)), process.returncode, process.stderr, process.stdout)

    def discover_catalog(self) -> Dict[str, Any]:
        run = self.run("discover")
        catalogs = run.of_type("CATALOG")
        if not catalogs:
            raise RuntimeError(f"discover failed for {self.connector.name}: {run.errors or run.stderr[-2000:]}")
        return catalogs[0]["catalog"]


def configured_catalog(catalog: Dict[str, Any], incremental: bool) -> Dict[str, Any]:
    """Select every stream; incremental (append + dedup) where the stream supports it, else full refresh."""
    streams = []
    for stream in catalog["streams"]:
        can_increment = incremental and "incremental" in stream["supported_sync_modes"]
        streams.append({
            "stream": stream,
            "sync_mode": "incremental" if can_increment else "full_refresh",
            "destination_sync_mode": "append_dedup" if can_increment else "overwrite",
            "cursor_field": stream.get("default_cursor_field", []) if can_increment else [],
            "primary_key": stream.get("source_defined_primary_key", []),
        })
    return {"streams": streams}


def _parse(stdout: str) -> Iterator[Dict[str, Any]]:
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
