"""source-shopline run as Airbyte runs it (a subprocess) against the SHOPLINE emulator in tests/sandbox."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.harness import Connector, ConnectorRunner, configured_catalog
from tests.sandbox import Response, Sandbox
from tests.sandbox.shopline import RATE_LIMITED, campaign_id

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

CONNECTOR = Connector("source-shopline", REPO / "source-shopline")
RECORDS = 180  # 3 campaigns, 60 affiliate orders (20 each: a full page of 20, then an empty one at page_size 20)
SCHEMAS = REPO / "source-shopline" / "source_shopline" / "schemas"


@pytest.fixture
def sandbox():
    with Sandbox(records=RECORDS) as running:
        yield running


def runner(sandbox, **overrides) -> ConnectorRunner:
    return ConnectorRunner(CONNECTOR, {**CONNECTOR.sandbox_config(sandbox.url), **overrides})


def catalog_of(run: ConnectorRunner, *streams: str):
    catalog = configured_catalog(run.discover_catalog(), incremental=True)
    catalog["streams"] = [s for s in catalog["streams"] if s["stream"]["name"] in streams]
    return catalog


def test_given_wrong_token_when_check_then_failed_with_what_to_fix(sandbox):
    run = runner(sandbox, access_token="expired-token").run("check")
    status = run.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED" and "access_token" in status["message"]
    assert "expired-token" not in run.stderr + str(run.messages)


def test_given_no_ids_when_read_then_every_campaign_is_read_and_the_next_sync_reads_only_new_orders(sandbox):
    run = runner(sandbox, page_size=20)
    catalog = catalog_of(run, "affiliate_campaign_orders")
    first = run.run("read", catalog=catalog)
    records = [r["data"] for r in first.records]
    assert len(records) == 60 and not first.errors
    assert {r["affiliate_campaign_id"] for r in records} == {campaign_id(c) for c in range(3)}
    second = run.run("read", catalog=catalog, state=first.final_states())
    assert second.records == [] and not second.errors
    previous_ids = [q.get("previous_id", [None])[0] for path, q in sandbox.vendor("shopline").requests if path.endswith("/orders")]
    assert None not in previous_ids[-3:]  # the second sync starts every campaign from its saved id


def test_given_unknown_configured_id_when_read_then_config_error_names_it(sandbox):
    run = runner(sandbox, affiliate_campaign_ids=[campaign_id(0), "ffffffffffffffffffffffff"])
    result = run.run("read", catalog=catalog_of(run, "affiliate_campaign_orders"))
    messages = " ".join(error["message"] for error in result.errors)
    assert "no affiliate campaign with id ffffffffffffffffffffffff" in messages
    assert result.returncode != 0 or result.errors


def test_given_429_and_500_when_read_orders_then_retried_and_complete(sandbox):
    run = runner(sandbox)
    catalog = catalog_of(run, "orders")
    sandbox.vendor("shopline").inject(Response(429, RATE_LIMITED), Response(500, {"error": "oops"}))
    result = run.run("read", catalog=catalog)
    assert len(result.records) == RECORDS and not result.errors
    assert sandbox.vendor("shopline").status_counts.get(429) == 1


def test_given_full_read_then_item_rows_match_the_served_items_exactly_and_every_field_is_declared(sandbox):
    run = runner(sandbox)
    result = run.run("read", catalog=catalog_of(run, "orders", "order_items"))
    assert not result.errors and result.returncode == 0
    vendor = sandbox.vendor("shopline")
    served = [vendor.order(i) for i in range(RECORDS)]
    assert {"subtotal_items" in o for o in served} == {True, False}  # orders without items: no field, null, []
    assert {len(o.get("subtotal_items") or []) for o in served} == {0, 1, 2}
    expected = {(o["id"], item["id"], position): (o, item)
                for o in served for position, item in enumerate(o.get("subtotal_items") or [])}
    rows = [r["data"] for r in result.records if r["stream"] == "order_items"]
    assert len(rows) == len(expected)
    assert {(r["order_id"], r["id"], r["position"]) for r in rows} == set(expected)
    declared = set(json.loads((SCHEMAS / "order_items.json").read_text())["properties"])
    assert set().union(*(r.keys() for r in rows)) <= declared
    orders = {r["data"]["id"]: r["data"] for r in result.records if r["stream"] == "orders"}
    for row in rows:
        assert row["order_updated_at"] == orders[row["order_id"]]["updated_at"]  # RFC 3339 UTC, like the order's
        assert row["order_updated_at"].endswith("Z")
        assert isinstance(row["quantity"], int) and isinstance(row["total"]["cents"], int)  # strings typed
    state = result.final_stream_states()
    assert state["order_items"] == {"order_updated_at": state["orders"]["updated_at"]}
    # order_items reads the /v1/orders pages orders fetched: each request (window and page) is made once for both
    # (see the README; both streams end their ranges at the same instant, so they ask for the same windows).
    asked = Counter(tuple(sorted((key, tuple(value)) for key, value in query.items()))
                    for path, query in vendor.requests if path == "/v1/orders")
    assert asked and set(asked.values()) == {1}
