"""Late changes reach the warehouse: refunds, chargebacks, status changes and late rows, over two real syncs.

Each test runs a connector as Airbyte does (a subprocess) against the sandbox: a first incremental sync, changes made
in the sandbox (``vendor.change`` / ``vendor.add``, see tests/sandbox/changes.py), then a second incremental sync from
the state the first one wrote, with the connector's default ``lookback_days``. It checks that

- every change within the lookback arrives with the second sync, and one older than the lookback does not (the limit
  each README documents: such changes need a full refresh);
- the state after the second sync is never before the state it started from (the lookback re-reads, the state stays
  the high-water mark);
- an "Incremental | Append + Deduped" destination, which keeps the last record emitted per primary key, ends up with
  the newest version of each changed record.

Ages ("a 10-day-old order") count back from the newest record the first sync read: the sandbox's data ends on
2025-01-01, and the lookback is counted from the state, which is that newest record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Iterable, List, Tuple

import pytest

from tests.harness import REPO, Connector, ConnectorRunner, Run, configured_catalog
from tests.sandbox import Sandbox
from tests.sandbox.changes import Changes
from tests.sandbox.common import UTC
from tests.sandbox.leadway import LOCATION_ID as LEADWAY_LOCATION
from tests.sandbox.leadway import SECOND_LOCATION_ID as LEADWAY_SECOND_LOCATION
from tests.sandbox.textyess import campaign_id as textyess_campaign_id

pytestmark = pytest.mark.integration

RECORDS = 1500  # per stream over 2024: a campaign of TextYess still gets an order every two or three days
DATA_END = dt.datetime(2025, 1, 1, tzinfo=UTC)


def connector(name: str) -> Connector:
    return Connector(name, REPO / name)


@pytest.fixture
def sandbox():
    with Sandbox(records=RECORDS, prefix="/late") as running:
        yield running


def catalog_for(runner: ConnectorRunner, *streams: str) -> Dict[str, Any]:
    catalog = configured_catalog(runner.discover_catalog(), incremental=True)
    catalog["streams"] = [s for s in catalog["streams"] if s["stream"]["name"] in streams]
    assert {s["sync_mode"] for s in catalog["streams"]} == {"incremental"}
    assert {s["destination_sync_mode"] for s in catalog["streams"]} == {"append_dedup"}
    return catalog


def two_syncs(runner: ConnectorRunner, catalog: Dict[str, Any], make_changes) -> Tuple[Run, Run]:
    first = runner.run("read", catalog=catalog)
    assert first.returncode == 0 and not first.errors, first.errors
    make_changes(first)
    second = runner.run("read", catalog=catalog, state=first.final_states())
    assert second.returncode == 0 and not second.errors, second.errors
    return first, second


def without_lookback(runner: ConnectorRunner, catalog: Dict[str, Any], first: Run) -> Run:
    """The second sync again, with lookback_days 0: what the connectors did before they re-read recent days."""
    run = ConnectorRunner(runner.connector, {**runner.config, "lookback_days": 0}).run(
        "read", catalog=catalog, state=first.final_states())
    assert run.returncode == 0 and not run.errors, run.errors
    return run


def records(run: Run, stream: str) -> List[Dict[str, Any]]:
    return [r["data"] for r in run.records if r["stream"] == stream]


def by_key(run: Run, stream: str, key: str = "id") -> Dict[Any, Dict[str, Any]]:
    return {r[key]: r for r in records(run, stream)}


def append_dedup(catalog: Dict[str, Any], stream: str, *runs: Run) -> Dict[Tuple, Dict[str, Any]]:
    """What an Append + Deduped destination keeps: per primary key, the last record emitted over the syncs."""
    [entry] = [s for s in catalog["streams"] if s["stream"]["name"] == stream]
    kept: Dict[Tuple, Dict[str, Any]] = {}
    for run in runs:
        for record in records(run, stream):
            kept[tuple(record[path[0]] for path in entry["primary_key"])] = record
    return kept


def cursor_states(run: Run) -> Dict[str, Any]:
    return {name: state for name, state in run.final_stream_states().items()}


def assert_state_never_moves_back(first: Run, second: Run) -> None:
    """Every cursor value of the second sync's final state is at or after the one the first sync saved."""
    before, after = cursor_states(first), cursor_states(second)
    for stream, state in before.items():
        for cursor, value in _cursor_values(state):
            assert dict(_cursor_values(after[stream]))[cursor] >= value, (stream, cursor)
    # and no state message of the second sync went back either
    for message in second.states:
        stream = message["stream"]["stream_descriptor"]["name"]
        for cursor, value in _cursor_values(message["stream"]["stream_state"]):
            assert value >= dict(_cursor_values(before[stream])).get(cursor, value), (stream, cursor)


def _cursor_values(state: Dict[str, Any]) -> Iterable[Tuple[str, str]]:
    if "states" in state:  # per partition
        for entry in state["states"]:
            partition = ",".join(str(v) for k, v in sorted(entry["partition"].items()) if k != "parent_slice")
            for field, value in entry["cursor"].items():
                yield f"{partition}/{field}", value
    else:
        for field, value in state.items():
            if field != "lookback_window":
                yield field, value


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


# -- Wicked Reports ----------------------------------------------------------------------------------------------------


def test_wickedreports_refund_ltv_change_and_late_order_arrive_with_the_next_sync(sandbox):
    vendor = sandbox.vendor("wickedreports")
    config = {**connector("source-wickedreports").sandbox_config(sandbox.url), "start_date": "2024-10-01"}
    runner = ConnectorRunner(connector("source-wickedreports"), config)
    catalog = catalog_for(runner, "contacts", "orders", "clicks")
    changed: Dict[str, str] = {}

    def make_changes(first: Run) -> None:
        newest = dt.datetime.fromisoformat(first.final_stream_states()["orders"]["date"]).replace(tzinfo=UTC)
        changed["refunded"] = vendor.find("orders", newest - days(10))
        vendor.refund(changed["refunded"], on=newest)
        changed["ltv"] = vendor.find("contacts", newest - days(5))
        vendor.change("contacts", changed["ltv"], LTV=4321.5)
        changed["late"] = vendor.add("orders", newest - days(2) + dt.timedelta(hours=9))  # imported two days late
        changed["late_click"] = vendor.add("clicks", newest - dt.timedelta(hours=12))  # shown a day late
        changed["too_old"] = vendor.find("orders", newest - days(45))  # refunded 45 days on: past the 30-day lookback
        vendor.refund(changed["too_old"], on=newest)

    first, second = two_syncs(runner, catalog, make_changes)
    orders, contacts = by_key(second, "orders"), by_key(second, "contacts")
    assert [p["status"] for p in orders[changed["refunded"]]["payments"]] == ["APPROVED", "REFUNDED"]
    assert contacts[changed["ltv"]]["LTV"] == 4321.5
    assert changed["late"] in orders
    assert changed["late_click"] in {r["contactId"] for r in records(second, "clicks")}
    assert changed["too_old"] not in orders  # the documented limit: a full refresh brings it
    assert_state_never_moves_back(first, second)

    warehouse = append_dedup(catalog, "orders", first, second)
    assert [p["status"] for p in warehouse[(changed["refunded"],)]["payments"]] == ["APPROVED", "REFUNDED"]
    assert [p["status"] for p in warehouse[(changed["too_old"],)]["payments"]] == ["APPROVED"]
    assert append_dedup(catalog, "contacts", first, second)[(changed["ltv"],)]["LTV"] == 4321.5

    # What the issue saw: without a lookback the same three changes do not arrive.
    without = without_lookback(runner, catalog, first)
    assert not {changed["refunded"], changed["late"]} & set(by_key(without, "orders"))
    assert changed["ltv"] not in by_key(without, "contacts")


# -- Leadway -----------------------------------------------------------------------------------------------------------


def test_leadway_refund_fulfilment_cancellation_and_late_order_arrive_with_the_next_sync(sandbox):
    vendor = sandbox.vendor("leadway")
    config = {**connector("source-leadway").sandbox_config(sandbox.url), "start_date": "2024-10-01",
              "location_ids": [LEADWAY_LOCATION, LEADWAY_SECOND_LOCATION]}  # the lookback holds for every location
    config.pop("lookback_days")  # the sandbox config turns it off; this test is about the default
    runner = ConnectorRunner(connector("source-leadway"), config)
    catalog = catalog_for(runner, "orders", "transactions", "subscriptions")
    changed: Dict[str, str] = {}

    def make_changes(first: Run) -> None:
        saved = dict(_cursor_values(first.final_stream_states()["transactions"]))  # one entry per location
        newest = dt.datetime.fromisoformat(saved[f"{LEADWAY_LOCATION}/createdAt"]).replace(tzinfo=UTC)
        newest_second = dt.datetime.fromisoformat(saved[f"{LEADWAY_SECOND_LOCATION}/createdAt"]).replace(tzinfo=UTC)
        changed["refunded_second"] = vendor.find("transactions", newest_second - days(12),
                                                 location=LEADWAY_SECOND_LOCATION)
        vendor.change("transactions", changed["refunded_second"], status="refunded", amountRefunded="12.00")
        changed["too_old_second"] = vendor.find("transactions", newest_second - days(45),
                                                location=LEADWAY_SECOND_LOCATION)
        vendor.change("transactions", changed["too_old_second"], status="refunded", amountRefunded="1")
        changed["refunded"] = vendor.find("transactions", newest - days(10))
        vendor.change("transactions", changed["refunded"], status="refunded", amountRefunded="30.50")
        changed["fulfilled"] = vendor.find("orders", newest - days(3))
        vendor.change("orders", changed["fulfilled"], fulfillmentStatus="fulfilled")
        changed["cancelled"] = vendor.find("subscriptions", newest - days(20))
        vendor.change("subscriptions", changed["cancelled"], status="canceled")
        changed["late"] = vendor.add("orders", newest - days(2) + dt.timedelta(hours=5))
        changed["too_old"] = vendor.find("transactions", newest - days(45))
        vendor.change("transactions", changed["too_old"], status="refunded", amountRefunded="1")

    first, second = two_syncs(runner, catalog, make_changes)
    transactions, orders = by_key(second, "transactions", "_id"), by_key(second, "orders", "_id")
    assert (transactions[changed["refunded"]]["status"], transactions[changed["refunded"]]["amountRefunded"]) == (
        "refunded", 30.5)
    assert orders[changed["fulfilled"]]["fulfillmentStatus"] == "fulfilled"
    assert by_key(second, "subscriptions", "_id")[changed["cancelled"]]["status"] == "canceled"
    assert changed["late"] in orders
    assert changed["too_old"] not in transactions
    assert transactions[changed["refunded_second"]]["status"] == "refunded"
    assert transactions[changed["refunded_second"]]["location_id"] == LEADWAY_SECOND_LOCATION
    assert changed["too_old_second"] not in transactions
    assert_state_never_moves_back(first, second)
    warehouse = append_dedup(catalog, "transactions", first, second)
    assert warehouse[(changed["refunded"],)]["status"] == "refunded"
    assert warehouse[(changed["too_old"],)]["status"] == "succeeded"  # older than the lookback: needs a full refresh

    without = without_lookback(runner, catalog, first)
    assert not {changed["refunded"], changed["refunded_second"]} & set(by_key(without, "transactions", "_id"))
    assert not {changed["fulfilled"], changed["late"]} & set(by_key(without, "orders", "_id"))


# -- TextYess ----------------------------------------------------------------------------------------------------------


def test_textyess_chargeback_and_late_attributed_order_arrive_in_orders_and_campaign_orders(sandbox):
    vendor = sandbox.vendor("textyess")
    config = {**connector("source-textyess").sandbox_config(sandbox.url), "start_date": "2024-10-01"}
    runner = ConnectorRunner(connector("source-textyess"), config)
    catalog = catalog_for(runner, "orders", "campaign_orders")
    campaign = 2
    changed: Dict[str, str] = {}

    def make_changes(first: Run) -> None:
        states = first.final_stream_states()
        [campaign_state] = [s["cursor"]["createdAt"] for s in states["campaign_orders"]["states"]
                            if s["partition"]["campaign_id"] == textyess_campaign_id(campaign)]
        newest = min(_parse(states["orders"]["createdAt"]), _parse(campaign_state))
        changed["charged_back"] = vendor.find("orders", newest - days(6), campaign=campaign)
        vendor.change("orders", changed["charged_back"], paid=False)
        changed["late"] = vendor.add("orders", newest - days(2), campaign=campaign)  # attributed two days late
        changed["too_old"] = vendor.find("orders", newest - days(45), campaign=campaign)
        vendor.change("orders", changed["too_old"], paid=False)

    first, second = two_syncs(runner, catalog, make_changes)
    [campaign_state] = [s["cursor"]["createdAt"] for s in first.final_stream_states()["campaign_orders"]["states"]
                        if s["partition"]["campaign_id"] == textyess_campaign_id(campaign)]
    ages = {name: _parse(campaign_state) - _parse(by_key(first, "campaign_orders", "_id")[changed[name]]["createdAt"])
            for name in ("charged_back", "too_old")}
    assert days(2) < ages["charged_back"] < days(29) and ages["too_old"] > days(31)  # beyond the one-day re-read
    for stream in ("orders", "campaign_orders"):
        rows = by_key(second, stream, "_id")
        assert rows[changed["charged_back"]]["paid"] is False, stream
        assert changed["late"] in rows, stream
        assert changed["too_old"] not in rows, stream
    assert by_key(second, "campaign_orders", "_id")[changed["late"]]["campaign_id"] == textyess_campaign_id(campaign)
    assert_state_never_moves_back(first, second)
    warehouse = append_dedup(catalog, "campaign_orders", first, second)
    assert warehouse[(textyess_campaign_id(campaign), changed["charged_back"])]["paid"] is False
    assert warehouse[(textyess_campaign_id(campaign), changed["too_old"])]["paid"] is not False

    # What the issue saw: with the former one-day re-read (lookback_days 0 still re-reads a day) the chargeback is lost.
    without = without_lookback(runner, catalog, first)
    for stream in ("orders", "campaign_orders"):
        assert changed["charged_back"] not in by_key(without, stream, "_id"), stream


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- SHOPLINE ----------------------------------------------------------------------------------------------------------


def test_shopline_changed_orders_arrive_by_updated_at_but_not_through_the_campaign_keyset(sandbox):
    vendor = sandbox.vendor("shopline")
    config = {**connector("source-shopline").sandbox_config(sandbox.url), "start_date": "2024-11-01"}
    runner = ConnectorRunner(connector("source-shopline"), config)
    catalog = catalog_for(runner, "orders", "order_items", "affiliate_campaign_orders")
    changed: Dict[str, str] = {}

    def make_changes(first: Run) -> None:
        saved = dt.datetime.strptime(first.final_stream_states()["orders"]["updated_at"], "%Y-%m-%d %H:%M:%S.%f")
        saved = saved.replace(tzinfo=UTC)
        changed["old_cancelled"] = vendor.find("orders", DATA_END - days(40), campaign=0)  # 40 days old, in a campaign
        vendor.change("orders", changed["old_cancelled"], status="cancelled")  # updated_at moves to now
        changed["shown_late"] = vendor.find("orders", DATA_END - days(20))
        vendor.change("orders", changed["shown_late"], status="completed", updated_at=saved - dt.timedelta(hours=6))
        changed["too_old"] = vendor.find("orders", DATA_END - days(25))
        vendor.change("orders", changed["too_old"], status="completed", updated_at=saved - days(3))
        changed["new_in_campaign"] = vendor.add("orders", dt.datetime.now(UTC) - dt.timedelta(minutes=5), campaign=0)

    first, second = two_syncs(runner, catalog, make_changes)
    assert changed["old_cancelled"] in by_key(first, "affiliate_campaign_orders")
    orders = by_key(second, "orders")
    assert orders[changed["old_cancelled"]]["status"] == "cancelled"  # any age: the update moved updated_at
    assert orders[changed["old_cancelled"]]["affiliate_campaign"]["id"] == vendor.campaign(0)["id"]
    assert orders[changed["shown_late"]]["status"] == "completed"  # within the 1-day lookback
    assert changed["too_old"] not in orders  # shown 3 days late: past the lookback
    assert changed["new_in_campaign"] in orders
    # The keyset of a campaign's orders brings new orders only: the cancelled one is not read again there.
    campaign_orders = by_key(second, "affiliate_campaign_orders")
    assert set(campaign_orders) == {changed["new_in_campaign"]}
    assert_state_never_moves_back(first, second)
    warehouse = append_dedup(catalog, "orders", first, second)
    assert warehouse[(changed["old_cancelled"],)]["status"] == "cancelled"
    assert append_dedup(catalog, "affiliate_campaign_orders", first, second)[
        (vendor.campaign(0)["id"], changed["old_cancelled"])]["status"] != "cancelled"  # the README's limit

    # order_items, read from the same pages by the same updated_at windows, bring the changed orders' lines again.
    lines_of = {}
    for item in records(second, "order_items"):
        lines_of.setdefault(item["order_id"], []).append(item)
    # (order_items keeps its own state, the newest order that had lines, so it may re-read a few more orders.)
    with_lines = {name for name in ("old_cancelled", "shown_late") if orders[changed[name]].get("subtotal_items")}
    assert with_lines, "the sandbox should give at least one changed order some lines"
    for name in with_lines:
        lines = lines_of[changed[name]]
        assert len(lines) == len(orders[changed[name]]["subtotal_items"]), name
        assert {line["order_updated_at"] for line in lines} == {orders[changed[name]]["updated_at"]}, name
    assert changed["too_old"] in {item["order_id"] for item in records(first, "order_items")}
    assert changed["too_old"] not in lines_of

    without = without_lookback(runner, catalog, first)
    assert changed["shown_late"] not in by_key(without, "orders")
    assert changed["old_cancelled"] in by_key(without, "orders")  # updated_at moved: no lookback needed for it


# -- the sandbox's change API ------------------------------------------------------------------------------------------


def test_changes_touch_only_the_changed_record_and_nothing_before_a_test_asks():
    assert not Changes()
    with Sandbox(records=50) as small:
        vendor = small.vendor("wickedreports")
        config = {**connector("source-wickedreports").sandbox_config(small.url), "start_date": "2024-12-01"}
        runner = ConnectorRunner(connector("source-wickedreports"), config)
        catalog = catalog_for(runner, "orders")
        before = runner.run("read", catalog=catalog)
        target = vendor.find("orders", DATA_END - days(10))
        vendor.change("orders", target, currency="EUR")
        after = runner.run("read", catalog=catalog)
    old, new = by_key(before, "orders"), by_key(after, "orders")
    assert set(old) == set(new) and target in new
    assert [k for k in old if old[k] != new[k]] == [target]
    assert new[target]["currency"] == "EUR"
