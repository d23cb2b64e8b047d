"""Record extraction by a plain field path, without walking the whole page; child rows from lists inside records.

The CDK's ``DpathExtractor`` hands even a fixed path such as ``[results]`` to ``dpath.get``, which walks every node
of the page (every field of every record) to match it: with 1000-record pages it was the largest single cost of a
read, more than parsing the JSON. ``FieldPathExtractor`` follows the keys directly.

Example (manifest)::

    extractor:
      type: CustomRecordExtractor
      class_name: connectors_shared.extraction.FieldPathExtractor
      field_path: [data, rows]

A list at the path yields its items, an object yields itself, anything else (missing, null, empty) yields nothing.
Paths are literal keys: wildcards and interpolation are refused at start-up.

``ChildRecordExtractor`` turns a list inside each record (an order's ``payments``) into rows of their own stream,
each carrying fields of its parent (the order's id and date); ``ChildPageNumberToTotal`` is the page-number paging
for such a stream, which counts a page by its parent records, not by the rows extracted from them.
"""

from __future__ import annotations

from collections.abc import Mapping  # isinstance against the ABC itself: typing.Mapping's check costs more per record
from dataclasses import InitVar, dataclass, field
from typing import Any, Dict, Iterable, List, MutableMapping, Optional, Tuple, Union

import orjson
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.decoders.decoder import Decoder
from airbyte_cdk.sources.declarative.extractors.record_extractor import RecordExtractor
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared import page_sharing
from connectors_shared.decoding import StrictJsonDecoder, parsed_body, request_path
from connectors_shared.page_sharing import PageNeeds
from connectors_shared.pagination import PageNumberToTotal, dig
from connectors_shared.secret_masking import shorten


def _literal_path(path: Any, owner: str, what: str) -> List[str]:
    keys = [path] if isinstance(path, str) else list(path or [])
    for key in keys:
        if not isinstance(key, str) or not key or "*" in key or "{{" in key:
            raise ValueError(f"{owner} takes literal keys only, got {key!r} in {what} {path!r}")
    return keys


@dataclass
class FieldPathExtractor(RecordExtractor):
    """``DpathExtractor`` for literal paths: a dictionary lookup per level instead of a walk of the page."""

    field_path: List[str]
    config: Optional[Mapping[str, Any]] = None
    parameters: InitVar[Optional[Mapping[str, Any]]] = None
    decoder: Decoder = field(default_factory=StrictJsonDecoder)

    def __post_init__(self, parameters: Optional[Mapping[str, Any]]) -> None:
        for key in self.field_path:
            if not isinstance(key, str) or "*" in key or "{{" in key:
                raise ValueError(f"FieldPathExtractor takes literal keys only, got {key!r} in {self.field_path!r}")

    def extract_records(self, response: requests.Response) -> Iterable[MutableMapping[Any, Any]]:
        for body in self.decoder.decode(response):
            extracted: Any = body
            for key in self.field_path:
                extracted = extracted.get(key) if isinstance(extracted, Mapping) else None
            if isinstance(extracted, list):
                yield from extracted
            elif extracted:
                yield extracted


def _described(value: Any) -> str:
    """What a JSON value is, in words a user reads: ``a string ("oops")``, ``a number (42)``, ``null``."""
    if value is None:
        return "null"
    kind = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list",
            dict: "an object"}.get(type(value), "a value")
    return f"{kind} ({shorten(orjson.dumps(value, default=str).decode(), 60, '...')})"


@dataclass
class ChildRecordExtractor(RecordExtractor):
    """One row per element of a list inside each record, carrying fields of that record.

    Analysts join order lines and payments in SQL; left as JSON arrays inside the order, every warehouse unnests them
    differently. A child stream reads the same pages as its parent stream (same requester, paging and date windows)
    with this extractor in place of ``FieldPathExtractor``: the parent records are found at ``field_path``, the list
    in each at ``list_path``, and every element becomes a row with ``parent_fields`` copied from its record (renamed:
    child field -> parent field or path) and its index in the list as ``position_field`` (when given).

    Example (manifest)::

        extractor:
          type: CustomRecordExtractor
          class_name: connectors_shared.extraction.ChildRecordExtractor
          vendor: Wicked Reports
          field_path: [results]
          list_path: [payments]
          parent_fields: {order_id: id, order_date: date}
          position_field: position

    turns ``{"id": "o1", "date": "2024-01-05T06:00:27Z", "payments": [{"status": "APPROVED", "amount": 79},
    {"status": "REFUNDED", "amount": -79}]}`` into::

        {"status": "APPROVED", "amount": 79, "order_id": "o1", "order_date": "2024-01-05T06:00:27Z", "position": 0}
        {"status": "REFUNDED", "amount": -79, "order_id": "o1", "order_date": "2024-01-05T06:00:27Z", "position": 1}

    - A record whose list is missing, ``null`` or empty gives no row, and no error.
    - An element that is not a JSON object, or a list field holding something other than a list, fails the stream
      with a sentence naming the vendor, the stream, the parent (its first carried field) and the position: a row
      without its fields, or a silently dropped element, would be a wrong table.
    - Carried fields and the position win over an element's own field of the same name: they are the row's key.
    - ``list_path`` and ``parent_fields`` may come from the stream's ``$parameters`` (the CDK copies a parameter into
      every component field of the same name), so one definition serves several child streams.

    The page contract (``VendorErrorHandler``) and the loop guards judge the page, not these rows; page-number paging
    that stops on a short page must count parents: see ``ChildPageNumberToTotal``.
    """

    field_path: List[str]
    list_path: Union[List[str], str]
    parent_fields: Mapping[str, Union[str, List[str]]]
    position_field: Optional[str] = None
    vendor: str = "The API"
    config: Optional[Mapping[str, Any]] = None
    parameters: InitVar[Optional[Mapping[str, Any]]] = None
    decoder: Decoder = field(default_factory=StrictJsonDecoder)

    def __post_init__(self, parameters: Optional[Mapping[str, Any]]) -> None:
        self._stream = str((parameters or {}).get("name") or "")
        self.field_path = _literal_path(self.field_path, "ChildRecordExtractor", "field_path")
        self._list_path = _literal_path(self.list_path, "ChildRecordExtractor", "list_path")
        if not self._list_path:
            raise ValueError("ChildRecordExtractor needs a list_path: the list inside each record to make rows of")
        if not isinstance(self.parent_fields, Mapping) or not self.parent_fields:
            raise ValueError(
                "ChildRecordExtractor needs parent_fields, e.g. {order_id: id}: at least the field that identifies "
                f"the parent of each row; got {self.parent_fields!r}"
            )
        self._carried: List[Tuple[str, List[str]]] = [
            (str(child), _literal_path(source, "ChildRecordExtractor", f"parent_fields[{child!r}]"))
            for child, source in self.parent_fields.items()
        ]
        self._list_name = ".".join(self._list_path)
        if self._stream and all(source for _, source in self._carried):
            # It reads of each parent only the list and the carried fields: a page kept for it may hold only those.
            read = {self._list_path[0]} | {source[0] for _, source in self._carried}
            page_sharing.SHARE.reads_only(self._stream, PageNeeds(tuple(self.field_path), frozenset(read)))

    def extract_records(self, response: requests.Response) -> Iterable[MutableMapping[Any, Any]]:
        carried_fields, list_path, position_field = self._carried, self._list_path, self.position_field
        for body in self.decoder.decode(response):
            parents: Any = body
            for key in self.field_path:
                parents = parents.get(key) if isinstance(parents, Mapping) else None
            if isinstance(parents, Mapping):
                parents = [parents]
            elif not isinstance(parents, list):
                continue  # no records at all: the page contract of the error handler judges the page
            # ``type(x) is dict`` first: parsed JSON objects are dicts, and the ABC check costs a call per test.
            for index, parent in enumerate(parents):
                if type(parent) is not dict and not isinstance(parent, Mapping):
                    raise self._error(
                        response,
                        f"a record that is not a JSON object at '{'.'.join(self.field_path)}'[{index}]: "
                        f"{_described(parent)}",
                    )
                elements: Any = parent
                for key in list_path:
                    elements = elements.get(key) if type(elements) is dict or isinstance(elements, Mapping) else None
                if not elements:
                    continue  # missing, null or empty: an order without payments has no payment rows
                carried: Dict[str, Any] = {}
                for child, source in carried_fields:
                    value: Any = parent
                    for key in source:
                        value = value.get(key) if type(value) is dict or isinstance(value, Mapping) else None
                    carried[child] = value
                if not isinstance(elements, list):
                    raise self._error(
                        response, f"'{self._list_name}' as {_described(elements)} instead of a list{self._of(carried)}"
                    )
                for position, element in enumerate(elements):
                    if type(element) is not dict:
                        if not isinstance(element, Mapping):
                            raise self._error(
                                response,
                                f"an element of '{self._list_name}' that is not a JSON object: {_described(element)} "
                                f"at position {position}{self._of(carried)}",
                            )
                    row = dict(element)
                    row.update(carried)
                    if position_field:
                        row[position_field] = position
                    yield row

    def _of(self, carried: Mapping[str, Any]) -> str:
        name, value = next(iter(carried.items()))
        return f" in the record with {name} {value}"

    def _error(self, response: requests.Response, what: str) -> AirbyteTracedException:
        stream = f" (stream {self._stream})" if self._stream else ""
        message = (
            f"{self.vendor} answered {request_path(response)}{stream} with {what}. The stream stopped rather than "
            "drop it or emit a row without its fields; no state was saved past the last complete window. Run the sync "
            f"again; if this persists, report it to {self.vendor}."
        )
        return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.transient_error)


@dataclass
class ChildPageNumberToTotal(PageNumberToTotal):
    """``PageNumberToTotal`` for a child stream: a page is short or empty by its parent records, not its rows.

    ``PageNumberToTotal`` stops on a page shorter than ``page_size``, and counts a page by what the extractor
    returned. A ``ChildRecordExtractor`` returns rows, not parents: a full page of 50 orders where only 30 have items
    gives 30 rows and would end paging with pages still unread (or 120 recipient rows would not see a short last
    page). This strategy counts the records at ``records_path`` of the page itself, the same list the page contract
    of ``VendorErrorHandler`` checks.

    Example (manifest), beside the parent's ``PageNumberToTotal`` settings::

        pagination_strategy:
          type: CustomPaginationStrategy
          class_name: connectors_shared.extraction.ChildPageNumberToTotal
          records_path: [data, rows]
    """

    records_path: List[str] = field(default_factory=list)

    def _page_is_last(self, response: requests.Response, last_page_size: int) -> bool:
        if self.records_path:
            parents = dig(parsed_body(response), self.records_path)
            last_page_size = len(parents) if isinstance(parents, list) else 0
        return super()._page_is_last(response, last_page_size)
