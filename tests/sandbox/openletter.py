"""OpenLetter Connect API emulator (see ../shared/api-reference/openletter-orders.txt and NOTES.md).

- ``GET /orders/``, ``GET /contacts``, ``GET /templates`` with ``page`` (0-based) and ``pageSize`` (1..100, the
  third-party maximum NOTES.md reports); both are required, anything else is a 400. ``meta.account_id`` keeps the
  rows whose ``meta.account_id`` matches. Answers ``{message, data: {count, rows}}``; a page past the end is empty.
- Header ``Authorization: Bearer VALID_TOKEN``; anything else is a 401.
- As documented, ``status`` is a number on some orders and a string on others; orders nest ``campaign``,
  ``product``, ``contacts`` (one to three recipients; some orders an empty list, ``null`` or no field: see
  ``recipients``) and ``template``. Some booleans come as strings, and rows carry a field no schema
  declares (``source``).
- Rate limits are undocumented: the emulator sends no rate-limit headers until its window is spent, then answers
  429 with ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` (seconds), the headers the connector listens for.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Tuple

from tests.sandbox.common import RateWindow
from tests.sandbox.server import Request, Response, Vendor

VALID_TOKEN = "sandbox-openletter-token"
ACCOUNTS = ("123-1234-12342355-12323534634", "987-6543-21098765-43210987654")
MAX_PAGE_SIZE = 100
ORDER_STATUSES: Tuple[Any, ...] = (10, "On Hold", 20, "Scheduled", 30, "Mailed")


def _meta(i: int) -> Dict[str, Any]:
    return {"account_id": ACCOUNTS[i % len(ACCOUNTS)]}


def contact(i: int) -> Dict[str, Any]:
    return {
        "id": str(i + 1),
        "zip": f"{62000 + i % 1000}",
        "city": "Springfield",
        "state": "IL",
        "email": f"contact{i}@example.com",
        "phoneNo": "217-555-1234",
        "address1": f"{1000 + i} Random Street",
        "address2": None,
        "fullName": f"Alex Brown {i}",
        "firstName": "Alex",
        "lastName": f"Brown {i}",
        "websiteUrl": "https://techcorp.com",
        "companyName": "TechCorp",
        "meta": _meta(i),
        "source": "OLC_CLIENT" if i % 2 else "HUBSPOT",
    }


def template(i: int) -> Dict[str, Any]:
    return {
        "id": str(i + 1),
        "title": f"My Template {i + 1}",
        "templateUrl": f"https://api.openletterconnect.com/api/v1/s3/openletterconnect/org-1/templates/{i + 1}.json",
        "templateType": "json",
        "thumbnailUrl": f"https://api.openletterconnect.com/api/v1/s3/openletterconnect/org-1/thumbnails/{i + 1}.png",
        "isShared": "false" if i % 3 else True,
        "creator": {"id": "2", "fullName": "Alex Brown"},
        "meta": _meta(i),
    }


def recipients(i: int) -> Optional[List[Dict[str, Any]]]:
    """The order's ``contacts``: one to three recipients; some orders none (an empty list, ``null``, or no field)."""
    if i % 17 == 5:
        return []
    if i % 17 == 14:
        return None
    return [
        {
            "id": str(i * 3 + n + 1),
            "orderId": str(i + 1),
            "trackingCode": None if n else f"TRK{i:08d}",
            "contact": contact(i * 3 + n),
            "isDelivered": "true" if n == 0 and i % 2 else False,
            "status": None if n else ORDER_STATUSES[(i + n) % len(ORDER_STATUSES)],
            "meta": {},
        }
        for n in range(1 + i % 3)
    ]


def order(i: int) -> Dict[str, Any]:
    record = {
        "id": str(i + 1),
        "orgId": "1",
        "fileUrl": None,
        "mergeVariables": [],
        "status": ORDER_STATUSES[i % len(ORDER_STATUSES)],
        "meta": _meta(i),
        "isLiveMode": "false" if i % 4 == 1 else i % 4 == 0,
        "source": "ZAPIER",
        "campaign": {"id": "2", "name": "One-off order", "description": "This is a one-off order",
                     "scheduleType": "immediate", "useType": None, "deliveryDate": None, "campaignType": "one-off order"},
        "product": {"id": "1", "paperType": "60# Statement", "paperSize": "8.5x11", "deliveryType": "First Class",
                    "productType": "Professional letters", "envelopeType": "#10 Double-Window", "postageType": "Indicia",
                    "name": "Professional Letters, First Class", "meta": None},
        "contacts": recipients(i),
        "template": template(i % 7),
    }
    if i % 17 == 11:
        del record["contacts"]
    return record


# endpoint: (row builder, rows per configured `records`)
STREAMS: Dict[str, Tuple[Callable[[int], Dict[str, Any]], float]] = {
    "/orders/": (order, 1),
    "/contacts": (contact, 1),
    "/templates": (template, 0.1),
}


class OpenLetter(Vendor):
    name = "openletter"

    def __init__(self, records: int = 1000, rate_limit: int = 100_000) -> None:
        super().__init__(records=records, rate_limit=rate_limit)
        self.window = RateWindow(limit=rate_limit, seconds=10)
        self.counts = {path: max(int(records * factor), 1) for path, (_, factor) in STREAMS.items()}

    def handle(self, request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        if authorization != f"Bearer {VALID_TOKEN}":
            return Response(401, {"message": "Unauthorized: invalid or expired token"})
        allowed, _, reset = self.window.take(authorization)
        if not allowed:
            headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(math.ceil(reset))}
            return Response(429, {"message": "Too many requests, please try again later."}, headers)
        if request.path not in STREAMS:
            return Response(404, {"message": f"Cannot GET /api/v1{request.path}"})
        try:
            page = int(request.arg("page", ""))
            page_size = int(request.arg("pageSize", ""))
        except ValueError:
            return Response(400, {"message": ["page must be an integer", "pageSize must be an integer"]})
        if page < 0 or not 1 <= page_size <= MAX_PAGE_SIZE:
            return Response(400, {"message": [f"pageSize must not be greater than {MAX_PAGE_SIZE}"]})
        build, _ = STREAMS[request.path]
        indexes: range | List[int] = range(self.counts[request.path])
        account = request.arg("meta.account_id")
        if account is not None:
            # Rows alternate between the accounts (see _meta): pick this account's slice without building the rest.
            position = ACCOUNTS.index(account) if account in ACCOUNTS else None
            indexes = indexes[position::len(ACCOUNTS)] if position is not None else []
        rows = [build(i) for i in indexes[page * page_size:(page + 1) * page_size]]
        return Response(200, {"message": "Success", "data": {"count": len(indexes), "rows": rows}})


VENDOR_CLASS = OpenLetter
