"""order_items: one row per element of an order's subtotal_items, read from /v1/orders like the orders stream.

Each row carries the order's id (``order_id``) and updated_at (``order_updated_at``, the cursor) and its index in the
list (``position``); windows, lookback and state follow ``orders``, and paging counts a page by its orders.
"""

from builders import NOW_PARAM, ShoplineRequest, config, money, order, page
from connectors_shared.testing import discover, error_messages, failure_type, read
from source_shopline import SourceShopline

FIRST_WINDOW = ("2024-02-25 00:00:00.000", NOW_PARAM)
SAVED = "2024-02-27 11:00:00.500"


def data(output):
    return [message.record.data for message in output.records]


def state_of(output):
    return output.most_recent_state.stream_state.__dict__


def item(id_: str, **extra):
    return {"id": id_, "item_type": "Product", "quantity": "2", "item_price": money("50", "0.5"),
            "total": money(100, 1), "sku": 1234, **extra}


def keys(output):
    return [(r["order_id"], r["id"], r["position"]) for r in data(output)]


class TestRows:
    def test_given_orders_when_read_then_one_typed_row_per_item_and_none_for_empty_lists(self, requests_mock):
        orders = [order("o1", "2024-02-26T10:00:00.250+00:00", subtotal_items=[item("i1"), item("i2")]),
                  order("o2", subtotal_items=[]), order("o3", subtotal_items=None), order("o4"),
                  order("o5", subtotal_items=[item("i1", quantity=1)])]
        requests_mock.get(ShoplineRequest.orders().window(*FIRST_WINDOW).url, json=page(orders), complete_qs=True)
        output = read(SourceShopline, config(), "order_items")
        assert not output.errors
        assert keys(output) == [("o1", "i1", 0), ("o1", "i2", 1), ("o5", "i1", 0)]
        first = data(output)[0]
        assert first == {"id": "i1", "item_type": "Product", "quantity": 2, "sku": "1234",
                         "item_price": {"cents": 50, "currency_symbol": "NT$", "currency_iso": "TWD", "label": "NT$50",
                                        "dollars": 0.5},
                         "total": money(100, 1), "order_id": "o1", "order_updated_at": "2024-02-26T10:00:00.250Z",
                         "position": 0}
        assert requests_mock.call_count == 1

    def test_given_an_item_that_is_not_an_object_when_read_then_the_stream_fails_naming_the_order(self, requests_mock):
        orders = [order("6386cd0b31b641004798fb00", subtotal_items=[item("i1"), None])]
        requests_mock.get(ShoplineRequest.orders().window(*FIRST_WINDOW).url, json=page(orders), complete_qs=True)
        output = read(SourceShopline, config(), "order_items")
        assert failure_type(output) == "transient_error"
        message = error_messages(output)
        assert "SHOPLINE answered /v1/orders (stream order_items)" in message
        assert ("an element of 'subtotal_items' that is not a JSON object: null at position 1 in the record with "
                "order_id 6386cd0b31b641004798fb00") in message


class TestPaging:
    def test_given_full_pages_of_orders_with_few_items_when_read_then_pages_to_total_pages(self, requests_mock):
        request = ShoplineRequest.orders().window(*FIRST_WINDOW).per_page(2)
        pages = [[order("a", subtotal_items=[item("1")]), order("b", subtotal_items=[])],
                 [order("c"), order("d")],
                 [order("e", subtotal_items=[item("1"), item("2"), item("3")])]]
        for number, orders in enumerate(pages, start=1):
            requests_mock.get(request.page(number).url, json=page(orders, number, 3, 2), complete_qs=True)
        output = read(SourceShopline, config(page_size=2), "order_items")
        assert [(r["order_id"], r["id"]) for r in data(output)] == [("a", "1"), ("e", "1"), ("e", "2"), ("e", "3")]
        assert requests_mock.call_count == 3 and not output.errors


class TestIncremental:
    def test_given_first_sync_when_read_incrementally_then_state_is_the_newest_order_updated_at(self, requests_mock):
        orders = [order("1", "2024-02-26T10:00:00.250Z", subtotal_items=[item("i")]),
                  order("2", "2024-02-27T11:00:00.500+00:00", subtotal_items=[item("i")])]
        requests_mock.get(ShoplineRequest.orders().window(*FIRST_WINDOW).url, json=page(orders), complete_qs=True)
        output = read(SourceShopline, config(), "order_items", sync_mode="incremental")
        assert state_of(output) == {"order_updated_at": "2024-02-27 11:00:00.500"}

    def test_given_state_and_default_lookback_when_read_then_rereads_the_day_before_like_orders(self, requests_mock):
        late = order("late", "2024-02-27T02:00:00.000Z", subtotal_items=[item("i1"), item("refund-fee")])
        requests_mock.get(ShoplineRequest.orders().window("2024-02-26 11:00:00.500", NOW_PARAM).url,
                          json=page([late]), complete_qs=True)
        output = read(SourceShopline, config(lookback_days=None), "order_items", sync_mode="incremental",
                      stream_state={"order_updated_at": SAVED})
        assert keys(output) == [("late", "i1", 0), ("late", "refund-fee", 1)]
        assert state_of(output) == {"order_updated_at": SAVED}  # older than the state: the state stays


def test_discover_declares_order_items_keyed_by_order_and_item_with_the_order_cursor():
    streams = {s.name: s for s in discover(SourceShopline, config()).catalog.catalog.streams}
    stream = streams["order_items"]
    assert stream.source_defined_primary_key == [["order_id"], ["id"]]
    assert stream.default_cursor_field == ["order_updated_at"]
    assert {mode.value for mode in stream.supported_sync_modes} == {"full_refresh", "incremental"}
    properties = stream.json_schema["properties"]
    parent_item = streams["orders"].json_schema["properties"]["subtotal_items"]["items"]["properties"]
    assert set(properties) == {"order_id", "position", "order_updated_at"} | set(parent_item)
    assert {name: properties[name] for name in parent_item if name != "id"} == {
        name: schema for name, schema in parent_item.items() if name != "id"}  # typed like the parent's items
