"""End-to-end demo: every connector against the local sandbox, as Airbyte would run it.

For each connector: spec, check, discover, a full read (incremental where supported, from an empty state), then an
incremental read from the state the first read ended with. Prints a summary of records and state per stream.
Run it with ``bash tests/demo.sh`` (which also sets up the virtualenv).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from tests.harness import ConnectorRunner, configured_catalog, connectors
from tests.sandbox import Sandbox


def _state_text(state: dict) -> str:
    text = json.dumps(state.get("stream", {}).get("stream_state", {}), separators=(",", ":"))
    return text if len(text) <= 60 else text[:57] + "..."


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
            print(f"   check:     {'SUCCEEDED' if check_ok else status}")
            catalog = runner.discover_catalog()
            print(f"   discover:  {', '.join(stream['name'] for stream in catalog['streams'])}")
            configured = configured_catalog(catalog, incremental=True)

            started = time.monotonic()
            full = runner.run("read", catalog=configured)
            full_seconds = time.monotonic() - started
            incremental = runner.run("read", catalog=configured, state=full.final_states())

            full_counts, incremental_counts = full.records_by_stream(), incremental.records_by_stream()
            full_states = {s["stream"]["stream_descriptor"]["name"]: s for s in full.final_states()}
            incremental_states = {s["stream"]["stream_descriptor"]["name"]: s for s in incremental.final_states()}
            print(f"   read:      {sum(full_counts.values())} records in {full_seconds:.1f} s")
            print(f"   {'stream':<28}{'mode':<13}{'full read':>10}{'incremental':>13}  state after incremental read")
            for entry in configured["streams"]:
                name = entry["stream"]["name"]
                print(f"   {name:<28}{entry['sync_mode']:<13}{full_counts.get(name, 0):>10}"
                      f"{incremental_counts.get(name, 0):>13}  {_state_text(incremental_states.get(name, full_states.get(name, {})))}")
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
