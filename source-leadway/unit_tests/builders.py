"""Config, request and response builders for the Leadway unit tests.

Requests are matched on their exact query string (``complete_qs``), so every mock is also an assertion about
the parameters the connector sends; a request nobody registered fails the test. Windows end today (UTC): dates are
built relative to today with ``days_ago``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

ACCESS_TOKEN = "lw-secret-token-7c1e"
LOCATION_ID = "loc3SwdhCu3svxI8AKs"
SECOND_LOCATION_ID = "locVe9EPM428h8vShlR"
BASE_URL = "https://services.leadconnectorhq.com"


def days_ago(days: int) -> str:
    return (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=days)).isoformat()


TODAY = days_ago(0)
START = days_ago(10)  # one window, START..TODAY


def config(**overrides: Any) -> Dict[str, Any]:
    """A config as written before location_ids: one ``location_id`` (most tests read one location this way)."""
    # lookback_days 0: tests about windows and state see the bare cursor; test_lookback.py covers the default.
    values = {"access_token": ACCESS_TOKEN, "location_id": LOCATION_ID, "start_date": START, "lookback_days": 0}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def locations_config(*locations: str, **overrides: Any) -> Dict[str, Any]:
    """A config listing ``location_ids`` (both test locations unless named)."""
    values = config(location_id=None, **overrides)
    values["location_ids"] = list(locations or (LOCATION_ID, SECOND_LOCATION_ID))
    return values


def partition_state(*entries: Any, **extra: Any) -> Dict[str, Any]:
    """``partition_state((LOCATION_ID, "2024-06-01"), ...)``: a per-location state as the connector saves it."""
    states = [{"partition": {"location_id": location}, "cursor": {"createdAt": day}} for location, day in entries]
    return {"use_global_cursor": False, "states": states, **extra}


def cursors_of(stream_state: Any) -> Dict[str, str]:
    """``{location: createdAt}`` of a per-location state (an ``AirbyteStateBlob`` or a dict)."""
    state = stream_state if isinstance(stream_state, dict) else stream_state.__dict__
    return {entry["partition"]["location_id"]: entry["cursor"]["createdAt"] for entry in state.get("states", [])}


class LeadwayRequest:
    """``LeadwayRequest.orders().window(START, TODAY).page(100).url`` -> the exact URL the connector must call."""

    def __init__(self, endpoint: str, alt_type: bool, base_url: str = BASE_URL, location: str = LOCATION_ID) -> None:
        self._endpoint = endpoint
        self._base_url = base_url.rstrip("/")
        self._params: Dict[str, Any] = {"altId": location, "limit": 100, "offset": 0}
        if alt_type:
            self._params["altType"] = "location"

    @classmethod
    def orders(cls, base_url: str = BASE_URL, location: str = LOCATION_ID) -> "LeadwayRequest":
        return cls("payments/orders", alt_type=False, base_url=base_url, location=location)

    @classmethod
    def transactions(cls, base_url: str = BASE_URL, location: str = LOCATION_ID) -> "LeadwayRequest":
        return cls("payments/transactions", alt_type=True, base_url=base_url, location=location)

    @classmethod
    def subscriptions(cls, base_url: str = BASE_URL, location: str = LOCATION_ID) -> "LeadwayRequest":
        return cls("payments/subscriptions", alt_type=True, base_url=base_url, location=location)

    @classmethod
    def coupons(cls, base_url: str = BASE_URL, location: str = LOCATION_ID) -> "LeadwayRequest":
        return cls("payments/coupon/list", alt_type=True, base_url=base_url, location=location)

    @classmethod
    def check_probe(cls, location: str = LOCATION_ID, base_url: str = BASE_URL) -> "LeadwayRequest":
        """What ``check`` asks each location: one order, no dates."""
        return cls("payments/orders", alt_type=False, base_url=base_url, location=location).page(0, 1)

    def window(self, first: str, last: str) -> "LeadwayRequest":
        self._params.update({"startAt": first, "endAt": last})
        return self

    def page(self, offset: int, limit: int = 100) -> "LeadwayRequest":
        self._params.update({"offset": offset, "limit": limit})
        return self

    @property
    def url(self) -> str:
        return f"{self._base_url}/{self._endpoint}?{urlencode(self._params)}"


def page(data: List[Dict[str, Any]], total: Optional[int] = None) -> Dict[str, Any]:
    """A list answer; ``totalCount`` defaults to the records on this page (a single, last page)."""
    return {"data": data, "totalCount": len(data) if total is None else total}


def probe_answer(total: Optional[int], build: Any = None, limit: int = 100) -> Dict[str, Any]:
    """The answer to a window-sizing probe (the first page over a whole range, connectors_shared.window_sizing): a
    full first page of ``total`` records, or with ``total`` None a page advertising no total (the fixed 30-day windows
    then)."""
    if total is None:
        return {"data": []}
    rows = [(build or order)(f"probe{n}") for n in range(min(total, limit))]
    return page(rows, total=total)


def order(id_: str, created_at: str = None, **extra: Any) -> Dict[str, Any]:
    """An order as the vendor's example shows it: numbers and booleans as strings."""
    created_at = created_at or f"{START}T10:23:36.515Z"
    return {"_id": id_, "altId": LOCATION_ID, "altType": "location", "status": "completed", "sourceType": "funnel",
            "amount": "100", "subtotal": "100", "discount": "10", "liveMode": "false", "totalProducts": "5",
            "createdAt": created_at, "updatedAt": created_at, **extra}


def transaction(id_: str, created_at: str = None, **extra: Any) -> Dict[str, Any]:
    created_at = created_at or f"{START}T10:00:00.000Z"
    return {"_id": id_, "altId": LOCATION_ID, "altType": "location", "status": "succeeded", "amount": "49.5",
            "liveMode": "true", "entitySourceType": "funnel", "createdAt": created_at, "updatedAt": created_at,
            "fulfilledAt": created_at, **extra}


def subscription(id_: str, created_at: str = None, **extra: Any) -> Dict[str, Any]:
    created_at = created_at or f"{START}T10:00:00.000Z"
    return {"_id": id_, "altId": LOCATION_ID, "altType": "location", "status": "active", "amount": "49",
            "liveMode": "true", "entitySourceType": "funnel", "createdAt": created_at, "updatedAt": created_at, **extra}


def coupon(id_: str, **extra: Any) -> Dict[str, Any]:
    return {"_id": id_, "usageCount": "3", "limitPerCustomer": "1", "altId": LOCATION_ID, "altType": "location",
            "name": "Spring", "code": "SPRING10", "discountType": "percentage", "discountValue": "10",
            "status": "active", "startDate": "2024-03-01T00:00:00.000Z", "applyToFuturePayments": "false",
            "applyToFuturePaymentsConfig": {"type": "fixed", "duration": "3", "durationType": "months"},
            "createdAt": "2024-03-01T00:00:00.000Z", "updatedAt": "2024-03-01T00:00:00.000Z", **extra}


def error(status: int, message: Any, error_name: Optional[str] = None) -> Dict[str, Any]:
    body: Dict[str, Any] = {"statusCode": status, "message": message}
    if error_name:
        body["error"] = error_name
    return body
