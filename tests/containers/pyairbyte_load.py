"""Load connectors into a local DuckDB file with PyAirbyte, and report what landed.

Runs in ``.venv-pyairbyte`` (``bash tests/containers/setup_pyairbyte.sh``), which has PyAirbyte but not our
connectors: each connector runs as its installed console script from the main ``.venv`` (``local_executable``), as a
user would run a connector installed anywhere on their machine. Uses only the standard library and ``airbyte``.

    AIRBYTE_OFFLINE_MODE=true DO_NOT_TRACK=1 .venv-pyairbyte/bin/python tests/containers/pyairbyte_load.py \\
        --cache-dir .images/duckdb --connector source-wickedreports:path/to/config.json [--connector ...] [--reads 2]

Prints one JSON object: per connector, per read, the row count of every stream in the cache and the state that
PyAirbyte stored for it (so a second read resumes incrementally from that state).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict

# PyAirbyte reads these at import time: never call Airbyte's registry or telemetry.
os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

import airbyte as ab  # noqa: E402

MAIN_VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def stream_states(cache: Any, source_name: str) -> Dict[str, Any]:
    """The latest state PyAirbyte keeps in the cache for each stream of this source."""
    provider = cache.get_state_provider(source_name=source_name, refresh=True)
    states: Dict[str, Any] = {}
    for message in provider.stream_state_artifacts:
        states[message.stream_descriptor.name] = message.stream_state.model_dump() if message.stream_state else None
    return states


def load(name: str, config: Dict[str, Any], cache: Any, reads: int) -> Dict[str, Any]:
    executable = MAIN_VENV_BIN / name
    source = ab.get_source(name, config=config, local_executable=str(executable), streams="*")
    source.check()
    result: Dict[str, Any] = {"streams": sorted(source.get_selected_streams()), "reads": []}
    for _ in range(reads):
        read = source.read(cache=cache)
        result["reads"].append({
            "records_read": read.processed_records,
            "rows": {stream: len(dataset) for stream, dataset in read.streams.items()},
            "state": stream_states(cache, source.name),
        })
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", required=True, help="folder of the DuckDB file (created if missing)")
    parser.add_argument("--cache-name", default="connectors", help="names the DuckDB file: db_<name>.duckdb")
    parser.add_argument("--connector", action="append", required=True, metavar="NAME:CONFIG_JSON")
    parser.add_argument("--reads", type=int, default=1, help="reads in a row (the later ones resume from state)")
    args = parser.parse_args()
    cache = ab.new_local_cache(cache_name=args.cache_name, cache_dir=args.cache_dir)
    report: Dict[str, Any] = {"duckdb": str(Path(cache.db_path).resolve()), "connectors": {}}
    for item in args.connector:
        name, config_path = item.split(":", 1)
        report["connectors"][name] = load(name, json.loads(Path(config_path).read_text()), cache, args.reads)
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
