"""source-leadway run as a subprocess (as Airbyte runs it) against the Leadway emulator in tests/sandbox/leadway.py.

The generic checks every connector gets (check, full and incremental reads, secrets) are in
tests/test_sandbox_integration.py; these are the Leadway behaviours that need the emulator to misbehave.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import Connector, ConnectorRunner, configured_catalog
from tests.sandbox import Response, Sandbox
from tests.sandbox.common import RateWindow

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
CONNECTOR = Connector("source-leadway", REPO / "source-leadway")


def only(catalog, *names, incremental=False):
    configured = configured_catalog(catalog, incremental=incremental)
    configured["streams"] = [s for s in configured["streams"] if s["stream"]["name"] in names]
    return configured


@pytest.fixture
def sandbox():
    with Sandbox(records=50, prefix="/it") as running:
        yield running


def test_given_a_tight_rate_window_when_paging_then_paces_by_headers_and_never_gets_a_429():
    # Coupons are one partition read page after page, so every request follows the previous answer's headers.
    # (Date windows of the other streams run two at a time; see README "Rate limits" for what that means.)
    with Sandbox(records=400) as small:
        vendor = small.vendor("leadway")
        vendor.window = RateWindow(limit=4, seconds=1)  # the real API allows 100 per 10 seconds
        runner = ConnectorRunner(CONNECTOR, {**CONNECTOR.sandbox_config(small.url), "page_size": 1})
        run = runner.run("read", catalog=only(runner.discover_catalog(), "coupons"))
    assert not run.errors
    assert run.records_by_stream()["coupons"] == 20
    assert len(vendor.requests) == 20  # the 20th page is full and totalCount says it is the last one
    assert vendor.status_counts.get(429, 0) == 0
    assert "pausing" in run.stderr or any("pausing" in m.get("log", {}).get("message", "") for m in run.messages)


def test_given_429_and_503_when_read_then_retried_and_nothing_is_lost(sandbox):
    vendor = sandbox.vendor("leadway")
    runner = ConnectorRunner(CONNECTOR, CONNECTOR.sandbox_config(sandbox.url))
    catalog = only(runner.discover_catalog(), "transactions")
    vendor.inject(
        Response(429, {"statusCode": 429, "message": "Too many requests"},
                 {"X-RateLimit-Remaining": "0", "X-RateLimit-Interval-Milliseconds": "500"}),
        Response(503, {"statusCode": 503, "message": "Service Unavailable"}),
    )
    run = runner.run("read", catalog=catalog)
    assert not run.errors
    assert run.records_by_stream()["transactions"] == 50
    assert vendor.status_counts[429] == 1 and vendor.status_counts[503] == 1


def test_given_page_size_above_the_limit_when_read_then_config_error_naming_the_limit(sandbox):
    runner = ConnectorRunner(CONNECTOR, {**CONNECTOR.sandbox_config(sandbox.url), "page_size": 500})
    run = runner.run("read", catalog=only(runner.discover_catalog(), "orders"))
    assert run.returncode != 0 and run.errors
    for error in run.errors:  # one per date window: the CDK keeps reading a stream's other partitions
        assert error["failure_type"] == "config_error"
        assert "limit must not be greater than 100" in error["message"]
    assert "Leadway refused page_size 500: limit must not be greater than 100" in run.errors[0]["message"]
    assert set(sandbox.vendor("leadway").status_counts) == {422}  # never retried into a 200 with fewer records


def test_given_a_location_the_token_cannot_read_when_check_then_failed_naming_it(sandbox):
    config = {**CONNECTOR.sandbox_config(sandbox.url), "location_ids": ["sandboxLocation01", "otherLocation"]}
    run = ConnectorRunner(CONNECTOR, config).run("check")
    status = run.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED"
    assert "1 of the 2 location(s) in location_ids: otherLocation (HTTP 403: The token does not have access to this " \
           "location.)" in status["message"]


def test_given_a_value_that_does_not_convert_when_read_then_record_is_kept_as_sent(sandbox):
    runner = ConnectorRunner(CONNECTOR, {**CONNECTOR.sandbox_config(sandbox.url), "start_date": "2024-12-20"})
    catalog = only(runner.discover_catalog(), "orders")
    odd = {"_id": "odd-1", "altId": "sandboxLocation01", "altType": "location", "status": "completed",
           "sourceType": "funnel", "amount": "N/A", "liveMode": "unknown", "createdAt": "2024-12-21T10:00:00.000Z",
           "updatedAt": "2024-12-21T10:00:00.000Z"}
    sandbox.vendor("leadway").inject(Response(200, {"data": [odd], "totalCount": 1}))
    run = runner.run("read", catalog=catalog)
    assert not run.errors
    [record] = [r["data"] for r in run.records if r["data"]["_id"] == "odd-1"]
    assert (record["amount"], record["liveMode"]) == ("N/A", "unknown")


def test_given_lookback_days_when_incremental_read_from_state_then_recent_days_are_read_again(sandbox):
    config = {**CONNECTOR.sandbox_config(sandbox.url), "start_date": "2024-06-01"}
    runner = ConnectorRunner(CONNECTOR, config)
    catalog = only(runner.discover_catalog(), "orders", incremental=True)
    first = runner.run("read", catalog=catalog)
    [state] = first.final_states()
    again = runner.run("read", catalog=catalog, state=[state])
    with_lookback = ConnectorRunner(CONNECTOR, {**config, "lookback_days": 30}).run("read", catalog=catalog, state=[state])
    assert not (first.errors or again.errors or with_lookback.errors)
    assert len(again.records) < len(with_lookback.records) < len(first.records)
