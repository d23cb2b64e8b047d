"""ChildRecordExtractor and ChildPageNumberToTotal: rows from lists inside records, and paging that counts parents.

The extractor is tested on its own (tables of pages and the rows or the error each must give), then through every
manifest that declares a child stream: each child stream must page by its parents, read the same endpoint, windows and
lookback as its parent, and carry its parent's cursor.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any, Dict, List, Mapping, Tuple

import orjson
import pytest
import requests
import yaml
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared.extraction import ChildPageNumberToTotal, ChildRecordExtractor
from connectors_shared.input_checks import manifest_streams
from connectors_shared.page_sharing import SHARE, PageNeeds
from connectors_shared.pagination import PageNumberToTotal
from tests.harness import connectors

PYTHON_INTERNALS = re.compile(r"Traceback|\b(Type|Value|Key|Attribute|Index|Name)Error\b|\bdict\b|\bNoneType\b|\bstr\b")


def answer(body: Any, url: str = "https://api.example.com/orders?limit=2") -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(body).encode()
    response.url = url
    response.request = requests.Request("GET", url).prepare()
    return response


def payments_extractor(**overrides: Any) -> ChildRecordExtractor:
    arguments: Dict[str, Any] = dict(field_path=["results"], list_path=["payments"],
                                     parent_fields={"order_id": "id", "order_date": "date"}, position_field="position",
                                     vendor="Wicked Reports", parameters={"name": "order_payments"})
    arguments.update(overrides)
    return ChildRecordExtractor(**arguments)


def rows(extractor: ChildRecordExtractor, body: Any) -> List[Dict[str, Any]]:
    return list(extractor.extract_records(answer(body)))


APPROVED = {"date": "2024-01-05T02:00:27", "status": "APPROVED", "amount": "79"}
REFUNDED = {"date": "2024-01-09T10:00:00", "status": "REFUNDED", "amount": "-79"}


# ---------------------------------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------------------------------


def test_each_element_becomes_a_row_with_the_parent_fields_and_its_position():
    body = {"results": [{"id": "o1", "date": "2024-01-05T06:00:27.000Z", "payments": [APPROVED, REFUNDED]},
                        {"id": "o2", "date": "2024-01-06T00:00:00.000Z", "payments": [APPROVED]}]}
    assert rows(payments_extractor(), body) == [
        {**APPROVED, "order_id": "o1", "order_date": "2024-01-05T06:00:27.000Z", "position": 0},
        {**REFUNDED, "order_id": "o1", "order_date": "2024-01-05T06:00:27.000Z", "position": 1},
        {**APPROVED, "order_id": "o2", "order_date": "2024-01-06T00:00:00.000Z", "position": 0},
    ]


@pytest.mark.parametrize("order", [
    {"id": "o1", "date": "2024-01-05T00:00:00Z"},  # no list at all
    {"id": "o1", "date": "2024-01-05T00:00:00Z", "payments": None},
    {"id": "o1", "date": "2024-01-05T00:00:00Z", "payments": []},
], ids=["missing", "null", "empty"])
def test_a_parent_with_a_missing_null_or_empty_list_gives_no_row_and_no_error(order):
    body = {"results": [order, {"id": "o2", "date": "2024-01-06T00:00:00Z", "payments": [APPROVED]}]}
    assert [(row["order_id"], row["position"]) for row in rows(payments_extractor(), body)] == [("o2", 0)]


@pytest.mark.parametrize("body", [{"results": []}, {"results": None}, {"status": "success"}, {"results": "nope"}],
                         ids=["no-records", "null-records", "no-records-field", "records-not-a-list"])
def test_a_page_without_parent_records_gives_no_row(body):
    # Whether such a page is acceptable is the page contract's to say (VendorErrorHandler), before extraction.
    assert rows(payments_extractor(), body) == []


def test_the_parent_fields_win_over_an_element_field_of_the_same_name_and_the_element_is_not_changed():
    element = {"order_id": "something else", "position": 7, "amount": 1}
    body = {"results": [{"id": "o1", "date": "2024-01-05T00:00:00Z", "payments": [element]}]}
    [row] = rows(payments_extractor(), body)
    assert (row["order_id"], row["position"], row["amount"]) == ("o1", 0, 1)
    assert element == {"order_id": "something else", "position": 7, "amount": 1}


def test_nested_paths_a_missing_parent_field_and_no_position():
    extractor = payments_extractor(field_path=["data", "rows"], list_path=["detail", "lines"],
                                   parent_fields={"order_id": "id", "customer_id": ["customer", "id"],
                                                  "order_note": "note"},
                                   position_field=None)
    body = {"data": {"rows": [{"id": 1, "customer": {"id": "c9"}, "detail": {"lines": [{"sku": "A"}, {"sku": "B"}]}}]}}
    assert rows(extractor, body) == [{"sku": "A", "order_id": 1, "customer_id": "c9", "order_note": None},
                                     {"sku": "B", "order_id": 1, "customer_id": "c9", "order_note": None}]


def test_a_single_object_at_the_records_path_is_one_parent():
    body = {"results": {"id": "o1", "date": "2024-01-05T00:00:00Z", "payments": [APPROVED]}}
    assert [row["order_id"] for row in rows(payments_extractor(), body)] == ["o1"]


def test_list_path_and_parent_fields_may_be_given_as_plain_names():
    extractor = payments_extractor(list_path="payments", parent_fields={"order_id": "id"})
    body = {"results": [{"id": "o1", "payments": [APPROVED]}]}
    assert rows(extractor, body) == [{**APPROVED, "order_id": "o1", "position": 0}]


# ---------------------------------------------------------------------------------------------------------------------
# Errors: a clear sentence, never a silently dropped element
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("element, described", [
    ("oops", 'a string ("oops")'),
    (42, "a number (42)"),
    (None, "null"),
    ([1, 2], "a list ([1,2])"),
    ("x" * 80, 'a string ("' + "x" * 59 + '...)'),  # long values are cut
    (True, "a boolean (true)"),
])
def test_an_element_that_is_not_an_object_fails_with_a_sentence_naming_vendor_stream_parent_and_position(
    element, described
):
    body = {"results": [{"id": "o1", "date": "2024-01-05T00:00:00Z", "payments": [APPROVED]},
                        {"id": "WR-order-7", "date": "2024-01-05T00:00:00Z", "payments": [APPROVED, element]}]}
    extractor = payments_extractor()
    emitted: List[Dict[str, Any]] = []
    with pytest.raises(AirbyteTracedException) as raised:
        for row in extractor.extract_records(answer(body)):
            emitted.append(row)
    message = raised.value.message
    assert message.startswith("Wicked Reports answered /orders (stream order_payments) with an element of 'payments' "
                              f"that is not a JSON object: {described} at position 1 in the record with order_id "
                              "WR-order-7.")
    assert "report it to Wicked Reports" in message
    assert raised.value.failure_type.value == "transient_error"
    assert not PYTHON_INTERNALS.search(message), message
    assert [row["order_id"] for row in emitted] == ["o1", "WR-order-7"]  # rows before it were already emitted


@pytest.mark.parametrize("value, described", [({"status": "APPROVED"}, "an object"), ("APPROVED", "a string")])
def test_a_list_field_that_is_not_a_list_fails_the_stream(value, described):
    body = {"results": [{"id": "o1", "date": "2024-01-05T00:00:00Z", "payments": value}]}
    with pytest.raises(AirbyteTracedException) as raised:
        rows(payments_extractor(), body)
    assert f"'payments' as {described}" in raised.value.message
    assert "instead of a list in the record with order_id o1" in raised.value.message


def test_a_parent_that_is_not_an_object_fails_the_stream():
    with pytest.raises(AirbyteTracedException) as raised:
        rows(payments_extractor(), {"results": [{"id": "o1", "payments": []}, "oops"]})
    assert "a record that is not a JSON object at 'results'[1]: a string (\"oops\")" in raised.value.message


@pytest.mark.parametrize("overrides, expected", [
    ({"field_path": ["results", "*"]}, "literal keys only"),
    ({"list_path": ["{{ parameters.list }}"]}, "literal keys only"),
    ({"list_path": []}, "needs a list_path"),
    ({"parent_fields": {}}, "needs parent_fields"),
    ({"parent_fields": {"order_id": "*"}}, "literal keys only"),
])
def test_a_wrong_definition_is_refused_when_the_manifest_is_built(overrides, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        payments_extractor(**overrides)


# ---------------------------------------------------------------------------------------------------------------------
# Paging by parents
# ---------------------------------------------------------------------------------------------------------------------


def child_pages(per_page: int = 2) -> ChildPageNumberToTotal:
    return ChildPageNumberToTotal(config={}, page_size=per_page, parameters={"name": "order_items"}, start_from_page=1,
                                  total_path=["pagination", "total_pages"], total_counts="pages", records_path=["items"])


@pytest.mark.parametrize("orders, child_rows, total_pages, expected", [
    (2, 0, 3, 2),  # a full page of orders without items: the next page is still read
    (2, 1, 3, 2),
    (2, 5, 3, 2),
    (1, 5, None, None),  # a short page of orders with many items: the last page
    (0, 0, None, None),  # an empty page
    (2, 4, 1, None),  # the advertised total is reached
])
def test_child_paging_counts_the_parents_on_the_page_not_the_rows_extracted(orders, child_rows, total_pages, expected):
    pagination = {"total_pages": total_pages} if total_pages else {}
    body = {"items": [{"id": str(i)} for i in range(orders)], "pagination": pagination}
    assert child_pages().next_page_token(answer(body), child_rows, None, 1) == expected


def test_without_it_a_full_page_of_orders_with_few_items_would_end_paging():
    # What ChildPageNumberToTotal is for: PageNumberToTotal takes the rows extracted for the page size read.
    body = {"items": [{"id": "1"}, {"id": "2"}], "pagination": {"total_pages": 3}}
    plain = PageNumberToTotal(config={}, page_size=2, parameters={}, start_from_page=1,
                              total_path=["pagination", "total_pages"], total_counts="pages")
    assert plain.next_page_token(answer(body), 1, None, 1) is None
    assert child_pages().next_page_token(answer(body), 1, None, 1) == 2


# ---------------------------------------------------------------------------------------------------------------------
# Every manifest's child streams
# ---------------------------------------------------------------------------------------------------------------------

CHILD_STREAMS = {  # connector: {child stream: (parent stream, list path, primary key, parent cursor, carried cursor)}
    "source-wickedreports": {"order_products": ("orders", ["products"], [["order_id"], ["position"]], "date", "order_date"),
                             "order_payments": ("orders", ["payments"], [["order_id"], ["position"]], "date", "order_date")},
    "source-openletter": {"order_recipients": ("orders", ["contacts"], [["id"]], None, None)},
    "source-shopline": {"order_items": ("orders", ["subtotal_items"], [["order_id"], ["id"]], "updated_at",
                                        "order_updated_at")},
}


def _streams(connector) -> Tuple[Dict[str, Any], Mapping[str, Any]]:
    """The connector's streams as built, by name, and its manifest with references resolved."""
    package = connector.name.replace("-", "_")
    module = importlib.import_module(package)
    source_class = next(getattr(module, name) for name in dir(module) if name.startswith("Source"))
    source = source_class(config=connector.sandbox_config("http://127.0.0.1:9"))
    return {stream.name: stream for stream in source.streams(source._config)}, source.manifest


def _manifest_stream(manifest, name):
    return next(s for s in manifest_streams(manifest["streams"]) if (s.get("name") or s["$parameters"]["name"]) == name)


def _without(definition: Any, keys: set) -> Any:
    """A resolved definition without ``$parameters`` and the fields the CDK copied from them into every component."""
    if isinstance(definition, dict):
        return {k: _without(v, keys) for k, v in definition.items() if k != "$parameters" and k not in keys}
    if isinstance(definition, list):
        return [_without(v, keys) for v in definition]
    return definition


@pytest.mark.parametrize("connector", [c for c in connectors() if c.name in CHILD_STREAMS], ids=lambda c: c.name)
def test_every_child_stream_reads_its_parents_pages_carries_its_key_and_cursor_and_pages_by_parents(connector):
    built, manifest = _streams(connector)
    declared = {name for name in built
                if "ChildRecordExtractor" in yaml.safe_dump(_manifest_stream(manifest, name)["retriever"]["record_selector"])}
    assert declared == set(CHILD_STREAMS[connector.name]), "a child stream this table does not list, or one missing"
    for name, (parent_name, list_path, key, parent_cursor, cursor) in CHILD_STREAMS[connector.name].items():
        child, parent = _manifest_stream(manifest, name), _manifest_stream(manifest, parent_name)
        extractor = child["retriever"]["record_selector"]["extractor"]
        assert extractor["class_name"] == "connectors_shared.extraction.ChildRecordExtractor"
        assert (extractor.get("list_path") or child["$parameters"]["list_path"]) == list_path
        assert extractor["parent_fields"]["order_id"] == "id"
        assert built[name].as_airbyte_stream().source_defined_primary_key == key
        # The same requests as the parent: endpoint, query, authentication and error handling.
        propagated = set(child["$parameters"]) | set(parent["$parameters"])
        assert child["$parameters"]["endpoint"] == parent["$parameters"]["endpoint"]
        assert _without(child["retriever"]["requester"], propagated) == _without(parent["retriever"]["requester"], propagated)
        strategy = child["retriever"]["paginator"]["pagination_strategy"]
        parent_strategy = parent["retriever"]["paginator"]["pagination_strategy"]
        if parent_strategy.get("class_name", "").endswith("PageNumberToTotal"):
            assert strategy["class_name"] == "connectors_shared.extraction.ChildPageNumberToTotal"
            assert strategy["records_path"] == parent["retriever"]["record_selector"]["extractor"]["field_path"]
            assert _without({**strategy, "class_name": None, "records_path": None}, propagated) == _without(
                {**parent_strategy, "class_name": None, "records_path": None}, propagated)
        else:  # paging that never counts the extracted records (a next-page hash)
            assert _without(strategy, propagated) == _without(parent_strategy, propagated)
        if parent_cursor is None:
            assert not child.get("incremental_sync") and not parent.get("incremental_sync")
            continue
        assert extractor["parent_fields"][cursor] == parent_cursor
        child_sync = _without(child["incremental_sync"], propagated | {"cursor_field"})
        assert child_sync == _without(parent["incremental_sync"], propagated | {"cursor_field"})  # windows, lookback
        assert built[name].cursor_field == cursor
        assert built[parent_name].cursor_field == parent_cursor


# ---------------------------------------------------------------------------------------------------------------------
# What a child stream reads of a page (connectors_shared.page_sharing cuts the pages kept for it to that)
# ---------------------------------------------------------------------------------------------------------------------


def test_a_child_declares_the_list_it_reads_and_the_first_key_of_each_carried_field():
    SHARE.share_endpoints({})
    payments_extractor(parent_fields={"order_id": "id", "customer_id": ["customer", "id"]})
    assert SHARE.needs_of("order_payments") == PageNeeds(("results",), frozenset({"payments", "id", "customer"}))


def test_a_child_carrying_its_whole_parent_or_without_a_stream_name_declares_nothing():
    SHARE.share_endpoints({})
    payments_extractor(parent_fields={"order": []})  # the whole parent record: every field is read
    payments_extractor(parameters={})
    assert SHARE.needs_of("order_payments") is None and SHARE.needs_of("") is None


def _set(record: Dict[str, Any], path: List[str], value: Any) -> None:
    for key in path[:-1]:
        record = record.setdefault(key, {})
    record[path[-1]] = value


@pytest.mark.parametrize("connector", [c for c in connectors() if c.name in CHILD_STREAMS], ids=lambda c: c.name)
def test_every_child_stream_makes_the_same_rows_from_a_page_cut_to_what_it_declared(connector):
    SHARE.share_endpoints({})
    built, manifest = _streams(connector)
    for name in CHILD_STREAMS[connector.name]:
        needs = SHARE.needs_of(name)
        assert needs is not None, f"{name} declared nothing: its parent's pages would be kept whole for it"
        child = _manifest_stream(manifest, name)
        definition = child["retriever"]["record_selector"]["extractor"]
        list_path = definition.get("list_path") or child["$parameters"]["list_path"]
        parents = []
        for number in range(2):
            parent = {"noise": {"deep": [number]}, "other": "x" * 50}
            for position, source in enumerate(definition["parent_fields"].values()):
                _set(parent, [source] if isinstance(source, str) else list(source), f"value-{number}-{position}")
            _set(parent, [list_path] if isinstance(list_path, str) else list(list_path), [{"id": "e1"}, {"id": "e2"}])
            parents.append(parent)
        page: Dict[str, Any] = {"total": 2}
        _set(page, list(definition["field_path"]), parents)
        cut = needs.cut(page)
        assert cut != page and "noise" not in orjson.dumps(cut).decode()
        extractor = ChildRecordExtractor(field_path=definition["field_path"], list_path=list_path,
                                         parent_fields=definition["parent_fields"],
                                         position_field=definition.get("position_field"), parameters={"name": name})
        assert list(extractor.extract_records(answer(cut))) == list(extractor.extract_records(answer(page)))
        assert len(list(extractor.extract_records(answer(page)))) == 4
