"""Wicked Reports outbound API emulator (see ../shared/api-reference/wickedreports-outbound-api.txt).

- ``GET /contacts|/clicks|/orders?from&to&limit&next``: ``from``/``to`` (YYYY-MM-DD, both days included) are required;
  ``limit`` at most 1000; ``/clicks`` refuses windows over 30 days. Answers ``{status, results, page, totalPages,
  total, next}`` with ``next`` present on every page, the last included.
- Header ``apikey``: ``VALID_KEY`` works, ``NO_OUTBOUND_KEY`` gets the documented 401 "Outbound API not enabled",
  anything else a 401.
- ``x-ratelimit-limit/remaining/reset`` (seconds until reset) on every answer; 429 once the window is spent.
- Attribution and payment dates come without a time zone, as documented; some numbers come as strings; contacts
  carry a field no schema declares (``customFields``).
- An order's ``products`` and ``payments`` vary (``products()``, ``payments()``): usually one each, some orders two
  (an order bump, a partial refund), some none (an empty list, ``null``, or no field at all).
- Late changes (see changes.py): ``change("orders", id, edit)`` (``refund(id, on)`` adds the REFUNDED payment the
  API shows on the original order), ``change("contacts", id, LTV=...)``, ``add("orders", at)`` for a late row,
  ``find(stream, at)``. Changed records keep their date, as in the real API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from typing import Any, Callable, Dict, Optional, Tuple

from tests.sandbox.changes import Changes, merge
from tests.sandbox.common import UTC, RateWindow, Timeline, parse_day
from tests.sandbox.server import Request, Response, Vendor

VALID_KEY = "sandbox-wickedreports-key"
NO_OUTBOUND_KEY = "sandbox-wickedreports-no-outbound"
DATA_START = dt.datetime(2024, 1, 1, tzinfo=UTC)
DATA_END = dt.datetime(2025, 1, 1, tzinfo=UTC)
BAD_REQUEST = "There was some problem with your request. You should review the parameters and try again."


def _iso_z(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _naive(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _touch(moment: dt.datetime, source: str, naive: bool = False) -> Dict[str, Any]:
    return {
        "date": _naive(moment) if naive else _iso_z(moment),
        "source": source,
        "medium": "email" if source == "Email" else "cpc",
        "campaign": "spring-sale",
        "content": "hero",
        "term": "shoes",
    }


def contact(i: int, at: dt.datetime) -> Dict[str, Any]:
    record = {
        "id": f"WR-{i:07d}",
        "sourceId": f"src-{i}",
        "sourceSystem": "stripe" if i % 2 else "hubspot",
        "email": f"contact{i}@example.com",
        "firstName": f"First{i}",
        "lastName": None if i % 7 == 0 else f"Last{i}",
        "LTV": f"{i % 500}.50" if i % 3 == 0 else i % 500,
        "createDate": _iso_z(at),
        "firstClick": _touch(at, "google"),
        "firstOptin": _touch(at, "facebook"),
        "reOptin": _touch(at, "Email"),
        "urlWicked": f"https://my.wickedreports.com/extras/customerltv?report=newlead&id=WR-{i:07d}",
        "links": {"clicks": {"href": f"/contacts/WR-{i:07d}/clicks"}, "orders": {"href": f"/contacts/WR-{i:07d}/orders"}},
    }
    if i % 5 == 0:
        record["customFields"] = {"tier": "gold"}
        record["links"] = {}
    return record


def click(i: int, at: dt.datetime) -> Dict[str, Any]:
    return {
        "contactId": f"WR-{i // 3:07d}",
        "contactSourceId": f"src-{i // 3}",
        "date": _iso_z(at),
        "email": f"contact{i // 3}@example.com",
        "isFirstClick": i % 3 == 0,
        "isFirstOptin": "false",
        "isLastClick": i % 3 == 2,
        "isReOptin": False,
        "source": "hubspot",
        "utms": {"source": "Email", "medium": "email", "campaign": "spring-sale", "content": "hero", "term": "shoes"},
        "wickedid": str(i),
        "wickedsource": "test",
        "trackingUrl": f"https://example.com/landing?c={i}",
        "links": {"contact": {"href": f"/contacts/WR-{i // 3:07d}"}},
    }


def order(i: int, at: dt.datetime) -> Dict[str, Any]:
    local = at - dt.timedelta(hours=4)
    amount = 20 + i % 180
    record = {
        "id": f"WR-order-{i:07d}",
        "sourceId": f"ord-{i}",
        "sourceSystem": "stripe",
        "date": _iso_z(at),
        "attributions": {
            name: _touch(local, "google", naive=True) for name in ("firstClick", "firstOptin", "reOptin", "lastClick")
        },
        "contact": {"id": f"WR-{i // 2:07d}", "sourceId": f"src-{i // 2}", "sourceSystem": "unknown", "email": f"contact{i // 2}@example.com"},
        "products": products(i, amount),
        "payments": payments(i, amount, local),
        "amount": amount,
        "currency": "USD",
        "subscriptionId": f"sub-{i % 40}",
        "links": {"contact": {"href": f"/contacts/WR-{i // 2:07d}"}, "clicks": {"href": f"/contacts/WR-{i // 2:07d}/clicks"}},
    }
    if record["products"] is MISSING:
        del record["products"]
    return record


MISSING: Any = object()  # a list field left out of the order altogether


def products(i: int, amount: int) -> Any:
    """Usually one product; every fourth order an order bump too; some orders none (an empty list, or no field)."""
    if i % 20 == 7:
        return []
    if i % 20 == 13:
        return MISSING
    bought = [{"id": f"prod-{i % 12}", "name": "Awesome Subscription Plan", "qty": 1, "PPU": amount}]
    if i % 4 == 1:
        bought.append({"id": "prod-bump", "name": "Order Bump", "qty": "2", "PPU": "4.50"})
    return bought


def payments(i: int, amount: int, local: dt.datetime) -> Any:
    """Usually one approved payment; every tenth order a partial refund after it; some orders none (empty, null)."""
    if i % 25 == 11:
        return []
    if i % 25 == 23:
        return None
    made = [{"date": _naive(local), "status": "APPROVED", "amount": str(amount)}]
    if i % 10 == 6:
        made.append({"date": _naive(local + dt.timedelta(days=3)), "status": "Partially Refunded", "amount": "-5"})
    return made


STREAMS: Dict[str, Tuple[Callable[[int, dt.datetime], Dict[str, Any]], int]] = {
    # endpoint: (record builder, records per configured `records`)
    "/contacts": (contact, 1),
    "/clicks": (click, 1),
    "/orders": (order, 1),
}
# The field ``change`` finds a record by. Clicks have no id: a change by contactId edits every click of that contact.
KEYS = {"contacts": "id", "clicks": "contactId", "orders": "id"}


class WickedReports(Vendor):
    name = "wickedreports"

    def __init__(self, records: int = 1000, rate_limit: int = 100_000) -> None:
        super().__init__(records=records, rate_limit=rate_limit)
        self.window = RateWindow(limit=rate_limit, seconds=60)
        self.timelines = {path: Timeline(records * factor, DATA_START, DATA_END) for path, (_, factor) in STREAMS.items()}
        self._next_tokens: Dict[str, Tuple[str, str, str, int, int]] = {}
        self._tokens_lock = threading.Lock()
        self.changes = Changes()

    # -- late changes (tests/sandbox/changes.py) ---------------------------------------------------------------------

    def change(self, stream: str, record_id: str, edit: Optional[Callable[[Dict[str, Any]], Any]] = None,
               **fields: Any) -> None:
        """Serve record ``record_id`` of ``stream`` (contacts, clicks, orders) changed from now on; its date stays."""
        self.changes.edit(stream, record_id, edit, **fields)

    def refund(self, order_id: str, on: dt.datetime, amount: Optional[float] = None) -> None:
        """Add a REFUNDED payment dated ``on`` to an order, as Wicked Reports records a refund (the order keeps its date)."""

        def add_payment(record: Dict[str, Any]) -> None:
            refunded = amount if amount is not None else record["amount"]
            record["payments"] = (record.get("payments") or []) + [
                {"date": _naive(on), "status": "REFUNDED", "amount": str(-refunded)}]

        self.change("orders", order_id, add_payment)

    def add(self, stream: str, at: dt.datetime, **fields: Any) -> str:
        """A record of ``stream`` dated ``at`` that exists from now on (a late row when ``at`` is in the past)."""
        row = self.changes.add(stream, at)
        build, _ = STREAMS[f"/{stream}"]
        record_id = build(row.index, at)[KEYS[stream]]
        if fields:
            self.change(stream, record_id, **fields)
        return record_id

    def find(self, stream: str, at: dt.datetime) -> str:
        """The id of the first generated record of ``stream`` dated at or after ``at``; for orders, the first with
        exactly one (approved) payment, so that a refund shows as the second."""
        timeline = self.timelines[f"/{stream}"]
        index = timeline.between(at.date(), DATA_END.date()).start
        build, _ = STREAMS[f"/{stream}"]
        while index < len(timeline) and (
            timeline.at(index) < at or (stream == "orders" and len(build(index, timeline.at(index)).get("payments") or []) != 1)
        ):
            index += 1
        return build(index, timeline.at(index))[KEYS[stream]]

    def _at(self, path: str, index: int) -> dt.datetime:
        row = self.changes.added_row(index)
        return row.at if row is not None else self.timelines[path].at(index)

    def handle(self, request: Request) -> Response:
        key = request.headers.get("apikey", "")
        if key == NO_OUTBOUND_KEY:
            return Response(401, {"status": "error", "message": "Outbound API not enabled for client."})
        if key != VALID_KEY:
            return Response(401, {"status": "error", "message": "Unauthorized: invalid API key."})
        allowed, remaining, reset = self.window.take(key)
        headers = {
            "x-ratelimit-limit": str(self.window.limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(math.ceil(reset)),
        }
        if not allowed:
            return Response(429, {"status": "error", "message": "Too many requests."}, headers)
        response = self._list(request)
        response.headers.update(headers)
        return response

    def _list(self, request: Request) -> Response:
        if request.path not in STREAMS:
            return Response(404, {"status": "error", "message": f"Route {request.path} not found."})
        try:
            first, last = parse_day(request.arg("from", "")), parse_day(request.arg("to", ""))
            limit = int(request.arg("limit", "100"))
        except ValueError:
            return Response(400, {"status": "error", "message": BAD_REQUEST})
        if not 1 <= limit <= 1000 or last < first:
            return Response(400, {"status": "error", "message": BAD_REQUEST})
        if request.path == "/clicks" and (last - first).days > 30:
            return Response(400, {"status": "error", "message": "The difference between from and to cannot exceed 30 days."})
        page = 1
        token = request.arg("next")
        if token:
            with self._tokens_lock:
                saved = self._next_tokens.get(token)
            if saved is None or saved[:4] != (request.path, str(first), str(last), limit):
                return Response(400, {"status": "error", "message": "Invalid next hash."})
            page = saved[4]
        build, _ = STREAMS[request.path]
        stream = request.path[1:]
        timeline = self.timelines[request.path]
        low = dt.datetime.combine(first, dt.time(), UTC)
        high = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), UTC)
        added = [row for row in self.changes.added(stream) if low <= row.at < high]
        matching = merge(timeline.between(first, last), timeline.at, added)
        total = len(matching)
        total_pages = math.ceil(total / limit)
        chunk = matching[(page - 1) * limit: page * limit]
        results = [self.changes.apply(stream, build(i, self._at(request.path, i)), KEYS[stream]) for i in chunk]
        next_token = hashlib.md5(f"{request.path}|{first}|{last}|{limit}|{page + 1}".encode()).hexdigest()
        with self._tokens_lock:
            self._next_tokens[next_token] = (request.path, str(first), str(last), limit, page + 1)
        body = {"status": "success", "results": results, "page": page, "totalPages": total_pages, "total": total, "next": next_token}
        return Response(200, body)


VENDOR_CLASS = WickedReports
