"""source-wickedreports run as Airbyte runs it (a subprocess) against the Wicked Reports emulator in tests/sandbox.

What is checked here is the child streams, order_products and order_payments, against what the emulator serves:
counts and keys exact, every field declared, and a refund appended to an old order arriving with the next sync.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pytest

from tests.harness import Connector, ConnectorRunner, configured_catalog
from tests.sandbox import Response, Sandbox
from tests.sandbox.common import UTC
from tests.sandbox.wickedreports import order

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "source-wickedreports" / "source_wickedreports" / "schemas"
pytestmark = pytest.mark.integration

CONNECTOR = Connector("source-wickedreports", REPO / "source-wickedreports")
RECORDS = 400  # orders over 2024: one page of 1000 for the whole year
CHILDREN = {"order_products": "products", "order_payments": "payments"}


@pytest.fixture
def sandbox():
    with Sandbox(records=RECORDS) as running:
        yield running


def runner(sandbox, **overrides) -> ConnectorRunner:
    return ConnectorRunner(CONNECTOR, {**CONNECTOR.sandbox_config(sandbox.url), **overrides})


def catalog_of(run: ConnectorRunner, *streams: str, incremental: bool = True) -> Dict[str, Any]:
    catalog = configured_catalog(run.discover_catalog(), incremental=incremental)
    catalog["streams"] = [s for s in catalog["streams"] if s["stream"]["name"] in streams]
    return catalog


def served_orders(sandbox) -> List[Dict[str, Any]]:
    """Every order the emulator holds, as it serves them."""
    timeline = sandbox.vendor("wickedreports").timelines["/orders"]
    return [order(i, timeline.at(i)) for i in range(len(timeline))]


def expected_keys(orders: List[Dict[str, Any]], list_field: str) -> Set[Tuple[str, int]]:
    return {(o["id"], position) for o in orders for position, _ in enumerate(o.get(list_field) or [])}


def rows(run, stream: str) -> List[Dict[str, Any]]:
    return [r["data"] for r in run.records if r["stream"] == stream]


def test_given_full_read_then_child_rows_match_the_served_lists_exactly_and_every_field_is_declared(sandbox):
    connector = runner(sandbox)
    run = connector.run("read", catalog=catalog_of(connector, "orders", *CHILDREN, incremental=False))
    assert run.returncode == 0 and not run.errors
    orders = served_orders(sandbox)
    assert {o.get("products") is None for o in orders} == {True, False}  # the emulator has orders without lists
    assert {len(o["payments"]) for o in orders if o.get("payments")} == {1, 2}
    by_id = {o["id"]: o for o in orders}
    assert run.records_by_stream()["orders"] == RECORDS
    for stream, list_field in CHILDREN.items():
        emitted = rows(run, stream)
        keys = [(r["order_id"], r["position"]) for r in emitted]
        assert len(keys) == len(set(keys)), f"{stream}: a key twice"
        assert set(keys) == expected_keys(orders, list_field), stream
        declared = set(json.loads((SCHEMAS / f"{stream}.json").read_text())["properties"])
        assert set().union(*(r.keys() for r in emitted)) <= declared, f"{stream} emits fields its schema lacks"
        for row in emitted:
            parent = by_id[row["order_id"]]
            assert row["order_date"] == parent["date"]
            served = parent[list_field][row["position"]]
            assert set(served) | {"order_id", "order_date", "position"} == set(row)
    payments = rows(run, "order_payments")
    assert {type(p["amount"]) for p in payments} == {int}  # "79" strings are numbers
    assert all(p["date"].endswith("Z") for p in payments)  # naive payment dates are taken as UTC
    assert {p["status"] for p in payments} == {"APPROVED", "Partially Refunded"}
    # The child streams read the /orders pages orders fetched: each page once for the three streams (see the
    # README). The year's orders fit in one page, so the window-sizing probe over the year is the one window and page.
    asked = [path for path, _ in sandbox.vendor("wickedreports").requests if path == "/orders"]
    assert len(asked) == 1


def test_given_a_refund_appended_to_an_old_order_then_the_next_sync_brings_it_as_a_new_payment_row(sandbox):
    vendor = sandbox.vendor("wickedreports")
    connector = runner(sandbox, start_date="2024-10-01")
    catalog = catalog_of(connector, "order_payments")
    first = connector.run("read", catalog=catalog)
    assert not first.errors
    state = first.final_stream_states()["order_payments"]
    newest = dt.datetime.fromisoformat(state["order_date"]).replace(tzinfo=UTC)
    refunded = vendor.find("orders", newest - dt.timedelta(days=10))  # within the 30-day lookback
    too_old = vendor.find("orders", newest - dt.timedelta(days=45))  # beyond it: the documented limit
    vendor.refund(refunded, on=newest)
    vendor.refund(too_old, on=newest)
    second = connector.run("read", catalog=catalog, state=first.final_states())
    assert not second.errors
    before = {(r["order_id"], r["position"]) for r in rows(first, "order_payments")}
    after = {(r["order_id"], r["position"]): r for r in rows(second, "order_payments")}
    assert set(after) - before == {(refunded, 1)}
    assert (after[(refunded, 1)]["status"], after[(refunded, 1)]["amount"]) == ("REFUNDED", -next(
        o["amount"] for o in served_orders(sandbox) if o["id"] == refunded))
    assert (too_old, 1) not in after
    assert second.final_stream_states()["order_payments"]["order_date"] >= state["order_date"]  # never moves back


def test_given_a_payment_that_is_not_an_object_then_the_stream_fails_with_a_sentence_and_the_others_finish(sandbox):
    def break_one_payment(request, response: Response):
        results = response.body.get("results") if isinstance(response.body, dict) else None
        if results and any(r.get("payments") for r in results):
            first = next(r for r in results if r.get("payments"))
            first["payments"] = first["payments"] + ["REFUNDED"]
            return response
        return None

    sandbox.vendor("wickedreports").rewrite(break_one_payment)
    connector = runner(sandbox)
    run = connector.run("read", catalog=catalog_of(connector, "orders", "order_products", "order_payments",
                                                   incremental=False))
    assert run.returncode != 0
    messages = " ".join(error["message"] for error in run.errors)
    assert "(stream order_payments)" in messages and "an element of 'payments' that is not a JSON object" in messages
    assert "Traceback" not in messages and "Traceback" not in run.stderr
    counts = run.records_by_stream()
    assert counts["orders"] == RECORDS and counts["order_products"] == len(expected_keys(served_orders(sandbox),
                                                                                          "products"))
