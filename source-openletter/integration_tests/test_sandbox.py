"""source-openletter run as Airbyte runs it (a subprocess) against the OpenLetter emulator in tests/sandbox."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from tests.harness import Connector, ConnectorRunner, configured_catalog
from tests.sandbox import Response, Sandbox
from tests.sandbox.openletter import ACCOUNTS, order, recipients

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

CONNECTOR = Connector("source-openletter", REPO / "source-openletter")
RECORDS = 250  # orders and contacts: pages of 100, 100, 50; templates: one page of 25
SCHEMAS = REPO / "source-openletter" / "source_openletter" / "schemas"


def served_recipients(indexes=range(RECORDS)):
    """(order id, position, recipient id) of every recipient the emulator serves for these orders."""
    return {(str(i + 1), position, element["id"])
            for i in indexes for position, element in enumerate(order(i).get("contacts") or [])}


RECIPIENTS = len(served_recipients())


@pytest.fixture
def sandbox():
    with Sandbox(records=RECORDS) as running:
        yield running


def runner(sandbox, **overrides) -> ConnectorRunner:
    return ConnectorRunner(CONNECTOR, {**CONNECTOR.sandbox_config(sandbox.url), **overrides})


@functools.lru_cache(maxsize=1)
def _discovered(base_url: str):
    return ConnectorRunner(CONNECTOR, {**CONNECTOR.sandbox_config(base_url)}).discover_catalog()


def full_catalog(run: ConnectorRunner):
    # discover sends no request, so one catalog serves every test (each test has its own sandbox port).
    return configured_catalog(_discovered("http://127.0.0.1:9"), incremental=True)


def pages_asked(sandbox, path: str):
    return [int(query["page"][0]) for seen, query in sandbox.vendor("openletter").requests if seen == path]


def test_given_sandbox_token_when_check_then_succeeded(sandbox):
    statuses = runner(sandbox).run("check").of_type("CONNECTION_STATUS")
    assert statuses[0]["connectionStatus"]["status"] == "SUCCEEDED"


def test_given_wrong_token_when_check_then_failed_with_what_to_fix(sandbox):
    run = runner(sandbox, api_token="expired-token").run("check")
    status = run.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED"
    assert "did not accept the API token" in status["message"] and "api_token" in status["message"]
    assert "expired-token" not in run.stderr + str(run.messages)


def test_given_full_read_then_every_row_once_and_no_request_past_the_end(sandbox):
    connector = runner(sandbox)
    catalog = full_catalog(connector)
    assert {s["stream"]["name"]: s["sync_mode"] for s in catalog["streams"]} == {
        "orders": "full_refresh", "order_recipients": "full_refresh", "contacts": "full_refresh",
        "templates": "full_refresh"}
    run = connector.run("read", catalog=catalog)
    assert not run.errors and run.returncode == 0
    assert run.records_by_stream() == {"orders": RECORDS, "order_recipients": RECIPIENTS, "contacts": RECORDS,
                                       "templates": RECORDS // 10}
    for stream in ("orders", "order_recipients", "contacts", "templates"):
        keys = [r["data"]["id"] for r in run.records if r["stream"] == stream]
        assert len(keys) == len(set(keys))
    # order_recipients reads the pages orders fetched (each fetched once, see the README), never a page past the end.
    assert sorted(pages_asked(sandbox, "/orders/")) == [0, 1, 2]
    assert pages_asked(sandbox, "/contacts") == [0, 1, 2]
    assert pages_asked(sandbox, "/templates") == [0]
    orders = [r["data"] for r in run.records if r["stream"] == "orders"]
    assert {type(order["status"]) for order in orders} == {int, str}
    assert all({"campaign", "product", "template"} <= set(order) for order in orders)
    assert {len(order.get("contacts") or []) for order in orders} == {0, 1, 2, 3}
    assert {order["isLiveMode"] for order in orders} == {True, False}  # "false" strings normalized
    assert all(order["source"] == "ZAPIER" for order in orders)  # undeclared field kept


def test_given_full_read_then_recipient_rows_match_the_served_contacts_exactly_and_every_field_is_declared(sandbox):
    run = runner(sandbox).run("read", catalog=full_catalog(runner(sandbox)))
    emitted = [r["data"] for r in run.records if r["stream"] == "order_recipients"]
    assert {(r["order_id"], r["position"], r["id"]) for r in emitted} == served_recipients()
    assert {order(i).get("contacts") is None for i in range(RECORDS)} == {True, False}  # orders without recipients
    assert {recipients(i) == [] for i in range(RECORDS)} == {True, False}
    declared = set(json.loads((SCHEMAS / "order_recipients.json").read_text())["properties"])
    assert set().union(*(r.keys() for r in emitted)) <= declared
    by_order = {str(i + 1): order(i) for i in range(RECORDS)}
    for row in emitted:
        served = by_order[row["order_id"]]["contacts"][row["position"]]
        assert row["contact"]["email"] == served["contact"]["email"] and row["orderId"] == row["order_id"]
        assert isinstance(row["isDelivered"], bool)  # "true" strings normalized, as on the order


def test_given_count_an_exact_multiple_of_the_page_size_then_stops_on_the_count(sandbox):
    run = runner(sandbox, page_size=50).run("read", catalog=full_catalog(runner(sandbox)))
    assert run.records_by_stream()["orders"] == RECORDS and run.records_by_stream()["order_recipients"] == RECIPIENTS
    # 5 * 50 >= 250: no sixth, empty, request (each page fetched once for orders and order_recipients)
    assert sorted(pages_asked(sandbox, "/orders/")) == [0, 1, 2, 3, 4]


def test_given_account_id_then_only_that_sub_account_is_synced(sandbox):
    run = runner(sandbox, account_id=ACCOUNTS[1]).run("read", catalog=full_catalog(runner(sandbox)))
    assert not run.errors
    assert run.records_by_stream() == {"orders": RECORDS // 2, "contacts": RECORDS // 2, "templates": RECORDS // 20,
                                       "order_recipients": len(served_recipients(range(1, RECORDS, 2)))}
    assert {r["data"]["meta"]["account_id"] for r in run.records if r["stream"] != "order_recipients"} == {ACCOUNTS[1]}


def test_given_429_5xx_and_a_truncated_body_mid_sync_then_retried_and_nothing_is_lost(sandbox):
    connector = runner(sandbox)
    catalog = full_catalog(connector)
    sandbox.vendor("openletter").inject(
        Response(429, {"message": "Too many requests"}, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"}),
        Response(502, b"<html>Bad gateway</html>"),
        Response(200, b'{"message": "Success", "data": {"count": 250, "rows": [{"id": "1"'),
    )
    run = connector.run("read", catalog=catalog)
    assert not run.errors
    assert run.records_by_stream() == {"orders": RECORDS, "order_recipients": RECIPIENTS, "contacts": RECORDS,
                                       "templates": RECORDS // 10}
    counts = sandbox.vendor("openletter").status_counts
    assert (counts.get(429), counts.get(502)) == (1, 1)


def test_given_a_previous_sync_state_when_read_again_then_full_refresh_reads_everything_again(sandbox):
    connector = runner(sandbox)
    catalog = full_catalog(connector)
    first = connector.run("read", catalog=catalog)
    second = connector.run("read", catalog=catalog, state=first.final_states())
    assert not second.errors
    assert second.records_by_stream() == first.records_by_stream()
