"""Reading campaigns, each campaign's orders and orders: paging, partitions, windows, incremental state, record types."""

import pytest

from builders import NOW_PARAM, ShoplineRequest, campaign, config, error, ids, keyset, money, order, page
from connectors_shared.testing import error_messages, failure_type, read
from source_shopline import SourceShopline

CAMPAIGNS = ShoplineRequest.affiliate_campaigns()
FIRST_WINDOW = ("2024-02-25 00:00:00.000", NOW_PARAM)


def data(output):
    return [message.record.data for message in output.records]


def state_of(output):
    return output.most_recent_state.stream_state.__dict__


class TestAffiliateCampaigns:
    def test_given_two_pages_when_read_then_stops_on_total_pages_without_asking_for_a_third(self, requests_mock):
        requests_mock.get(CAMPAIGNS.url, json=page([campaign(i) for i in ids("a", 50)], 1, 2), complete_qs=True)
        requests_mock.get(CAMPAIGNS.page(2).url, json=page([campaign(i) for i in ids("b", 50)], 2, 2), complete_qs=True)
        output = read(SourceShopline, config(), "affiliate_campaigns")
        assert len(data(output)) == 100 and not output.errors
        assert requests_mock.call_count == 2

    def test_given_empty_page_before_total_pages_when_read_then_retried_and_the_stream_fails(
        self, requests_mock, no_waiting
    ):
        # It used to stop quietly, losing pages 3 and 4: now the page is retried, then the stream fails naming it.
        requests_mock.get(CAMPAIGNS.per_page(2).url, json=page([campaign("a"), campaign("b")], 1, 4, per_page=2),
                          complete_qs=True)
        empty = requests_mock.get(CAMPAIGNS.per_page(2).page(2).url, json=page([], 2, 4, per_page=2), complete_qs=True)
        output = read(SourceShopline, config(page_size=2), "affiliate_campaigns")
        assert [r["id"] for r in data(output)] == ["a", "b"]  # the full page before it is kept
        # The first try and 6 retries, each a real request: the parent stream's response cache must not answer them.
        assert empty.call_count == 7
        assert [round(seconds) for seconds in no_waiting.seconds] == [2, 4, 8, 16, 32, 64]
        assert failure_type(output) == "transient_error"
        message = error_messages(output)
        assert "SHOPLINE" in message and "/v1/affiliate_campaigns" in message and "stream affiliate_campaigns" in message
        assert "short page: 0 records where 2 were asked for" in message and "'pagination.total_pages' says 4" in message
        assert output.errors[0].trace.error.stream_descriptor.name == "affiliate_campaigns"

    def test_given_no_pagination_object_when_read_then_pages_until_an_empty_page(self, requests_mock):
        requests_mock.get(CAMPAIGNS.per_page(2).url, json={"items": [campaign("a"), campaign("b")]}, complete_qs=True)
        requests_mock.get(CAMPAIGNS.per_page(2).page(2).url, json={"items": []}, complete_qs=True)
        assert [r["id"] for r in data(read(SourceShopline, config(page_size=2), "affiliate_campaigns"))] == ["a", "b"]
        assert requests_mock.call_count == 2

    def test_given_base_url_with_path_when_read_then_requests_go_below_it(self, requests_mock):
        base = "http://proxy.local/shopline/"
        requests_mock.get(ShoplineRequest.affiliate_campaigns(base_url=base).url, json=page([campaign("a")]),
                          complete_qs=True)
        assert len(data(read(SourceShopline, config(base_url=base), "affiliate_campaigns"))) == 1
        assert requests_mock.last_request.path == "/shopline/v1/affiliate_campaigns"

    def test_records_keep_money_objects_and_emit_utc_timestamps(self, requests_mock):
        record = campaign("a", use_count="7", affiliate_amount=money("250", "2.5"), brand_new={"x": 1})
        requests_mock.get(CAMPAIGNS.url, json=page([record]), complete_qs=True)
        [emitted] = data(read(SourceShopline, config(), "affiliate_campaigns"))
        assert emitted["use_count"] == 7
        assert emitted["affiliate_amount"] == {"cents": 250, "currency_symbol": "NT$", "currency_iso": "TWD",
                                               "label": "NT$250", "dollars": 2.5}
        assert emitted["reward_value"] == money(100)
        assert emitted["updated_at"] == "2024-01-02T00:00:00.000Z"
        assert emitted["brand_new"] == {"x": 1}


class TestAffiliateCampaignOrders:
    def test_given_configured_ids_when_read_then_each_campaign_is_read_and_records_name_it(self, requests_mock):
        for cid in ("c1", "c2"):
            requests_mock.get(ShoplineRequest.campaign_orders(cid).url, json=keyset([order(f"{cid}-o1")]), complete_qs=True)
        output = read(SourceShopline, config(affiliate_campaign_ids=["c1", "c2"]), "affiliate_campaign_orders")
        assert sorted((r["affiliate_campaign_id"], r["id"]) for r in data(output)) == [("c1", "c1-o1"), ("c2", "c2-o1")]
        assert requests_mock.call_count == 2  # campaigns are not listed when ids are configured

    def test_given_full_page_when_read_then_sends_last_id_as_previous_id_until_a_short_page(self, requests_mock):
        first, second = [order(i) for i in ids("o", 50)], [order(i) for i in ids("p", 3)]
        request = ShoplineRequest.campaign_orders("c1")
        requests_mock.get(request.url, json=keyset(first), complete_qs=True)
        requests_mock.get(request.previous_id("o049").url, json=keyset(second), complete_qs=True)
        output = read(SourceShopline, config(affiliate_campaign_ids=["c1"]), "affiliate_campaign_orders")
        assert len(data(output)) == 53 and not output.errors
        assert requests_mock.call_count == 2

    def test_given_full_page_then_empty_page_when_read_then_stops(self, requests_mock):
        request = ShoplineRequest.campaign_orders("c1").limit(2)
        requests_mock.get(request.url, json=keyset([order("o1"), order("o2")], 2), complete_qs=True)
        requests_mock.get(request.previous_id("o2").url, json={"items": [], "limit": 2, "last_id": None}, complete_qs=True)
        output = read(SourceShopline, config(affiliate_campaign_ids=["c1"], page_size=2), "affiliate_campaign_orders")
        assert [r["id"] for r in data(output)] == ["o1", "o2"]
        assert requests_mock.call_count == 2

    def test_given_no_configured_ids_when_read_then_every_listed_campaign_is_read(self, requests_mock):
        requests_mock.get(CAMPAIGNS.url, json=page([campaign("c1"), campaign("c2")]), complete_qs=True)
        requests_mock.get(ShoplineRequest.campaign_orders("c1").url, json=keyset([order("o1")]), complete_qs=True)
        requests_mock.get(ShoplineRequest.campaign_orders("c2").url, json=keyset([]), complete_qs=True)
        output = read(SourceShopline, config(), "affiliate_campaign_orders")
        assert [(r["affiliate_campaign_id"], r["id"]) for r in data(output)] == [("c1", "o1")]

    def test_given_first_sync_when_read_incrementally_then_state_is_last_order_id_per_campaign(self, requests_mock):
        requests_mock.get(ShoplineRequest.campaign_orders("c1").url, json=keyset([order("o1"), order("o2")]), complete_qs=True)
        requests_mock.get(ShoplineRequest.campaign_orders("c2").url, json=keyset([]), complete_qs=True)
        output = read(SourceShopline, config(affiliate_campaign_ids=["c1", "c2"]), "affiliate_campaign_orders",
                      sync_mode="incremental")
        assert state_of(output) == {"states": [{"partition": {"affiliate_campaign_id": "c1"}, "cursor": {"id": "o2"}}]}

    def test_given_state_when_read_then_asks_only_for_orders_after_the_saved_id(self, requests_mock):
        requests_mock.get(ShoplineRequest.campaign_orders("c1").previous_id("o2").url, json=keyset([order("o3")]),
                          complete_qs=True)
        requests_mock.get(ShoplineRequest.campaign_orders("c2").url, json=keyset([order("q1")]), complete_qs=True)
        saved = {"states": [{"partition": {"affiliate_campaign_id": "c1"}, "cursor": {"id": "o2"}}]}
        output = read(SourceShopline, config(affiliate_campaign_ids=["c1", "c2"]), "affiliate_campaign_orders",
                      sync_mode="incremental", stream_state=saved)
        assert sorted(r["id"] for r in data(output)) == ["o3", "q1"]
        assert state_of(output) == {"states": [{"partition": {"affiliate_campaign_id": "c1"}, "cursor": {"id": "o3"}},
                                               {"partition": {"affiliate_campaign_id": "c2"}, "cursor": {"id": "q1"}}]}

    def test_given_no_new_orders_when_read_then_state_is_kept(self, requests_mock):
        requests_mock.get(ShoplineRequest.campaign_orders("c1").previous_id("o2").url, json=keyset([]), complete_qs=True)
        saved = {"states": [{"partition": {"affiliate_campaign_id": "c1"}, "cursor": {"id": "o2"}}]}
        output = read(SourceShopline, config(affiliate_campaign_ids=["c1"]), "affiliate_campaign_orders",
                      sync_mode="incremental", stream_state=saved)
        assert data(output) == [] and state_of(output) == saved

    def test_given_failure_on_second_page_when_read_then_state_keeps_the_previous_id(self, requests_mock, no_waiting):
        request = ShoplineRequest.campaign_orders("c1").limit(1)
        requests_mock.get(request.previous_id("o1").url, json=keyset([order("o2")], 1), complete_qs=True)
        requests_mock.get(request.previous_id("o2").url, status_code=500, json=error("boom"), complete_qs=True)
        saved = {"states": [{"partition": {"affiliate_campaign_id": "c1"}, "cursor": {"id": "o1"}}]}
        output = read(SourceShopline, config(affiliate_campaign_ids=["c1"], page_size=1), "affiliate_campaign_orders",
                      sync_mode="incremental", stream_state=saved)
        assert output.errors
        assert state_of(output) == saved  # the unfinished campaign is re-read from o1 next time

    def test_given_unknown_configured_id_when_read_then_config_error_names_the_id(self, requests_mock, no_waiting):
        requests_mock.get(ShoplineRequest.campaign_orders("nope123").url, status_code=404,
                          json=error("Affiliate campaign not found", "NotFound"), complete_qs=True)
        output = read(SourceShopline, config(affiliate_campaign_ids=["nope123"]), "affiliate_campaign_orders")
        [failure] = [m.trace.error for m in output.errors if m.trace.error.stream_descriptor]
        assert failure.failure_type.value == "config_error"
        assert "no affiliate campaign with id nope123" in failure.message
        assert "affiliate_campaign_ids" in failure.message
        assert requests_mock.call_count == 1

    def test_given_listed_campaign_answers_404_when_read_then_it_is_skipped(self, requests_mock, no_waiting):
        requests_mock.get(CAMPAIGNS.url, json=page([campaign("gone"), campaign("c2")]), complete_qs=True)
        requests_mock.get(ShoplineRequest.campaign_orders("gone").url, status_code=404, json=error("Not found"),
                          complete_qs=True)
        requests_mock.get(ShoplineRequest.campaign_orders("c2").url, json=keyset([order("o1")]), complete_qs=True)
        output = read(SourceShopline, config(), "affiliate_campaign_orders")
        assert [r["id"] for r in data(output)] == ["o1"] and not output.errors


class TestOrders:
    def test_given_one_window_when_read_then_sends_inclusive_utc_bounds_sorted_ascending(self, requests_mock):
        requests_mock.get(ShoplineRequest.orders().window(*FIRST_WINDOW).url, json=page([order("1")]), complete_qs=True)
        output = read(SourceShopline, config(), "orders")
        assert [r["id"] for r in data(output)] == ["1"] and not output.errors

    def test_given_long_range_and_no_total_when_read_then_seven_day_windows_meet_without_gap_or_overlap(
        self, requests_mock
    ):
        # The window-sizing probe over the whole range advertises no total pages: the fixed 7-day windows.
        probe = requests_mock.get(ShoplineRequest.orders().window("2024-02-01 00:00:00.000", NOW_PARAM).url,
                                  json={"items": []}, complete_qs=True)
        windows = [("2024-02-01 00:00:00.000", "2024-02-07 23:59:59.999"), ("2024-02-08 00:00:00.000", "2024-02-14 23:59:59.999"),
                   ("2024-02-15 00:00:00.000", "2024-02-21 23:59:59.999"), ("2024-02-22 00:00:00.000", "2024-02-28 23:59:59.999"),
                   ("2024-02-29 00:00:00.000", NOW_PARAM)]
        for n, window in enumerate(windows):
            requests_mock.get(ShoplineRequest.orders().window(*window).url, json=page([order(str(n))]), complete_qs=True)
        output = read(SourceShopline, config(start_date="2024-02-01"), "orders")
        assert sorted(r["id"] for r in data(output)) == ["0", "1", "2", "3", "4"]
        assert probe.call_count == 1 and requests_mock.request_history[0].url == probe.last_request.url
        assert requests_mock.call_count == 6

    def test_given_long_range_and_few_pages_when_read_then_one_window_whose_first_page_is_the_probe(self, requests_mock):
        whole = requests_mock.get(ShoplineRequest.orders().window("2024-02-01 00:00:00.000", NOW_PARAM).url,
                                  json=page([order("0")]), complete_qs=True)
        output = read(SourceShopline, config(start_date="2024-02-01"), "orders")
        assert [r["id"] for r in data(output)] == ["0"]
        assert whole.call_count == 1 and requests_mock.call_count == 1  # not five windows of 7 days

    def test_given_start_date_with_offset_when_read_then_first_window_starts_at_that_instant_in_utc(self, requests_mock):
        window = ("2024-02-25 00:00:00.000", NOW_PARAM)
        requests_mock.get(ShoplineRequest.orders().window(*window).url, json=page([]), complete_qs=True)
        read(SourceShopline, config(start_date="2024-02-25T08:00:00+08:00"), "orders")
        assert requests_mock.call_count == 1

    def test_given_three_pages_when_read_then_stops_on_total_pages(self, requests_mock):
        request = ShoplineRequest.orders().window(*FIRST_WINDOW).per_page(2)
        for number in (1, 2, 3):
            items = [order(f"{number}-{i}") for i in range(2 if number < 3 else 1)]
            requests_mock.get(request.page(number).url, json=page(items, number, 3, 2), complete_qs=True)
        output = read(SourceShopline, config(page_size=2), "orders")
        assert len(data(output)) == 5 and requests_mock.call_count == 3

    def test_given_full_last_page_when_read_then_total_pages_prevents_an_extra_request(self, requests_mock):
        request = ShoplineRequest.orders().window(*FIRST_WINDOW).per_page(2)
        requests_mock.get(request.url, json=page([order("a"), order("b")], 1, 1, 2), complete_qs=True)
        assert len(data(read(SourceShopline, config(page_size=2), "orders"))) == 2
        assert requests_mock.call_count == 1

    def test_given_first_sync_when_read_incrementally_then_state_is_newest_updated_at(self, requests_mock):
        records = [order("1", "2024-02-26T10:00:00.250Z"), order("2", "2024-02-27T11:00:00.500+00:00")]
        requests_mock.get(ShoplineRequest.orders().window(*FIRST_WINDOW).url, json=page(records), complete_qs=True)
        output = read(SourceShopline, config(), "orders", sync_mode="incremental")
        assert state_of(output) == {"updated_at": "2024-02-27 11:00:00.500"}

    def test_given_state_when_read_then_resumes_from_the_saved_instant(self, requests_mock):
        window = ("2024-02-27 11:00:00.500", NOW_PARAM)
        requests_mock.get(ShoplineRequest.orders().window(*window).url, json=page([order("3", "2024-02-29T00:00:00.000Z")]),
                          complete_qs=True)
        output = read(SourceShopline, config(), "orders", sync_mode="incremental",
                      stream_state={"updated_at": "2024-02-27 11:00:00.500"})
        assert [r["id"] for r in data(output)] == ["3"]
        assert state_of(output) == {"updated_at": "2024-02-29 00:00:00.000"}

    def test_given_failure_in_second_window_when_read_then_state_stops_at_first_window(self, requests_mock, no_waiting):
        windows = [("2024-02-15 00:00:00.000", "2024-02-21 23:59:59.999"), ("2024-02-22 00:00:00.000", "2024-02-28 23:59:59.999"),
                   ("2024-02-29 00:00:00.000", NOW_PARAM)]
        requests_mock.get(ShoplineRequest.orders().window(*windows[0]).url,
                          json=page([order("A", "2024-02-16T00:00:00.000Z")]), complete_qs=True)
        requests_mock.get(ShoplineRequest.orders().window(*windows[1]).url, status_code=503, json=error("down"),
                          complete_qs=True)
        requests_mock.get(ShoplineRequest.orders().window(*windows[2]).url,
                          json=page([order("C", "2024-03-01T00:00:00.000Z")]), complete_qs=True)
        output = read(SourceShopline, config(start_date="2024-02-15"), "orders", sync_mode="incremental")
        assert output.errors
        assert state_of(output)["updated_at"] <= "2024-02-21 23:59:59.999"

    def test_records_keep_money_whole_and_typed_and_timestamps_in_utc(self, requests_mock):
        record = order(
            "1", "2024-02-26T10:00:00.592+00:00",
            total=money("123", "123.5"),
            order_points="4",
            is_guest_checkout="false",
            order_payment={"total": money(7), "paid_at": "2024-02-26T18:00:00.000+08:00", "status": "paid"},
            subtotal_items=[{"quantity": "2", "item_price": money("50"), "sku": 1234}],
            confirmed_at="not a date",
            some_future_field={"nested": [1, 2]},
        )
        requests_mock.get(ShoplineRequest.orders().window(*FIRST_WINDOW).url, json=page([record]), complete_qs=True)
        [emitted] = data(read(SourceShopline, config(), "orders"))
        assert emitted["total"] == {"cents": 123, "currency_symbol": "NT$", "currency_iso": "TWD", "label": "NT$123",
                                    "dollars": 123.5}
        assert (emitted["order_points"], emitted["is_guest_checkout"]) == (4, False)
        assert emitted["updated_at"] == "2024-02-26T10:00:00.592Z"
        assert emitted["created_at"] == "2024-02-26T09:00:00.000Z"
        assert emitted["order_payment"]["paid_at"] == "2024-02-26T10:00:00Z"
        assert emitted["subtotal_items"] == [{"quantity": 2, "item_price": money(50), "sku": "1234"}]
        assert emitted["confirmed_at"] == "not a date"  # unconvertible values are kept as sent
        assert emitted["some_future_field"] == {"nested": [1, 2]}

    @pytest.mark.parametrize("raw, expected", [("true", True), ("0", False), ("perhaps", "perhaps")])
    def test_string_booleans_are_converted_or_kept(self, requests_mock, raw, expected):
        requests_mock.get(ShoplineRequest.orders().window(*FIRST_WINDOW).url,
                          json=page([order("1", is_guest_checkout=raw)]), complete_qs=True)
        [emitted] = data(read(SourceShopline, config(), "orders"))
        assert emitted["is_guest_checkout"] == expected
