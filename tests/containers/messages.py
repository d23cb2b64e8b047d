"""Turn a connector's output into the files Airbyte hands the next command, for running an image by hand.

Airbyte runs ``discover``, makes a configured catalog from the CATALOG message, runs ``read --catalog``, keeps the last
STATE of each stream and passes those back with ``read --state`` on the next sync. These do the same from files of
Airbyte messages (one JSON object a line, as ``docker run ... > out.jsonl`` saves them), as the README shows:

    python -m tests.containers.messages catalog < discover.jsonl > configured_catalog.json
    python -m tests.containers.messages state < read.jsonl > state.json
    python -m tests.containers.messages summary read.jsonl [read2.jsonl ...]

``catalog`` selects every stream, incremental (append + dedup) where the stream supports it (``--full-refresh``: all
full refresh), exactly as the tests configure it (``tests.harness.configured_catalog``). ``summary`` prints records and
final state per stream and exits 1 when a file holds an error trace.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List

from tests.harness import Run, _parse, configured_catalog


def read_run(text: str) -> Run:
    return Run(list(_parse(text)), 0, "")


def catalog_file(text: str, incremental: bool = True) -> Dict[str, Any]:
    catalogs = read_run(text).of_type("CATALOG")
    if not catalogs:
        raise SystemExit("messages: no CATALOG message in the input (is it the output of `discover`?)")
    return configured_catalog(catalogs[-1]["catalog"], incremental=incremental)


def state_file(text: str) -> List[Dict[str, Any]]:
    """The last state of each stream, the list Airbyte passes to ``read --state``."""
    run = read_run(text)
    if not run.of_type("RECORD") and not run.states:
        raise SystemExit("messages: no RECORD or STATE message in the input (is it the output of `read`?)")
    return run.final_states()


def summary(paths: Iterable[Path]) -> int:
    status = 0
    for path in paths:
        run = read_run(path.read_text())
        states = {m["stream"]["stream_descriptor"]["name"]: m["stream"].get("stream_state") for m in run.final_states()}
        print(f"{path}: {len(run.records)} records")
        for stream, count in sorted(run.records_by_stream().items()):
            print(f"  {stream}: {count} records, state {json.dumps(states.get(stream), sort_keys=True)[:160]}")
        for error in run.errors:
            print(f"  error ({error.get('failure_type')}): {error.get('message')}")
        if run.errors:
            status = 1
    return status


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    catalog = sub.add_parser("catalog", help="stdin: discover's output; stdout: the configured catalog")
    catalog.add_argument("--full-refresh", action="store_true", help="every stream full refresh")
    sub.add_parser("state", help="stdin: read's output; stdout: the state to pass to the next read")
    summary_parser = sub.add_parser("summary", help="records and final state per stream of saved read outputs")
    summary_parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "catalog":
        json.dump(catalog_file(sys.stdin.read(), incremental=not args.full_refresh), sys.stdout, indent=1)
    elif args.command == "state":
        json.dump(state_file(sys.stdin.read()), sys.stdout, indent=1)
    else:
        return summary(args.files)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
