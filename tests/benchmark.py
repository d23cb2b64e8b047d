"""Throughput benchmark: each connector against the sandbox, beside a bare ``requests`` loop over the same pages.

    .venv/bin/python -m tests.benchmark [--connector source-wickedreports] [--records 33000] [--scales 1,10] [--repeat 3]

For every connector and scale it starts the sandbox in its own process, runs a full-refresh read of every stream
(``main.py read`` in a subprocess, as Airbyte does), then replays exactly the requests the connector made with a
plain ``requests`` session that only parses the JSON (the transport limit) and counts the records, child streams'
included (the elements of the lists they read inside each parent record, from the same pages). ``--records`` is
records per stream at scale 1 (about 100k records for a three-stream connector); scale 10 multiplies it. For each it
prints:

- ``e2e rec/s``: records over the connector's whole run, process start-up included (about 1-1.5 s, most of
  it the CDK's own imports, paid once per sync whatever its size);
- ``read rec/s``: records over the time from the connector's first request to its last record, which is what the
  bare loop measures too (it starts with ``requests`` imported and a session open);
- ``bare rec/s`` and ``ratio`` = read / bare; ``e2e ratio`` = e2e / bare;
- ``peak MiB``: the connector's maximum resident memory.

With ``--repeat N`` each measurement runs N times and the fastest run is kept, for the connector and the bare loop
alike (shared machines are noisy). Prints figures only: nothing here asserts a timing.

Under real latency (``--latency-ms 100``: every sandbox answer waits that long, as a real API's round trip) and
the vendors' published rate limits (``--documented-limits``: LeadConnector 100 requests per 10 s, Wicked Reports 120
per minute; see ``tests.sandbox.server.DOCUMENTED_RATE_LIMITS``) throughput is no longer the question; these are,
per connector and scale:

- ``seconds`` and ``sequential s``: the connector's read, against a careful sequential script that replays the same
  requests one after another and waits out each 429 it gets (``speed-up`` = sequential / connector);
- ``requests`` against ``minimum``: the records of each stream over the largest page the connector asks for, at least
  one request per window the API requires (Wicked Reports clicks: 30 days) and per parent record of a partitioned
  stream; child streams read from their parents' pages count nothing;
- ``req/s`` and ``of limit``: the request rate reached against the documented limit ("-" where none is published;
  "<1 window" when the whole read took less than one rate window and sent fewer requests than it allows, so a rate
  above the limit's average is a burst the limit permits);
- ``429s``: rate-limit answers the connector got (pacing should make these 0);
- ``targets`` (issue 18): where the documented limit leaves room for 1.5x the sequential script's request rate (or
  none is published, or the read fits in one rate window), ``speed`` is met at a speed-up of 1.5x or more; where it
  does not, ``limit`` is met at 0.9x of the limit or more; ``requests`` is met at 1.2x the minimum or fewer.
  ``--records 1000 --scales 10`` is the issue's "one-year account with 10k records per stream".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import requests

from tests.harness import REPO, ConnectorRunner, configured_catalog, connectors
from tests.sandbox.server import DOCUMENTED_RATE_LIMITS

# What the minimum number of requests is made of, per connector: the largest page the connector asks for (the API's
# documented maximum where there is one), streams whose API requires date windows (days per window), partitioned
# streams and the stream whose records are their partitions, and child streams (read from their parents' pages).
# "child_lists": the lists inside each record of a page that child streams turn into records, by the page's path;
# the bare loop counts their elements too, as records the connector emits from the same page.
API_SHAPE: Dict[str, Dict[str, Any]] = {
    "source-wickedreports": {"vendor": "wickedreports", "page": 1000, "windows": {"clicks": 30},
                             "children": {"order_products", "order_payments"},
                             "child_lists": {"/orders": ("products", "payments")}},
    "source-leadway": {"vendor": "leadway", "page": 100},
    "source-textyess": {"vendor": "textyess", "page": 100, "partitions": {"campaign_orders": "campaigns"}},
    "source-openletter": {"vendor": "openletter", "page": 100, "children": {"order_recipients"},
                          "child_lists": {"/orders/": ("contacts",)}},
    "source-shopline": {"vendor": "shopline", "page": 50, "children": {"order_items"},
                        "partitions": {"affiliate_campaign_orders": "affiliate_campaigns"},
                        "child_lists": {"/v1/orders": ("subtotal_items",)}},
}
STREAM_OF_RECORD = re.compile(rb'"stream":"([^"]+)"')


def start_sandbox(records: int, latency_ms: float = 0.0, documented_limits: bool = False) -> Tuple[subprocess.Popen, str]:
    extra = ["--latency-ms", str(latency_ms)] if latency_ms else []
    extra += ["--documented-limits"] if documented_limits else []
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sandbox", "--records", str(records), "--record-requests", *extra],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline().strip()
    if not line.startswith("SANDBOX_URL="):
        process.kill()
        raise RuntimeError(f"sandbox did not start: {line!r}")
    return process, line.split("=", 1)[1]


def run_connector(runner: ConnectorRunner, catalog: dict,
                  per_stream: Optional[Dict[str, int]] = None) -> Tuple[int, float, float, int]:
    """(records, seconds, wall-clock end, peak RSS in MiB) of one full read, streaming stdout instead of keeping it;
    counts records per stream into ``per_stream`` when given."""
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
            if per_stream is not None:
                match = STREAM_OF_RECORD.search(line)
                name = match.group(1).decode() if match else "?"
                per_stream[name] = per_stream.get(name, 0) + 1
        elif b'"type":"TRACE"' in line[:40] and b'"ERROR"' in line:
            errors += 1
    _, _, usage = os.wait4(process.pid, 0)
    seconds, ended = time.perf_counter() - started, time.time()
    if errors:
        print(f"   warning: the connector reported {errors} error trace(s)")
    return records, seconds, ended, usage.ru_maxrss // 1024


def bare_loop(sandbox_url: str, log: List[dict], child_lists: Optional[Dict[str, Tuple[str, ...]]] = None
              ) -> Tuple[int, float]:
    """Replay every request the connector made, parsing each body; count the records in list-shaped fields, and
    the elements of the lists child streams read inside them (``child_lists``: by the path of the page).

    A careful sequential script: a 429 is waited out (its Retry-After or rate-limit reset header, else 1 s) and the
    same request sent again; the connector's own 429s are not replayed."""
    base = sandbox_url.split("/", 3)
    origin = f"{base[0]}//{base[2]}"
    session = requests.Session()
    records = 0
    started = time.perf_counter()
    for entry in log:
        if entry.get("status") == 429:
            continue
        while True:
            response = session.get(origin + entry["url"], headers=entry["headers"])
            if response.status_code != 429:
                break
            time.sleep(_wait_of(response))
        body = response.json()
        records += _count_records(body)
        lists = next((names for path, names in (child_lists or {}).items()
                      if entry["url"].split("?")[0].endswith(path)), None)
        if lists:
            records += _count_child_records(body, lists)
    return records, time.perf_counter() - started


def _count_child_records(body, lists: Tuple[str, ...]) -> int:
    for value in (body.values() if isinstance(body, dict) else [body]):
        if isinstance(value, dict):
            value = next((v for v in value.values() if isinstance(v, list)), None)
        if isinstance(value, list):
            return sum(len(record.get(name) or []) for record in value if isinstance(record, dict) for name in lists)
    return 0


def _wait_of(response: requests.Response) -> float:
    for name in ("Retry-After", "x-ratelimit-reset"):
        try:
            return max(0.05, float(response.headers[name]))
        except (KeyError, ValueError):
            pass
    if response.headers.get("X-RateLimit-Interval-Milliseconds"):
        return 1.0
    return 1.0


def minimum_requests(connector_name: str, per_stream: Dict[str, int], start_date: Optional[str],
                     end_date: Optional[str] = None) -> int:
    """The fewest requests that can fetch these records: see ``API_SHAPE``."""
    shape = API_SHAPE.get(connector_name, {"page": 100})
    total = 0
    for stream, count in per_stream.items():
        if stream in shape.get("children", ()):
            continue
        needed = max(1, math.ceil(count / shape["page"]))
        days = shape.get("windows", {}).get(stream)
        if days and start_date:
            last = dt.date.fromisoformat(end_date[:10]) if end_date else dt.date.today()  # Wicked's end_date
            span = (last - dt.date.fromisoformat(start_date[:10])).days + 1
            needed = max(needed, math.ceil(span / days))
        parent = shape.get("partitions", {}).get(stream)
        if parent:
            needed = max(needed, per_stream.get(parent, 0))
        total += needed
    return total


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
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="every sandbox answer waits this long; prints the latency table instead of throughput")
    parser.add_argument("--documented-limits", action="store_true",
                        help="the sandbox enforces the vendors' published rate limits")
    args = parser.parse_args()
    chosen = [c for c in connectors() if not args.connector or c.name in args.connector]
    if args.latency_ms or args.documented_limits:
        latency_table(chosen, args)
        return
    if not args.skip_normalizer:
        normalizer_costs()
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
            bare_records, bare_seconds = bare_loop(url, log, API_SHAPE.get(connector.name, {}).get("child_lists"))
            bare = max(bare, bare_records / bare_seconds)
    finally:
        sandbox.terminate()
        sandbox.wait()
    return (f"{connector.name:<22}{scale:>5}x{records:>10}{e2e:>11,.0f}{read:>12,.0f}{bare:>12,.0f}"
            f"{read / bare if bare else 0:>7.2f}{e2e / bare if bare else 0:>11.2f}{peak:>10}")


def latency_table(chosen, args) -> None:
    print(f"latency {args.latency_ms:g} ms per answer; "
          f"{'documented rate limits enforced' if args.documented_limits else 'no rate limits enforced'}")
    print(f"{'connector':<22}{'scale':>6}{'records':>9}{'seconds':>9}{'sequential s':>14}{'speed-up':>10}"
          f"{'requests':>10}{'minimum':>9}{'req/s':>8}{'of limit':>10}{'429s':>6}  targets")
    for connector in chosen:
        for scale in [int(s) for s in args.scales.split(",")]:
            print(measure_latency(connector, args.records * scale, scale, args.latency_ms, args.documented_limits),
                  flush=True)


def measure_latency(connector, records_per_stream: int, scale: int, latency_ms: float, limits: bool) -> str:
    sandbox, url = start_sandbox(records_per_stream, latency_ms, limits)
    try:
        runner = ConnectorRunner(connector, connector.sandbox_config(url))
        catalog = configured_catalog(runner.discover_catalog(), incremental=False)
        requests.get(f"{url}/__log")
        if limits:
            time.sleep(max(seconds for _, seconds in DOCUMENTED_RATE_LIMITS.values()))  # discover's requests expire
        per_stream: Dict[str, int] = {}
        records, _, ended, _ = run_connector(runner, catalog, per_stream)
        log = requests.get(f"{url}/__log").json()
        seconds = ended - min(entry["at"] for entry in log)
        if limits:
            time.sleep(max(seconds for _, seconds in DOCUMENTED_RATE_LIMITS.values()))
        _, sequential = bare_loop(url, log)
    finally:
        sandbox.terminate()
        sandbox.wait()
    made = sum(1 for entry in log if entry.get("status") != 429)
    throttled = len(log) - made
    minimum = minimum_requests(connector.name, per_stream, runner.config.get("start_date"),
                               runner.config.get("end_date"))
    rate = made / seconds if seconds else 0.0
    documented = DOCUMENTED_RATE_LIMITS.get(API_SHAPE.get(connector.name, {}).get("vendor", ""))
    of_limit = f"{rate / (documented[0] / documented[1]):.2f}x" if documented else "-"
    if documented and seconds < documented[1] and made <= documented[0]:
        of_limit = "<1 window"  # every request fit in one rate window: the limit never bound this read
    speed_up = sequential / seconds if seconds else 0.0
    return (f"{connector.name:<22}{scale:>5}x{records:>9}{seconds:>9.1f}{sequential:>14.1f}"
            f"{speed_up:>9.2f}x{made:>10}{minimum:>9}{rate:>8.1f}{of_limit:>10}"
            f"{throttled:>6}  {targets(speed_up, made, minimum, rate, made / sequential if sequential else 0.0, documented, of_limit)}")


def targets(speed_up: float, made: int, minimum: int, rate: float, sequential_rate: float,
            documented: Optional[Tuple[int, float]], of_limit: str) -> str:
    """Issue 18's targets for one read: see the module docstring."""
    ceiling = documented[0] / documented[1] if documented else None
    if ceiling is None or of_limit == "<1 window" or ceiling >= 1.5 * sequential_rate:
        pace = f"speed {'met' if speed_up >= 1.5 else 'MISSED'}"
    else:
        pace = f"limit {'met' if rate >= 0.9 * ceiling else 'MISSED'}"
    return f"{pace}, requests {'met' if made <= 1.2 * minimum else 'MISSED'}"


if __name__ == "__main__":
    main()
