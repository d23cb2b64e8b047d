"""source-textyess run as Airbyte runs it (a subprocess) against the TextYess emulator in tests/sandbox."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import pytest

from connectors_shared.window_sizing import PAGES_PER_WINDOW

from tests.harness import Connector, ConnectorRunner, configured_catalog
from tests.sandbox import Response, Sandbox
from tests.sandbox.textyess import CAMPAIGNS, _parse, campaign_id, campaign_of

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

CONNECTOR = Connector("source-textyess", REPO / "source-textyess")
RECORDS = 250  # orders over 2024; every other one belongs to one of 5 campaigns


@pytest.fixture
def sandbox():
    with Sandbox(records=RECORDS, prefix="/proxy") as running:
        yield running


def runner(sandbox, **overrides) -> ConnectorRunner:
    return ConnectorRunner(CONNECTOR, {**CONNECTOR.sandbox_config(sandbox.url), **overrides})


def catalog(run: ConnectorRunner, incremental: bool = True, streams=None):
    built = configured_catalog(run.discover_catalog(), incremental=incremental)
    if streams:
        built["streams"] = [s for s in built["streams"] if s["stream"]["name"] in streams]
    return built


def check_status(run):
    return run.of_type("CONNECTION_STATUS")[0]["connectionStatus"]


def requests_to(sandbox, path):
    return [query for seen, query in sandbox.vendor("textyess").requests if seen == path]


class TestCheck:
    def test_given_sandbox_token_when_check_then_succeeded(self, sandbox):
        assert check_status(runner(sandbox).run("check"))["status"] == "SUCCEEDED"

    def test_given_wrong_token_when_check_then_failed_with_what_to_fix(self, sandbox):
        run = runner(sandbox, api_token="expired-token").run("check")
        status = check_status(run)
        assert status["status"] == "FAILED"
        assert "did not accept the API token" in status["message"] and "api_token" in status["message"]
        assert "expired-token" not in run.stderr + str(run.messages)

    @pytest.mark.parametrize("bad_id, fragment", [("spring-sale", "'spring-sale', which is not a TextYess campaign id"),
                                                  ("65a1f0c2ffffffffffffffff", "does not know the campaign 65a1f0c2ffffffffffffffff")])
    def test_given_invalid_campaign_id_when_check_then_failed_naming_it(self, sandbox, bad_id, fragment):
        status = check_status(runner(sandbox, campaign_ids=[campaign_id(0), bad_id]).run("check"))
        assert status["status"] == "FAILED" and fragment in status["message"]

    def test_given_api_without_campaign_listing_when_check_without_ids_then_failed_asking_for_campaign_ids(self, sandbox):
        sandbox.vendor("textyess").list_campaigns = False
        status = check_status(runner(sandbox).run("check"))
        assert status["status"] == "FAILED" and "campaign_ids" in status["message"]
        assert check_status(runner(sandbox, campaign_ids=[campaign_id(1)]).run("check"))["status"] == "SUCCEEDED"


class TestRead:
    def test_given_full_read_then_every_order_once_with_campaign_ids_from_campaign_rows(self, sandbox):
        connector = runner(sandbox)
        run = connector.run("read", catalog=catalog(connector, incremental=False))
        assert not run.errors and run.returncode == 0
        assert run.records_by_stream() == {"orders": RECORDS, "campaigns": CAMPAIGNS + 1, "campaign_orders": RECORDS // 2}
        orders = [r["data"] for r in run.records if r["stream"] == "orders"]
        assert len({o["_id"] for o in orders}) == RECORDS
        assert {type(o["total"]) for o in orders} == {float} and {type(o["paid"]) for o in orders} == {bool}
        assert any("discount_codes" in o for o in orders)  # undeclared field kept
        by_campaign = defaultdict(set)
        for record in (r["data"] for r in run.records if r["stream"] == "campaign_orders"):
            by_campaign[record["campaign_id"]].add(record["_id"])
        expected = defaultdict(set)
        for i in range(RECORDS):
            if campaign_of(i) is not None:
                expected[campaign_id(campaign_of(i))].add(f"507f1f77{i:016x}")
        assert by_campaign == expected

    def test_given_small_pages_then_each_window_stops_at_its_total_and_never_asks_past_the_end(self, sandbox):
        connector = runner(sandbox, page_size=7)
        run = connector.run("read", catalog=catalog(connector, streams={"orders"}))
        assert not run.errors and run.records_by_stream() == {"orders": RECORDS}
        vendor = sandbox.vendor("textyess")
        pages = defaultdict(list)
        [probe, *queries] = requests_to(sandbox, "/analytics/orders")
        # The window-sizing probe: the first page from start_date to now. It advertises 250 orders, 36 pages of 7:
        # windows of about 10 pages (connectors_shared.window_sizing), 4 of them.
        assert (probe["from"], probe["page"]) == (["2024-01-01T00:00:00Z"], ["0"])
        for query in [probe, *queries]:
            assert (query["sortKey"], query["sortDirection"], query["perPage"]) == (["createdAt"], ["1"], ["7"])
        for query in queries:
            pages[(query["from"][0], query["to"][0])].append(int(query["page"][0]))
        assert len(pages) == math.ceil(math.ceil(RECORDS / 7) / PAGES_PER_WINDOW)
        for (low, high), asked in pages.items():
            total = len(vendor._orders(None, _parse(low), _parse(high)))
            assert sorted(asked) == list(range(max(1, math.ceil(total / 7)))), (low, high)

    def test_given_final_state_when_read_again_then_only_the_one_day_lookback_is_reread(self, sandbox):
        connector = runner(sandbox, lookback_days=1)  # the default (30) is covered by tests/test_late_changes.py
        cat = catalog(connector)
        first = connector.run("read", catalog=cat)
        second = connector.run("read", catalog=cat, state=first.final_states())
        assert not second.errors
        counts = second.records_by_stream()
        assert counts.get("orders", 0) <= 2 and counts.get("campaign_orders", 0) <= CAMPAIGNS
        states = {s["stream"]["stream_descriptor"]["name"]: s["stream"]["stream_state"] for s in second.final_states()}
        assert {s["partition"]["campaign_id"] for s in states["campaign_orders"]["states"]} == {
            campaign_id(c) for c in range(CAMPAIGNS)}

    def test_given_a_campaign_added_to_campaign_ids_then_it_starts_at_start_date_while_the_other_resumes(self, sandbox):
        first_runner = runner(sandbox, campaign_ids=[campaign_id(0)], lookback_days=1)
        cat = catalog(first_runner, streams={"campaign_orders"})
        first = first_runner.run("read", catalog=cat)
        assert first.records_by_stream() == {"campaign_orders": RECORDS // 2 // CAMPAIGNS}
        vendor = sandbox.vendor("textyess")
        vendor.requests.clear()
        second = runner(sandbox, campaign_ids=[campaign_id(0), campaign_id(3)], lookback_days=1).run(
            "read", catalog=cat, state=first.final_states())
        assert not second.errors
        per_campaign = defaultdict(int)
        for record in second.records:
            per_campaign[record["data"]["campaign_id"]] += 1
        assert per_campaign[campaign_id(3)] == RECORDS // 2 // CAMPAIGNS  # everything since start_date
        assert per_campaign[campaign_id(0)] <= 1  # only the lookback
        starts = defaultdict(list)
        for path, query in vendor.requests:
            starts[path.split("/")[3]].append(query["from"][0])
        assert min(starts[campaign_id(3)]) == "2024-01-01T00:00:00Z"
        assert min(starts[campaign_id(0)]) > "2024-12-"  # one day before the newest order synced for it

    def test_given_api_without_campaign_listing_then_campaigns_empty_and_log_asks_for_campaign_ids(self, sandbox):
        sandbox.vendor("textyess").list_campaigns = False
        connector = runner(sandbox)
        run = connector.run("read", catalog=catalog(connector, streams={"campaigns", "campaign_orders"}))
        assert not run.errors and run.returncode == 0
        assert run.records_by_stream() == {}
        logs = " ".join(m["log"]["message"] for m in run.of_type("LOG"))
        assert "404 for /analytics/campaigns" in logs and "campaign_ids setting" in logs

    def test_given_429_5xx_and_a_truncated_body_mid_sync_then_retried_and_nothing_is_lost(self, sandbox):
        connector = runner(sandbox)
        cat = catalog(connector, incremental=False, streams={"orders"})
        sandbox.vendor("textyess").inject(
            Response(429, {"message": "Too many requests, please try again later."}, {"retry-after": "1"}),
            Response(502, b"<html>Bad gateway</html>"),
            Response(200, b'{"data": [{"_id": "507f'),
        )
        run = connector.run("read", catalog=cat)
        assert not run.errors and run.records_by_stream() == {"orders": RECORDS}
        counts = sandbox.vendor("textyess").status_counts
        assert (counts.get(429), counts.get(502)) == (1, 1)
