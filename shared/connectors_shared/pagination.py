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

from dataclasses import InitVar, dataclass, field
from typing import Any, List, Mapping, Optional, Union

import requests
from airbyte_cdk.sources.declarative.extractors.record_selector import extracted_record_count
from airbyte_cdk.sources.declarative.interpolation import InterpolatedString
from airbyte_cdk.sources.declarative.requesters.paginators.strategies.pagination_strategy import (
    PaginationStrategy,
)
from airbyte_cdk.sources.types import Config, Record, StreamSlice

from connectors_shared.decoding import parsed_body


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

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
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
        if self._page_is_last(response, last_page_size):
            return None
        page = self.start_from_page if last_page_token_value is None else int(last_page_token_value)
        pages_read = page - self.start_from_page + 1
        total = self._total(response)
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
        if self._page_is_last(response, last_page_size):
            return None
        next_offset = (int(last_page_token_value) if last_page_token_value is not None else 0) + last_page_size
        total = self._total(response)
        # Only an exact match ends paging: beyond it the total has been overtaken and cannot be trusted.
        if total is not None and next_offset == total:
            return None
        return next_offset
