"""Changes a test makes to an emulator's data between two syncs, served on top of the generated timeline.

Revenue data changes after it is created: a refund is added to an old order, a status changes, a contact's LTV grows,
a row is imported late. Each emulator that serves dated records keeps a ``Changes`` and offers, per stream:

- ``vendor.change(stream, record_id, edit=None, **fields)``: from now on the record is served with ``fields`` set and
  ``edit(record)`` applied (a callable that changes the record in place). Its date stays: the vendor changes the
  record where it is, as the real APIs do (SHOPLINE, whose orders are read by ``updated_at``, moves that instead).
- ``vendor.add(stream, at, **fields) -> id``: a record dated ``at`` that exists from now on. Dated before the last
  sync, it is a late row (an order imported two days late).
- ``vendor.find(stream, at) -> id``: the id of the first generated record dated at or after ``at``, to pick "the
  order of ten days ago".

Nothing is changed until a test asks, so the generated data (and every count other tests compare) stays identical.
Added records get indexes from ``FIRST_ADDED_INDEX`` on, far above any generated index, so their ids never collide.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

FIRST_ADDED_INDEX = 1_000_000_001  # odd, so an added order is not "refunded"/"pending" by the generators' i % 4 rules

Edit = Callable[[Dict[str, Any]], Any]


@dataclass
class Added:
    """A record added by a test: built like a generated one with this index, dated ``at``."""

    index: int
    at: dt.datetime
    extra: Dict[str, Any] = field(default_factory=dict)  # what the emulator needs besides the date (a campaign)


class Changes:
    """Records added and edits made by tests, per stream; thread-safe (the sandbox serves from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_index = FIRST_ADDED_INDEX
        self._added: Dict[str, List[Added]] = {}
        self._added_by_index: Dict[int, Added] = {}
        self._edits: Dict[str, Dict[str, List[Edit]]] = {}

    def __bool__(self) -> bool:
        return bool(self._added or self._edits)

    def add(self, stream: str, at: dt.datetime, **extra: Any) -> Added:
        with self._lock:
            row = Added(self._next_index, at, dict(extra))
            self._next_index += 1
            rows = self._added.setdefault(stream, [])
            rows.append(row)
            rows.sort(key=lambda r: (r.at, r.index))
            self._added_by_index[row.index] = row
            return row

    def added(self, stream: str) -> List[Added]:
        """The rows added to ``stream``, oldest first."""
        with self._lock:
            return list(self._added.get(stream, ()))

    def added_row(self, index: int) -> Optional[Added]:
        return self._added_by_index.get(index) if index >= FIRST_ADDED_INDEX else None

    def edit(self, stream: str, record_id: str, edit: Optional[Edit] = None, **fields: Any) -> None:
        def apply(record: Dict[str, Any]) -> None:
            record.update(fields)
            if edit is not None:
                edit(record)

        with self._lock:
            self._edits.setdefault(stream, {}).setdefault(record_id, []).append(apply)

    def edited(self, stream: str) -> bool:
        return bool(self._edits.get(stream))

    def apply(self, stream: str, record: Dict[str, Any], key: str) -> Dict[str, Any]:
        """``record`` with every edit made to it so far, in order (the record itself when it has none)."""
        edits = self._edits.get(stream)
        if edits:
            for apply in edits.get(record.get(key), ()):
                apply(record)
        return record


def merge(generated: Any, generated_at: Callable[[int], dt.datetime], added: List[Added]) -> Any:
    """The indexes of ``generated`` (ascending in time) and of the ``added`` rows, ordered by date.

    Without added rows this is ``generated`` itself (a ``range`` stays a ``range``), so generated answers are untouched.
    """
    if not added:
        return generated
    dated = [(generated_at(i), 0, i) for i in generated] + [(row.at, 1, row.index) for row in added]
    return [index for _, _, index in sorted(dated)]
