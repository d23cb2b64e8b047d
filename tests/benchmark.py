"""Throughput benchmark: each connector against the sandbox, beside a bare ``requests`` loop over the same pages.

    .venv/bin/python -m tests.benchmark [--connector source-wickedreports] [--records 33000] [--scales 1,10]

For every connector and scale it starts the sandbox in its own process, runs a full-refresh read of every stream
(``main.py read`` in a subprocess, as Airbyte does), then replays exactly the requests the connector made with a
plain ``requests`` session that only parses the JSON (the transport limit). It prints records/second for both, their
ratio and the connector's peak memory (max RSS). ``--records`` is records per stream at scale 1 (about 100k records
for a three-stream connector); scale 10 multiplies it. Prints figures only: nothing here asserts a timing.
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


def run_connector(runner: ConnectorRunner, catalog: dict) -> Tuple[int, float, int]:
    """(records, seconds, peak RSS in MiB) of one full read, streaming stdout instead of keeping it."""
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
    seconds = time.perf_counter() - started
    if errors:
        print(f"   warning: the connector reported {errors} error trace(s)")
    return records, seconds, usage.ru_maxrss // 1024


def bare_loop(sandbox_url: str) -> Tuple[int, float]:
    """Replay every request the connector made, parsing each body; count the records in list-shaped fields."""
    log = requests.get(f"{sandbox_url}/__log").json()
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
    parser.add_argument("--skip-normalizer", action="store_true", help="skip the per-record normalizer comparison")
    args = parser.parse_args()
    if not args.skip_normalizer:
        normalizer_costs()
    chosen = [c for c in connectors() if not args.connector or c.name in args.connector]
    rows: List[str] = []
    header = f"{'connector':<22}{'scale':>6}{'records':>10}{'conn rec/s':>12}{'bare rec/s':>12}{'ratio':>7}{'peak MiB':>10}"
    print(header)
    for connector in chosen:
        for scale in [int(s) for s in args.scales.split(",")]:
            sandbox, url = start_sandbox(args.records * scale)
            try:
                runner = ConnectorRunner(connector, connector.sandbox_config(url))
                catalog = configured_catalog(runner.discover_catalog(), incremental=False)
                requests.get(f"{url}/__log")  # drop discover's requests
                records, seconds, peak = run_connector(runner, catalog)
                bare_records, bare_seconds = bare_loop(url)
            finally:
                sandbox.terminate()
                sandbox.wait()
            connector_rate = records / seconds if seconds else 0.0
            bare_rate = bare_records / bare_seconds if bare_seconds else 0.0
            row = (f"{connector.name:<22}{scale:>5}x{records:>10}{connector_rate:>12,.0f}{bare_rate:>12,.0f}"
                   f"{(connector_rate / bare_rate if bare_rate else 0):>7.2f}{peak:>10}")
            print(row, flush=True)
            rows.append(row)
    print("\nconn rec/s includes the connector's start-up (~1 s) and the sandbox generating pages on the same 2 cores.")


if __name__ == "__main__":
    main()
