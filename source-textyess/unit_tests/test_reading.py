"""Reading orders, campaigns and campaign_orders: paging, date windows, partitions, incremental state, records."""

import datetime as dt

import pytest

from builders import (CAMPAIGN_A, CAMPAIGN_B, TextyessRequest, campaign_row, config, days_ago, order, orders, page)
from connectors_shared.testing import error_messages, failure_type, read
from source_textyess import SourceTextyess


def data(output):
    return [message.record.data for message in output.records]


def ids(output):
    return [record["_id"] for record in data(output)]


def stream_state(output):
    return output.most_recent_state.stream_state.__dict__


def log_text(output):
    return " ".join(message.log.message for message in output.logs)


class TestPaging:
    def test_given_three_pages_when_read_then_stops_when_pages_cover_total(self, requests_mock):
        request = lambda n: TextyessRequest.orders().window(days_ago(3)).page(n)  # noqa: E731
        request(0).mock(requests_mock, json=page(orders(1, 100), total=250))
        request(1).mock(requests_mock, json=page(orders(101, 200), total=250, number=1))
        request(2).mock(requests_mock, json=page(orders(201, 250), total=250, number=2))
        output = read(SourceTextyess, config(), "orders")
        assert ids(output) == [str(i) for i in range(1, 251)]
        assert requests_mock.call_count == 3 and not output.errors

    def test_given_total_an_exact_multiple_of_page_size_when_read_then_no_request_past_the_end(self, requests_mock):
        request = lambda n: TextyessRequest.orders().window(days_ago(3)).page(n)  # noqa: E731
        request(0).mock(requests_mock, json=page(orders(1, 100), total=200))
        request(1).mock(requests_mock, json=page(orders(101, 200), total=200, number=1))
        output = read(SourceTextyess, config(), "orders")
        assert len(ids(output)) == 200
        assert requests_mock.call_count == 2  # (1 + 1) * 100 >= 200: page 2 is never asked for

    def test_given_empty_page_before_total_when_read_then_retried_and_the_stream_fails(self, requests_mock, no_waiting):
        # It used to stop quietly after 100 of 500 orders: now the empty page is retried, then the stream fails.
        request = lambda n: TextyessRequest.orders().window(days_ago(3)).page(n)  # noqa: E731
        request(0).mock(requests_mock, json=page(orders(1, 100), total=500))
        request(1).mock(requests_mock, json=page([], total=500, number=1))
        output = read(SourceTextyess, config(), "orders")
        assert ids(output) == [str(i) for i in range(1, 101)]  # the full page before it is kept
        assert requests_mock.call_count == 1 + 6  # page 1 tried once and retried 5 times
        assert failure_type(output) == "transient_error"
        message = error_messages(output)
        assert "TextYess" in message and "/analytics/orders" in message and "stream orders" in message
        assert "short page: 0 records where 100 were asked for" in message and "'pagination.total' says 500" in message
        assert output.errors[0].trace.error.stream_descriptor.name == "orders"

    def test_given_page_size_when_read_then_sent_as_per_page(self, requests_mock):
        request = lambda n: TextyessRequest.orders().window(days_ago(3)).per_page(2).page(n)  # noqa: E731
        request(0).mock(requests_mock, json=page(orders(1, 2), total=3, per_page=2))
        request(1).mock(requests_mock, json=page(orders(3, 3), total=3, number=1, per_page=2))
        assert ids(read(SourceTextyess, config(page_size=2), "orders")) == ["1", "2", "3"]

    def test_given_base_url_with_path_and_trailing_slash_when_read_then_requests_go_below_it(self, requests_mock):
        base = "http://proxy.local/textyess/v1/"
        TextyessRequest.orders(base_url=base).window(days_ago(3)).mock(requests_mock, json=page([order("1")]))
        assert ids(read(SourceTextyess, config(base_url=base), "orders")) == ["1"]
        assert requests_mock.last_request.path == "/textyess/v1/analytics/orders"


class TestWindows:
    def test_given_long_range_and_no_total_when_read_then_30_day_windows_end_on_their_last_millisecond(
        self, requests_mock
    ):
        start = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=65)
        w1, w2, w3 = (start + dt.timedelta(days=30 * k) for k in range(3))
        # The window-sizing probe over the whole range advertises no total: the fixed 30-day windows.
        probe = TextyessRequest.orders().window(f"{w1}T00:00:00Z").mock(requests_mock, json={"data": []})
        TextyessRequest.orders().window(f"{w1}T00:00:00Z", f"{w2 - dt.timedelta(days=1)}T23:59:59.999Z").mock(
            requests_mock, json=page([order("1", f"{w1}T05:00:00.000Z")]))
        TextyessRequest.orders().window(f"{w2}T00:00:00Z", f"{w3 - dt.timedelta(days=1)}T23:59:59.999Z").mock(
            requests_mock, json=page([order("2", f"{w2}T05:00:00.000Z")]))
        TextyessRequest.orders().window(f"{w3}T00:00:00Z").mock(requests_mock, json=page([order("3", f"{w3}T05:00:00.000Z")]))
        output = read(SourceTextyess, config(start_date=start.isoformat()), "orders")
        assert sorted(ids(output)) == ["1", "2", "3"]
        assert probe.call_count == 1 and requests_mock.request_history[0].url == probe.last_request.url
        assert requests_mock.call_count == 4

    @pytest.mark.parametrize("suffix, expected_from", [("", "T00:00:00Z"), ("T08:30:00Z", "T08:30:00Z"),
                                                       ("T10:30:00+02:00", "T08:30:00Z"), ("T08:30:00.250Z", "T08:30:00Z")])
    def test_given_start_date_as_date_or_datetime_when_read_then_from_is_that_instant_in_utc(
        self, suffix, expected_from, requests_mock
    ):
        day = days_ago(3)[:10]
        TextyessRequest.orders().window(day + expected_from).mock(requests_mock, json=page([order("1")]))
        output = read(SourceTextyess, config(start_date=day + suffix), "orders")
        assert ids(output) == ["1"] and not output.errors


class TestIncremental:
    def test_given_full_sync_when_read_incremental_then_state_is_newest_created_at(self, requests_mock):
        newest = days_ago(1)[:10] + "T08:00:00.000Z"
        TextyessRequest.orders().window(days_ago(3)).mock(
            requests_mock, json=page([order("1", days_ago(2)[:10] + "T08:00:00.000Z"), order("2", newest)]))
        output = read(SourceTextyess, config(), "orders", sync_mode="incremental")
        assert stream_state(output) == {"createdAt": days_ago(1)[:10] + "T08:00:00Z"}

    def test_given_state_when_read_then_resumes_one_day_before_it_and_state_round_trips(self, requests_mock):
        saved = days_ago(1)[:10] + "T08:00:00Z"
        TextyessRequest.orders().window(days_ago(2)[:10] + "T08:00:00Z").mock(
            requests_mock, json=page([order("9", days_ago(1)[:10] + "T20:00:00.000Z")]))
        first = read(SourceTextyess, config(start_date=days_ago(20)[:10]), "orders", sync_mode="incremental",
                     stream_state={"createdAt": saved})
        assert ids(first) == ["9"]
        new_state = stream_state(first)
        # a record dated after now would be capped at now, so this one lies between the state and any "now"
        assert new_state == {"createdAt": days_ago(1)[:10] + "T20:00:00Z"}

        requests_mock.reset_mock()
        TextyessRequest.orders().window(days_ago(2)[:10] + "T20:00:00Z").mock(requests_mock, json=page([]))
        second = read(SourceTextyess, config(start_date=days_ago(20)[:10]), "orders", sync_mode="incremental",
                      stream_state=new_state)
        assert ids(second) == [] and requests_mock.call_count == 1 and not second.errors


class TestRecords:
    def test_given_string_numbers_and_booleans_when_read_then_normalized_and_unknown_fields_kept(self, requests_mock):
        raw = order("1", "2024-01-15T16:30:00.000+02:00", total="89.99", items_number="2", paid="false",
                    discount_codes=["WELCOME10"])
        odd = order("2", total="n/a", paid="maybe")
        TextyessRequest.orders().window(days_ago(3)).mock(requests_mock, json=page([raw, odd]))
        first, second = data(read(SourceTextyess, config(), "orders"))
        assert (first["total"], first["items_number"], first["paid"]) == (89.99, 2, False)
        assert first["createdAt"] == "2024-01-15T14:30:00Z"
        assert first["discount_codes"] == ["WELCOME10"]
        assert first["conversation"] == {"_id": "507f1f77bcf86cd799439021", "phone": "+393331234567"}
        assert (second["total"], second["paid"]) == ("n/a", "maybe")  # unconvertible values are kept as sent

    def test_given_campaign_rows_when_read_campaigns_then_performance_since_start_date(self, requests_mock):
        row = campaign_row("r1", CAMPAIGN_A)
        row.update(cost="50.25", orders_number="12")
        TextyessRequest.campaigns(days_ago(3)).mock(requests_mock, json=page([row]))
        [record] = data(read(SourceTextyess, config(), "campaigns"))
        assert record["campaign"] == {"_id": CAMPAIGN_A, "title": "Spring sale"}
        assert (record["cost"], record["orders_number"]) == (50.25, 12)

    def test_given_campaigns_404_when_read_campaigns_then_empty_with_a_clear_log(self, requests_mock):
        TextyessRequest.campaigns(days_ago(3)).mock(requests_mock, status_code=404, json={"message": "Cannot GET"})
        output = read(SourceTextyess, config(), "campaigns")
        assert data(output) == [] and not output.errors
        assert "list the campaign ids" in log_text(output)


class TestCampaignOrders:
    def test_given_campaign_ids_when_read_then_one_partition_per_id_and_records_carry_campaign_id(self, requests_mock):
        TextyessRequest.campaign_orders(CAMPAIGN_A).window(days_ago(3)).mock(requests_mock, json=page([order("1")]))
        TextyessRequest.campaign_orders(CAMPAIGN_B).window(days_ago(3)).mock(requests_mock, json=page([order("2")]))
        output = read(SourceTextyess, config(campaign_ids=[CAMPAIGN_A, CAMPAIGN_B]), "campaign_orders")
        assert sorted((r["campaign_id"], r["_id"]) for r in data(output)) == [(CAMPAIGN_A, "1"), (CAMPAIGN_B, "2")]
        assert requests_mock.call_count == 2  # /analytics/campaigns is not read when ids are given

    def test_given_no_campaign_ids_when_read_then_partitions_are_campaign_ids_listed_by_campaigns(self, requests_mock):
        rows = [campaign_row("row-1", CAMPAIGN_A), campaign_row("row-2", CAMPAIGN_B), campaign_row("row-3", None)]
        TextyessRequest.campaigns(days_ago(3)).mock(requests_mock, json=page(rows))
        TextyessRequest.campaign_orders(CAMPAIGN_A).window(days_ago(3)).mock(requests_mock, json=page([order("1")]))
        TextyessRequest.campaign_orders(CAMPAIGN_B).window(days_ago(3)).mock(requests_mock, json=page([order("2")]))
        output = read(SourceTextyess, config(), "campaign_orders")
        # campaign._id, not the row's _id; a row without a campaign yields no partition.
        assert sorted((r["campaign_id"], r["_id"]) for r in data(output)) == [(CAMPAIGN_A, "1"), (CAMPAIGN_B, "2")]
        assert not output.errors

    def test_given_campaigns_404_and_no_campaign_ids_when_read_then_empty_and_log_asks_for_campaign_ids(self, requests_mock):
        TextyessRequest.campaigns(days_ago(3)).mock(requests_mock, status_code=404, json={"message": "Cannot GET"})
        output = read(SourceTextyess, config(), "campaign_orders")
        assert data(output) == [] and not output.errors
        assert "campaign_orders" in log_text(output) and "campaign_ids setting" in log_text(output)

    def test_given_malformed_campaign_id_when_read_then_config_error_naming_it(self, requests_mock):
        output = read(SourceTextyess, config(campaign_ids=["not-an-id"]), "campaign_orders")
        assert output.errors and all(e.trace.error.failure_type.value == "config_error" for e in output.errors)
        assert "'not-an-id', which is not a TextYess campaign id" in output.errors[0].trace.error.message
        assert requests_mock.call_count == 0

    def test_given_state_for_one_campaign_when_a_new_campaign_is_added_then_it_starts_at_start_date(self, requests_mock):
        start = days_ago(20)
        saved = days_ago(2)[:10] + "T08:00:00Z"
        state = {
            "use_global_cursor": False,
            "states": [{"partition": {"campaign_id": CAMPAIGN_A, "parent_slice": {}}, "cursor": {"createdAt": saved}}],
            # the CDK's fallback for partitions it has no cursor for: it must not apply to a new campaign
            "state": {"createdAt": saved},
            "lookback_window": 3600,
            "parent_state": {},
        }
        TextyessRequest.campaign_orders(CAMPAIGN_A).window(days_ago(3)[:10] + "T08:00:00Z").mock(
            requests_mock, json=page([order("a1", days_ago(1)[:10] + "T09:00:00.000Z")]))
        TextyessRequest.campaign_orders(CAMPAIGN_B).window(start).mock(
            requests_mock, json=page([order("b1", days_ago(15)[:10] + "T09:00:00.000Z")]))
        output = read(SourceTextyess, config(start_date=start[:10], campaign_ids=[CAMPAIGN_A, CAMPAIGN_B]),
                      "campaign_orders", sync_mode="incremental", stream_state=state)
        assert sorted(ids(output)) == ["a1", "b1"] and not output.errors
        cursors = {s["partition"]["campaign_id"]: s["cursor"]["createdAt"] for s in stream_state(output)["states"]}
        assert cursors == {CAMPAIGN_A: days_ago(1)[:10] + "T09:00:00Z", CAMPAIGN_B: days_ago(15)[:10] + "T09:00:00Z"}

    def test_given_ids_listed_after_discovering_them_when_read_then_campaign_state_is_kept(self, requests_mock):
        TextyessRequest.campaigns(days_ago(3)).mock(requests_mock, json=page([campaign_row("row-1", CAMPAIGN_A)]))
        TextyessRequest.campaign_orders(CAMPAIGN_A).window(days_ago(3)).mock(
            requests_mock, json=page([order("1", days_ago(1)[:10] + "T09:00:00.000Z")]))
        first = read(SourceTextyess, config(), "campaign_orders", sync_mode="incremental")
        requests_mock.reset_mock()
        TextyessRequest.campaign_orders(CAMPAIGN_A).window(days_ago(2)[:10] + "T09:00:00Z").mock(
            requests_mock, json=page([]))
        second = read(SourceTextyess, config(campaign_ids=[CAMPAIGN_A]), "campaign_orders", sync_mode="incremental",
                      stream_state=stream_state(first))
        assert not second.errors and requests_mock.call_count == 1
