"""``examples/revenue_in_one_query.py``: all five connectors loaded by PyAirbyte into one DuckDB file, and its one SQL
query gives the same daily revenue per source as the records the connectors send through the Airbyte protocol.

Slow (PyAirbyte lives in ``.venv-pyairbyte``, created here if missing): opt-in with
``pytest tests/test_revenue_example.py -m pyairbyte``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from tests.harness import ConnectorRunner, connectors
from tests.sandbox import Sandbox

pytestmark = pytest.mark.pyairbyte

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "revenue_in_one_query.py"
RECORDS = 120
DAYS = 10


def _orders(connector: str, sandbox: Sandbox) -> List[Dict[str, Any]]:
    found = next(c for c in connectors() if c.name == connector)
    runner = ConnectorRunner(found, found.sandbox_config(sandbox.url))
    catalog = {"streams": [{"stream": {"name": "orders", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
                            "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}
    run = runner.run("read", catalog=catalog)
    assert run.returncode == 0 and not run.errors, run.errors
    return [record["data"] for record in run.records]


def _expected(sandbox: Sandbox) -> Dict[Tuple[str, str, str], Tuple[int, float]]:
    """Daily revenue per source from the protocol's records, by the rules the example prints (its ``SOURCES``)."""
    amounts: List[Tuple[str, dt.date, str, float]] = []
    for order in _orders("source-wickedreports", sandbox):
        amounts.append(("wickedreports", dt.date.fromisoformat(order["date"][:10]), order["currency"], order["amount"]))
    for order in _orders("source-leadway", sandbox):
        if order.get("status") != "refunded":
            amounts.append(("leadway", dt.date.fromisoformat(order["createdAt"][:10]), order["currency"], order["amount"]))
    for order in _orders("source-shopline", sandbox):
        if order.get("status") != "cancelled":
            total = order["total"]
            amounts.append(("shopline", dt.date.fromisoformat(order["created_at"][:10]), total["currency_iso"],
                            total["dollars"]))
    for order in _orders("source-textyess", sandbox):
        if order.get("paid"):
            amounts.append(("textyess", dt.date.fromisoformat(order["createdAt"][:10]), "(not sent)", order["total"]))
    newest = max(day for _, day, _, _ in amounts)
    sums: Dict[Tuple[str, str, str], List[float]] = defaultdict(list)
    for source, day, currency, amount in amounts:
        if day > newest - dt.timedelta(days=DAYS):
            sums[(day.isoformat(), source, currency)].append(amount)
            sums[("", source, currency)].append(amount)
    return {key: (len(values), round(sum(values), 2)) for key, values in sums.items()}


def test_given_the_sandbox_when_the_example_runs_then_its_query_gives_the_protocols_daily_revenue(
    pyairbyte_python: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "AIRBYTE_OFFLINE_MODE": "true", "DO_NOT_TRACK": "1", "PYTHONPATH": ""}
    process = subprocess.run(
        [str(pyairbyte_python), str(EXAMPLE), "--records", str(RECORDS), "--days", str(DAYS),
         "--duckdb", str(tmp_path / "revenue.duckdb"), "--json"],
        capture_output=True, text=True, timeout=1200, env=env, cwd=tmp_path,
    )
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    report = json.loads(process.stdout.strip().splitlines()[-1])
    assert Path(report["duckdb"]).exists()
    shown = {(row["day"] or "", row["source"], row["currency"]): (row["orders"], row["revenue"]) for row in report["rows"]}

    # The sandbox's records depend only on the record count: the same data, read through the Airbyte protocol.
    with Sandbox(records=RECORDS) as sandbox:
        expected = _expected(sandbox)
    assert shown == expected
    assert {source for _, source, _ in shown} == {"wickedreports", "leadway", "shopline", "textyess"}
    assert report["openletter_orders"] == RECORDS

    text = process.stdout
    for words in ("What the revenue column is", "currencies never summed", "(totals of the days above)",
                  "openletter     none: mail orders carry no amount and no date"):
        assert words in text
    assert "Sync Progress" not in text and "FutureWarning" not in process.stderr  # PyAirbyte's report went to the log
