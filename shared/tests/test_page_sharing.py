"""A page several streams of one sync read is fetched once (connectors_shared.page_sharing), through the transport."""

import re
import threading
import time

import pytest
import requests

from connectors_shared import cdk_hooks, page_sharing, transport
from connectors_shared.page_sharing import SHARE
from connectors_shared.rate_limiting import HeaderPacedBudget
from connectors_shared.testing import no_waiting  # noqa: F401 - a fixture

BASE = "https://api.example.com/api/v1"


@pytest.fixture
def session(requests_mock):
    transport.install()
    yield requests.Session()
    SHARE.share_endpoints({})


def get(session, url, **headers):
    return session.send(session.prepare_request(requests.Request("GET", url, headers={"Authorization": "Bearer t",
                                                                                      **headers})))


def answers(requests_mock, url, body, **headers):
    requests_mock.get(url, json=body, headers={"X-RateLimit-Remaining": "7", **headers})


def test_the_second_reader_of_a_page_gets_the_first_readers_copy_and_the_third_request_goes_to_the_api(
    session, requests_mock
):
    SHARE.share_endpoints({"orders/": 2, "contacts": 1})
    answers(requests_mock, f"{BASE}/orders/?page=0", {"data": {"rows": [{"id": 1}]}})
    first = get(session, f"{BASE}/orders/?page=0")
    second = get(session, f"{BASE}/orders/?page=0")
    assert first.json() == second.json() == {"data": {"rows": [{"id": 1}]}}
    assert requests_mock.call_count == 1
    assert second.status_code == 200 and second.url == f"{BASE}/orders/?page=0"
    assert "X-RateLimit-Remaining" not in second.headers  # a figure of another moment is not replayed
    get(session, f"{BASE}/orders/?page=0")  # both readers had it: a third asks the API (a retry, another sync)
    assert requests_mock.call_count == 2
    assert SHARE.kept == (1, len(first.content))  # the third fetch is kept for its other reader


def test_three_readers_of_wicked_reports_orders_share_one_fetch(session, requests_mock):
    SHARE.share_endpoints({"orders": 3})
    answers(requests_mock, f"{BASE}/orders?page=1", {"results": [1]})
    for _ in range(3):
        assert get(session, f"{BASE}/orders?page=1").json() == {"results": [1]}
    assert requests_mock.call_count == 1
    assert SHARE.kept == (0, 0)  # the last reader freed the copy, and the file started over


@pytest.mark.parametrize(
    "first, second",
    [
        (f"{BASE}/orders/?page=0", f"{BASE}/orders/?page=1"),  # another page
        (f"{BASE}/orders/?page=0&from=2024-01-01", f"{BASE}/orders/?page=0&from=2024-01-02"),  # another window
        (f"{BASE}/contacts?page=0", f"{BASE}/contacts?page=0"),  # an endpoint one stream reads
    ],
)
def test_only_the_very_same_request_on_a_shared_endpoint_is_answered_from_a_copy(session, requests_mock, first, second):
    SHARE.share_endpoints({"orders/": 2, "contacts": 1})
    requests_mock.get(re.compile(".*"), json={"data": {"rows": []}})
    get(session, first)
    get(session, second)
    assert requests_mock.call_count == 2


def test_other_headers_are_another_request(session, requests_mock):
    SHARE.share_endpoints({"orders/": 2})
    answers(requests_mock, f"{BASE}/orders/?page=0", {"data": {"rows": []}})
    get(session, f"{BASE}/orders/?page=0")
    get(session, f"{BASE}/orders/?page=0", Authorization="Bearer another-token")
    assert requests_mock.call_count == 2


@pytest.mark.parametrize("status", [429, 500, 404])
def test_an_error_is_not_kept_but_asked_again(session, requests_mock, status):
    SHARE.share_endpoints({"orders/": 2})
    requests_mock.get(f"{BASE}/orders/?page=0", [{"status_code": status, "json": {}},
                                                 {"status_code": 200, "json": {"data": {"rows": [{"id": 2}]}}}])
    assert get(session, f"{BASE}/orders/?page=0").status_code == status
    assert get(session, f"{BASE}/orders/?page=0").json() == {"data": {"rows": [{"id": 2}]}}
    assert requests_mock.call_count == 2


def test_nothing_is_kept_outside_a_read(session, requests_mock):
    answers(requests_mock, f"{BASE}/orders/?page=0", {"data": {"rows": []}})
    get(session, f"{BASE}/orders/?page=0")
    get(session, f"{BASE}/orders/?page=0")
    assert requests_mock.call_count == 2 and SHARE.kept == (0, 0)


def test_a_kept_body_waits_on_disk_not_in_memory(session, requests_mock):
    SHARE.share_endpoints({"orders/": 2})
    answers(requests_mock, f"{BASE}/orders/?page=0", {"data": {"rows": ["x" * 100_000]}})
    get(session, f"{BASE}/orders/?page=0")
    copies, on_disk = SHARE.kept
    assert copies == 1 and on_disk > 100_000
    assert all(not hasattr(copy, "body") for copy in SHARE._copies.values())  # an offset and a length only


def test_no_more_is_kept_past_the_disk_cap(session, requests_mock, monkeypatch):
    monkeypatch.setattr(page_sharing, "MAX_KEPT_BYTES", 10)
    SHARE.share_endpoints({"orders/": 2})
    answers(requests_mock, f"{BASE}/orders/?page=0", {"data": {"rows": ["a long enough body"]}})
    get(session, f"{BASE}/orders/?page=0")
    get(session, f"{BASE}/orders/?page=0")
    assert requests_mock.call_count == 2 and SHARE.kept == (0, 0)


def test_the_budget_spends_no_call_on_a_page_answered_from_a_copy(session, requests_mock):
    SHARE.share_endpoints({"orders/": 2})
    answers(requests_mock, f"{BASE}/orders/?page=0", {"data": {"rows": []}})
    get(session, f"{BASE}/orders/?page=0")
    slept = []
    budget = HeaderPacedBudget("X-RateLimit-Remaining", "x-ratelimit-reset", sleep=slept.append)
    budget.update_from_response(None, requests.Response())
    budget._remaining, budget._resume_at = 0, float("inf")  # spent, for as long as it takes
    kept = session.prepare_request(requests.Request("GET", f"{BASE}/orders/?page=0",
                                                    headers={"Authorization": "Bearer t"}))
    budget.acquire_call(kept)  # does not wait: this request will not reach the API
    assert slept == [] and budget._remaining == 0


def test_a_reader_asking_while_another_fetches_the_same_page_waits_for_that_answer(session, requests_mock):
    SHARE.share_endpoints({"v1/affiliate_campaigns": 2})  # the stream, and the partition router reading it too
    started = threading.Event()

    def slow(request, context):
        started.set()
        time.sleep(0.3)
        return {"items": [{"id": "a"}]}

    requests_mock.get(f"{BASE}/v1/affiliate_campaigns?page=1", json=slow)
    bodies = []
    first = threading.Thread(target=lambda: bodies.append(get(session, f"{BASE}/v1/affiliate_campaigns?page=1").json()))
    first.start()
    started.wait(5)
    bodies.append(get(session, f"{BASE}/v1/affiliate_campaigns?page=1").json())
    first.join()
    assert bodies == [{"items": [{"id": "a"}]}] * 2
    assert requests_mock.call_count == 1


def test_a_reader_waiting_for_a_fetch_that_failed_asks_the_api_itself(session, requests_mock):
    SHARE.share_endpoints({"orders/": 2})
    started = threading.Event()
    calls = []

    def flaky(request, context):
        calls.append(1)
        started.set()
        if len(calls) == 1:
            time.sleep(0.3)
            raise requests.exceptions.ConnectionError("reset by peer")
        return {"data": {"rows": []}}

    requests_mock.get(f"{BASE}/orders/?page=0", json=flaky)
    failed = []

    def first_reader():
        try:
            get(session, f"{BASE}/orders/?page=0")
        except requests.exceptions.ConnectionError as error:
            failed.append(error)

    first = threading.Thread(target=first_reader)
    first.start()
    started.wait(5)
    assert get(session, f"{BASE}/orders/?page=0").json() == {"data": {"rows": []}}
    first.join()
    assert len(failed) == 1 and len(calls) == 2


def test_a_child_stream_is_read_after_the_other_streams_and_a_partition_routers_parent_counts_as_a_reader():
    from airbyte_cdk.test.catalog_builder import CatalogBuilder, ConfiguredAirbyteStreamBuilder
    from source_openletter import SourceOpenletter
    from source_shopline import SourceShopline

    openletter = SourceOpenletter()
    names = ["order_recipients", "contacts", "orders", "templates"]
    endpoints = openletter.endpoints_read(names, {})
    assert endpoints == [("orders", ["orders/"]), ("order_recipients", ["orders/"]), ("contacts", ["contacts"]),
                         ("templates", ["templates"])]
    builder = CatalogBuilder()
    for name in names:
        builder.with_stream(ConfiguredAirbyteStreamBuilder().with_name(name))
    ordered = openletter.children_last(builder.build(), endpoints)
    assert [c.stream.name for c in ordered.streams] == ["contacts", "orders", "templates", "order_recipients"]
    # Without campaign ids, SHOPLINE's campaign orders are partitioned by the affiliate_campaigns stream's pages.
    shopline = SourceShopline().endpoints_read(["affiliate_campaigns", "affiliate_campaign_orders"], {})
    assert shopline == [("affiliate_campaigns", ["v1/affiliate_campaigns"]),
                        ("affiliate_campaign_orders", ["v1/affiliate_campaigns"])]
    # The router's requests are its parent stream's: it reads under that name (what page_sharing knows it by).
    named = SourceShopline().readers_of_endpoints(["affiliate_campaigns", "affiliate_campaign_orders"], {})
    assert named == [("affiliate_campaigns", [("v1/affiliate_campaigns", "affiliate_campaigns")]),
                     ("affiliate_campaign_orders", [("v1/affiliate_campaigns", "affiliate_campaigns")])]
    assert SourceOpenletter().readers_of_endpoints(["orders", "order_recipients"], {}) == [
        ("orders", [("orders/", "orders")]), ("order_recipients", [("orders/", "order_recipients")])]
    with_ids = SourceShopline().endpoints_read(["affiliate_campaign_orders"], {"affiliate_campaign_ids": ["a"]})
    assert with_ids == [("affiliate_campaign_orders", [])]


def test_a_broken_page_the_error_handler_retries_is_asked_again_not_replayed(session, requests_mock):
    from connectors_shared.error_handling import VendorErrorHandler

    SHARE.share_endpoints({"orders": 2})  # Wicked Reports orders, and one child stream
    url = f"{BASE}/orders?page=1"
    requests_mock.get(url, [{"status_code": 200, "json": {"status": "success"}},  # no results list
                            {"status_code": 200, "json": {"results": [{"id": 1}]}}])
    handler = VendorErrorHandler(config={}, parameters={"name": "orders"}, vendor="Wicked Reports",
                                 records_path=["results"])
    broken = get(session, url)
    assert handler.interpret_response(broken).response_action.name == "RETRY"
    assert get(session, url).json() == {"results": [{"id": 1}]}  # the retry reached the API
    assert handler.interpret_response(get(session, url)).response_action.name == "SUCCESS"  # the child: a copy
    assert requests_mock.call_count == 2


def test_with_no_writable_temporary_directory_nothing_is_kept_and_every_reader_asks_the_api(
    session, requests_mock, monkeypatch
):
    def no_room(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(page_sharing.tempfile, "TemporaryFile", no_room)
    SHARE.share_endpoints({"orders/": 2})
    answers(requests_mock, f"{BASE}/orders/?page=0", {"data": {"rows": [{"id": 1}]}})
    assert get(session, f"{BASE}/orders/?page=0").json() == get(session, f"{BASE}/orders/?page=0").json()
    assert requests_mock.call_count == 2 and SHARE.kept == (0, 0)


# --- a child stream gets only what it reads ------------------------------------------------------------------------

ORDERS_PAGE = {
    "status": "success", "page": 1, "totalPages": 3, "next": "abc",
    "results": [
        {"id": "o1", "date": "2024-01-05T06:00:27Z", "amount": 79, "contact": {"email": "a@example.com"},
        "products": [{"id": "p1", "qty": 1}], "payments": [{"status": "APPROVED", "amount": "79"}]},
        {"id": "o2", "date": "2024-01-06T00:00:00Z", "amount": 5, "products": None},
        "not an object",
    ],
}
CHILD_FIELDS = {"products": frozenset({"id", "date", "products"}), "payments": frozenset({"id", "date", "payments"})}


def children_of_orders(*children):
    """A read of Wicked Reports' orders and the named child streams (``products``, ``payments``), each child having
    declared what it reads, as its ``ChildRecordExtractor`` does when the streams are built."""
    SHARE.share_endpoints({"orders": ["orders", *(f"order_{child}" for child in children)]})
    for child in children:
        SHARE.reads_only(f"order_{child}", page_sharing.PageNeeds(("results",), CHILD_FIELDS[child]))


def as_stream(stream, session, url):
    with cdk_hooks.reading(stream):
        return get(session, url)


def test_a_page_kept_for_child_streams_holds_only_what_they_read_and_the_rest_of_the_page_as_it_was(
    session, requests_mock
):
    children_of_orders("products", "payments")
    url = f"{BASE}/orders?page=1"
    answers(requests_mock, url, ORDERS_PAGE)
    whole = as_stream("orders", session, url)
    assert whole.json() == ORDERS_PAGE
    copies, on_disk = SHARE.kept
    assert copies == 1 and on_disk < len(whole.content)
    cut = {**ORDERS_PAGE, "results": [
        {"id": "o1", "date": "2024-01-05T06:00:27Z", "products": [{"id": "p1", "qty": 1}],
         "payments": [{"status": "APPROVED", "amount": "79"}]},
        {"id": "o2", "date": "2024-01-06T00:00:00Z", "products": None},
        "not an object",  # for the child to refuse, as it would the whole page
    ]}
    assert as_stream("order_products", session, url).json() == cut
    assert as_stream("order_payments", session, url).json() == cut
    assert requests_mock.call_count == 1 and SHARE.kept == (0, 0)


def test_a_stream_that_reads_whole_pages_is_never_given_a_cut_copy(session, requests_mock):
    children_of_orders("products", "payments")
    url = f"{BASE}/orders?page=1"
    answers(requests_mock, url, ORDERS_PAGE)
    as_stream("orders", session, url)
    assert not SHARE.will_serve(session.prepare_request(requests.Request("GET", url, headers={"Authorization": "Bearer t"})))
    assert get(session, url).json() == ORDERS_PAGE  # no stream named: the API answers
    assert as_stream("orders", session, url).json() == ORDERS_PAGE  # the parent again (a retry): the API answers
    assert requests_mock.call_count == 3


def test_a_child_declaring_other_fields_than_the_copy_holds_asks_the_api(session, requests_mock):
    SHARE.share_endpoints({"orders": ["orders", "order_products"]})
    SHARE.reads_only("order_products", page_sharing.PageNeeds(("results",), CHILD_FIELDS["products"]))
    url = f"{BASE}/orders?page=1"
    answers(requests_mock, url, ORDERS_PAGE)
    as_stream("orders", session, url)
    SHARE.reads_only("order_products", page_sharing.PageNeeds(("results",), frozenset({"id", "amount"})))
    assert as_stream("order_products", session, url).json() == ORDERS_PAGE
    assert requests_mock.call_count == 2


@pytest.mark.parametrize(
    "fetching, readers, page",
    [
        ("order_products", ["orders", "order_products"], ORDERS_PAGE),  # the parent is still to read it
        (None, ["orders", "order_products"], ORDERS_PAGE),  # who fetched is not known
        ("contacts", ["orders", "order_products"], ORDERS_PAGE),  # a stream not among the readers fetched
        ("orders", ["orders", "order_products"], {"status": "success", "results": {"id": "o1"}}),  # not a list
        ("orders", ["orders", "order_products"], {"status": "success"}),  # no records at all
        ("orders", ["orders", "order_products", "order_totals"], ORDERS_PAGE),  # order_totals reads whole pages
    ],
    ids=["parent-still-to-read", "fetcher-unknown", "fetcher-not-a-reader", "records-not-a-list", "no-records",
         "another-reader-of-whole-pages"],
)
def test_the_whole_page_is_kept_unless_every_reader_to_come_declared_what_it_reads(
    session, requests_mock, fetching, readers, page
):
    SHARE.share_endpoints({"orders": readers})
    SHARE.reads_only("order_products", page_sharing.PageNeeds(("results",), CHILD_FIELDS["products"]))
    url = f"{BASE}/orders?page=1"
    answers(requests_mock, url, page)
    first = as_stream(fetching, session, url)
    assert SHARE.kept == (1, len(first.content))
    assert as_stream("orders" if fetching == "order_products" else "order_products", session, url).json() == page
    assert requests_mock.call_count == 1


def test_a_body_that_is_not_json_is_kept_whole_for_the_child_to_refuse(session, requests_mock):
    children_of_orders("products")
    url = f"{BASE}/orders?page=1"
    requests_mock.get(url, text='{"results": [{"id": "o1",', headers={"Content-Type": "application/json"})
    as_stream("orders", session, url)
    assert as_stream("order_products", session, url).text == '{"results": [{"id": "o1",'
    assert requests_mock.call_count == 1


def test_the_parse_made_to_cut_a_page_is_the_one_the_fetching_streams_decoder_reads(session, requests_mock):
    from connectors_shared.decoding import PARSED_BODY_ATTRIBUTE, StrictJsonDecoder

    children_of_orders("products")
    url = f"{BASE}/orders?page=1"
    answers(requests_mock, url, ORDERS_PAGE)
    whole = as_stream("orders", session, url)
    parsed = getattr(whole, PARSED_BODY_ATTRIBUTE)  # parsed as it was cut, before any decoder asked
    assert parsed == ORDERS_PAGE and next(iter(StrictJsonDecoder().decode(whole))) is parsed
