"""Config, request and response builders for the SHOPLINE unit tests.

Requests are matched on their exact query string (``complete_qs``), so every mock is also an assertion about the
parameters the connector sends; a request nobody registered fails the test. ``now_utc()`` is frozen at ``NOW`` (see
conftest.py), so the last orders window ends at a known instant.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

TOKEN = "shopline-secret-token-7c1e"
BASE_URL = "https://open.shopline.io"
NOW = dt.datetime(2024, 3, 1, 12, 30, 15, 456000, tzinfo=dt.timezone.utc)
NOW_PARAM = "2024-03-01 12:30:15.000"


def config(**overrides: Any) -> Dict[str, Any]:
    # lookback_days 0: tests about windows and state see the bare cursor; test_lookback.py covers the default.
    values = {"access_token": TOKEN, "start_date": "2024-02-25", "page_size": 50, "lookback_days": 0}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


class ShoplineRequest:
    """``ShoplineRequest.orders().window(a, b).page(2).url`` -> the exact URL the connector must call."""

    def __init__(self, path: str, params: Dict[str, Any], base_url: str = BASE_URL) -> None:
        self._path = path
        self._params = params
        self._base_url = base_url.rstrip("/")

    @classmethod
    def affiliate_campaigns(cls, base_url: str = BASE_URL) -> "ShoplineRequest":
        return cls("v1/affiliate_campaigns", {"page": 1, "per_page": 50}, base_url)

    @classmethod
    def campaign_orders(cls, campaign_id: str, base_url: str = BASE_URL) -> "ShoplineRequest":
        return cls(f"v1/affiliate_campaigns/{campaign_id}/orders", {"limit": 50}, base_url)

    @classmethod
    def orders(cls, base_url: str = BASE_URL) -> "ShoplineRequest":
        return cls("v1/orders", {"sort_by": "asc", "page": 1, "per_page": 50}, base_url)

    def page(self, number: int) -> "ShoplineRequest":
        return self._with(page=number)

    def per_page(self, size: int) -> "ShoplineRequest":
        return self._with(per_page=size)

    def limit(self, size: int) -> "ShoplineRequest":
        return self._with(limit=size)

    def previous_id(self, value: str) -> "ShoplineRequest":
        return self._with(previous_id=value)

    def window(self, after: str, before: str) -> "ShoplineRequest":
        return self._with(updated_after=after, updated_before=before)

    def _with(self, **params: Any) -> "ShoplineRequest":
        return ShoplineRequest(self._path, {**self._params, **params}, self._base_url)

    @property
    def url(self) -> str:
        return f"{self._base_url}/{self._path}?{urlencode(self._params)}"


def money(cents: Any, dollars: Any = None, iso: str = "TWD") -> Dict[str, Any]:
    return {"cents": cents, "currency_symbol": "NT$", "currency_iso": iso, "label": f"NT${cents}",
            "dollars": cents if dollars is None else dollars}


def order(id_: str, updated_at: str = "2024-02-26T10:00:00.000Z", **extra: Any) -> Dict[str, Any]:
    return {"id": id_, "order_number": f"N{id_}", "status": "confirmed", "total": money(123),
            "created_at": "2024-02-26T09:00:00.000+00:00", "updated_at": updated_at, **extra}


def campaign(id_: str, **extra: Any) -> Dict[str, Any]:
    return {"id": id_, "name": f"Campaign {id_}", "code": id_.upper(), "reward_value": money(100),
            "created_at": "2024-01-01T00:00:00.000Z", "updated_at": "2024-01-02T00:00:00.000+00:00", **extra}


def page(items: List[Dict[str, Any]], current: int = 1, total_pages: Optional[int] = 1, per_page: int = 50) -> Dict[str, Any]:
    """A page-numbered answer (campaigns, orders)."""
    pagination: Dict[str, Any] = {"current_page": current, "per_page": per_page}
    if total_pages is not None:
        pagination.update(total_pages=total_pages, total_count=total_pages * per_page)
    return {"items": items, "pagination": pagination}


def keyset(items: List[Dict[str, Any]], limit: int = 50) -> Dict[str, Any]:
    """A keyset answer (a campaign's orders): ``last_id`` is the id of the last item."""
    return {"items": items, "limit": limit, "last_id": items[-1]["id"] if items else None}


def ids(prefix: str, count: int) -> List[str]:
    return [f"{prefix}{i:03d}" for i in range(count)]


def error(message: str, code: str = "Error") -> Dict[str, Any]:
    return {"error": message, "code": code}
