"""Date windows sized from the data (connectors_shared.window_sizing), through real connector processes against the
sandbox: a small account reads a long range in about as few requests as its records need, a dense one in windows of
about ``PAGES_PER_WINDOW`` pages, and a sync killed between those windows resumes with no gap, reading little again.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict

import pytest
import yaml

from connectors_shared.window_sizing import PAGES_PER_WINDOW
from tests.harness import ConnectorRunner, configured_catalog, connectors
from tests.sandbox import Sandbox
from tests.test_resilience import keys_by_stream, read_until_killed

pytestmark = pytest.mark.integration
CONNECTORS = {connector.name: connector for connector in connectors()}
LEADWAY_STREAMS = {"orders": "/payments/orders", "transactions": "/payments/transactions",
                   "subscriptions": "/payments/subscriptions"}


def incremental_catalog(runner: ConnectorRunner, streams):
    catalog = configured_catalog(runner.discover_catalog(), incremental=True)
    catalog["streams"] = [s for s in catalog["streams"] if s["stream"]["name"] in streams]
    return catalog


def test_a_small_account_reads_years_from_start_date_in_as_many_requests_as_its_pages():
    # A year of records from 2024-01-01, read up to today: 30-day windows cost 36 requests per stream; sized from
    # the probe's total, the probe's answer is the one window's first page.
    connector = CONNECTORS["source-leadway"]
    with Sandbox(records=300, prefix="/sizing") as sandbox:
        vendor = sandbox.vendor("leadway")
        runner = ConnectorRunner(connector, connector.sandbox_config(sandbox.url))
        catalog = incremental_catalog(runner, LEADWAY_STREAMS)
        vendor.requests.clear()
        run = runner.run("read", catalog=catalog)
        made = Counter(path for path, _ in vendor.requests)
        served = {stream: vendor.timelines[path].count for stream, path in LEADWAY_STREAMS.items()}
    assert run.returncode == 0 and not run.errors, run.errors
    assert run.records_by_stream() == served
    keys = keys_by_stream(run.records, catalog)
    assert {stream: len(found) for stream, found in keys.items()} == served  # every record once
    for stream, path in LEADWAY_STREAMS.items():
        minimum = math.ceil(served[stream] / 100)
        assert made[path] <= minimum + 1, (stream, made[path], minimum)


def workers(name: str) -> int:
    """How many windows a sync of the connector reads at once: its manifest's default concurrency."""
    manifest = yaml.safe_load((CONNECTORS[name].folder / name.replace("-", "_") / "manifest.yaml").read_text())
    return int(manifest["concurrency_level"]["default_concurrency"])


def dense_wicked(sandbox: Sandbox) -> ConnectorRunner:
    # 1,000 orders over 2024 at 10 a page: 100 pages, so 10 windows of 37 days.
    connector = CONNECTORS["source-wickedreports"]
    config = {**connector.sandbox_config(sandbox.url), "page_size": 10, "lookback_days": 0}
    return ConnectorRunner(connector, config)


def test_a_dense_account_reads_windows_of_about_ten_pages_in_at_most_a_fifth_more_requests_than_its_pages():
    with Sandbox(records=1000, prefix="/sizing") as sandbox:
        vendor = sandbox.vendor("wickedreports")
        runner = dense_wicked(sandbox)
        catalog = incremental_catalog(runner, {"orders"})
        vendor.requests.clear()
        run = runner.run("read", catalog=catalog)
        requests = [query for path, query in vendor.requests if path == "/orders"]
    assert run.returncode == 0 and not run.errors, run.errors
    assert run.records_by_stream() == {"orders": 1000}
    probe, *reads = requests
    assert (probe["from"], probe["to"], "next" in probe) == (["2024-01-01"], ["2024-12-31"], False)
    pages = defaultdict(int)
    for query in reads:
        pages[(query["from"][0], query["to"][0])] += 1
    minimum = math.ceil(1000 / 10)
    assert len(pages) == math.ceil(minimum / PAGES_PER_WINDOW)
    assert all(count <= PAGES_PER_WINDOW + 2 for count in pages.values()), pages
    assert len(requests) <= 1.2 * minimum


def test_a_sync_killed_between_sized_windows_resumes_with_no_gap_and_reads_about_one_window_again():
    with Sandbox(records=1000, prefix="/sizing") as sandbox:
        vendor = sandbox.vendor("wickedreports")
        runner = dense_wicked(sandbox)
        catalog = incremental_catalog(runner, {"orders"})
        vendor.rewrite(lambda request, response: time.sleep(0.01))  # slow enough to be killed mid-way
        try:
            killed = read_until_killed(runner, catalog, states_before_kill=3)
        finally:
            vendor.reset()
        assert killed.returncode == -9, "the sync ended before it could be killed: the test proves nothing"
        resumed = runner.run("read", catalog=catalog, state=killed.final_states())
    assert resumed.returncode == 0 and not resumed.errors, resumed.errors
    delivered = keys_by_stream(killed.records, catalog)["orders"]
    again = keys_by_stream(resumed.records, catalog)["orders"]
    assert len(delivered | again) == 1000  # nothing missed
    assert 0 < len(delivered) < 1000
    # Read again: what the windows still open at the kill had delivered (one per worker), never the whole year.
    assert len(delivered & again) <= workers("source-wickedreports") * (PAGES_PER_WINDOW + 2) * 10
