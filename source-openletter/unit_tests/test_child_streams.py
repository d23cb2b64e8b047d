"""order_recipients: one row per element of an order's contacts (tracking code, delivery status, the contact).

Read from ``/orders/`` with the orders stream's paging, which for this stream counts a page by its orders: a full page
of orders is followed by the next page however many recipients it held.
"""

from builders import OpenLetterRequest, config, contact, order, page
from connectors_shared.testing import discover, error_messages, failure_type, read
from source_openletter import SourceOpenletter


def data(output):
    return [message.record.data for message in output.records]


def recipient(id_: str, order_id: str, **extra):
    return {"id": id_, "orderId": order_id, "trackingCode": None, "isDelivered": False, "status": None, "meta": {},
            "contact": contact(f"c{id_}"), **extra}


def keys(output):
    return [(r["order_id"], r["position"], r["id"]) for r in data(output)]


class TestRows:
    def test_given_orders_when_read_then_one_row_per_recipient_carrying_the_order_id(self, requests_mock):
        orders = [
            order("10", contacts=[recipient("28", "10", trackingCode="TRK1", isDelivered="true", status=10),
                                  recipient("29", "10", status="On Hold")]),
            order("11", contacts=[]),
            order("13", contacts=None),
            {key: value for key, value in order("14").items() if key != "contacts"},
            order("15", contacts=[recipient("31", 15)]),
        ]
        requests_mock.get(OpenLetterRequest.orders().url, json=page(orders), complete_qs=True)
        output = read(SourceOpenletter, config(), "order_recipients")
        assert not output.errors
        assert keys(output) == [("10", 0, "28"), ("10", 1, "29"), ("15", 0, "31")]
        first, second, third = data(output)
        assert (first["trackingCode"], first["isDelivered"], first["status"]) == ("TRK1", True, 10)
        assert second["status"] == "On Hold"  # a number or a string: kept as sent
        assert first["contact"] == contact("c28")
        assert third["orderId"] == "15"  # a numeric id is emitted as its decimal string
        assert requests_mock.call_count == 1

    def test_given_a_recipient_that_is_not_an_object_when_read_then_the_stream_fails_naming_the_order(
        self, requests_mock
    ):
        requests_mock.get(OpenLetterRequest.orders().url,
                          json=page([order("10", contacts=[recipient("28", "10"), 42])]), complete_qs=True)
        output = read(SourceOpenletter, config(), "order_recipients")
        assert failure_type(output) == "transient_error"
        message = error_messages(output)
        assert "OpenLetter Connect answered /api/v1/orders/ (stream order_recipients)" in message
        assert "an element of 'contacts' that is not a JSON object: a number (42) at position 1" in message
        assert "in the record with order_id 10" in message


class TestPaging:
    def test_given_a_full_page_of_orders_without_recipients_when_read_then_the_next_page_is_read(self, requests_mock):
        # Two orders on a page of 2 but no recipient on it: counted by rows, it would look like the last page.
        requests_mock.get(OpenLetterRequest.orders().page_size(2).url,
                          json=page([order("1", contacts=[]), order("2", contacts=None)], count=3), complete_qs=True)
        requests_mock.get(OpenLetterRequest.orders().page_size(2).page(1).url,
                          json=page([order("3", contacts=[recipient("9", "3")])], count=3), complete_qs=True)
        output = read(SourceOpenletter, config(page_size=2), "order_recipients")
        assert keys(output) == [("3", 0, "9")] and not output.errors
        assert requests_mock.call_count == 2

    def test_given_a_short_last_page_with_many_recipients_when_read_then_no_request_past_the_end(self, requests_mock):
        # One order (of 3 asked for) with three recipients: by rows the page would look full.
        many = [recipient(str(n), "1") for n in range(3)]
        requests_mock.get(OpenLetterRequest.orders().page_size(3).url, json=page([order("1", contacts=many)]),
                          complete_qs=True)
        output = read(SourceOpenletter, config(page_size=3), "order_recipients")
        assert [r["position"] for r in data(output)] == [0, 1, 2]
        assert requests_mock.call_count == 1

    def test_given_count_reached_on_a_full_page_when_read_then_stops_on_the_count(self, requests_mock):
        requests_mock.get(OpenLetterRequest.orders().page_size(1).url,
                          json=page([order("1", contacts=[recipient("5", "1"), recipient("6", "1")])], count=2),
                          complete_qs=True)
        requests_mock.get(OpenLetterRequest.orders().page_size(1).page(1).url,
                          json=page([order("2", contacts=[])], count=2), complete_qs=True)
        output = read(SourceOpenletter, config(page_size=1), "order_recipients")
        assert keys(output) == [("1", 0, "5"), ("1", 1, "6")]
        assert requests_mock.call_count == 2


def test_discover_declares_order_recipients_full_refresh_keyed_by_id_with_every_field():
    streams = {s.name: s for s in discover(SourceOpenletter, config()).catalog.catalog.streams}
    stream = streams["order_recipients"]
    assert stream.source_defined_primary_key == [["id"]]
    assert [mode.value for mode in stream.supported_sync_modes] == ["full_refresh"]
    properties = stream.json_schema["properties"]
    assert set(properties) == {"order_id", "position", "id", "orderId", "trackingCode", "isDelivered", "status", "meta",
                               "contact"}
    orders = streams["orders"].json_schema["properties"]["contacts"]["items"]["properties"]
    assert properties["contact"]["properties"] == orders["contact"]["properties"]  # typed like the parent
