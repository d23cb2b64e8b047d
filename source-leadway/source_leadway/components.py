"""Leadway-specific components referenced by ``class_name`` from manifest.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import requests
from airbyte_cdk.sources.declarative.extractors.record_selector import extracted_record_count
from airbyte_cdk.sources.types import Record, StreamSlice

from connectors_shared.pagination import OffsetToTotal


@dataclass
class OffsetToConsistentTotal(OffsetToTotal):
    """``OffsetToTotal`` that stops trusting ``total`` once the API has sent more records than it announced.

    LeadConnector's own example answer carries one order and ``"totalCount": 0``. Trusting such a total would end
    every stream after its first page and silently drop the rest, so a total below the records already read is
    ignored and paging ends on the first short or empty page instead. A consistent total still ends paging without
    requesting the page after the last one.

    Before: ``offset=0`` returns 100 records with ``totalCount: 0`` -> stop (records 100.. are lost).
    After:  ``offset=0`` returns 100 records with ``totalCount: 0`` -> ``offset=100`` ... until a short page.
    """

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
        # Past a total we have already overtaken, the total is stale or wrong: only a short page can end paging.
        return None if total is not None and next_offset == total else next_offset
