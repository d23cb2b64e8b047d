"""Reading contacts, clicks and orders: paging, date windows, incremental state and record shapes."""

import datetime as dt

import pytest

from builders import WickedRequest, click, config, contact, order, page
from connectors_shared.testing import error_messages, failure_type, read
from source_wickedreports import SourceWickedreports


def data(output):
    return [message.record.data for message in output.records]


def last_state(output, stream):
    return output.most_recent_state.stream_state.__dict__ if output.most_recent_state else None


class TestPaging:
    def test_given_two_pages_when_read_then_follows_next_and_stops_on_total_pages(self, requests_mock):
        # Full pages (limit 1): a page shorter than the limit before totalPages is a broken page (see below).
        request = WickedRequest.contacts().window("2024-01-01", "2024-01-20").limit(1)
        requests_mock.get(request.url, json=page([contact("A")], 1, 2, next_token="h2"), complete_qs=True)
        # The last page still carries a `next` hash; asking for it would be one request past the end.
        requests_mock.get(request.next("h2").url, json=page([contact("B")], 2, 2, next_token="h3"), complete_qs=True)
        output = read(SourceWickedreports, config(page_size=1), "contacts")
        assert [r["id"] for r in data(output)] == ["A", "B"]
        assert requests_mock.call_count == 2
        assert not output.errors

    def test_given_empty_page_before_total_pages_when_read_then_retried_and_the_stream_fails(self, requests_mock, no_waiting):
        # It used to stop quietly, losing pages 3 to 5: now the page is retried, then the stream fails naming it.
        request = WickedRequest.orders().window("2024-01-01", "2024-01-20").limit(1)
        requests_mock.get(request.url, json=page([order("1")], 1, 5, next_token="h2"), complete_qs=True)
        empty = requests_mock.get(request.next("h2").url, json=page([], 2, 5, next_token="h3"), complete_qs=True)
        output = read(SourceWickedreports, config(page_size=1), "orders")
        assert [r["id"] for r in data(output)] == ["1"]  # the full page before it is kept
        assert empty.call_count == 6  # the first try and 5 retries
        assert failure_type(output) == "transient_error"
        message = error_messages(output)
        assert "Wicked Reports" in message and "/orders" in message and "stream orders" in message
        assert "short page" in message and "'totalPages' says 5" in message
        assert output.errors[0].trace.error.stream_descriptor.name == "orders"

    def test_given_no_paging_fields_when_read_then_follows_next_until_an_empty_page(self, requests_mock):
        request = WickedRequest.orders().window("2024-01-01", "2024-01-20")
        requests_mock.get(request.url, json={"status": "success", "results": [order("1")], "next": "h2"}, complete_qs=True)
        requests_mock.get(request.next("h2").url, json={"status": "success", "results": [], "next": "h3"}, complete_qs=True)
        assert [r["id"] for r in data(read(SourceWickedreports, config(), "orders"))] == ["1"]
        assert requests_mock.call_count == 2

    def test_given_page_size_when_read_then_sent_as_limit(self, requests_mock):
        request = WickedRequest.clicks().window("2024-01-01", "2024-01-20").limit(250)
        requests_mock.get(request.url, json=page([click("c1")]), complete_qs=True)
        assert len(data(read(SourceWickedreports, config(page_size=250), "clicks"))) == 1

    def test_given_base_url_with_path_and_trailing_slash_when_read_then_requests_go_below_it(self, requests_mock):
        base = "http://proxy.local/wr/v1/"
        request = WickedRequest.orders(base_url=base).window("2024-01-01", "2024-01-20")
        requests_mock.get(request.url, json=page([order("1")]), complete_qs=True)
        assert len(data(read(SourceWickedreports, config(base_url=base), "orders"))) == 1
        assert requests_mock.last_request.path == "/wr/v1/orders"


class TestWindows:
    def test_given_long_range_when_read_clicks_then_windows_of_30_days_cover_every_day_once(self, requests_mock):
        windows = [("2024-01-01", "2024-01-30"), ("2024-01-31", "2024-02-29"), ("2024-03-01", "2024-03-15")]
        for first, last in windows:
            requests_mock.get(WickedRequest.clicks().window(first, last).url, json=page([click(first)]), complete_qs=True)
        output = read(SourceWickedreports, config(end_date="2024-03-15"), "clicks")
        assert sorted(r["contactId"] for r in data(output)) == [w[0] for w in windows]
        for sent in requests_mock.request_history:
            first, last = (dt.date.fromisoformat(sent.qs[k][0]) for k in ("from", "to"))
            assert (last - first).days < 30

    def test_given_no_end_date_when_read_then_last_window_ends_today_utc(self, requests_mock):
        today = dt.datetime.now(dt.timezone.utc).date()
        start = today - dt.timedelta(days=3)
        request = WickedRequest.orders().window(start.isoformat(), today.isoformat())
        requests_mock.get(request.url, json=page([order("1")]), complete_qs=True)
        output = read(SourceWickedreports, config(start_date=start.isoformat(), end_date=None), "orders")
        assert len(data(output)) == 1


class TestIncremental:
    def test_given_full_sync_when_read_incremental_then_state_is_day_of_newest_record(self, requests_mock):
        requests_mock.get(WickedRequest.orders().window("2024-01-01", "2024-01-20").url,
                          json=page([order("1", "2024-01-10T08:00:00.000Z"), order("2", "2024-01-04T08:00:00.000Z")]),
                          complete_qs=True)
        output = read(SourceWickedreports, config(), "orders", sync_mode="incremental")
        assert output.most_recent_state.stream_state.date == "2024-01-10"

    def test_given_state_when_read_then_resumes_from_state_day(self, requests_mock):
        requests_mock.get(WickedRequest.orders().window("2024-01-15", "2024-01-20").url,
                          json=page([order("9", "2024-01-16T08:00:00.000Z")]), complete_qs=True)
        output = read(SourceWickedreports, config(), "orders", sync_mode="incremental", stream_state={"date": "2024-01-15"})
        assert [r["id"] for r in data(output)] == ["9"]
        assert output.most_recent_state.stream_state.date == "2024-01-16"

    def test_given_state_when_read_clicks_then_rereads_the_previous_day_for_late_clicks(self, requests_mock):
        requests_mock.get(WickedRequest.clicks().window("2024-01-14", "2024-01-20").url, json=page([click("c")]),
                          complete_qs=True)
        output = read(SourceWickedreports, config(), "clicks", sync_mode="incremental", stream_state={"date": "2024-01-15"})
        assert len(data(output)) == 1

    def test_given_failure_in_second_window_when_read_then_state_stops_at_first_window_and_resume_has_no_gap(
        self, requests_mock, no_waiting
    ):
        cfg = config(end_date="2024-03-15")
        # The window-sizing probes advertise no total: the fixed 30-day windows.
        no_total = {"status": "success", "results": []}
        requests_mock.get(WickedRequest.contacts().window("2024-01-01", "2024-03-15").url, json=no_total,
                          complete_qs=True)
        requests_mock.get(WickedRequest.contacts().window("2024-01-01", "2024-01-30").url,
                          json=page([contact("A", "2024-01-10T00:00:00.000Z")]), complete_qs=True)
        requests_mock.get(WickedRequest.contacts().window("2024-01-31", "2024-02-29").url, status_code=503,
                          json={"message": "down"}, complete_qs=True)
        requests_mock.get(WickedRequest.contacts().window("2024-03-01", "2024-03-15").url,
                          json=page([contact("C", "2024-03-05T00:00:00.000Z")]), complete_qs=True)
        first = read(SourceWickedreports, cfg, "contacts", sync_mode="incremental")
        assert first.errors
        probe = requests_mock.request_history[0].qs
        assert (probe["from"], probe["to"]) == (["2024-01-01"], ["2024-03-15"])
        # Window 3 may have finished, but state must not pass the unfinished window 2: it stays on the newest
        # record of window 1, so the next sync starts there.
        assert first.most_recent_state.stream_state.createDate == "2024-01-10"

        requests_mock.reset_mock()
        requests_mock.get(WickedRequest.contacts().window("2024-01-10", "2024-03-15").url, json=no_total,
                          complete_qs=True)
        for first_day, last_day, id_ in [("2024-01-10", "2024-02-08", "A"), ("2024-02-09", "2024-03-09", "B"),
                                        ("2024-03-10", "2024-03-15", "C")]:
            requests_mock.get(WickedRequest.contacts().window(first_day, last_day).url,
                              json=page([contact(id_, f"{first_day}T05:00:00.000Z")]), complete_qs=True)
        second = read(SourceWickedreports, cfg, "contacts", sync_mode="incremental",
                      stream_state=first.most_recent_state.stream_state.__dict__)
        assert sorted(r["id"] for r in data(second)) == ["A", "B", "C"]
        assert second.most_recent_state.stream_state.createDate == "2024-03-10"
        assert not second.errors


class TestRecords:
    def test_unknown_fields_are_kept_and_declared_types_are_normalized(self, requests_mock):
        record = order(
            "1",
            "2024-01-05T06:00:27.000Z",
            amount="79",
            payments=[{"date": "2024-01-05T02:00:27", "status": "APPROVED", "amount": "79.5"}],
            attributions={"lastClick": {"date": "2024-01-05T02:00:27", "source": "direct"}},
            brandNewField={"nested": True},
        )
        requests_mock.get(WickedRequest.orders().window("2024-01-01", "2024-01-20").url, json=page([record]),
                          complete_qs=True)
        [emitted] = data(read(SourceWickedreports, config(), "orders"))
        assert emitted["amount"] == 79
        assert emitted["payments"] == [{"date": "2024-01-05T02:00:27Z", "status": "APPROVED", "amount": 79.5}]
        assert emitted["attributions"]["lastClick"]["date"] == "2024-01-05T02:00:27Z"
        assert emitted["date"] == "2024-01-05T06:00:27.000Z"
        assert emitted["brandNewField"] == {"nested": True}

    @pytest.mark.parametrize("raw, expected", [("false", False), ("1", True), ("maybe", "maybe")])
    def test_click_booleans_sent_as_strings_are_converted_or_kept(self, requests_mock, raw, expected):
        requests_mock.get(WickedRequest.clicks().window("2024-01-01", "2024-01-20").url,
                          json=page([click("c", isLastClick=raw)]), complete_qs=True)
        [emitted] = data(read(SourceWickedreports, config(), "clicks"))
        assert emitted["isLastClick"] == expected

    def test_contact_with_offset_timestamp_and_string_ltv_is_emitted_in_utc(self, requests_mock):
        record = contact("A", "2024-01-05T12:00:00+02:00", LTV="12.50", lastName=None)
        requests_mock.get(WickedRequest.contacts().window("2024-01-01", "2024-01-20").url, json=page([record]),
                          complete_qs=True)
        [emitted] = data(read(SourceWickedreports, config(), "contacts"))
        assert (emitted["createDate"], emitted["LTV"], emitted.get("lastName")) == ("2024-01-05T10:00:00Z", 12.5, None)
