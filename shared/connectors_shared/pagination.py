"""Paging strategies that stop at the total the API advertises, never one request past the end.

The CDK's ``PageIncrement`` and ``OffsetIncrement`` stop only on a short or empty page, so when the number of records
is an exact multiple of the page size they ask for one more, empty, page. Several of our APIs tell us the total
(``pagination.total``, ``data.count``, ``totalCount``, ``pagination.total_pages``); these strategies use it, and still
stop on a short or empty page when the total is missing or wrong. A total the records already read have overtaken
(LeadConnector's own example sends one order with ``"totalCount": 0``) is ignored rather than trusted, so it cannot
end a stream after its first page; paging then ends on the first short or empty page.

Example (manifest)::

    pagination_strategy:
      type: CustomPaginationStrategy
      class_name: connectors_shared.pagination.PageNumberToTotal
      page_size: "{{ config.get('page_size', 100) }}"
      start_from_page: 0
      total_path: [pagination, total]
      total_counts: records        # or "pages" for a total_pages field
"""

from __future__ import annotations

import math
import threading
from dataclasses import InitVar, dataclass, field
from typing import Any, List, Mapping, Optional, Union

import orjson
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.extractors.record_selector import extracted_record_count
from airbyte_cdk.sources.declarative.interpolation import InterpolatedString
from airbyte_cdk.sources.declarative.requesters.paginators.strategies.cursor_pagination_strategy import (
    CursorPaginationStrategy,
)
from airbyte_cdk.sources.declarative.requesters.paginators.strategies.pagination_strategy import (
    PaginationStrategy,
)
from airbyte_cdk.sources.types import Config, Record, StreamSlice
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared.decoding import parsed_body, request_path

# Pages beyond the advertised total a partition may read (rows created during the sync) before it is a loop:
# total * LOOP_SLACK_FACTOR + LOOP_SLACK_PAGES.
LOOP_SLACK_FACTOR = 1.5
LOOP_SLACK_PAGES = 2



def paging_loop(vendor: str, parameters: Mapping[str, Any], response: requests.Response, what: str) -> AirbyteTracedException:
    stream = parameters.get("name")
    message = (
        f"{vendor} is paging in a loop for {request_path(response)}{f' (stream {stream})' if stream else ''}: {what}. "
        "The stream stopped instead of reading the same records forever; no state was saved past the last complete "
        "window. Run the sync again later; if it repeats, report it to the vendor."
    )
    return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.transient_error)


def watch_for_loops(
    strategy: Any,
    vendor: str,
    parameters: Mapping[str, Any],
    response: requests.Response,
    first_page: bool,
    last_record: Optional[Record],
    max_pages: Optional[float],
) -> None:
    """Fail the partition when a page repeats the one before, or it reads more pages than ``max_pages``.

    What is counted lives on the strategy, per thread: a partition's pages are read one after another on one thread,
    while other threads read other partitions through the same strategy.
    """
    pages_read = strategy.__dict__.get("_pages_read")
    if pages_read is None:
        pages_read = strategy.__dict__.setdefault("_pages_read", threading.local())
    state = pages_read.__dict__.setdefault("state", [0, None])
    if first_page:
        state[0], state[1] = 0, None
    state[0] += 1
    fingerprint = orjson.dumps(last_record.data) if last_record is not None else None
    if fingerprint is not None and fingerprint == state[1]:
        raise paging_loop(vendor, parameters, response, "its last page ended with the same record as the page before")
    state[1] = fingerprint
    if max_pages is not None and state[0] > max_pages:
        raise paging_loop(
            vendor, parameters, response, f"{state[0]} pages read where the advertised total allows about {math.ceil(max_pages)}"
        )


def dig(body: Any, path: List[str]) -> Any:
    """``dig({"a": {"b": 3}}, ["a", "b"]) == 3``; ``None`` when any step is missing."""
    for key in path:
        if not isinstance(body, Mapping):
            return None
        body = body.get(key)
    return body


def as_number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


@dataclass
class _TotalAwareStrategy(PaginationStrategy):
    config: Config
    page_size: Optional[Union[int, str]]
    parameters: InitVar[Mapping[str, Any]]
    total_path: List[str] = field(default_factory=list)
    vendor: str = "The API"

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._parameters = parameters
        size = self.page_size
        if isinstance(size, str):
            size = InterpolatedString(size, parameters=parameters).eval(self.config)
        self._page_size = int(size) if size not in (None, "") else None

    def get_page_size(self) -> Optional[int]:
        return self._page_size

    def _page_is_last(self, response: requests.Response, last_page_size: int) -> bool:
        return last_page_size == 0 or bool(self._page_size and last_page_size < self._page_size)

    def _total(self, response: requests.Response) -> Optional[float]:
        return as_number(dig(parsed_body(response), self.total_path)) if self.total_path else None

    def _watch(
        self, response: requests.Response, first_page: bool, last_record: Optional[Record], total_pages: Optional[float]
    ) -> None:
        max_pages = total_pages * LOOP_SLACK_FACTOR + LOOP_SLACK_PAGES if total_pages else None
        watch_for_loops(self, self.vendor, self._parameters, response, first_page, last_record, max_pages)


@dataclass
class PageNumberToTotal(_TotalAwareStrategy):
    """``page`` / ``per_page`` paging; stops when the pages read reach ``total`` records (or ``total`` pages)."""

    start_from_page: int = 0
    total_counts: str = "records"

    @property
    def initial_token(self) -> Optional[Any]:
        return self.start_from_page

    def next_page_token(
        self,
        response: requests.Response,
        last_page_size: int,
        last_record: Optional[Record],
        last_page_token_value: Optional[Any],
        page_size_override: Optional[int] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> Optional[Any]:
        last_page_size = extracted_record_count(response, default=last_page_size)
        page = self.start_from_page if last_page_token_value is None else int(last_page_token_value)
        total = self._total(response)
        if total and self._page_size:
            total_pages = total if self.total_counts == "pages" else total / self._page_size
        else:
            total_pages = None
        self._watch(response, page == self.start_from_page, last_record, total_pages)
        if self._page_is_last(response, last_page_size):
            return None
        pages_read = page - self.start_from_page + 1
        if total is not None:
            # Only an exact match ends paging: beyond it the total has been overtaken and cannot be trusted.
            read_so_far = pages_read if self.total_counts == "pages" else pages_read * (self._page_size or 0)
            if read_so_far == total:
                return None
        return page + 1


@dataclass
class OffsetToTotal(_TotalAwareStrategy):
    """``limit`` / ``offset`` paging; stops when ``offset + page`` reaches ``total`` or a page comes back short."""

    @property
    def initial_token(self) -> Optional[Any]:
        return 0

    def next_page_token(
        self,
        response: requests.Response,
        last_page_size: int,
        last_record: Optional[Record],
        last_page_token_value: Optional[Any],
        page_size_override: Optional[int] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> Optional[Any]:
        last_page_size = extracted_record_count(response, default=last_page_size)
        offset = int(last_page_token_value) if last_page_token_value is not None else 0
        total = self._total(response)
        self._watch(response, offset == 0, last_record, total / self._page_size if total and self._page_size else None)
        if self._page_is_last(response, last_page_size):
            return None
        next_offset = offset + last_page_size
        # Only an exact match ends paging: beyond it the total has been overtaken and cannot be trusted.
        if total is not None and next_offset == total:
            return None
        return next_offset


@dataclass
class CursorPaginationWithoutLoops(CursorPaginationStrategy):
    """The CDK's ``CursorPagination`` (a ``next`` hash, a ``last_id``) that fails instead of paging in a loop.

    A token equal to the one just used, a page ending with the same record as the page before, or more pages than
    ``total_pages_path`` advertises (with slack) fails the partition with a message naming the stream. The CDK's
    strategy would request the same page forever: about 100k duplicate records a minute.

    Example (manifest)::

        pagination_strategy:
          type: CustomPaginationStrategy
          class_name: connectors_shared.pagination.CursorPaginationWithoutLoops
          vendor: Wicked Reports
          cursor_value: "{{ response.get('next') }}"
          total_pages_path: [totalPages]
    """

    vendor: str = "The API"
    total_pages_path: List[str] = field(default_factory=list)

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._parameters = parameters

    def next_page_token(
        self,
        response: requests.Response,
        last_page_size: int,
        last_record: Optional[Record],
        last_page_token_value: Optional[Any] = None,
        page_size_override: Optional[int] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> Optional[Any]:
        total_pages = as_number(dig(parsed_body(response), self.total_pages_path)) if self.total_pages_path else None
        max_pages = total_pages * LOOP_SLACK_FACTOR + LOOP_SLACK_PAGES if total_pages else None
        watch_for_loops(self, self.vendor, self._parameters, response, last_page_token_value is None, last_record, max_pages)
        token = super().next_page_token(
            response, last_page_size, last_record, last_page_token_value, page_size_override, stream_slice
        )
        if token is not None and last_page_token_value is not None and str(token) == str(last_page_token_value):
            raise paging_loop(
                self.vendor, self._parameters, response, f"it sent the same next-page token twice in a row ({token})"
            )
        return token
