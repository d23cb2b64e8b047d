"""Leadway CRM / LeadConnector payments API emulator (see ../shared/api-reference/leadway-orders.txt and NOTES.md).

- ``GET /payments/orders|/payments/transactions|/payments/subscriptions?altId&startAt&endAt&limit&offset`` and
  ``GET /payments/coupon/list?altId&altType&limit&offset``: answers ``{data, totalCount}`` (coupons add ``traceId``).
  ``startAt``/``endAt`` (YYYY-MM-DD, both days included, UTC) filter on ``createdAt``; either may be left out.
  ``limit`` defaults to 10 (coupons 100) and may not exceed ``MAX_LIMIT``: a larger one gets the documented 422
  ``{statusCode, message: [...], error}``. ``altType=location`` is required everywhere but on orders.
- Headers: ``Authorization: Bearer VALID_TOKEN`` (anything else: the documented 401 "Invalid token"),
  ``Version: 2021-07-28`` (missing: 400).
- Locations (``altId``): the token is an agency token that sees two sub-accounts, ``LOCATION_ID`` and
  ``SECOND_LOCATION_ID``; any other ``altId`` (``HIDDEN_LOCATION_ID`` for one) answers 403 as LeadConnector does for a
  location the token cannot read. Each location has its own records: ``SECOND_LOCATION_ID`` half as many per stream
  (``SECOND_LOCATION_SHARE``), ids unique across locations as Mongo ObjectIds are (``ord2...`` beside ``ord0...``).
  The first location's data is what it always was: other suites count its records exactly.
- ``X-RateLimit-Max/Remaining/Interval-Milliseconds`` on every answer, counted per location as LeadConnector counts
  them (per app and location); 429 once a location's 10-second window is spent.
- Numbers and booleans come as strings (``"amount": "100"``, ``"liveMode": "false"``) as in the vendor's example;
  orders carry a field no schema declares (``trackingId``). Values that do not convert are left to ``inject`` so
  that the served data still matches the schemas the CDK standard suite checks.
- Late changes (see changes.py): ``change("transactions", id, status="refunded", amountRefunded=...)``,
  ``change("orders", id, fulfillmentStatus="fulfilled")``, ``add("orders", at)`` for a late row, ``find(stream, at)``;
  ``add`` and ``find`` take ``location=`` (default ``LOCATION_ID``). Changed records keep their ``createdAt``, which is
  what ``startAt``/``endAt`` filter on. ``count(stream, location, first_day, last_day)``: how many records a read
  of those days must bring.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Dict, Optional, Tuple

from tests.sandbox.changes import Changes, merge
from tests.sandbox.common import UTC, RateWindow, Timeline, parse_day
from tests.sandbox.server import Request, Response, Vendor

VALID_TOKEN = "sandbox-leadway-token"
LOCATION_ID = "sandboxLocation01"
SECOND_LOCATION_ID = "sandboxLocation02"
HIDDEN_LOCATION_ID = "sandboxLocation03"  # exists, but the token cannot read it: 403
# The digit after an id's 3-letter prefix, per location: ids stay unique across locations (ord0..., ord2...).
LOCATION_DIGITS = {LOCATION_ID: "0", SECOND_LOCATION_ID: "2"}
SECOND_LOCATION_SHARE = 0.5  # records of the second location per record of the first
API_VERSION = "2021-07-28"
MAX_LIMIT = 100
WINDOW_SECONDS = 10
DATA_START = dt.datetime(2024, 1, 1, tzinfo=UTC)
DATA_END = dt.datetime(2025, 1, 1, tzinfo=UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def object_id(kind: str, i: int, location: str = LOCATION_ID) -> str:
    """``ord000...0042`` for the first location, ``ord200...0042`` for the second: 24 characters, unique."""
    return f"{kind}{LOCATION_DIGITS[location]}{i:020d}"


def order(i: int, at: dt.datetime, location: str = LOCATION_ID) -> Dict[str, Any]:
    amount = 20 + i % 180
    return {
        "_id": object_id("ord", i, location),
        "altId": location,
        "altType": "location",
        "contactId": f"contact{i // 2:012d}",
        "contactName": f"Contact {i // 2}",
        "contactEmail": f"contact{i // 2}@example.com",
        "currency": "USD",
        "amount": str(amount),
        "subtotal": str(amount + 10),
        "discount": "10",
        "status": "completed" if i % 4 else "refunded",
        "liveMode": "false" if i % 10 == 0 else "true",
        "totalProducts": str(1 + i % 5),
        "sourceType": "funnel",
        "sourceName": "onestep",
        "sourceId": f"funnel{i % 7}",
        "sourceMeta": {"domain": "app.leadwaycrm.com", "pageId": f"page{i % 3}"},
        "couponCode": "100PER" if i % 9 == 0 else None,
        "createdAt": _iso(at),
        "updatedAt": _iso(at + dt.timedelta(hours=1)),
        "sourceSubType": "one_step_order_form",
        "fulfillmentStatus": "unfulfilled",
        "onetimeProducts": "1",
        "recurringProducts": "0",
        "createdBy": "user123",
        "trackingId": f"trk-{i}",  # not in the spec: must reach the destination untouched
    }


def transaction(i: int, at: dt.datetime, location: str = LOCATION_ID) -> Dict[str, Any]:
    return {
        "_id": object_id("txn", i, location),
        "altId": location,
        "altType": "location",
        "contactId": f"contact{i // 2:012d}",
        "contactName": f"Contact {i // 2}",
        "contactEmail": f"contact{i // 2}@example.com",
        "currency": "USD",
        "amount": f"{20 + i % 180}.50",
        "status": "succeeded",
        "liveMode": "true",
        "entityType": "order",
        "entityId": object_id("ord", i, location),
        "entitySourceType": "funnel",
        "entitySourceName": "onestep",
        "entitySourceId": f"funnel{i % 7}",
        "entitySourceMeta": {"domain": "app.leadwaycrm.com"},
        "subscriptionId": object_id("sub", i % 40, location) if i % 3 == 0 else None,
        "chargeId": f"ch_{i}",
        "chargeSnapshot": {"status": "succeeded", "amount": 2050},
        "paymentProviderType": "stripe",
        "paymentProviderConnectedAccount": "acct_1",
        "ipAddress": "203.0.113.7",
        "createdAt": _iso(at),
        "updatedAt": _iso(at),
        "amountRefunded": "0",
        "paymentMethod": {"card": {"brand": "visa", "last4": "4242"}},
        "fulfilledAt": _iso(at),
        "createdBy": "user123",
    }


def subscription(i: int, at: dt.datetime, location: str = LOCATION_ID) -> Dict[str, Any]:
    return {
        "_id": object_id("sub", i, location),
        "altId": location,
        "altType": "location",
        "contactId": f"contact{i:012d}",
        "contactName": f"Contact {i}",
        "contactEmail": f"contact{i}@example.com",
        "currency": "USD",
        "amount": "49",
        "status": "active" if i % 5 else "canceled",
        "liveMode": "true",
        "entityType": "order",
        "entityId": object_id("ord", i, location),
        "entitySourceType": "funnel",
        "entitySourceName": "onestep",
        "entitySourceId": f"funnel{i % 7}",
        "entitySourceMeta": {"domain": "app.leadwaycrm.com"},
        "subscriptionId": f"sub_{i}",
        "subscriptionSnapshot": {"interval": "month", "trial_end": None},
        "paymentProviderType": "stripe",
        "paymentProviderConnectedAccount": "acct_1",
        "ipAddress": "203.0.113.7",
        "createdAt": _iso(at),
        "updatedAt": _iso(at),
        "createdBy": "user123",
    }


def coupon(i: int, at: dt.datetime, location: str = LOCATION_ID) -> Dict[str, Any]:
    return {
        "_id": object_id("cpn", i, location),
        "usageCount": str(i % 13),
        "limitPerCustomer": "1",
        "altId": location,
        "altType": "location",
        "name": f"Coupon {i}",
        "code": f"SAVE{i}",
        "discountType": "percentage" if i % 2 else "amount",
        "discountValue": str(5 + i % 20),
        "status": "active",
        "startDate": _iso(at),
        "endDate": None,
        "applyToFuturePayments": "false",
        "applyToFuturePaymentsConfig": {"type": "fixed", "duration": "3", "durationType": "months"},
        "userId": "user123",
        "createdAt": _iso(at),
        "updatedAt": _iso(at),
    }


STREAMS: Dict[str, Tuple[Callable[..., Dict[str, Any]], float, bool, bool]] = {
    # endpoint: (record builder, records per configured `records`, dated by startAt/endAt, altType required)
    "/payments/orders": (order, 1, True, False),
    "/payments/transactions": (transaction, 1, True, True),
    "/payments/subscriptions": (subscription, 0.2, True, True),
    "/payments/coupon/list": (coupon, 0.05, False, True),
}


def _unprocessable(*messages: str) -> Response:
    return Response(422, {"statusCode": 422, "message": list(messages), "error": "Unprocessable Entity"})


class Leadway(Vendor):
    name = "leadway"

    def __init__(self, records: int = 1000, rate_limit: int = 100_000) -> None:
        super().__init__(records=records, rate_limit=rate_limit)
        self.window = RateWindow(limit=rate_limit, seconds=WINDOW_SECONDS)  # one window per location (altId)
        shares = {LOCATION_ID: 1.0, SECOND_LOCATION_ID: SECOND_LOCATION_SHARE}
        self.location_timelines = {
            location: {
                path: Timeline(max(int(records * factor * share), 1), DATA_START, DATA_END)
                for path, (_, factor, _, _) in STREAMS.items()
            }
            for location, share in shares.items()
        }
        self.timelines = self.location_timelines[LOCATION_ID]
        self.location_changes = {location: Changes() for location in shares}
        self.changes = self.location_changes[LOCATION_ID]

    # -- late changes (tests/sandbox/changes.py); streams: orders, transactions, subscriptions, coupons ------------------

    @staticmethod
    def _path(stream: str) -> str:
        return "/payments/coupon/list" if stream == "coupons" else f"/payments/{stream}"

    def change(self, stream: str, record_id: str, edit: Optional[Callable[[Dict[str, Any]], Any]] = None,
               **fields: Any) -> None:
        """Serve record ``record_id`` (its ``_id``) of ``stream`` changed from now on; its ``createdAt`` stays."""
        for changes in self.location_changes.values():  # ids are unique across locations
            changes.edit(stream, record_id, edit, **fields)

    def add(self, stream: str, at: dt.datetime, location: str = LOCATION_ID, **fields: Any) -> str:
        """A record of ``stream`` created at ``at`` that exists from now on (a late row when ``at`` is in the past)."""
        row = self.location_changes[location].add(stream, at)
        build = STREAMS[self._path(stream)][0]
        record_id = build(row.index, at, location)["_id"]
        if fields:
            self.change(stream, record_id, **fields)
        return record_id

    def find(self, stream: str, at: dt.datetime, location: str = LOCATION_ID) -> str:
        """The ``_id`` of the first generated record of ``stream`` created at or after ``at``."""
        timeline = self.location_timelines[location][self._path(stream)]
        index = timeline.between(at.date(), DATA_END.date()).start
        while index < len(timeline) and timeline.at(index) < at:
            index += 1
        return STREAMS[self._path(stream)][0](index, timeline.at(index), location)["_id"]

    def count(self, stream: str, location: str = LOCATION_ID, first_day: Optional[dt.date] = None,
              last_day: Optional[dt.date] = None) -> int:
        """How many records of ``stream`` a read of ``first_day`` to ``last_day`` (both included) gets for
        ``location``; every record of the stream when the days are left out (coupons have no dates)."""
        path = self._path(stream)
        timeline = self.location_timelines[location][path]
        if not STREAMS[path][2] or (first_day is None and last_day is None):
            return len(timeline) + len(self.location_changes[location].added(stream))
        return len(self._matching(path, location, first_day, last_day))

    def _matching(self, path: str, location: str, first: Optional[dt.date], last: Optional[dt.date]) -> Any:
        timeline = self.location_timelines[location][path]
        stream = "coupons" if path.endswith("/list") else path.rsplit("/", 1)[1]
        added = self.location_changes[location].added(stream)
        matching: Any = range(len(timeline))
        if STREAMS[path][2]:
            matching = timeline.between(first or DATA_START.date(), last or DATA_END.date())
            low = dt.datetime.combine(first, dt.time(), UTC) if first else None
            high = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), UTC) if last else None
            added = [row for row in added if (low is None or row.at >= low) and (high is None or row.at < high)]
        return merge(matching, timeline.at, added)

    def _at(self, path: str, index: int, location: str = LOCATION_ID) -> dt.datetime:
        row = self.location_changes[location].added_row(index)
        return row.at if row is not None else self.location_timelines[location][path].at(index)

    def handle(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {VALID_TOKEN}":
            return Response(401, {"statusCode": 401, "message": "Invalid token: access token is invalid", "error": "Unauthorized"})
        allowed, remaining, _ = self.window.take(request.arg("altId") or "")  # per app and location
        headers = {
            "X-RateLimit-Max": str(self.window.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Interval-Milliseconds": str(int(self.window.seconds * 1000)),
        }
        if not allowed:
            return Response(429, {"statusCode": 429, "message": "Too many requests"}, headers)
        response = self._list(request)
        response.headers.update(headers)
        return response

    def _list(self, request: Request) -> Response:
        if request.headers.get("version") != API_VERSION:
            return Response(400, {"statusCode": 400, "message": "version header was not found"})
        if request.path not in STREAMS:
            return Response(404, {"statusCode": 404, "message": f"Cannot GET {request.path}", "error": "Not Found"})
        build, _, dated, needs_alt_type = STREAMS[request.path]
        alt_id = request.arg("altId")
        if not alt_id:
            return _unprocessable("altId should not be empty", "altId must be a string")
        if needs_alt_type and request.arg("altType") != "location":
            return _unprocessable("altType must be one of the following values: location")
        if alt_id not in self.location_timelines:
            return Response(403, {"statusCode": 403, "message": "The token does not have access to this location."})
        try:
            limit = int(request.arg("limit", "100" if request.path.endswith("/list") else "10"))
            offset = int(request.arg("offset", "0"))
        except ValueError:
            return _unprocessable("limit must be a number", "offset must be a number")
        if limit > MAX_LIMIT:
            return _unprocessable(f"limit must not be greater than {MAX_LIMIT}")
        if limit < 1 or offset < 0:
            return _unprocessable("limit must not be less than 1", "offset must not be less than 0")
        stream = "coupons" if request.path.endswith("/list") else request.path.rsplit("/", 1)[1]
        first = last = None
        if dated:
            try:
                first = parse_day(request.arg("startAt")) if request.arg("startAt") else None
                last = parse_day(request.arg("endAt")) if request.arg("endAt") else None
            except ValueError:
                return _unprocessable("startAt must be a valid date", "endAt must be a valid date")
        matching = self._matching(request.path, alt_id, first, last)
        changes = self.location_changes[alt_id]
        data = [changes.apply(stream, build(i, self._at(request.path, i, alt_id), alt_id), "_id")
                for i in matching[offset:offset + limit]]
        body: Dict[str, Any] = {"data": data, "totalCount": len(matching)}
        if request.path.endswith("/list"):
            body["traceId"] = "sandbox-trace"
        return Response(200, body)


VENDOR_CLASS = Leadway
