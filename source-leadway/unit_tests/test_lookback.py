"""lookback_days on every incremental stream: a sync re-reads [state - lookback_days, today], state never moves back.

A refund, a fulfilment or a cancellation changes the record in place and leaves ``createdAt`` alone, so re-reading
recent days is the only way an incremental sync sees it.
"""

import pytest

from builders import (LOCATION_ID, SECOND_LOCATION_ID, TODAY, LeadwayRequest, config, cursors_of, days_ago,
                      locations_config, order, page, partition_state, subscription, transaction)
from connectors_shared.testing import read
from source_leadway import SourceLeadway

STREAMS = [("orders", order), ("transactions", transaction), ("subscriptions", subscription)]


def data(output):
    return [message.record.data for message in output.records]


def state_of(output):
    """The location's cursor in the last state (these tests start from the plain state of a one-location config)."""
    return cursors_of(output.most_recent_state.stream_state)


@pytest.mark.parametrize("stream, build", STREAMS)
def test_given_no_lookback_days_when_read_then_every_incremental_stream_rereads_the_30_days_before_state(
    requests_mock, stream, build
):
    saved = days_ago(4)
    request = getattr(LeadwayRequest, stream)
    changed = build("changed", f"{days_ago(20)}T08:00:00.000Z", status="refunded")
    # 35 days to read, more than one fixed window: the probe over all of them advertises one record, so it is the one
    # window (its answer is the window's page, not asked for twice).
    requests_mock.get(request().window(days_ago(34), TODAY).url, json=page([changed]), complete_qs=True)
    output = read(SourceLeadway, config(start_date=days_ago(60), lookback_days=None), stream, sync_mode="incremental",
                  stream_state={"createdAt": saved})
    assert [(r["_id"], r["status"]) for r in data(output)] == [("changed", "refunded")]
    assert requests_mock.call_count == 1 and not output.errors
    assert state_of(output) == {LOCATION_ID: saved}  # the re-read record is older: the state stays


@pytest.mark.parametrize("stream, build", STREAMS)
def test_given_lookback_days_0_when_read_then_resumes_on_the_state_day(requests_mock, stream, build):
    saved = days_ago(4)
    requests_mock.get(getattr(LeadwayRequest, stream)().window(saved, TODAY).url,
                      json=page([build("new", f"{days_ago(1)}T08:00:00.000Z")]), complete_qs=True)
    output = read(SourceLeadway, config(lookback_days=0), stream, sync_mode="incremental",
                  stream_state={"createdAt": saved})
    assert [r["_id"] for r in data(output)] == ["new"]
    assert state_of(output) == {LOCATION_ID: days_ago(1)}


def test_given_lookback_reaching_before_start_date_when_read_then_starts_at_start_date(requests_mock):
    requests_mock.get(LeadwayRequest.orders().window(days_ago(10), TODAY).url, json=page([]), complete_qs=True)
    output = read(SourceLeadway, config(start_date=days_ago(10), lookback_days=None), "orders",
                  sync_mode="incremental", stream_state={"createdAt": days_ago(4)})
    assert not output.errors and requests_mock.call_count == 1


@pytest.mark.parametrize("lookback_days", [0, 3, 30, 365])
@pytest.mark.parametrize("newest_days_ago, expected_days_ago", [(9, 4), (1, 1)])
def test_state_after_a_sync_with_lookback_is_never_before_the_state_it_started_from(
    requests_mock, lookback_days, newest_days_ago, expected_days_ago
):
    saved = days_ago(4)
    url = LeadwayRequest.transactions().url.split("?")[0]
    requests_mock.get(url, json=page([transaction("t", f"{days_ago(newest_days_ago)}T08:00:00.000Z")]))
    output = read(SourceLeadway, config(start_date=days_ago(400), lookback_days=lookback_days), "transactions",
                  sync_mode="incremental", stream_state={"createdAt": saved})
    assert not output.errors
    assert state_of(output) == {LOCATION_ID: days_ago(expected_days_ago)}
    assert all(cursors_of(m.state.stream.stream_state)[LOCATION_ID] >= saved for m in output.state_messages)


def test_given_two_locations_with_their_own_state_when_read_then_each_rereads_lookback_days_before_its_own_state(
    requests_mock,
):
    # A is 4 days behind, B 10: with lookback_days 3 each re-reads from its own state minus 3 days, and each keeps
    # its own high-water mark.
    for location, first in ((LOCATION_ID, days_ago(7)), (SECOND_LOCATION_ID, days_ago(13))):
        requests_mock.get(LeadwayRequest.orders(location=location).window(first, TODAY).url, complete_qs=True,
                          json=page([order(f"{location}-new", f"{days_ago(2)}T08:00:00.000Z")]))
    state = partition_state((LOCATION_ID, days_ago(4)), (SECOND_LOCATION_ID, days_ago(10)))
    output = read(SourceLeadway, locations_config(start_date=days_ago(60), lookback_days=3), "orders",
                  sync_mode="incremental", stream_state=state)
    assert not output.errors and requests_mock.call_count == 2
    assert sorted(r["_id"] for r in data(output)) == [f"{LOCATION_ID}-new", f"{SECOND_LOCATION_ID}-new"]
    assert state_of(output) == {LOCATION_ID: days_ago(2), SECOND_LOCATION_ID: days_ago(2)}

