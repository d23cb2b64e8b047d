"""Date windows sized from the data: as wide as the API allows where the data is sparse, split where it is dense.

Every incremental stream reads its range to sync, ``[state - lookback, now]``, in date windows, and saves its state
after each finished window. Fixed 30-day windows cost a small account one request per 30 days at least (a year from
start_date: 13 requests where one page would do), and give a dense account windows of hundreds of pages (a killed sync
reads them again). Every incremental API here advertises a total for a date-filtered query (Leadway ``totalCount``,
TextYess ``pagination.total``: records; SHOPLINE ``pagination.total_pages``, Wicked Reports ``totalPages``: pages),
so one request tells how many pages the range holds. The window cursor (``connectors_shared.cursors``) then does:

1. When the range fits in one *unsized* window (``$parameters.unsized_step`` of the manifest's cursor: the fixed
   window these streams always had), nothing changes: that one window, no extra request.
2. Otherwise it sends ONE probe: the stream's own first request over its first window at the manifest's ``step``,
   which is now the *widest* window (the API's documented limit, e.g. Wicked Reports clicks 30 days; about ten
   years where the API has none). The probe goes through the stream's retriever: authentication, error handling,
   the page contract, pacing and per-location budgets all apply, and a partitioned stream's probe carries its
   partition. When the first sized window is that same request, the probe's answer is its first page: it is not
   requested twice (``WindowProbe.take``).
3. ``sized_step``: from the advertised total, pages = total / page size (or the page total), windows =
   ceil(pages / ``PAGES_PER_WINDOW``), and the window = probed span / windows, rounded up to the cursor's
   granularity, never below one granularity unit nor above ``step``. A killed sync reads again the windows it had
   open, about ``PAGES_PER_WINDOW`` pages each, one per worker (the manifest's ``concurrency_level``), and a sparse
   account's year is one window.
4. No usable total (missing, not a number, a failed vendor field): the unsized window, as before, and one INFO line.

The density is assumed even over the probed span. Where it is not (a shop that grew), a window holds more pages than
``PAGES_PER_WINDOW`` or fewer; the records read are the same either way, only the checkpoints move.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import math
import threading
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple

import orjson
from isodate import parse_duration

from connectors_shared.pagination import as_number, dig
from connectors_shared.decoding import parsed_body

logger = logging.getLogger("airbyte")

# About this many pages per window: what a killed sync may read again.
PAGES_PER_WINDOW = 10
# From this many pages a range is cut in two windows at least, so that two workers can read it side by side: the
# stream the CDK reads last otherwise pages alone through its one window while the other worker idles.
SPLIT_FROM_PAGES = 4


def sized_step(
    span: _dt.timedelta,
    pages: Optional[float],
    granularity: Optional[_dt.timedelta],
    max_step: _dt.timedelta,
    unsized_step: _dt.timedelta,
) -> _dt.timedelta:
    """The window length for a range of ``span`` (first to last instant, both included) holding ``pages`` pages.

    ``pages`` None (no usable total) gives ``unsized_step``. Otherwise ``span`` is cut in ceil(pages /
    ``PAGES_PER_WINDOW``) windows (two at least from ``SPLIT_FROM_PAGES`` pages), each rounded up to whole
    ``granularity`` units, at least one unit and at most ``max_step``.
    """
    if pages is None or not granularity or granularity <= _dt.timedelta(0):
        return unsized_step
    if pages <= 0:
        return max_step
    units = span // granularity + 1  # granularity units in the span, both ends included
    windows = max(1 if pages < SPLIT_FROM_PAGES else 2, math.ceil(pages / PAGES_PER_WINDOW))
    step = math.ceil(units / windows) * granularity
    return min(max(step, granularity), max_step)


def advertised_pages(strategy: Any, response: Any) -> Optional[float]:
    """How many pages the query of ``response`` holds, from the total the API advertised; None when unknown.

    ``strategy`` is the stream's pagination strategy (``connectors_shared.pagination``): it knows where the total is
    (``total_path`` / ``total_pages_path``), whether it counts records or pages (``total_counts``) and the page size.
    """
    if response is None:
        return None
    path = getattr(strategy, "total_pages_path", None)
    counts = "pages"
    if not path:
        path = getattr(strategy, "total_path", None)
        counts = getattr(strategy, "total_counts", "records")
    if not path:
        return None
    try:
        total = as_number(dig(parsed_body(response), list(path)))
    except Exception:  # a body that is not JSON: the window's own read reports it
        return None
    if total is None or total < 0 or math.isnan(total) or math.isinf(total):
        return None
    if counts == "pages":
        return float(math.ceil(total))
    get_size = getattr(strategy, "get_page_size", None)
    size = get_size() if callable(get_size) else None
    if not size:
        return None
    return float(math.ceil(total / int(size)))


def _slice_key(stream_slice: Any) -> Tuple[bytes, bytes]:
    return (
        orjson.dumps(dict(stream_slice.partition), option=orjson.OPT_SORT_KEYS, default=str),
        orjson.dumps(dict(stream_slice.cursor_slice), option=orjson.OPT_SORT_KEYS, default=str),
    )


class WindowProbe:
    """The probe of one stream: its first page over a range, through the stream's retriever.

    ``retriever`` is a ``connectors_shared.cdk_hooks.HookedSimpleRetriever``: ``first_page(slice)`` sends the request
    the stream sends first for that slice, and hands the answer back (once) when a window reads that same slice.
    """

    def __init__(self, retriever: Any, stream_name: str) -> None:
        self.retriever = retriever
        self.stream_name = stream_name
        self._kept: Dict[Tuple[bytes, bytes], Any] = {}
        self._lock = threading.Lock()
        retriever.first_page_source = self

    def pages(self, stream_slice: Any) -> Optional[float]:
        """The pages the API advertises for ``stream_slice``; its answer is kept for the window that reads it."""
        response = self.retriever.first_page(stream_slice)
        strategy = getattr(getattr(self.retriever, "paginator", None), "pagination_strategy", None)
        pages = advertised_pages(strategy, response)
        if pages is None:
            logger.info(
                f"Stream {self.stream_name}: the API advertised no total for {dict(stream_slice.cursor_slice)}, "
                "so its windows keep their fixed size."
            )
        if response is not None:
            with self._lock:
                if len(self._kept) > 1000:  # never read (a window that failed before): keep memory bounded
                    self._kept.clear()
                self._kept[_slice_key(stream_slice)] = response
        return pages

    def take(self, stream_slice: Any) -> Any:
        """The probe's answer for ``stream_slice`` (its first page), once; None when it was not probed."""
        if not self._kept:
            return None
        with self._lock:
            return self._kept.pop(_slice_key(stream_slice), None)

    def forget(self) -> None:
        with self._lock:
            self._kept.clear()


# The probe and partition of the per-partition cursor generating a partition's windows, for its child cursor
# (``HookedPartitionCursor._generate_slices_from_partition`` sets it around the child's first window).
_partition_context = threading.local()


def current_partition_probe() -> Optional[Tuple[WindowProbe, Any]]:
    return getattr(_partition_context, "value", None)


@contextlib.contextmanager
def partition_probe(probe: Optional[WindowProbe], partition: Any) -> Iterator[None]:
    """``with partition_probe(probe, partition):`` the child cursor built now probes through ``probe`` for it."""
    previous = getattr(_partition_context, "value", None)
    _partition_context.value = (probe, partition) if probe is not None else None
    try:
        yield
    finally:
        _partition_context.value = previous


# A range that ends "now" ends, for every stream of one sync, at the first such "now" a stream cut its range at: a
# child stream and its parent then ask for the very same windows, whose pages are fetched once (page_sharing), and
# every stream of the sync stops at the same instant.
SAME_NOW_SECONDS = 300.0
_sync_now: Optional[Dict[str, _dt.datetime]] = None  # None outside a read (begin_sync)
_sync_now_lock = threading.Lock()


def begin_sync() -> None:
    """A read starts (``ManifestSource.read``): its streams' ranges that end now will end at one same instant."""
    global _sync_now
    with _sync_now_lock:
        _sync_now = {}


def end_sync() -> None:
    """The read is over: a range cut after it (a check, the next read's probe) ends at its own now."""
    global _sync_now
    with _sync_now_lock:
        _sync_now = None


def sync_range_end(range_end: _dt.datetime) -> _dt.datetime:
    """``range_end``, or the same "now" an earlier stream of this read cut at if ``range_end`` is "now" too."""
    current = _dt.datetime.now(range_end.tzinfo or _dt.timezone.utc)
    if range_end.tzinfo is None:
        current = current.replace(tzinfo=None)
    if _sync_now is None or abs((current - range_end).total_seconds()) > SAME_NOW_SECONDS:
        return range_end  # outside a read, or a configured end (end_date) rather than now
    with _sync_now_lock:
        first = _sync_now.setdefault(str(range_end.tzinfo), range_end)
    if first <= range_end and (range_end - first).total_seconds() <= SAME_NOW_SECONDS:
        return first
    return range_end


def unsized_step_of(parameters: Optional[Mapping[str, Any]]) -> Optional[_dt.timedelta]:
    """``$parameters.unsized_step`` of a manifest's DatetimeBasedCursor (``P30D``) as a timedelta; None if absent."""
    value = (parameters or {}).get("unsized_step")
    if not value:
        return None
    step = parse_duration(str(value))
    return step if isinstance(step, _dt.timedelta) else None
