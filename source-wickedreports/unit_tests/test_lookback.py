"""lookback_days: each incremental sync re-reads [state - lookback_days, end]; the state stays the high-water mark.

Refunds (a REFUNDED payment on the original order) and LTV changes (on the original contact) never move a record's
date, so re-reading recent days is the only way an incremental sync sees them. Clicks re-read at least one day.
"""

import pytest

from builders import WickedRequest, click, config, contact, order, page
from connectors_shared.testing import read
from source_wickedreports import SourceWickedreports


def data(output):
    return [message.record.data for message in output.records]


def state_of(output):
    return output.most_recent_state.stream_state.__dict__


def windows(requests_mock):
    return [(sent.qs["from"][0], sent.qs["to"][0]) for sent in requests_mock.request_history]


def test_given_no_lookback_days_when_read_orders_then_the_default_rereads_the_30_days_before_state(requests_mock):
    refunded = order("old", "2024-02-20T08:00:00.000Z",
                     payments=[{"date": "2024-02-20T04:00:00", "status": "APPROVED", "amount": "79"},
                               {"date": "2024-03-12T09:00:00", "status": "REFUNDED", "amount": "-79"}])
    # 36 days, more than one fixed window: the probe over all of them advertises one page, the one window.
    requests_mock.get(WickedRequest.orders().window("2024-02-09", "2024-03-15").url, json=page([refunded]),
                      complete_qs=True)
    output = read(SourceWickedreports, config(lookback_days=None, end_date="2024-03-15"), "orders",
                  sync_mode="incremental", stream_state={"date": "2024-03-10"})
    [emitted] = data(output)
    assert [p["status"] for p in emitted["payments"]] == ["APPROVED", "REFUNDED"]
    assert windows(requests_mock) == [("2024-02-09", "2024-03-15")]
    assert state_of(output) == {"date": "2024-03-10"}  # the refunded order is older: the state does not move back


@pytest.mark.parametrize("stream, cursor, build", [("contacts", "createDate", contact), ("orders", "date", order)])
def test_given_lookback_days_when_read_then_contacts_and_orders_start_that_many_days_before_state(
    requests_mock, stream, cursor, build
):
    request = getattr(WickedRequest, stream)().window("2024-03-03", "2024-03-15")
    requests_mock.get(request.url, json=page([build("A", "2024-03-05T00:00:00.000Z", LTV=120)]), complete_qs=True)
    output = read(SourceWickedreports, config(lookback_days=7, end_date="2024-03-15"), stream,
                  sync_mode="incremental", stream_state={cursor: "2024-03-10"})
    assert [r["id"] for r in data(output)] == ["A"]
    assert state_of(output) == {cursor: "2024-03-10"}


@pytest.mark.parametrize("lookback_days, first_day", [(0, "2024-03-09"), (1, "2024-03-09"), (5, "2024-03-05")])
def test_given_lookback_days_when_read_clicks_then_at_least_the_day_before_state_is_reread(
    requests_mock, lookback_days, first_day
):
    requests_mock.get(WickedRequest.clicks().window(first_day, "2024-03-15").url, json=page([click("c")]),
                      complete_qs=True)
    output = read(SourceWickedreports, config(lookback_days=lookback_days, end_date="2024-03-15"), "clicks",
                  sync_mode="incremental", stream_state={"date": "2024-03-10"})
    assert len(data(output)) == 1 and not output.errors


def test_given_lookback_reaching_before_start_date_when_read_then_starts_at_start_date(requests_mock):
    requests_mock.get(WickedRequest.contacts().window("2024-01-01", "2024-01-20").url, json=page([]), complete_qs=True)
    output = read(SourceWickedreports, config(lookback_days=None), "contacts", sync_mode="incremental",
                  stream_state={"createDate": "2024-01-10"})
    assert not output.errors and requests_mock.call_count == 1


@pytest.mark.parametrize("lookback_days", [0, 3, 30, 365])
@pytest.mark.parametrize("newest, expected", [("2024-03-01T00:00:00.000Z", "2024-03-10"),
                                              ("2024-03-12T00:00:00.000Z", "2024-03-12")])
def test_state_after_a_sync_with_lookback_is_never_before_the_state_it_started_from(
    requests_mock, lookback_days, newest, expected
):
    requests_mock.get(WickedRequest.orders().url.split("?")[0], json=page([order("A", newest)]))
    output = read(SourceWickedreports, config(lookback_days=lookback_days, start_date="2023-01-01", end_date="2024-03-15"),
                  "orders", sync_mode="incremental", stream_state={"date": "2024-03-10"})
    assert not output.errors
    assert state_of(output)["date"] == expected >= "2024-03-10"
    # every state message of the sync, not only the last, stays at or after the state it started from
    assert all(m.state.stream.stream_state.date >= "2024-03-10" for m in output.state_messages)
