"""Pace requests by the rate-limit headers the vendor sends, instead of collecting 429s.

Each connector declares its documented limit in the manifest with the CDK's own vocabulary::

    api_budget:
      type: HTTPAPIBudget
      ratelimit_remaining_header: x-ratelimit-remaining
      ratelimit_reset_header: x-ratelimit-reset
      policies:
        - type: MovingWindowCallRatePolicy
          rates: [{limit: 120, interval: PT1M}]
          matchers: []

The CDK's ``HttpAPIBudget`` reads the reset header only as an epoch timestamp and counts calls against the declared
window locally, so it throttles a fast sandbox to the production limit and misreads ``reset`` values given in
seconds. ``HeaderPacedBudget`` replaces it (see ``connectors_shared.source``): it lets requests through while the
server says calls remain, and when ``remaining`` reaches zero (or a 429 arrives) every thread waits until the reset
the server announced. The declared window is used only when the server sends no reset value. Each call in flight is
reserved against the last figure, and while no figure is known (a sync's first call, the first after a reset) one
call goes alone and the others wait for its answer (at most ``SCOUT_WAIT_SECONDS``): four workers and a window of
two calls give no 429. Threads that slept until a reset ask again rather than all sending at once.

Some vendors announce the window's length instead of its reset (LeadConnector: ``X-RateLimit-Interval-Milliseconds:
10000`` beside ``X-RateLimit-Remaining``). Waiting one full length from the answer that spent the last call wastes
the part of the window already gone: a read that sends its 100 calls in 5 s then waited 10 s, reaching 0.7x of the
limit. For such headers the budget also keeps the send times of its last ``limit`` calls (``limit``: the remaining
figure a window's first call gets, plus one) and lets a call start only when the call ``limit`` places back was sent
more than one window (plus a margin for network jitter) ago: never more than ``limit`` calls in any window, fixed or
sliding, and the next window's first call goes as soon as the server can count it in a new window.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, Optional, Tuple

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.call_rate import AbstractAPIBudget, AbstractCallRatePolicy
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared import page_sharing, sync_stop

logger = logging.getLogger("airbyte")


def _sleep(seconds: float) -> None:
    """Module-level so that tests can replace it (see ``connectors_shared.testing.no_waiting``)."""
    time.sleep(seconds)


# The longest wait a Retry-After or rate-limit reset may ask for before the sync fails instead (config: max_wait_seconds).
DEFAULT_MAX_WAIT_SECONDS = 600.0


def wait_scale() -> float:
    """``CONNECTORS_WAIT_SCALE`` (default 1) multiplies every backoff and pause: tests run real processes with 0.001."""
    try:
        return max(float(os.environ.get("CONNECTORS_WAIT_SCALE", "1")), 0.0)
    except ValueError:
        return 1.0


def describe_wait(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


def too_long_a_wait(vendor: str, seconds: float, asked: str, max_wait: float) -> AirbyteTracedException:
    message = (
        f"{vendor} asked the connector to wait {describe_wait(seconds)} before its next request ({asked}), longer "
        f"than the {describe_wait(max_wait)} it waits at most (max_wait_seconds). The sync stopped rather than hang; "
        "run it again later, or raise max_wait_seconds in the connector settings."
    )
    sync_stop.request()  # every other request of this sync would be asked to wait just as long
    return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.transient_error)


# The longest log of send times kept while a window's limit is not known yet.
MAX_LOGGED_CALLS = 10_000
# After this long a request that never reported back (it raised) no longer counts as in flight.
IN_FLIGHT_EXPIRY_SECONDS = 600.0
# The longest a call waits for the answer of the one call finding a window's figure (see HeaderPacedBudget).
SCOUT_WAIT_SECONDS = 30.0


def announces_window_length(header_name: Optional[str]) -> bool:
    """Whether a "reset" header gives the rate window's length (``X-RateLimit-Interval-Milliseconds``), not its end."""
    return "interval" in (header_name or "").lower()


def window_margin(interval_seconds: float) -> float:
    """Extra seconds beyond a window's length before its calls are spent again: a call's trip to the server varies."""
    return min(max(0.2, 0.03 * interval_seconds), 1.0)


def seconds_until_reset(header_name: str, raw_value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Interpret a rate-limit reset header as seconds from now.

    Vendors disagree on the unit: ``x-ratelimit-reset: 37`` (seconds left), ``1732380000`` (epoch seconds),
    ``1732380000000`` (epoch milliseconds), ``X-RateLimit-Interval-Milliseconds: 10000`` (a window length in ms).
    """
    if raw_value is None or str(raw_value).strip() == "":
        return None
    try:
        value = float(str(raw_value).strip())
    except ValueError:
        return None
    wall_now = time.time() if now is None else now
    if value > 1e11:
        value = value / 1000.0 - wall_now
    elif value > 1e9:
        value = value - wall_now
    elif "milli" in header_name.lower():
        value = value / 1000.0
    return max(0.0, value)


class HeaderPacedBudget(AbstractAPIBudget):
    """An API budget driven by ``remaining`` / ``reset`` response headers, shared by every stream of one source."""

    def __init__(
        self,
        remaining_header: str,
        reset_header: Optional[str],
        status_codes_for_ratelimit_hit: Iterable[int] = (429,),
        fallback_wait_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Optional[Callable[[float], None]] = None,
        max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
        vendor: str = "The API",
        window_log: bool = False,
    ) -> None:
        """``window_log``: the reset header gives the window's length only; keep a log of send times (module
        docstring), the window being ``fallback_wait_seconds`` long until the server announces its length."""
        self._max_wait = max_wait_seconds
        self._vendor = vendor
        self._remaining_header = remaining_header
        self._reset_header = reset_header
        self._limit_codes = frozenset(status_codes_for_ratelimit_hit)
        self._fallback_wait = fallback_wait_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._remaining: Optional[int] = None
        self._resume_at = 0.0
        self._in_flight: Dict[int, float] = {}  # id(request) -> when it was let through
        self._window_span = fallback_wait_seconds + window_margin(fallback_wait_seconds) if window_log else 0.0
        # When each of the last ``limit`` calls is sent (now, or after its wait): never decreasing.
        self._sent: Optional[Deque[float]] = deque() if window_log else None
        # The calls a window allows, as the server counts them: learned from the figure a window's first call gets
        # (remaining + 1), never taken from the manifest, so that a sandbox with a high limit is not held to the
        # production one. Until an answer tells it, the log holds nobody back.
        self._window_limit: Optional[int] = None
        self._window_began = 0.0  # when the server's current window began: the send time of its first call
        # The lowest remaining figure announced in that window, and when it arrived.
        self._lowest_announced: Optional[Tuple[int, float]] = None
        # Where the reset header gives the window's end: while no figure is known (the first call of a sync, the
        # first after a reset) one call goes alone and the others wait for its answer (``_scout``: its id).
        self._scouting = not window_log
        self._scout: Optional[int] = None
        self._answered = threading.Condition(self._lock)

    def acquire_call(self, request: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        if page_sharing.SHARE.will_serve(request):
            return  # answered from a page another stream fetched: no call to the API
        waited_for = None  # the reset this thread slept until
        while True:
            with self._lock:
                self._wait_for_scout(id(request))
                now = self._clock()
                wait = 0.0
                if self._remaining is not None and self._remaining <= 0:
                    # Slept until the reset and nothing new was announced since: the window has reset (whatever a
                    # clock says that tests, or a slow machine, hold back).
                    wait = 0.0 if waited_for == self._resume_at else max(0.0, self._resume_at - now)
                    if wait == 0.0:
                        self._remaining = None  # the window has reset; the next response tells us the new figure
                        self._scouting = self._sent is None
                if self._remaining is not None:
                    self._remaining -= 1  # reserve a call so that concurrent threads do not overspend the last one
                spent = wait > 0  # the server's figure says the window is spent
                resets_at = self._resume_at
                if self._sent is not None:
                    wait = self._slot_after(now + wait) - now
                    self._in_flight[id(request)] = now + wait  # when it is sent: a window's first call starts it
                elif not spent:
                    self._in_flight[id(request)] = now
                    if self._remaining is None and self._scouting:
                        self._scout = id(request)  # no figure known: this call finds it, the others wait for it
            if wait > self._max_wait:
                raise too_long_a_wait(self._vendor, wait, "its rate-limit reset header", self._max_wait)
            if spent or wait >= 1.0:  # not every short wait of the window log (one per call once a window is full)
                logger.info(f"{self._vendor}: rate limit reached; pausing {wait:.1f} s until the API's window resets.")
            if wait > 0:
                (self._sleep or _sleep)(wait * wait_scale())
            if not spent or self._sent is not None:
                return
            waited_for = resets_at
            # Woken at the reset: ask again, with the threads that waited too, for a call of the new window.

    def _wait_for_scout(self, request_id: int) -> None:
        """Hold this thread (the lock is released meanwhile) while the call that is finding the window's figure is
        on its way: at most ``SCOUT_WAIT_SECONDS``, and not for a call that never answered (it raised) or for this
        very request (sent again after a timeout: it is still the one finding the figure)."""
        deadline = None
        while (self._scouting and self._scout is not None and self._scout != request_id
               and self._scout in self._in_flight):
            if self._clock() - self._in_flight[self._scout] > IN_FLIGHT_EXPIRY_SECONDS:
                break
            moment = time.monotonic()
            deadline = deadline or moment + SCOUT_WAIT_SECONDS
            if moment >= deadline:
                self._scouting = False  # the answer is late: go on without it, as before a figure was known
                break
            self._answered.wait(min(1.0, deadline - moment))

    def _slot_after(self, earliest: float) -> float:
        """Book the send time of a call due no earlier than ``earliest``: once the call ``limit`` back is a window
        old."""
        sent, limit = self._sent, self._window_limit
        start = max(earliest, sent[-1]) if sent else earliest
        if limit and len(sent) >= limit:
            start = max(start, sent[-limit] + self._window_span)
        sent.append(start)
        while len(sent) > (limit or MAX_LOGGED_CALLS):
            sent.popleft()
        return start

    def update_from_response(self, request: Any, response: Any) -> None:
        if not isinstance(response, requests.Response):
            return
        headers = response.headers
        remaining_raw = headers.get(self._remaining_header)
        reset_raw = headers.get(self._reset_header) if self._reset_header else None
        remaining: Optional[int] = None
        if remaining_raw is not None:
            try:
                remaining = int(float(remaining_raw))
            except ValueError:
                remaining = None
        if response.status_code in self._limit_codes:
            remaining = 0
        reset_in = seconds_until_reset(self._reset_header or "", reset_raw)
        with self._lock:
            now = self._clock()
            sent_at = self._in_flight.pop(id(request), now)
            if self._scouting and self._scout == id(request):
                self._scouting = False  # any answer ends the search: with a figure, calls are reserved from it
                self._answered.notify_all()
            for key in [key for key, sent in self._in_flight.items() if now - sent > IN_FLIGHT_EXPIRY_SECONDS]:
                del self._in_flight[key]  # a request that raised never reports back
            if remaining is None:
                return
            # The figure was computed before the server saw the requests still in flight: count them as spent.
            remaining -= len(self._in_flight)
            resume_at = now + (reset_in if reset_in is not None else self._fallback_wait)
            if self._sent is not None:
                self._follow_window(remaining + len(self._in_flight), remaining, sent_at, now, reset_in)
                return
            same_window = self._remaining is not None and abs(resume_at - self._resume_at) < 1.5
            # Answers to concurrent requests arrive out of order: within one window the smallest figure is the truth.
            self._remaining = min(remaining, self._remaining) if same_window else remaining
            # Kept even while calls remain: concurrent threads may spend the last ones before the next answer.
            self._resume_at = max(resume_at, self._resume_at) if same_window else resume_at

    def _follow_window(self, announced: int, remaining: int, sent_at: float, now: float,
                       length: Optional[float]) -> None:
        """Where only the window's length is announced, its end is the first call counted in it plus that length.

        A figure above the lowest one announced so far means the window was new when the server counted this call,
        provided the call was sent after the lowest figure arrived: the server then counted it later. Calls in flight
        together may be counted in any order, so a higher figure among them says nothing."""
        lowest = self._lowest_announced
        span = length if length is not None else self._fallback_wait
        stale = sent_at - self._window_began > span  # the window we knew had ended when this call was sent
        if lowest is None or stale or (announced > lowest[0] and sent_at >= lowest[1]):
            self._window_began = sent_at
            self._window_limit = max(self._window_limit or 0, announced + 1)
            self._lowest_announced = (announced, now)
            self._remaining = remaining
        else:
            if announced <= lowest[0]:
                self._lowest_announced = (announced, now)
            self._remaining = remaining if self._remaining is None else min(remaining, self._remaining)
        self._resume_at = self._window_began + span + window_margin(span)

    def get_matching_policy(self, request: Any) -> Optional[AbstractCallRatePolicy]:
        return None
