"""lookback_days on orders (read by updated_at): a sync re-reads [state - lookback_days, now]; state never moves back.

Any change to an order moves its ``updated_at``, so changes come again whatever the order's age; the lookback (1 day by
default) catches updates SHOPLINE shows only after a newer one was synced. affiliate_campaign_orders pages by order id
and never re-reads an order, whatever lookback_days says.
"""

import pytest

from builders import NOW_PARAM, ShoplineRequest, config, keyset, order, page
from connectors_shared.testing import read
from source_shopline import SourceShopline

SAVED = "2024-02-27 11:00:00.500"


def data(output):
    return [message.record.data for message in output.records]


def state_of(output):
    return output.most_recent_state.stream_state.__dict__


def test_given_no_lookback_days_when_read_orders_then_the_default_rereads_one_day_before_state(requests_mock):
    late = order("late", "2024-02-27T02:00:00.000Z", status="cancelled")  # updated before the state, shown late
    requests_mock.get(ShoplineRequest.orders().window("2024-02-26 11:00:00.500", NOW_PARAM).url, json=page([late]),
                      complete_qs=True)
    output = read(SourceShopline, config(lookback_days=None), "orders", sync_mode="incremental",
                  stream_state={"updated_at": SAVED})
    assert [(r["id"], r["status"]) for r in data(output)] == [("late", "cancelled")]
    assert state_of(output) == {"updated_at": SAVED}  # the late update is older: the state stays


def test_given_lookback_days_when_read_orders_then_starts_that_many_days_before_state(requests_mock):
    requests_mock.get(ShoplineRequest.orders().window("2024-02-24 11:00:00.500", NOW_PARAM).url, json=page([]),
                      complete_qs=True)
    output = read(SourceShopline, config(start_date="2024-02-01", lookback_days=3), "orders", sync_mode="incremental",
                  stream_state={"updated_at": SAVED})
    assert not output.errors and requests_mock.call_count == 1


def test_given_lookback_reaching_before_start_date_when_read_then_starts_at_start_date(requests_mock):
    requests_mock.get(ShoplineRequest.orders().window("2024-02-25 00:00:00.000", NOW_PARAM).url, json=page([]),
                      complete_qs=True)
    output = read(SourceShopline, config(lookback_days=30), "orders", sync_mode="incremental",
                  stream_state={"updated_at": SAVED})
    assert not output.errors and requests_mock.call_count == 1


@pytest.mark.parametrize("lookback_days", [0, 1, 30])
def test_given_any_lookback_days_when_read_campaign_orders_then_only_orders_after_the_saved_id_are_asked(
    requests_mock, lookback_days
):
    requests_mock.get(ShoplineRequest.campaign_orders("c1").previous_id("o2").url, json=keyset([]), complete_qs=True)
    saved = {"states": [{"partition": {"affiliate_campaign_id": "c1"}, "cursor": {"id": "o2"}}]}
    output = read(SourceShopline, config(affiliate_campaign_ids=["c1"], lookback_days=lookback_days),
                  "affiliate_campaign_orders", sync_mode="incremental", stream_state=saved)
    assert data(output) == [] and state_of(output) == saved and requests_mock.call_count == 1


@pytest.mark.parametrize("lookback_days", [0, 1, 3, 30])
@pytest.mark.parametrize("newest, expected", [("2024-02-26T20:00:00.000Z", SAVED),
                                              ("2024-02-29T08:00:00.250Z", "2024-02-29 08:00:00.250")])
def test_state_after_a_sync_with_lookback_is_never_before_the_state_it_started_from(
    requests_mock, lookback_days, newest, expected
):
    requests_mock.get(ShoplineRequest.orders().url.split("?")[0], json=page([order("o", newest)]))
    output = read(SourceShopline, config(start_date="2024-01-01", lookback_days=lookback_days), "orders",
                  sync_mode="incremental", stream_state={"updated_at": SAVED})
    assert not output.errors
    assert state_of(output) == {"updated_at": expected}
    assert all(m.state.stream.stream_state.updated_at >= SAVED for m in output.state_messages)
