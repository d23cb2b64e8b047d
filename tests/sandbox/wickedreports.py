"""Wicked Reports outbound API emulator (see ../shared/api-reference/wickedreports-outbound-api.txt).

- ``GET /contacts|/clicks|/orders?from&to&limit&next``: ``from``/``to`` (YYYY-MM-DD, both days included) are required;
  ``limit`` at most 1000; ``/clicks`` refuses windows over 30 days. Answers ``{status, results, page, totalPages,
  total, next}`` with ``next`` present on every page, the last included.
- Header ``apikey``: ``VALID_KEY`` works, ``NO_OUTBOUND_KEY`` gets the documented 401 "Outbound API not enabled",
  anything else a 401.
- ``x-ratelimit-limit/remaining/reset`` (seconds until reset) on every answer; 429 once the window is spent.
- Attribution and payment dates come without a time zone, as documented; some numbers come as strings; contacts
  carry a field no schema declares (``customFields``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from typing import Any, Callable, Dict, Tuple

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
    return {
        "id": f"WR-order-{i:07d}",
        "sourceId": f"ord-{i}",
        "sourceSystem": "stripe",
        "date": _iso_z(at),
        "attributions": {
            name: _touch(local, "google", naive=True) for name in ("firstClick", "firstOptin", "reOptin", "lastClick")
        },
        "contact": {"id": f"WR-{i // 2:07d}", "sourceId": f"src-{i // 2}", "sourceSystem": "unknown", "email": f"contact{i // 2}@example.com"},
        "products": [{"id": f"prod-{i % 12}", "name": "Awesome Subscription Plan", "qty": 1, "PPU": amount}],
        "payments": [{"date": _naive(local), "status": "APPROVED", "amount": str(amount)}],
        "amount": amount,
        "currency": "USD",
        "subscriptionId": f"sub-{i % 40}",
        "links": {"contact": {"href": f"/contacts/WR-{i // 2:07d}"}, "clicks": {"href": f"/contacts/WR-{i // 2:07d}/clicks"}},
    }


STREAMS: Dict[str, Tuple[Callable[[int, dt.datetime], Dict[str, Any]], int]] = {
    # endpoint: (record builder, records per configured `records`)
    "/contacts": (contact, 1),
    "/clicks": (click, 1),
    "/orders": (order, 1),
}


class WickedReports(Vendor):
    name = "wickedreports"

    def __init__(self, records: int = 1000, rate_limit: int = 100_000) -> None:
        super().__init__(records=records, rate_limit=rate_limit)
        self.window = RateWindow(limit=rate_limit, seconds=60)
        self.timelines = {path: Timeline(records * factor, DATA_START, DATA_END) for path, (_, factor) in STREAMS.items()}
        self._next_tokens: Dict[str, Tuple[str, str, str, int, int]] = {}
        self._tokens_lock = threading.Lock()

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
        timeline = self.timelines[request.path]
        matching = timeline.between(first, last)
        total = len(matching)
        total_pages = math.ceil(total / limit)
        start = matching.start + (page - 1) * limit
        stop = min(start + limit, matching.stop)
        results = [build(i, timeline.at(i)) for i in range(start, stop)]
        next_token = hashlib.md5(f"{request.path}|{first}|{last}|{limit}|{page + 1}".encode()).hexdigest()
        with self._tokens_lock:
            self._next_tokens[next_token] = (request.path, str(first), str(last), limit, page + 1)
        body = {"status": "success", "results": results, "page": page, "totalPages": total_pages, "total": total, "next": next_token}
        return Response(200, body)


VENDOR_CLASS = WickedReports
