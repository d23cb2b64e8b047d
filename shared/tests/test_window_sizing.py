"""Date windows sized from the data (connectors_shared.window_sizing): the arithmetic, the total each paginator
advertises, and the cursor that probes once and cuts its windows with the sized step."""

from __future__ import annotations

import datetime as dt
import json
import math
import logging
from typing import Any, List, Optional

import pytest
import requests
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.declarative.models import DatetimeBasedCursor as DatetimeBasedCursorModel
from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory
from airbyte_cdk.sources.types import StreamSlice

from connectors_shared import cdk_hooks, window_sizing
from connectors_shared.component_factory import ComponentFactory
from connectors_shared.pagination import CursorPaginationWithoutLoops, OffsetToTotal, PageNumberToTotal
from connectors_shared.window_sizing import PAGES_PER_WINDOW, advertised_pages, sized_step

DAY = dt.timedelta(days=1)
YEAR = dt.timedelta(days=365)
WIDEST = dt.timedelta(days=3650)
FIXED = dt.timedelta(days=30)


# --- the arithmetic -------------------------------------------------------------------------------------------------


def test_a_sparse_year_is_one_window():
    assert sized_step(YEAR - DAY, pages=3, granularity=DAY, max_step=WIDEST, unsized_step=FIXED) == YEAR


def test_an_empty_range_is_one_window_as_wide_as_allowed():
    assert sized_step(YEAR - DAY, pages=0, granularity=DAY, max_step=WIDEST, unsized_step=FIXED) == WIDEST


def test_a_dense_range_is_cut_in_windows_of_about_ten_pages():
    # 10,000 records at 100 a page over a year: 100 pages, 10 windows of 37 days (365 / 10 rounded up to a day).
    step = sized_step(YEAR - DAY, pages=100, granularity=DAY, max_step=WIDEST, unsized_step=FIXED)
    assert step == dt.timedelta(days=37)
    windows = -(-365 // step.days)
    assert windows == 10 and 100 / windows <= PAGES_PER_WINDOW


def test_a_window_is_never_longer_than_the_api_allows():
    # Wicked Reports /clicks: 30 days at most, however sparse.
    assert sized_step(YEAR - DAY, pages=1, granularity=DAY, max_step=FIXED, unsized_step=FIXED) == FIXED


def test_a_window_is_never_shorter_than_the_cursor_granularity():
    assert sized_step(dt.timedelta(days=9), pages=5000, granularity=DAY, max_step=WIDEST, unsized_step=FIXED) == DAY
    second = dt.timedelta(seconds=1)
    assert sized_step(dt.timedelta(hours=1), pages=10**9, granularity=second, max_step=WIDEST, unsized_step=FIXED) == second


def test_a_window_is_rounded_up_to_whole_granularity_units():
    # 100 days in 3 windows: 34 days (33.3 rounded up), never 33 days and 8 hours.
    assert sized_step(dt.timedelta(days=99), pages=25, granularity=DAY, max_step=WIDEST, unsized_step=FIXED) == \
        dt.timedelta(days=34)
    second = dt.timedelta(seconds=1)
    step = sized_step(dt.timedelta(days=1) - second, pages=30, granularity=second, max_step=WIDEST, unsized_step=FIXED)
    assert step == dt.timedelta(seconds=28800)  # 86,400 seconds in 3 windows


def test_no_total_keeps_the_fixed_window():
    assert sized_step(YEAR - DAY, pages=None, granularity=DAY, max_step=WIDEST, unsized_step=FIXED) == FIXED
    assert sized_step(YEAR - DAY, pages=40, granularity=None, max_step=WIDEST, unsized_step=FIXED) == FIXED


# --- the total each paginator advertises -----------------------------------------------------------------------------


def answer(body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(body).encode()
    response.url = "https://api.example.com/orders"
    return response


def strategy(cls, **kwargs):
    return cls(config={}, parameters={}, **kwargs)


@pytest.mark.parametrize(
    "paginator, body, pages",
    [
        (lambda: strategy(OffsetToTotal, page_size=100, total_path=["totalCount"]), {"data": [], "totalCount": 2501}, 26),
        (lambda: strategy(PageNumberToTotal, page_size=100, total_path=["pagination", "total"]),
         {"data": [], "pagination": {"total": "250"}}, 3),
        (lambda: strategy(PageNumberToTotal, page_size=50, total_path=["pagination", "total_pages"], total_counts="pages"),
         {"items": [], "pagination": {"total_pages": 7}}, 7),
        (lambda: CursorPaginationWithoutLoops(config={}, parameters={}, cursor_value="{{ response.next }}",
                                              total_pages_path=["totalPages"]), {"results": [], "totalPages": 4}, 4),
        (lambda: strategy(OffsetToTotal, page_size=100, total_path=["totalCount"]), {"data": []}, None),
        (lambda: strategy(OffsetToTotal, page_size=100, total_path=["totalCount"]), {"data": [], "totalCount": "n/a"}, None),
        (lambda: strategy(OffsetToTotal, page_size=100, total_path=["totalCount"]), {"data": [], "totalCount": -3}, None),
        (lambda: strategy(OffsetToTotal, page_size=None, total_path=["totalCount"]), {"data": [], "totalCount": 9}, None),
        (lambda: strategy(OffsetToTotal, page_size=100), {"data": [], "totalCount": 9}, None),
    ],
    ids=["records", "records-as-text", "pages", "wicked-pages", "missing", "not-a-number", "negative", "no-page-size",
         "no-total-path"],
)
def test_pages_come_from_the_total_each_paginator_reads(paginator, body, pages):
    assert advertised_pages(paginator(), answer(body)) == pages


def test_a_body_that_is_not_json_gives_no_total():
    response = answer({})
    response._content = b"<html>busy</html>"
    assert advertised_pages(strategy(OffsetToTotal, page_size=100, total_path=["totalCount"]), response) is None


# --- the cursor ----------------------------------------------------------------------------------------------------

TODAY = dt.datetime.now(dt.timezone.utc).date()


def day(days_ago: int) -> str:
    return (TODAY - dt.timedelta(days=days_ago)).isoformat()


class Retriever:
    """Stands for the stream's ``HookedSimpleRetriever``: answers each probe with ``total`` records."""

    name = "orders"

    def __init__(self, total: Optional[int]) -> None:
        self.total = total
        self.probed: List[StreamSlice] = []
        self.paginator = type("Paginator", (), {"pagination_strategy": strategy(
            OffsetToTotal, page_size=100, total_path=["totalCount"])})()

    def first_page(self, stream_slice: StreamSlice) -> requests.Response:
        self.probed.append(stream_slice)
        return answer({"data": [], "totalCount": self.total} if self.total is not None else {"data": []})


def cursor(start: str, state: Optional[dict] = None, unsized: Optional[str] = "P30D", step: str = "P3650D"):
    factory = cdk_hooks.recast(ModelToComponentFactory(), ComponentFactory)
    definition = {
        "type": "DatetimeBasedCursor",
        "cursor_field": "createdAt",
        "datetime_format": "%Y-%m-%d",
        "start_datetime": start,
        "end_datetime": day(0),
        "step": step,
        "cursor_granularity": "P1D",
        "$parameters": {"unsized_step": unsized} if unsized else {},
    }
    return factory.create_concurrent_cursor_from_datetime_based_cursor(
        model_type=DatetimeBasedCursorModel,
        component_definition=definition,
        stream_name="orders",
        stream_namespace=None,
        stream_state=state or {},
        config={},
        message_repository=None,
    )


def windows(built) -> List[tuple]:
    return [(s["start_time"], s["end_time"]) for s in built.stream_slices()]


def test_a_range_within_the_fixed_window_is_read_as_before_without_a_probe():
    built, retriever = cursor(day(20)), Retriever(total=100_000)
    built.attach_retriever(retriever)
    assert windows(built) == [(day(20), day(0))]
    assert retriever.probed == []


def test_a_sparse_year_is_probed_once_and_read_in_one_window():
    built, retriever = cursor(day(364)), Retriever(total=40)
    built.attach_retriever(retriever)
    assert windows(built) == [(day(364), day(0))]
    assert [(s["start_time"], s["end_time"]) for s in retriever.probed] == [(day(364), day(0))]
    # The window is the probed slice: the retriever answers its first page with the probe's answer, once.
    kept = retriever.first_page_source.take(retriever.probed[0])
    assert kept is not None and kept.json() == {"data": [], "totalCount": 40}
    assert retriever.first_page_source.take(retriever.probed[0]) is None


def test_a_dense_year_is_read_in_windows_of_about_ten_pages_that_meet_without_gap():
    built, retriever = cursor(day(364)), Retriever(total=10_000)  # 100 pages
    built.attach_retriever(retriever)
    cut = windows(built)
    assert len(cut) == 10 and len(retriever.probed) == 1
    assert cut[0] == (day(364), day(328)) and cut[-1][1] == day(0)  # 37 days each, the last one shorter
    assert retriever.first_page_source.take(retriever.probed[0]) is None  # no window reads it: not kept
    for (_, end), (start, _) in zip(cut, cut[1:]):
        assert dt.date.fromisoformat(start) - dt.date.fromisoformat(end) == DAY


def test_the_probe_covers_at_most_the_widest_window():
    built, retriever = cursor(day(99), step="P30D"), Retriever(total=1)  # an API limited to 30 days
    built.attach_retriever(retriever)
    cut = windows(built)
    assert [(s["start_time"], s["end_time"]) for s in retriever.probed] == [(day(99), day(70))]
    assert cut[0] == (day(99), day(70)) and len(cut) == 4


def test_resuming_from_a_state_sizes_the_windows_still_to_read():
    built, retriever = cursor(day(364), state={"createdAt": day(100)}), Retriever(total=3000)  # 30 pages
    built.attach_retriever(retriever)
    cut = windows(built)
    assert [(s["start_time"], s["end_time"]) for s in retriever.probed] == [(day(100), day(0))]
    assert cut[0] == (day(100), day(67)) and len(cut) == 3


def test_no_total_keeps_the_fixed_windows_and_says_so_once(caplog):
    built, retriever = cursor(day(65)), Retriever(total=None)
    built.attach_retriever(retriever)
    with caplog.at_level(logging.INFO):
        cut = windows(built)
    assert cut == [(day(65), day(36)), (day(35), day(6)), (day(5), day(0))]
    lines = [r for r in caplog.records if "advertised no total" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO


def test_without_a_retriever_the_fixed_windows_are_kept():
    assert windows(cursor(day(65))) == [(day(65), day(36)), (day(35), day(6)), (day(5), day(0))]


def test_without_an_unsized_step_the_manifest_step_is_cut_as_the_cdk_does():
    built, retriever = cursor(day(65), unsized=None, step="P30D"), Retriever(total=10_000)
    built.attach_retriever(retriever)
    assert windows(built) == [(day(65), day(36)), (day(35), day(6)), (day(5), day(0))]
    assert retriever.probed == []


def test_the_range_ends_where_it_ended_for_the_probe():
    # "now" moving on between the probe and the windows (a second for TextYess and SHOPLINE, midnight for the others)
    # must not add a window of that moment, nor move the one window off the probed slice whose answer it reuses.
    built, retriever = cursor(day(364)), Retriever(total=40)
    built.attach_retriever(retriever)
    now, calls = built.end_provider(), iter(range(100))
    built.end_provider = lambda: now + next(calls) * DAY
    assert windows(built) == [(day(364), day(0))]
    assert [(s["start_time"], s["end_time"]) for s in retriever.probed] == [(day(364), day(0))]


def test_within_a_read_every_range_that_ends_now_ends_at_the_first_streams_now():
    now = dt.datetime.now(dt.timezone.utc)
    later = now + dt.timedelta(seconds=2)
    configured_end = dt.datetime(2024, 6, 30, tzinfo=dt.timezone.utc)
    assert window_sizing.sync_range_end(later) == later  # outside a read: as given
    window_sizing.begin_sync()
    try:
        assert window_sizing.sync_range_end(now) == now
        assert window_sizing.sync_range_end(later) == now  # a child stream sliced 2 s after its parent
        assert window_sizing.sync_range_end(configured_end) == configured_end  # an end_date is not "now"
        naive = now.replace(tzinfo=None)  # a naive "now" is pinned apart from the aware ones
        assert window_sizing.sync_range_end(naive) == naive
        assert window_sizing.sync_range_end(naive + dt.timedelta(seconds=1)) == naive
        window_sizing.begin_sync()  # the next read has its own now
        assert window_sizing.sync_range_end(later) == later
    finally:
        window_sizing.end_sync()
    assert window_sizing.sync_range_end(later) == later


@pytest.mark.parametrize("pages, windows", [(1, 1), (3, 1), (4, 2), (10, 2), (20, 2), (21, 3), (100, 10)])
def test_a_range_of_four_pages_or_more_is_cut_in_two_windows_at_least_so_two_workers_read_it(pages, windows):
    day = dt.timedelta(days=1)
    step = sized_step(dt.timedelta(days=99), pages, day, dt.timedelta(days=3650), dt.timedelta(days=30))
    assert math.ceil(100 / (step / day)) == windows
