"""lookback_days on orders and on each campaign of campaign_orders: a sync re-reads [state - lookback_days, now].

An order that turns unpaid (refund, chargeback) keeps its ``createdAt``, so re-reading recent days is the only way an
incremental sync sees it. At least one day is always re-read: TextYess attributes orders after they are created.
"""

import pytest

from builders import CAMPAIGN_A, TextyessRequest, config, days_ago, order, page
from connectors_shared.testing import read
from source_textyess import SourceTextyess

START = days_ago(60)[:10]


def at(days: int, time: str = "08:00:00") -> str:
    return f"{days_ago(days)[:10]}T{time}Z"


def data(output):
    return [message.record.data for message in output.records]


def state_of(output):
    return output.most_recent_state.stream_state.__dict__


def campaign_state(created_at: str):
    return {"states": [{"partition": {"campaign_id": CAMPAIGN_A, "parent_slice": {}}, "cursor": {"createdAt": created_at}}]}


def test_given_no_lookback_days_when_read_orders_then_the_default_rereads_the_30_days_before_state(requests_mock):
    saved = at(2)
    charged_back = order("cb", at(6)[:19] + ".000Z", paid=False)
    # 30 days and the time since the state: more than one fixed window, so one probe over all of it, which advertises
    # one order: that is the one window, read with the probe's answer.
    TextyessRequest.orders().window(at(32)).mock(requests_mock, json=page([charged_back]))
    output = read(SourceTextyess, config(start_date=START, lookback_days=None), "orders", sync_mode="incremental",
                  stream_state={"createdAt": saved})
    assert [(r["_id"], r["paid"]) for r in data(output)] == [("cb", False)]
    assert requests_mock.call_count == 1 and not output.errors
    assert state_of(output) == {"createdAt": saved}  # the charged-back order is older: the state stays


def test_given_no_lookback_days_when_read_campaign_orders_then_each_campaign_rereads_30_days(requests_mock):
    saved = at(2)
    # The campaign's own probe (its id in the path) sizes its windows: one order, one window.
    mocked = TextyessRequest.campaign_orders(CAMPAIGN_A).window(at(32)).mock(
        requests_mock, json=page([order("cb", at(6)[:19] + ".000Z", paid=False)]))
    output = read(SourceTextyess, config(start_date=START, lookback_days=None, campaign_ids=[CAMPAIGN_A]),
                  "campaign_orders", sync_mode="incremental", stream_state=campaign_state(saved))
    assert [(r["_id"], r["paid"], r["campaign_id"]) for r in data(output)] == [("cb", False, CAMPAIGN_A)]
    assert not output.errors and mocked.call_count == 1 and requests_mock.call_count == 1
    assert [s["cursor"] for s in state_of(output)["states"]] == [{"createdAt": saved}]


@pytest.mark.parametrize("lookback_days, from_days_ago", [(0, 3), (1, 3), (7, 9)])
def test_given_lookback_days_when_read_then_at_least_one_day_before_state_is_reread(
    requests_mock, lookback_days, from_days_ago
):
    TextyessRequest.orders().window(at(from_days_ago)).mock(requests_mock, json=page([order("late", at(2)[:19] + ".000Z")]))
    TextyessRequest.campaign_orders(CAMPAIGN_A).window(at(from_days_ago)).mock(requests_mock, json=page([]))
    cfg = config(start_date=START, lookback_days=lookback_days, campaign_ids=[CAMPAIGN_A])
    orders = read(SourceTextyess, cfg, "orders", sync_mode="incremental", stream_state={"createdAt": at(2)})
    campaigns = read(SourceTextyess, cfg, "campaign_orders", sync_mode="incremental", stream_state=campaign_state(at(2)))
    assert [r["_id"] for r in data(orders)] == ["late"] and not orders.errors and not campaigns.errors
    assert requests_mock.call_count == 2


@pytest.mark.parametrize("lookback_days", [0, 3, 30, 365])
@pytest.mark.parametrize("newest, expected", [(at(10), at(2)), (at(1), at(1))])
def test_state_after_a_sync_with_lookback_is_never_before_the_state_it_started_from(
    requests_mock, lookback_days, newest, expected
):
    requests_mock.get(TextyessRequest.orders().url, json=page([order("o", newest[:19] + ".000Z")]))
    output = read(SourceTextyess, config(start_date=days_ago(400)[:10], lookback_days=lookback_days), "orders",
                  sync_mode="incremental", stream_state={"createdAt": at(2)})
    assert not output.errors
    assert state_of(output) == {"createdAt": expected}
    assert all(m.state.stream.stream_state.createdAt >= at(2) for m in output.state_messages)
