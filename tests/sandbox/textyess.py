"""TextYess analytics API emulator (see ../shared/api-reference/textyess-campaign-orders.txt and NOTES.md).

- ``GET /analytics/orders`` and ``GET /analytics/campaigns/{campaignId}/orders``: ``page`` (0-based) and ``perPage``
  (>= 1) are required (400 otherwise); ``from`` / ``to`` (ISO 8601) filter ``createdAt``, both ends included, to the
  millisecond; ``sortDirection`` defaults to -1 (newest first) as documented, ``sortKey=createdAt&sortDirection=1``
  gives oldest first. Answers ``{data, pagination: {total, perPage, page}}``.
- ``GET /analytics/campaigns?page&perPage&from``: campaign performance rows (known from public client code only).
  Each row's ``_id`` differs from its ``campaign._id``, the id the orders endpoint wants; one row has no campaign.
  Set ``list_campaigns = False`` on the vendor to make this route answer 404, as an API without it would.
- A well-formed campaign id that does not exist answers 404 ``Campaign not found``; a malformed one 400.
- Header ``x-auth-token``: ``VALID_TOKEN`` works, anything else gets 401 ``{"message": "Invalid token"}``.
- express-rate-limit headers: ``x-ratelimit-limit/remaining``, ``x-ratelimit-reset`` (epoch seconds), and
  ``retry-after`` (seconds) on 429.
- Some numbers and booleans come as strings, some orders carry a field no schema declares (``discount_codes``).
- Late changes (see changes.py): ``change("orders", id, paid=False)`` (a chargeback; served by /analytics/orders and
  by the campaign's orders alike), ``add("orders", at, campaign=c)`` for an order attributed late, ``find("orders",
  at)``. Changed orders keep their ``createdAt``, which is what ``from``/``to`` filter on.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from typing import Any, Callable, Dict, List, Optional

from tests.sandbox.changes import Changes, merge
from tests.sandbox.common import UTC, RateWindow, Timeline
from tests.sandbox.server import Request, Response, Vendor

VALID_TOKEN = "sandbox-textyess-token"
DATA_START = dt.datetime(2024, 1, 1, tzinfo=UTC)
DATA_END = dt.datetime(2025, 1, 1, tzinfo=UTC)
CAMPAIGNS = 5
OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
CAMPAIGN_ORDERS = re.compile(r"^/analytics/campaigns/([^/]+)/orders$")


def campaign_id(c: int) -> str:
    return f"65a1f0c2{c:016x}"


def _row_id(c: int) -> str:
    return f"66b2e1d3{c:016x}"


def _iso_ms(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse(value: Optional[str]) -> Optional[dt.datetime]:
    if value is None or value == "":
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def campaign_of(i: int) -> Optional[int]:
    """Every other order is attributed to a campaign (the rest to the AI assistants)."""
    return (i // 2) % CAMPAIGNS if i % 2 == 0 else None


def order(i: int, at: dt.datetime) -> Dict[str, Any]:
    total = round(15 + (i * 7.31) % 250, 2)
    record: Dict[str, Any] = {
        "_id": f"507f1f77{i:016x}",
        "cms_id": f"ord_{i}",
        "order_number": str(1000 + i),
        "total": str(total) if i % 3 == 0 else total,
        "items_number": 1 + i % 4,
        "paid": "true" if i % 4 == 0 else i % 5 != 0,
        "type": "whatsapp-ai-assistant" if i % 2 else "campaign",
        "createdAt": _iso_ms(at),
        "conversation": {"_id": f"507f1f88{i:016x}", "phone": f"+39333{i:07d}"} if i % 6 else None,
    }
    if i % 5 == 0:
        record["discount_codes"] = ["WELCOME10"]
    return record


def campaign_row(c: int) -> Dict[str, Any]:
    revenue = 1000.5 + c * 250
    return {
        "_id": _row_id(c),
        "campaign": {"_id": campaign_id(c), "title": f"Campaign {c}"} if c < CAMPAIGNS else None,
        "campaign_type": "broadcast" if c % 2 else "flow",
        "total_messages": 500 + c,
        "cost": f"{50 + c}.25",
        "revenue": revenue,
        "orders_number": str(10 + c),
        "campaign_conversion_rate": 0.02 * (c + 1),
        "average_cart": 45.5,
        "roas": round(revenue / (50.25 + c), 2),
        "createdAt": _iso_ms(DATA_START + dt.timedelta(days=c)),
    }


class TextYess(Vendor):
    name = "textyess"

    def __init__(self, records: int = 1000, rate_limit: int = 100_000) -> None:
        super().__init__(records=records, rate_limit=rate_limit)
        self.window = RateWindow(limit=rate_limit, seconds=60)
        self.timeline = Timeline(records, DATA_START, DATA_END)
        self.list_campaigns = True
        self.changes = Changes()

    def at(self, i: int) -> dt.datetime:
        row = self.changes.added_row(i)
        if row is not None:
            return row.at
        # Milliseconds make the window boundaries matter: `to` must reach the window's last millisecond.
        return self.timeline.at(i) + dt.timedelta(milliseconds=(i * 37) % 1000)

    # -- late changes (tests/sandbox/changes.py); the one stream is "orders" ----------------------------------------

    def change(self, stream: str, record_id: str, edit: Optional[Callable[[Dict[str, Any]], Any]] = None,
               **fields: Any) -> None:
        """Serve order ``record_id`` (its ``_id``) changed from now on, on every route; its ``createdAt`` stays."""
        self.changes.edit(stream, record_id, edit, **fields)

    def add(self, stream: str, at: dt.datetime, campaign: Optional[int] = None, **fields: Any) -> str:
        """An order created at ``at`` that exists from now on, attributed to campaign number ``campaign`` (else to an
        assistant): a late row when ``at`` is in the past."""
        row = self.changes.add(stream, at, campaign=campaign)
        record_id = order(row.index, at)["_id"]
        self.change(stream, record_id, type="campaign" if campaign is not None else "whatsapp-ai-assistant", **fields)
        return record_id

    def find(self, stream: str, at: dt.datetime, campaign: Optional[int] = None) -> str:
        """The ``_id`` of the first generated order created at or after ``at`` (of campaign number ``campaign``)."""
        i = self._orders(campaign, at, None)[0]
        return order(i, self.at(i))["_id"]

    def campaign_of(self, i: int) -> Optional[int]:
        row = self.changes.added_row(i)
        return row.extra.get("campaign") if row is not None else campaign_of(i)

    def handle(self, request: Request) -> Response:
        if request.headers.get("x-auth-token") != VALID_TOKEN:
            return Response(401, {"message": "Invalid token"})
        allowed, remaining, reset = self.window.take(VALID_TOKEN)
        headers = {
            "x-ratelimit-limit": str(self.window.limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(math.ceil(time.time() + reset)),
        }
        if not allowed:
            headers["retry-after"] = str(math.ceil(reset))
            return Response(429, {"message": "Too many requests, please try again later."}, headers)
        response = self._route(request)
        response.headers.update(headers)
        return response

    def _route(self, request: Request) -> Response:
        try:
            page, per_page = int(request.arg("page", "")), int(request.arg("perPage", ""))
            low, high = _parse(request.arg("from")), _parse(request.arg("to"))
        except ValueError:
            return Response(400, {"message": "page and perPage are required numbers; from and to must be ISO 8601 dates"})
        if page < 0 or per_page < 1:
            return Response(400, {"message": "perPage must be at least 1 and page at least 0"})
        ascending = request.arg("sortDirection", "-1") == "1"
        if request.path == "/analytics/orders":
            rows = self._orders(None, low, high)
            return self._page(rows, self._order, page, per_page, ascending)
        if request.path == "/analytics/campaigns":
            if not self.list_campaigns:
                return Response(404, {"message": "Cannot GET /analytics/campaigns"})
            return self._page(list(range(CAMPAIGNS + 1)), campaign_row, page, per_page, ascending)
        match = CAMPAIGN_ORDERS.match(request.path)
        if match:
            wanted = match.group(1)
            if not OBJECT_ID.match(wanted):
                return Response(400, {"message": f"Cast to ObjectId failed for value \"{wanted}\""})
            known = [c for c in range(CAMPAIGNS) if campaign_id(c) == wanted.lower()]
            if not known:
                return Response(404, {"message": "Campaign not found"})
            rows = self._orders(known[0], low, high)
            return self._page(rows, self._order, page, per_page, ascending)
        return Response(404, {"message": f"Cannot GET {request.path}"})

    def _orders(self, campaign: Optional[int], low: Optional[dt.datetime], high: Optional[dt.datetime]) -> List[int]:
        # Records are evenly spread and ascending, so the matching indexes form a contiguous run.
        first = 0
        if low is not None:
            first = max(0, int((low - DATA_START).total_seconds() * self.timeline.count / self.timeline.span) - 2)
            while first < self.timeline.count and self.at(first) < low:
                first += 1
        indexes = []
        for i in range(first, self.timeline.count):
            moment = self.at(i)
            if high is not None and moment > high:
                break
            if campaign is None or campaign_of(i) == campaign:
                indexes.append(i)
        added = [row for row in self.changes.added("orders")
                 if (low is None or row.at >= low) and (high is None or row.at <= high)
                 and (campaign is None or row.extra.get("campaign") == campaign)]
        return merge(indexes, self.at, added)

    def _order(self, i: int) -> Dict[str, Any]:
        return self.changes.apply("orders", order(i, self.at(i)), "_id")

    @staticmethod
    def _page(rows: List[int], build: Callable[[int], Dict[str, Any]], page: int, per_page: int, ascending: bool) -> Response:
        if not ascending:
            rows = rows[::-1]
        data = [build(i) for i in rows[page * per_page:(page + 1) * per_page]]
        return Response(200, {"data": data, "pagination": {"total": len(rows), "perPage": per_page, "page": page}})


VENDOR_CLASS = TextYess
