"""Reading orders, transactions, subscriptions and coupons: paging, date windows, incremental state, records."""

import pytest

from builders import (LOCATION_ID, START, TODAY, LeadwayRequest, config, coupon, cursors_of, days_ago, order, page,
                      probe_answer, subscription, transaction)
from connectors_shared.testing import error_messages, failure_type, read
from source_leadway import SourceLeadway


def data(output):
    return [message.record.data for message in output.records]


def ids(output):
    return [record["_id"] for record in data(output)]


def orders_page(first, count):
    return [order(f"o{n}") for n in range(first, first + count)]


class TestPaging:
    def test_given_total_count_when_read_then_pages_by_offset_and_stops_at_total_without_an_extra_request(
        self, requests_mock
    ):
        request = LeadwayRequest.orders().window(START, TODAY)
        requests_mock.get(request.page(0).url, json=page(orders_page(0, 100), total=200), complete_qs=True)
        requests_mock.get(request.page(100).url, json=page(orders_page(100, 100), total=200), complete_qs=True)
        output = read(SourceLeadway, config(), "orders")
        assert len(ids(output)) == 200 and len(set(ids(output))) == 200
        assert requests_mock.call_count == 2  # offset=200 would be one request past the end
        assert not output.errors

    def test_given_short_page_while_total_promises_more_when_read_then_retried_and_the_stream_fails(
        self, requests_mock, no_waiting
    ):
        # It used to stop quietly after 130 of 500 orders: now the short page is retried, then the stream fails.
        request = LeadwayRequest.orders().window(START, TODAY)
        requests_mock.get(request.page(0).url, json=page(orders_page(0, 100), total=500), complete_qs=True)
        short = requests_mock.get(request.page(100).url, json=page(orders_page(100, 30), total=500), complete_qs=True)
        output = read(SourceLeadway, config(), "orders")
        assert ids(output) == [f"o{n}" for n in range(100)]  # the full page before it is kept
        assert short.call_count == 6  # the first try and 5 retries
        assert failure_type(output) == "transient_error"
        message = error_messages(output)
        assert "Leadway" in message and "/payments/orders" in message and "stream orders" in message
        assert "short page: 30 records where 100 were asked for" in message and "'totalCount' says 500" in message
        assert output.errors[0].trace.error.stream_descriptor.name == "orders"

    def test_given_empty_first_page_when_read_then_one_request(self, requests_mock):
        requests_mock.get(LeadwayRequest.orders().window(START, TODAY).url, json=page([], total=0), complete_qs=True)
        assert ids(read(SourceLeadway, config(), "orders")) == []
        assert requests_mock.call_count == 1

    def test_given_total_count_below_records_sent_when_read_then_keeps_paging_until_a_short_page(self, requests_mock):
        # The vendor's own example answers one order with "totalCount": 0: such a total must not end the stream.
        request = LeadwayRequest.orders().window(START, TODAY)
        requests_mock.get(request.page(0, 2).url, json=page(orders_page(0, 2), total=0), complete_qs=True)
        requests_mock.get(request.page(2, 2).url, json=page(orders_page(2, 2), total=0), complete_qs=True)
        requests_mock.get(request.page(4, 2).url, json=page(orders_page(4, 1), total=0), complete_qs=True)
        assert ids(read(SourceLeadway, config(page_size=2), "orders")) == ["o0", "o1", "o2", "o3", "o4"]
        assert requests_mock.call_count == 3

    def test_given_no_total_count_when_read_then_stops_on_an_empty_page(self, requests_mock):
        request = LeadwayRequest.orders().window(START, TODAY)
        requests_mock.get(request.page(0, 2).url, json={"data": orders_page(0, 2)}, complete_qs=True)
        requests_mock.get(request.page(2, 2).url, json={"data": []}, complete_qs=True)
        assert ids(read(SourceLeadway, config(page_size=2), "orders")) == ["o0", "o1"]
        assert requests_mock.call_count == 2

    def test_given_page_size_when_read_then_sent_as_limit(self, requests_mock):
        requests_mock.get(LeadwayRequest.orders().window(START, TODAY).page(0, 250).url, json=page([order("o1")]),
                          complete_qs=True)
        assert ids(read(SourceLeadway, config(page_size=250), "orders")) == ["o1"]

    def test_given_base_url_with_path_and_trailing_slash_when_read_then_requests_go_below_it(self, requests_mock):
        base = "http://proxy.local/leadconnector/v2/"
        requests_mock.get(LeadwayRequest.orders(base_url=base).window(START, TODAY).url, json=page([order("o1")]),
                          complete_qs=True)
        assert ids(read(SourceLeadway, config(base_url=base), "orders")) == ["o1"]
        assert requests_mock.last_request.path == "/leadconnector/v2/payments/orders"


class TestEndpoints:
    @pytest.mark.parametrize(
        "stream, request_builder, record",
        [
            ("transactions", LeadwayRequest.transactions, transaction),
            ("subscriptions", LeadwayRequest.subscriptions, subscription),
        ],
    )
    def test_given_dated_stream_when_read_then_sends_alt_id_alt_type_and_window(
        self, requests_mock, stream, request_builder, record
    ):
        requests_mock.get(request_builder().window(START, TODAY).url, json=page([record("r1")]), complete_qs=True)
        assert ids(read(SourceLeadway, config(), stream)) == ["r1"]

    def test_given_coupons_when_read_then_pages_without_date_window(self, requests_mock):
        request = LeadwayRequest.coupons()
        requests_mock.get(request.page(0, 2).url, json=page([coupon("c1"), coupon("c2")], total=3), complete_qs=True)
        requests_mock.get(request.page(2, 2).url, json=page([coupon("c3")], total=3), complete_qs=True)
        assert ids(read(SourceLeadway, config(page_size=2), "coupons")) == ["c1", "c2", "c3"]
        assert requests_mock.call_count == 2


class TestWindows:
    def test_given_long_range_and_no_total_when_read_then_30_day_windows_cover_every_day_once_up_to_today(
        self, requests_mock
    ):
        start = days_ago(65)
        probe = requests_mock.get(LeadwayRequest.orders().window(start, TODAY).url, json=probe_answer(None),
                                  complete_qs=True)
        windows = [(start, days_ago(36)), (days_ago(35), days_ago(6)), (days_ago(5), TODAY)]
        for first, last in windows:
            requests_mock.get(LeadwayRequest.orders().window(first, last).url,
                              json=page([order(first, f"{first}T12:00:00.000Z")]), complete_qs=True)
        output = read(SourceLeadway, config(start_date=start), "orders")
        assert sorted(ids(output)) == sorted(first for first, _ in windows)
        assert probe.call_count == 1 and requests_mock.request_history[0].url == probe.last_request.url
        assert requests_mock.call_count == 4  # the probe over the whole range, then the fixed windows

    def test_given_long_range_and_a_dense_total_when_read_then_windows_of_about_ten_pages_cover_every_day_once(
        self, requests_mock
    ):
        # 2,500 orders over 66 days at 100 a page: 25 pages, 3 windows of 22 days (about 8 pages each).
        start = days_ago(65)
        probe = requests_mock.get(LeadwayRequest.orders().window(start, TODAY).url, json=probe_answer(2500),
                                  complete_qs=True)
        windows = [(start, days_ago(44)), (days_ago(43), days_ago(22)), (days_ago(21), TODAY)]
        for first, last in windows:
            requests_mock.get(LeadwayRequest.orders().window(first, last).url,
                              json=page([order(first, f"{first}T12:00:00.000Z")]), complete_qs=True)
        output = read(SourceLeadway, config(start_date=start), "orders")
        assert sorted(ids(output)) == sorted(first for first, _ in windows)
        assert probe.call_count == 1 and requests_mock.call_count == 4

    def test_given_long_range_and_a_sparse_total_when_read_then_one_window_whose_first_page_is_the_probe(
        self, requests_mock
    ):
        start = days_ago(400)
        whole = requests_mock.get(LeadwayRequest.orders().window(start, TODAY).url, complete_qs=True,
                                  json=page([order("o1", f"{days_ago(200)}T12:00:00.000Z")]))
        output = read(SourceLeadway, config(start_date=start), "orders")
        assert ids(output) == ["o1"]
        assert whole.call_count == 1 and requests_mock.call_count == 1  # not 14 windows of 30 days


class TestIncremental:
    def test_given_first_sync_when_read_incremental_then_state_is_day_of_newest_record(self, requests_mock):
        newest = days_ago(3)
        requests_mock.get(LeadwayRequest.orders().window(START, TODAY).url, complete_qs=True,
                          json=page([order("o1", f"{newest}T08:00:00.000Z"), order("o2", f"{START}T08:00:00.000Z")]))
        output = read(SourceLeadway, config(), "orders", sync_mode="incremental")
        assert cursors_of(output.most_recent_state.stream_state) == {LOCATION_ID: newest}

    def test_given_state_when_read_then_resumes_from_state_day(self, requests_mock):
        saved = days_ago(4)
        requests_mock.get(LeadwayRequest.transactions().window(saved, TODAY).url, complete_qs=True,
                          json=page([transaction("t9", f"{days_ago(2)}T08:00:00.000Z")]))
        output = read(SourceLeadway, config(), "transactions", sync_mode="incremental",
                      stream_state={"createdAt": saved})
        assert ids(output) == ["t9"]
        assert cursors_of(output.most_recent_state.stream_state) == {LOCATION_ID: days_ago(2)}

    def test_given_lookback_days_when_read_then_rereads_recent_days_before_state(self, requests_mock):
        saved = days_ago(4)
        requests_mock.get(LeadwayRequest.subscriptions().window(days_ago(7), TODAY).url, complete_qs=True,
                          json=page([subscription("s1", f"{days_ago(6)}T08:00:00.000Z", status="canceled")]))
        output = read(SourceLeadway, config(lookback_days=3), "subscriptions", sync_mode="incremental",
                      stream_state={"createdAt": saved})
        assert [(r["_id"], r["status"]) for r in data(output)] == [("s1", "canceled")]
        # the state never moves back because of the lookback
        assert cursors_of(output.most_recent_state.stream_state) == {LOCATION_ID: saved}

    def test_given_failure_in_second_window_when_read_then_state_stops_before_it_and_resume_has_no_gap(
        self, requests_mock, no_waiting
    ):
        start = days_ago(65)
        # No total advertised: the fixed 30-day windows (the sized ones resume the same way: tests/test_window_sizing.py)
        probe = requests_mock.get(LeadwayRequest.orders().window(start, TODAY).url, json=probe_answer(None),
                                  complete_qs=True)
        requests_mock.get(LeadwayRequest.orders().window(start, days_ago(36)).url, complete_qs=True,
                          json=page([order("A", f"{days_ago(50)}T00:00:00.000Z")]))
        requests_mock.get(LeadwayRequest.orders().window(days_ago(35), days_ago(6)).url, status_code=503,
                          json={"statusCode": 503, "message": "down"}, complete_qs=True)
        requests_mock.get(LeadwayRequest.orders().window(days_ago(5), TODAY).url, complete_qs=True,
                          json=page([order("C", f"{days_ago(2)}T00:00:00.000Z")]))
        first = read(SourceLeadway, config(start_date=start), "orders", sync_mode="incremental")
        assert first.errors
        assert probe.call_count == 1 and requests_mock.request_history[0].url == probe.last_request.url
        assert cursors_of(first.most_recent_state.stream_state) == {LOCATION_ID: days_ago(50)}

        requests_mock.reset_mock()
        requests_mock.get(LeadwayRequest.orders().window(days_ago(50), TODAY).url, json=probe_answer(None),
                          complete_qs=True)
        for first_day, last_day, id_ in [(days_ago(50), days_ago(21), "A"), (days_ago(20), TODAY, "B")]:
            requests_mock.get(LeadwayRequest.orders().window(first_day, last_day).url, complete_qs=True,
                              json=page([order(id_, f"{first_day}T05:00:00.000Z")]))
        second = read(SourceLeadway, config(start_date=start), "orders", sync_mode="incremental",
                      stream_state=first.most_recent_state.stream_state.__dict__)
        assert sorted(ids(second)) == ["A", "B"]
        assert cursors_of(second.most_recent_state.stream_state) == {LOCATION_ID: days_ago(20)}
        assert not second.errors


class TestRecords:
    def test_given_numbers_and_booleans_as_strings_when_read_then_emitted_with_declared_types(self, requests_mock):
        requests_mock.get(LeadwayRequest.orders().window(START, TODAY).url, json=page([order("o1")]), complete_qs=True)
        [record] = data(read(SourceLeadway, config(), "orders"))
        assert (record["amount"], record["subtotal"], record["discount"], record["totalProducts"]) == (100, 100, 10, 5)
        assert record["liveMode"] is False

    def test_given_values_that_do_not_convert_when_read_then_kept_as_sent(self, requests_mock):
        raw = order("o1", amount="N/A", liveMode="maybe", totalProducts="", sourceMeta="{ domain: \"x\" }")
        requests_mock.get(LeadwayRequest.orders().window(START, TODAY).url, json=page([raw]), complete_qs=True)
        [record] = data(read(SourceLeadway, config(), "orders"))
        assert (record["amount"], record["liveMode"], record["sourceMeta"]) == ("N/A", "maybe", "{ domain: \"x\" }")
        assert record.get("totalProducts") is None  # an empty string in a number field means "no value"

    def test_given_unknown_fields_and_offset_timestamps_when_read_then_kept_and_emitted_in_utc(self, requests_mock):
        raw = transaction("t1", f"{START}T12:00:00+02:00", brandNewField={"nested": True},
                          status={"code": "succeeded"}, amountRefunded="12.25")
        requests_mock.get(LeadwayRequest.transactions().window(START, TODAY).url, json=page([raw]), complete_qs=True)
        [record] = data(read(SourceLeadway, config(), "transactions"))
        assert record["createdAt"] == f"{START}T10:00:00Z"
        assert record["brandNewField"] == {"nested": True}
        assert record["status"] == {"code": "succeeded"}
        assert (record["amount"], record["amountRefunded"], record["liveMode"]) == (49.5, 12.25, True)

    def test_given_coupon_with_string_numbers_when_read_then_nested_fields_are_normalized_too(self, requests_mock):
        requests_mock.get(LeadwayRequest.coupons().url, json=page([coupon("c1")]), complete_qs=True)
        [record] = data(read(SourceLeadway, config(), "coupons"))
        assert (record["usageCount"], record["discountValue"], record["applyToFuturePayments"]) == (3, 10, False)
        assert record["applyToFuturePaymentsConfig"] == {"type": "fixed", "duration": 3, "durationType": "months"}
