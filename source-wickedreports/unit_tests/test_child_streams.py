"""order_products and order_payments: one row per element of an order's products / payments, read from /orders.

Each row carries the order's id (``order_id``) and date (``order_date``, the cursor) and its index in the list
(``position``); the streams page, window and look back exactly as ``orders`` does.
"""

import pytest

from builders import WickedRequest, config, order, page
from connectors_shared.testing import discover, error_messages, failure_type, read
from source_wickedreports import SourceWickedreports

APPROVED = {"date": "2024-01-05T02:00:27", "status": "APPROVED", "amount": "79"}
REFUNDED = {"date": "2024-01-09T10:00:00", "status": "REFUNDED", "amount": "-79"}
PLAN = {"id": "prod-1", "name": "Awesome Subscription Plan", "qty": 1, "PPU": 79}
BUMP = {"id": "prod-bump", "name": "Order Bump", "qty": "2", "PPU": "4.50"}


def first_window() -> WickedRequest:
    return WickedRequest.orders().window("2024-01-01", "2024-01-20")


def data(output):
    return [message.record.data for message in output.records]


def state_of(output):
    return output.most_recent_state.stream_state.__dict__


class TestRows:
    def test_given_orders_when_read_order_payments_then_one_typed_row_per_payment_and_none_for_empty_lists(
        self, requests_mock
    ):
        orders = [
            order("o1", "2024-01-05T08:00:27+02:00", payments=[APPROVED, REFUNDED]),
            order("o2", payments=[]),
            order("o3"),  # no payments field at all
            order("o4", payments=None),
            order("o5", "2024-01-06T00:00:00.000Z", payments=[{**APPROVED, "amount": 12.5}]),
        ]
        requests_mock.get(first_window().url, json=page(orders), complete_qs=True)
        output = read(SourceWickedreports, config(), "order_payments")
        assert not output.errors
        assert data(output) == [
            {"date": "2024-01-05T02:00:27Z", "status": "APPROVED", "amount": 79, "order_id": "o1",
             "order_date": "2024-01-05T06:00:27Z", "position": 0},
            {"date": "2024-01-09T10:00:00Z", "status": "REFUNDED", "amount": -79, "order_id": "o1",
             "order_date": "2024-01-05T06:00:27Z", "position": 1},
            {"date": "2024-01-05T02:00:27Z", "status": "APPROVED", "amount": 12.5, "order_id": "o5",
             "order_date": "2024-01-06T00:00:00.000Z", "position": 0},
        ]
        assert requests_mock.call_count == 1  # the orders request, nothing else

    def test_given_orders_when_read_order_products_then_numbers_sent_as_strings_are_numbers(self, requests_mock):
        orders = [order("o1", products=[PLAN, BUMP]), order("o2", products=[]), order("o3")]
        requests_mock.get(first_window().url, json=page(orders), complete_qs=True)
        output = read(SourceWickedreports, config(), "order_products")
        assert [(r["order_id"], r["position"], r["id"], r["qty"], r["PPU"]) for r in data(output)] == [
            ("o1", 0, "prod-1", 1, 79), ("o1", 1, "prod-bump", 2, 4.5)]
        assert {r["order_date"] for r in data(output)} == {"2024-01-05T10:00:00.000Z"}

    def test_given_two_pages_when_read_then_pages_like_orders(self, requests_mock):
        request = first_window().limit(1)
        requests_mock.get(request.url, json=page([order("A", products=[PLAN])], 1, 2, next_token="h2"), complete_qs=True)
        # The second page has an order without products: paging still ends on totalPages, not on the row count.
        requests_mock.get(request.next("h2").url, json=page([order("B", products=[])], 2, 2, next_token="h3"),
                          complete_qs=True)
        output = read(SourceWickedreports, config(page_size=1), "order_products")
        assert [r["order_id"] for r in data(output)] == ["A"]
        assert requests_mock.call_count == 2 and not output.errors


class TestIncremental:
    def test_given_no_state_when_read_then_state_is_the_day_of_the_newest_order_read(self, requests_mock):
        orders = [order("o1", "2024-01-10T08:00:00.000Z", payments=[APPROVED]),
                  order("o2", "2024-01-12T08:00:00.000Z", payments=[])]
        requests_mock.get(first_window().url, json=page(orders), complete_qs=True)
        output = read(SourceWickedreports, config(), "order_payments", sync_mode="incremental")
        assert [r["order_id"] for r in data(output)] == ["o1"]
        # An order without payments gives no row, so the state is that of the newest row (the high-water mark).
        assert state_of(output) == {"order_date": "2024-01-10"}

    def test_given_a_refund_appended_to_an_old_order_when_the_next_sync_runs_then_it_arrives_as_a_new_row(
        self, requests_mock
    ):
        # Default lookback (30 days): the window starts 30 days before the state, as for orders.
        # 36 days: one probe over all of them advertises one page, so it is the one window (its answer is the page).
        refunded = order("old", "2024-02-20T08:00:00.000Z", payments=[APPROVED, REFUNDED])
        requests_mock.get(WickedRequest.orders().window("2024-02-09", "2024-03-15").url, json=page([refunded]),
                          complete_qs=True)
        output = read(SourceWickedreports, config(lookback_days=None, end_date="2024-03-15"), "order_payments",
                      sync_mode="incremental", stream_state={"order_date": "2024-03-10"})
        assert requests_mock.call_count == 1
        assert [(r["order_id"], r["position"], r["status"]) for r in data(output)] == [
            ("old", 0, "APPROVED"), ("old", 1, "REFUNDED")]
        assert state_of(output) == {"order_date": "2024-03-10"}  # older than the state: the state does not move back

    @pytest.mark.parametrize("lookback_days, first_day", [(0, "2024-03-10"), (7, "2024-03-03")])
    def test_given_lookback_days_when_read_then_both_child_streams_start_that_many_days_before_state(
        self, requests_mock, lookback_days, first_day
    ):
        requests_mock.get(WickedRequest.orders().window(first_day, "2024-03-15").url,
                          json=page([order("A", "2024-03-11T00:00:00.000Z", products=[PLAN], payments=[APPROVED])]),
                          complete_qs=True)
        for stream in ("order_products", "order_payments"):
            output = read(SourceWickedreports, config(lookback_days=lookback_days, end_date="2024-03-15"), stream,
                          sync_mode="incremental", stream_state={"order_date": "2024-03-10"})
            assert [r["order_id"] for r in data(output)] == ["A"]
            assert state_of(output) == {"order_date": "2024-03-11"}


class TestErrors:
    def test_given_a_payment_that_is_not_an_object_when_read_then_the_stream_fails_naming_order_and_position(
        self, requests_mock
    ):
        orders = [order("o1", payments=[APPROVED]), order("WR-order-0000042", payments=[APPROVED, "REFUNDED 79"])]
        requests_mock.get(first_window().url, json=page(orders), complete_qs=True)
        output = read(SourceWickedreports, config(), "order_payments")
        assert failure_type(output) == "transient_error"
        message = error_messages(output)
        assert "Wicked Reports answered /orders (stream order_payments)" in message
        assert ("an element of 'payments' that is not a JSON object: a string (\"REFUNDED 79\") at position 1 in the "
                "record with order_id WR-order-0000042") in message
        assert "Traceback" not in message and "TypeError" not in message
        assert output.errors[0].trace.error.stream_descriptor.name == "order_payments"

    def test_given_products_that_are_not_a_list_when_read_then_the_stream_fails(self, requests_mock):
        requests_mock.get(first_window().url, json=page([order("o1", products={"id": "prod-1"})]), complete_qs=True)
        output = read(SourceWickedreports, config(), "order_products")
        assert "'products' as an object" in error_messages(output) and not data(output)


def test_discover_declares_the_child_streams_with_their_keys_cursor_and_every_field():
    streams = {s.name: s for s in discover(SourceWickedreports, config()).catalog.catalog.streams}
    for name, fields in (("order_products", {"id", "name", "qty", "PPU"}),
                         ("order_payments", {"date", "status", "amount"})):
        stream = streams[name]
        assert stream.source_defined_primary_key == [["order_id"], ["position"]]
        assert stream.default_cursor_field == ["order_date"]
        assert {mode.value for mode in stream.supported_sync_modes} == {"full_refresh", "incremental"}
        properties = stream.json_schema["properties"]
        assert set(properties) == {"order_id", "position", "order_date"} | fields
        assert (properties["position"]["type"], properties["order_date"]["format"]) == ("integer", "date-time")
