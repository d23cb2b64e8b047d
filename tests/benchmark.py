"""Throughput benchmark: each connector against the sandbox, beside a bare ``requests`` loop over the same pages.

    .venv/bin/python -m tests.benchmark [--connector source-wickedreports] [--records 33000] [--scales 1,10] [--repeat 3]

For every connector and scale it starts the sandbox in its own process, runs a full-refresh read of every stream
(``main.py read`` in a subprocess, as Airbyte does), then replays exactly the requests the connector made with a
plain ``requests`` session that only parses the JSON (the transport limit). ``--records`` is records per stream at
scale 1 (about 100k records for a three-stream connector); scale 10 multiplies it. For each it prints:

- ``e2e rec/s``: records over the connector's whole run, process start-up included (about 1-1.5 s, most of
  it the CDK's own imports, paid once per sync whatever its size);
- ``read rec/s``: records over the time from the connector's first request to its last record, which is what the
  bare loop measures too (it starts with ``requests`` imported and a session open);
- ``bare rec/s`` and ``ratio`` = read / bare; ``e2e ratio`` = e2e / bare;
- ``peak MiB``: the connector's maximum resident memory.

With ``--repeat N`` each measurement runs N times and the fastest run is kept, for the connector and the bare loop
alike (shared machines are noisy). Prints figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

import requests

from tests.harness import REPO, ConnectorRunner, configured_catalog, connectors


def start_sandbox(records: int) -> Tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sandbox", "--records", str(records), "--record-requests"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline().strip()
    if not line.startswith("SANDBOX_URL="):
        process.kill()
        raise RuntimeError(f"sandbox did not start: {line!r}")
    return process, line.split("=", 1)[1]


def run_connector(runner: ConnectorRunner, catalog: dict) -> Tuple[int, float, float, int]:
    """(records, seconds, wall-clock end, peak RSS in MiB) of one full read, streaming stdout instead of keeping it."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    (workdir / "config.json").write_text(json.dumps(runner.config))
    (workdir / "catalog.json").write_text(json.dumps(catalog))
    argv = runner.connector.command + ["read", "--config", str(workdir / "config.json"),
                                       "--catalog", str(workdir / "catalog.json")]
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=workdir)
    records = errors = 0
    for line in process.stdout:
        if line.startswith(b'{"type":"RECORD"'):
            records += 1
        elif b'"type":"TRACE"' in line[:40] and b'"ERROR"' in line:
            errors += 1
    _, _, usage = os.wait4(process.pid, 0)
    seconds, ended = time.perf_counter() - started, time.time()
    if errors:
        print(f"   warning: the connector reported {errors} error trace(s)")
    return records, seconds, ended, usage.ru_maxrss // 1024


def bare_loop(sandbox_url: str, log: List[dict]) -> Tuple[int, float]:
    """Replay every request the connector made, parsing each body; count the records in list-shaped fields."""
    base = sandbox_url.split("/", 3)
    origin = f"{base[0]}//{base[2]}"
    session = requests.Session()
    records = 0
    started = time.perf_counter()
    for entry in log:
        body = session.get(origin + entry["url"], headers=entry["headers"]).json()
        records += _count_records(body)
    return records, time.perf_counter() - started


def _count_records(body) -> int:
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, list):
                return len(value)
            if isinstance(value, dict):
                nested = _count_records(value)
                if nested:
                    return nested
    return 0


def normalizer_costs(rounds: int = 20_000) -> None:
    """Per-record cost of a plain dict copy, our SchemaNormalizer and the CDK's TypeTransformer on one order."""
    import timeit

    from airbyte_cdk.sources.utils.transform import TransformConfig, TypeTransformer

    from connectors_shared.normalizer import SchemaNormalizer
    from tests.sandbox.wickedreports import DATA_START, order

    schema = json.loads((REPO / "source-wickedreports/source_wickedreports/schemas/orders.json").read_text())
    record = order(7, DATA_START)
    ours, cdk = SchemaNormalizer(), TypeTransformer(TransformConfig.DefaultSchemaNormalization)

    def cost(normalize) -> float:
        return timeit.timeit(lambda: normalize(json.loads(json.dumps(record))), number=rounds) / rounds * 1e6

    baseline = cost(lambda copy: dict(copy))
    print("\nper-record cost on a Wicked Reports order (includes a JSON round trip to get a fresh record):")
    print(f"  dict copy            {baseline:8.1f} us")
    for name, normalizer in (("SchemaNormalizer", ours), ("CDK TypeTransformer", cdk)):
        spent = cost(lambda copy, n=normalizer: n.transform(dict(copy), schema))
        print(f"  {name:<20} {spent:8.1f} us   (+{spent - baseline:.1f} us over the copy)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connector", action="append", help="connector folder name; repeat for several (default: all)")
    parser.add_argument("--records", type=int, default=33_000, help="records per stream at scale 1")
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is kept")
    parser.add_argument("--skip-normalizer", action="store_true", help="skip the per-record normalizer comparison")
    args = parser.parse_args()
    if not args.skip_normalizer:
        normalizer_costs()
    chosen = [c for c in connectors() if not args.connector or c.name in args.connector]
    header = (f"{'connector':<22}{'scale':>6}{'records':>10}{'e2e rec/s':>11}{'read rec/s':>12}{'bare rec/s':>12}"
              f"{'ratio':>7}{'e2e ratio':>11}{'peak MiB':>10}")
    print(header)
    for connector in chosen:
        for scale in [int(s) for s in args.scales.split(",")]:
            print(measure(connector, args.records * scale, scale, max(1, args.repeat)), flush=True)
    print("\nratio = read rec/s / bare rec/s. Both share 2 cores with the sandbox, which generates every page on the fly.")


def measure(connector, records_per_stream: int, scale: int, repeat: int) -> str:
    sandbox, url = start_sandbox(records_per_stream)
    try:
        runner = ConnectorRunner(connector, connector.sandbox_config(url))
        catalog = configured_catalog(runner.discover_catalog(), incremental=False)
        e2e = read = bare = 0.0
        peak = records = 0
        for _ in range(repeat):
            requests.get(f"{url}/__log")  # drop what came before (discover, the previous run)
            records, seconds, ended, run_peak = run_connector(runner, catalog)
            log = requests.get(f"{url}/__log").json()
            first_request = min(entry["at"] for entry in log)
            e2e = max(e2e, records / seconds)
            read = max(read, records / (ended - first_request))
            peak = max(peak, run_peak)
            bare_records, bare_seconds = bare_loop(url, log)
            bare = max(bare, bare_records / bare_seconds)
    finally:
        sandbox.terminate()
        sandbox.wait()
    return (f"{connector.name:<22}{scale:>5}x{records:>10}{e2e:>11,.0f}{read:>12,.0f}{bare:>12,.0f}"
            f"{read / bare if bare else 0:>7.2f}{e2e / bare if bare else 0:>11.2f}{peak:>10}")


if __name__ == "__main__":
    main()
