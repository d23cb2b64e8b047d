"""SHOPLINE Open API emulator (see ../shared/api-reference/shopline-affiliate-campaign-orders.txt and NOTES.md).

- ``GET /v1/affiliate_campaigns?page&per_page``: ``{items, pagination: {current_page, per_page, total_count,
  total_pages}}``, ``page`` 1-based.
- ``GET /v1/affiliate_campaigns/{id}/orders?previous_id&limit``: keyset paging, oldest order first; answers
  ``{items, limit, last_id}``; an unknown campaign id answers 404.
- ``GET /v1/orders?updated_after&updated_before&per_page&page&sort_by``: ``updated_after``/``updated_before`` are UTC
  and inclusive (``2024-01-01 00:00:00`` with optional fraction, or ISO 8601); sorted by creation time (asc|desc).
- ``per_page``/``limit`` above 50 answer 422 (the docs advise at most 50); a bad date answers 422.
- Header ``Authorization: Bearer VALID_TOKEN`` works, anything else is a 401. ``rate_limit`` calls per second, then
  the documented 429 ``{"error": "Rate limit exceeded ...", "code": "RateLimitExceeded"}`` (no rate-limit headers
  are documented, so none are sent).
- Money is an object ``{cents, currency_symbol, currency_iso, label, dollars}``; timestamps alternate ``Z`` and
  ``+00:00``; some numbers and booleans come as strings; orders carry an undeclared field (``custom_data``).
- An order's ``subtotal_items`` (``subtotal_items()``): one product, every third order a gift too; some orders none
  (an empty list, ``null``, or no field at all).
- Late changes (see changes.py): ``change("orders", id, status="cancelled")`` moves the order's ``updated_at`` to now,
  as SHOPLINE does, or to ``updated_at=`` (an update shown late, e.g. synced from a POS); ``add("orders", at,
  campaign=c)`` adds an order (to campaign ``c``'s keyset list too); ``find("orders", at)``. A campaign's orders
  endpoint serves changed orders changed, but keyset paging never returns an order before ``previous_id`` again.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

from tests.sandbox.changes import Changes
from tests.sandbox.common import UTC, RateWindow, Timeline
from tests.sandbox.server import Request, Response, Vendor

VALID_TOKEN = "sandbox-shopline-token"
DATA_START = dt.datetime(2024, 1, 1, tzinfo=UTC)
DATA_END = dt.datetime(2025, 1, 1, tzinfo=UTC)
MAX_PER_PAGE = 50
RATE_LIMITED = {"error": "Rate limit exceeded for attempts to access Open API. please try again later", "code": "RateLimitExceeded"}
CAMPAIGN_PATH = re.compile(r"^/v1/affiliate_campaigns/([^/]+)/orders$")


def _stamp(moment: dt.datetime, offset_style: bool) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return text + ("+00:00" if offset_style else "Z")


def _parse_time(value: str) -> dt.datetime:
    text = value.strip().replace(" ", "T")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def money(cents: int, string_numbers: bool = False) -> Dict[str, Any]:
    dollars = cents / 100
    return {
        "cents": str(cents) if string_numbers else cents,
        "currency_symbol": "NT$",
        "currency_iso": "TWD",
        "label": f"NT${dollars:g}",
        "dollars": dollars,
    }


def subtotal_items(i: int, total: int) -> Optional[List[Dict[str, Any]]]:
    """Order ``i``'s items: one product, every third order a free gift too; some orders none (empty, null, no field)."""
    if i % 13 == 4:
        return []
    if i % 13 == 8:
        return None  # every other such order leaves the field out instead (see Shopline._order)
    items = [{"id": f"item{i:020d}", "item_type": "Product", "quantity": str(1 + i % 3), "item_price": money(total - 100),
              "total": money(total - 100), "sku": f"SKU-{i % 40}"}]
    if i % 3 == 2:
        items.append({"id": f"gift{i:020d}", "item_type": "Gift", "quantity": 1, "item_price": money(0),
                      "total": money(0, string_numbers=True), "sku": "GIFT"})
    return items


def campaign_id(index: int) -> str:
    return f"64{index:022x}"


def order_id(index: int, created: dt.datetime) -> str:
    return f"{int(created.timestamp()):08x}{index:016x}"


class Shopline(Vendor):
    name = "shopline"

    def __init__(self, records: int = 1000, rate_limit: int = 100_000) -> None:
        super().__init__(records=records, rate_limit=rate_limit)
        self.window = RateWindow(limit=rate_limit, seconds=1)
        self.changes = Changes()  # late changes a test made (see change / add)
        self._updated_override: Dict[int, dt.datetime] = {}
        self.created = Timeline(records, DATA_START, DATA_END)
        self.campaign_count = max(3, min(120, records // 50))
        # Orders sorted by updated_at, for the window filter.
        self._by_updated: List[Tuple[dt.datetime, int]] = sorted((self.updated_at(i), i) for i in range(records))
        self._updated_keys = [moment for moment, _ in self._by_updated]
        # Every third order came through an affiliate campaign; per campaign, oldest (smallest id) first.
        self._campaign_orders: Dict[str, List[str]] = {campaign_id(c): [] for c in range(self.campaign_count)}
        self._order_index: Dict[str, int] = {}
        for i in range(0, records, 3):
            oid = order_id(i, self.created.at(i))
            self._campaign_orders[campaign_id((i // 3) % self.campaign_count)].append(oid)
            self._order_index[oid] = i
        self._window_cache: Dict[Tuple[dt.datetime, dt.datetime], List[int]] = {}
        self._cache_lock = threading.Lock()

    def created_at(self, i: int) -> dt.datetime:
        row = self.changes.added_row(i)
        return row.at if row is not None else self.created.at(i)

    def updated_at(self, i: int) -> dt.datetime:
        if i in self._updated_override:
            return self._updated_override[i]
        row = self.changes.added_row(i)
        if row is not None:
            return row.extra.get("updated_at") or row.at
        return self.created.at(i) + dt.timedelta(hours=i % 72, milliseconds=(i * 37) % 1000)

    def campaign_of(self, i: int) -> Optional[int]:
        row = self.changes.added_row(i)
        if row is not None:
            return row.extra.get("campaign")
        return (i // 3) % self.campaign_count if i % 3 == 0 else None

    # -- late changes (tests/sandbox/changes.py); the one stream is "orders" ----------------------------------------

    def change(self, stream: str, record_id: str, edit: Optional[Callable[[Dict[str, Any]], Any]] = None,
               updated_at: Optional[dt.datetime] = None, **fields: Any) -> None:
        """Serve order ``record_id`` changed from now on, with ``updated_at`` moved to now (or to ``updated_at``)."""
        index = int(record_id[8:], 16)  # order_id(): 8 hex digits of creation time, then 16 of the index
        self.changes.edit(stream, record_id, edit, **fields)
        self._updated_override[index] = updated_at or dt.datetime.now(UTC)

    def add(self, stream: str, at: dt.datetime, campaign: Optional[int] = None,
            updated_at: Optional[dt.datetime] = None, **fields: Any) -> str:
        """An order created at ``at`` (updated at ``updated_at``, else ``at``) that exists from now on, in campaign
        number ``campaign``'s orders when given."""
        row = self.changes.add(stream, at, campaign=campaign, updated_at=updated_at)
        oid = order_id(row.index, at)
        if campaign is not None:
            bisect.insort(self._campaign_orders[campaign_id(campaign)], oid)
            self._order_index[oid] = row.index
        self.changes.edit(stream, oid, **fields)
        return oid

    def find(self, stream: str, at: dt.datetime, campaign: Optional[int] = None) -> str:
        """The id of the first generated order created at or after ``at`` (of campaign number ``campaign``)."""
        i = bisect.bisect_left(self.created, at)
        while campaign is not None and self.campaign_of(i) != campaign:
            i += 1
        return order_id(i, self.created.at(i))

    # -- records ---------------------------------------------------------------------------------------------------

    def campaign(self, c: int) -> Dict[str, Any]:
        created = DATA_START + dt.timedelta(days=c)
        return {
            "id": campaign_id(c),
            "name": f"Partner {c}",
            "code": f"PARTNER{c}",
            "condition_value": str(10 + c % 5) if c % 2 else 10 + c % 5,
            "reward_type": "percentage" if c % 2 else "amount",
            "reward_value": money(500 + c),
            "promotion_id": None,
            "referral_link": f"https://shop.example.com/?affiliate=PARTNER{c}",
            "partner_info": {"name": f"Partner {c}", "email": f"partner{c}@example.com"},
            "apply_on": "order",
            "apply_method": "code",
            "use_count": str(c * 3),
            "affiliate_percentage": 5,
            "affiliate_amount": money(0),
            "condition_min_amount": money(10000),
            "campaign_products": [],
            "start_at": _stamp(created, c % 2 == 0),
            "end_at": None,
            "remarks_translations": {"en": "spring"},
            "created_at": _stamp(created, c % 2 == 1),
            "updated_at": _stamp(created + dt.timedelta(hours=1), c % 2 == 0),
        }

    def order(self, i: int) -> Dict[str, Any]:
        return self.changes.apply("orders", self._order(i), "id")

    def _order(self, i: int) -> Dict[str, Any]:
        created = self.created_at(i) + dt.timedelta(milliseconds=(i * 13) % 1000)
        total = 1000 + (i * 97) % 90000
        record: Dict[str, Any] = {
            "id": order_id(i, self.created_at(i)),
            "order_number": f"2024{i:013d}",
            "system_order_number": f"2024{i:013d}",
            "merchant_order_number": None,
            "status": "confirmed" if i % 4 else "pending",
            "is_guest_checkout": "false" if i % 2 else False,
            "order_remarks": "",
            "customer_id": f"cust{i % 97:020d}",
            "currency_iso": "TWD",
            "subtotal": money(total - 100),
            "order_discount": money(100),
            "total_tax_fee": money(0),
            "total": money(total, string_numbers=i % 5 == 0),
            "order_points": str(i % 10) if i % 3 else i % 10,
            "order_payment": {
                "id": f"pay{i:021d}",
                "payment_type": "credit_card",
                "status": "completed",
                "total": money(total),
                "paid_at": _stamp(created, i % 2 == 0),
                "updated_at": _stamp(created, i % 2 == 1),
                "created_at": _stamp(created, i % 2 == 0),
            },
            "subtotal_items": subtotal_items(i, total),
            "confirmed_at": None if i % 4 == 0 else _stamp(created, i % 2 == 1),
            "updated_at": _stamp(self.updated_at(i), i % 2 == 1),
            "created_at": _stamp(created, i % 2 == 0),
            "created_by": "shop",
            "created_from": "shop",
            "utm_data": {},
        }
        c = self.campaign_of(i)
        if c is not None:
            record["affiliate_campaign"] = {"id": campaign_id(c), "name_translations": {"en": f"Partner {c}"},
                                            "reward_type": "percentage", "reward_value": money(100)}
        if i % 5 == 0:
            record["custom_data"] = {"gift_wrap": True}
        if record["subtotal_items"] is None and i % 2:
            del record["subtotal_items"]
        return record

    # -- HTTP ------------------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        token = request.headers.get("authorization", "")
        if token != f"Bearer {VALID_TOKEN}":
            return Response(401, {"error": "The access token is invalid or has expired.", "code": "Unauthorized"})
        allowed, _, _ = self.window.take(token)
        if not allowed:
            return Response(429, RATE_LIMITED)
        if request.path == "/v1/affiliate_campaigns":
            return self._campaigns(request)
        if request.path == "/v1/orders":
            return self._orders(request)
        match = CAMPAIGN_PATH.match(request.path)
        if match:
            return self._campaign_orders_page(match.group(1), request)
        return Response(404, {"error": f"Route {request.path} not found", "code": "NotFound"})

    @staticmethod
    def _page_args(request: Request, size_name: str, default_size: int) -> Tuple[Optional[int], Optional[int], Optional[Response]]:
        try:
            page = int(request.arg("page", "1"))
            size = int(request.arg(size_name, str(default_size)))
        except ValueError:
            return None, None, Response(422, {"error": f"{size_name} and page must be integers", "code": "InvalidParams"})
        if page < 1 or not 1 <= size <= MAX_PER_PAGE:
            return None, None, Response(422, {"error": f"{size_name} must be between 1 and {MAX_PER_PAGE}", "code": "InvalidParams"})
        return page, size, None

    @staticmethod
    def _paged(items: List[Any], page: int, per_page: int, build) -> Dict[str, Any]:
        total = len(items)
        chunk = items[(page - 1) * per_page: page * per_page]
        return {
            "items": [build(i) for i in chunk],
            "pagination": {"current_page": page, "per_page": per_page, "total_count": total,
                           "total_pages": math.ceil(total / per_page)},
        }

    def _campaigns(self, request: Request) -> Response:
        page, per_page, error = self._page_args(request, "per_page", 24)
        if error:
            return error
        return Response(200, self._paged(list(range(self.campaign_count)), page, per_page, self.campaign))

    def _orders(self, request: Request) -> Response:
        page, per_page, error = self._page_args(request, "per_page", 24)
        if error:
            return error
        try:
            after = _parse_time(request.arg("updated_after")) if request.arg("updated_after") else DATA_START - dt.timedelta(days=1)
            before = _parse_time(request.arg("updated_before")) if request.arg("updated_before") else DATA_END + dt.timedelta(days=30)
        except ValueError:
            return Response(422, {"error": "updated_after / updated_before must be times such as 2024-01-01 00:00:00", "code": "InvalidParams"})
        sort_by = request.arg("sort_by", "desc")
        if sort_by not in ("asc", "desc"):
            return Response(422, {"error": "sort_by must be asc or desc", "code": "InvalidParams"})
        with self._cache_lock:
            matching = self._window_cache.get((after, before))
        if self.changes or self._updated_override:
            matching = self._changed_window(after, before)
        elif matching is None:
            low = bisect.bisect_left(self._updated_keys, after)
            high = bisect.bisect_right(self._updated_keys, before)
            matching = sorted(i for _, i in self._by_updated[low:high])  # creation order
            with self._cache_lock:
                self._window_cache[(after, before)] = matching
        ordered = matching if sort_by == "asc" else matching[::-1]
        return Response(200, self._paged(ordered, page, per_page, self.order))

    def _changed_window(self, after: dt.datetime, before: dt.datetime) -> List[int]:
        """The orders updated in [after, before] once tests changed some: creation order, as ``_orders`` serves."""
        low = bisect.bisect_left(self._updated_keys, after)
        high = bisect.bisect_right(self._updated_keys, before)
        found = {i for _, i in self._by_updated[low:high] if i not in self._updated_override}
        found.update(i for i, moment in self._updated_override.items() if after <= moment <= before)
        found.update(row.index for row in self.changes.added("orders") if after <= self.updated_at(row.index) <= before)
        return sorted(found, key=lambda i: (self.created_at(i), i))

    def _campaign_orders_page(self, campaign: str, request: Request) -> Response:
        orders = self._campaign_orders.get(campaign)
        if orders is None:
            return Response(404, {"error": "Affiliate campaign not found", "code": "NotFound"})
        try:
            limit = int(request.arg("limit", "24"))
        except ValueError:
            return Response(422, {"error": "limit must be an integer", "code": "InvalidParams"})
        if not 1 <= limit <= MAX_PER_PAGE:
            return Response(422, {"error": f"limit must be between 1 and {MAX_PER_PAGE}", "code": "InvalidParams"})
        previous = request.arg("previous_id")
        if previous is not None and not re.fullmatch(r"[0-9a-f]{24}", previous):
            return Response(422, {"error": "previous_id is not a valid id", "code": "InvalidParams"})
        start = bisect.bisect_right(orders, previous) if previous else 0
        chunk = orders[start: start + limit]
        items = [self.order(self._order_index[oid]) for oid in chunk]
        return Response(200, {"items": items, "limit": limit, "last_id": chunk[-1] if chunk else None})


VENDOR_CLASS = Shopline
