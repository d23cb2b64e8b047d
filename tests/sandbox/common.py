"""Pieces the vendor emulators share: a fixed-window rate limiter and an evenly spread timeline of records."""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import time
from typing import Dict, Tuple

UTC = dt.timezone.utc


class RateWindow:
    """``limit`` calls per ``seconds`` and per key; ``take`` answers (allowed, remaining, seconds until reset)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._windows: Dict[str, Tuple[float, int]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> Tuple[bool, int, float]:
        now = time.monotonic()
        with self._lock:
            started, used = self._windows.get(key, (now, 0))
            if now - started >= self.seconds:
                started, used = now, 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[key] = (started, used)
            return allowed, max(self.limit - used, 0), max(self.seconds - (now - started), 0.0)


class Timeline:
    """``count`` records spread evenly from ``start`` to ``end``; record ``i`` is at ``at(i)`` (ascending)."""

    def __init__(self, count: int, start: dt.datetime, end: dt.datetime) -> None:
        self.count = count
        self.start = start
        self.span = (end - start).total_seconds()

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dt.datetime:
        return self.at(index)

    def at(self, index: int) -> dt.datetime:
        return self.start + dt.timedelta(seconds=int(index * self.span / max(self.count, 1)))

    def between(self, first_day: dt.date, last_day: dt.date) -> range:
        """Indexes of the records dated from ``first_day`` to ``last_day``, both included."""
        low = dt.datetime.combine(first_day, dt.time(), UTC)
        high = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), UTC)
        return range(bisect.bisect_left(self, low), bisect.bisect_left(self, high))


def parse_day(value: str) -> dt.date:
    return dt.datetime.strptime(value, "%Y-%m-%d").date()
