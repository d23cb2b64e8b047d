"""Revenue in one query: load every connector into one DuckDB file with PyAirbyte, then ask SQL for daily revenue.

Runs in PyAirbyte's own virtualenv (``bash tests/containers/setup_pyairbyte.sh`` makes ``.venv-pyairbyte``); each
connector runs as its console script from the repository's ``.venv`` (``bash tests/setup_venv.sh``):

    .venv-pyairbyte/bin/python examples/revenue_in_one_query.py                  # against the bundled sandbox
    .venv-pyairbyte/bin/python examples/revenue_in_one_query.py --days 14 --duckdb revenue.duckdb
    .venv-pyairbyte/bin/python examples/revenue_in_one_query.py --config source-shopline=shopline.json ...

Without ``--config`` the sandbox (every vendor's API, on 127.0.0.1) is started for the run and every connector reads
from it; ``--config source-x=path`` reads that connector from the real API with your config instead (a connector
given no config then still reads the sandbox). Nothing is sent anywhere else: PyAirbyte runs offline.

Each connector lands in its own schema of the one DuckDB file (``wickedreports.orders``, ``shopline.orders``, ...),
so streams with the same name never mix. ``REVENUE_SQL`` then puts the four order streams that carry money side by
side: one row per day, source and currency, with the number of orders and their total in the currency's main unit
(dollars, not cents). Currencies are never added together: no exchange rate is known here, so a source selling in
two currencies gets two rows a day. What each source's figure is, exactly, is printed above the table (``SOURCES``).
OpenLetter Connect is loaded too, but its orders (letters and postcards mailed) carry neither an amount nor a date,
so it has no revenue to show.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

# PyAirbyte reads these when it is imported: never call Airbyte's registry or send telemetry.
os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("NO_LIVE_PROGRESS", "1")  # plain progress lines, written to the log file below

warnings.filterwarnings("ignore", category=FutureWarning)  # PyAirbyte's cloud SDKs on their Python support

import airbyte as ab  # noqa: E402
from airbyte.caches import DuckDBCache  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MAIN_VENV = REPO / ".venv" / "bin"


@dataclass(frozen=True)
class Source:
    connector: str  # the connector's command, e.g. "source-shopline"
    schema: str  # its schema in the DuckDB file
    streams: Sequence[str]  # the streams loaded
    revenue: str  # what the revenue column is for this source, in words


SOURCES = [
    Source("source-wickedreports", "wickedreports", ["orders"],
           "orders.amount in orders.currency, by orders.date (UTC); every order, before refunds"),
    Source("source-leadway", "leadway", ["orders"],
           "orders.amount in orders.currency, by orders.createdAt (UTC); refunded orders left out"),
    Source("source-shopline", "shopline", ["orders"],
           "orders.total.dollars (the total in main units) in orders.total.currency_iso, by orders.created_at "
           "(UTC); cancelled orders left out"),
    Source("source-textyess", "textyess", ["orders"],
           "orders.total of paid orders attributed to TextYess, by orders.createdAt (UTC); the API sends no "
           "currency (the shop's own)"),
    Source("source-openletter", "openletter", ["orders"],
           "none: mail orders carry no amount and no date (loaded, counted below the table)"),
]

# One query over the four schemas with money in them. PyAirbyte stores the connectors' UTC date-times as TIMESTAMP
# (no zone, UTC), so a cast to DATE is the UTC day; a nested object (SHOPLINE's total) is a JSON column.
REVENUE_SQL = """
WITH revenue AS (
    SELECT 'wickedreports' AS source, CAST("date" AS DATE) AS day, currency, CAST(amount AS DOUBLE) AS amount
      FROM wickedreports.orders
    UNION ALL
    SELECT 'leadway', CAST(createdat AS DATE), currency, CAST(amount AS DOUBLE)
      FROM leadway.orders
     WHERE coalesce(status, '') <> 'refunded'
    UNION ALL
    SELECT 'shopline', CAST(created_at AS DATE), json_extract_string(total, '$.currency_iso'),
           CAST(json_extract(total, '$.dollars') AS DOUBLE)
      FROM shopline.orders
     WHERE coalesce(status, '') <> 'cancelled'
    UNION ALL
    SELECT 'textyess', CAST(createdat AS DATE), NULL, CAST(total AS DOUBLE)
      FROM textyess.orders
     WHERE paid
),
recent AS (
    SELECT * FROM revenue WHERE day > (SELECT max(day) FROM revenue) - {days}
)
SELECT day, source, coalesce(currency, '(not sent)') AS currency, count(*) AS orders,
       round(sum(amount), 2) AS revenue
  FROM recent
 GROUP BY GROUPING SETS ((day, source, currency), (source, currency))
 ORDER BY day NULLS LAST, source, currency
"""


def start_sandbox(records: int) -> tuple[subprocess.Popen, str]:
    """The bundled sandbox in a subprocess of the repository's .venv; returns it and its URL."""
    process = subprocess.Popen(
        [str(MAIN_VENV / "python"), "-m", "tests.sandbox", "--port", "0", "--records", str(records)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("SANDBOX_URL="):
        process.kill()
        raise SystemExit(f"revenue: the sandbox did not start (said {line!r}); run bash tests/setup_venv.sh first")
    return process, line.strip().split("=", 1)[1]


def sandbox_config(connector: str, sandbox_url: str) -> Dict[str, Any]:
    text = (REPO / connector / "integration_tests" / "sandbox_config.json").read_text()
    return json.loads(text.replace("{sandbox_url}", sandbox_url))


def load(source: Source, config: Dict[str, Any], db_path: Path, log: Any) -> int:
    """Read ``source``'s streams into its own schema of ``db_path``; returns the records read.

    PyAirbyte's progress report goes to ``log``, so that the output stays a short summary.
    """
    executable = MAIN_VENV / source.connector
    if not executable.exists():
        raise SystemExit(f"revenue: {executable} is missing: run bash tests/setup_venv.sh")
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        connector = ab.get_source(source.connector, config=config, local_executable=str(executable),
                                  streams=list(source.streams))
        cache = DuckDBCache(db_path=db_path, schema_name=source.schema)
        result = connector.read(cache=cache)
        cache.dispose_engine()  # the next source opens the same file
    return result.processed_records


def revenue_rows(db_path: Path, days: int) -> List[Dict[str, Any]]:
    cache = DuckDBCache(db_path=db_path, schema_name="main")
    try:
        return [dict(row) for row in cache.run_sql_query(REVENUE_SQL.format(days=int(days)))]
    finally:
        cache.dispose_engine()


def count_rows(db_path: Path, table: str) -> int:
    cache = DuckDBCache(db_path=db_path, schema_name="main")
    try:
        return int(list(cache.run_sql_query(f"SELECT count(*) AS n FROM {table}"))[0]["n"])
    finally:
        cache.dispose_engine()


def print_table(rows: List[Dict[str, Any]]) -> None:
    print(f"{'day':<12}{'source':<15}{'currency':<12}{'orders':>7}{'revenue':>13}")
    totals_started = False
    for row in rows:
        if row["day"] is None and not totals_started:
            totals_started = True
            print(f"{'all days':<12}{'(totals of the days above)'}")
        day = "" if row["day"] is None else str(row["day"])
        print(f"{day:<12}{row['source']:<15}{row['currency']:<12}{row['orders']:>7}{row['revenue']:>13,.2f}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duckdb", type=Path, default=REPO / ".images" / "revenue.duckdb",
                        help="the DuckDB file (replaced if it exists; default .images/revenue.duckdb, git-ignored)")
    parser.add_argument("--days", type=int, default=7, help="days shown, up to the newest order (default 7)")
    parser.add_argument("--records", type=int, default=300, help="records per stream in the sandbox (default 300)")
    parser.add_argument("--config", action="append", default=[], metavar="SOURCE=CONFIG_JSON",
                        help="read this connector from the real API with this config, not from the sandbox")
    parser.add_argument("--json", action="store_true", help="also print the query's rows as one JSON line, last")
    args = parser.parse_args(argv)
    own = dict(item.split("=", 1) for item in args.config)
    unknown = set(own) - {source.connector for source in SOURCES}
    if unknown:
        parser.error(f"unknown connector(s) {', '.join(sorted(unknown))}")

    args.duckdb.parent.mkdir(parents=True, exist_ok=True)
    for stale in (args.duckdb, Path(f"{args.duckdb}.wal")):
        stale.unlink(missing_ok=True)
    log_path = Path(f"{args.duckdb}.log")
    sandbox, sandbox_url = (None, "") if len(own) == len(SOURCES) else start_sandbox(args.records)
    try:
        print(f"Loading {len(SOURCES)} connectors into {args.duckdb}"
              + (f" from the sandbox at {sandbox_url}" if sandbox else "") + f" (PyAirbyte's log: {log_path}):")
        with log_path.open("w") as log:
            for source in SOURCES:
                config = (json.loads(Path(own[source.connector]).read_text()) if source.connector in own
                          else sandbox_config(source.connector, sandbox_url))
                started = time.monotonic()
                records = load(source, config, args.duckdb, log)
                tables = ", ".join(f"{source.schema}.{stream}" for stream in source.streams)
                print(f"  {source.connector:<22}{records:>6} records in {time.monotonic() - started:4.1f} s -> {tables}")
    finally:
        if sandbox:
            sandbox.terminate()
            sandbox.wait(timeout=30)

    print("\nWhat the revenue column is, per source (amounts in the currency's main unit; currencies never summed):")
    for source in SOURCES:
        print(f"  {source.schema:<15}{source.revenue}")
    print(f"\nDaily revenue per source, the {args.days} days up to the newest order (one SQL query, REVENUE_SQL):")
    rows = revenue_rows(args.duckdb, args.days)
    print_table(rows)
    mailed = count_rows(args.duckdb, "openletter.orders")
    print(f"\nopenletter: {mailed} mail orders loaded (no amount, no date).")
    print(f"Query it yourself with duckdb's CLI or Python module: {args.duckdb}, e.g. SELECT * FROM shopline.orders")
    if args.json:
        print(json.dumps({"duckdb": str(args.duckdb), "rows": rows, "openletter_orders": mailed}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
