"""Config, request and response builders for the TextYess unit tests.

Every mock matches the exact query string (checked by ``TextyessRequest.matches``), so each one is also an assertion
about the parameters the connector sends; a request nobody registered fails the test. The last date window of an
incremental stream ends "now", so its ``to`` is checked to be the current second's last millisecond instead.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

API_TOKEN = "ty-secret-jwt-3b7d9e"
BASE_URL = "https://api-ai.textyess.com"
CAMPAIGN_A = "65a1f0c2e4b0a1b2c3d4e5f6"
CAMPAIGN_B = "65a1f0c2e4b0a1b2c3d4e5f7"
UTC = dt.timezone.utc
NOW_TO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.999Z$")


def days_ago(days: int) -> str:
    """Midnight UTC ``days`` days ago, as the connector formats request dates."""
    day = dt.datetime.now(UTC).date() - dt.timedelta(days=days)
    return f"{day.isoformat()}T00:00:00Z"


def config(**overrides: Any) -> Dict[str, Any]:
    # lookback_days 1 (the minimum the connector re-reads): test_lookback.py covers the default.
    values = {"api_token": API_TOKEN, "start_date": days_ago(3)[:10], "page_size": 100, "lookback_days": 1}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


class TextyessRequest:
    """``TextyessRequest.orders().window(days_ago(3)).page(1).mock(requests_mock, json=...)``."""

    def __init__(self, path: str, base_url: str = BASE_URL) -> None:
        self.path = path
        self.base_url = base_url.rstrip("/")
        self.params: Dict[str, str] = {"sortKey": "createdAt", "sortDirection": "1", "page": "0", "perPage": "100"}
        self.open_ended = False

    @classmethod
    def orders(cls, base_url: str = BASE_URL) -> "TextyessRequest":
        return cls("/analytics/orders", base_url)

    @classmethod
    def campaigns(cls, start: str, base_url: str = BASE_URL) -> "TextyessRequest":
        request = cls("/analytics/campaigns", base_url)
        request.params["from"] = start
        return request

    @classmethod
    def campaign_orders(cls, campaign_id: str, base_url: str = BASE_URL) -> "TextyessRequest":
        return cls(f"/analytics/campaigns/{campaign_id}/orders", base_url)

    def window(self, start: str, end: Optional[str] = None) -> "TextyessRequest":
        """``from=start``; ``to=end`` (the window's last millisecond), or the current second's when ``end`` is None."""
        self.params["from"] = start
        if end is None:
            self.open_ended = True
        else:
            self.params["to"] = end
        return self

    def page(self, number: int) -> "TextyessRequest":
        self.params["page"] = str(number)
        return self

    def per_page(self, size: int) -> "TextyessRequest":
        self.params["perPage"] = str(size)
        return self

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def matches(self, request: Any) -> bool:
        sent = {key: values[0] for key, values in parse_qs(urlsplit(request.url).query, keep_blank_values=True).items()}
        if self.open_ended:
            to = sent.pop("to", "")
            if not NOW_TO.match(to):
                return False
            moment = dt.datetime.strptime(to[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
            if abs((dt.datetime.now(UTC) - moment).total_seconds()) > 300:
                return False
        return sent == self.params

    def mock(self, requests_mock: Any, response_list: Optional[List[Dict[str, Any]]] = None, **response: Any) -> Any:
        if response_list is not None:
            return requests_mock.get(self.url, response_list, additional_matcher=self.matches)
        return requests_mock.get(self.url, additional_matcher=self.matches, **response)


def page(rows: List[Dict[str, Any]], total: Optional[int] = None, number: int = 0, per_page: int = 100) -> Dict[str, Any]:
    """A list answer as documented: ``{data, pagination: {total, perPage, page}}``."""
    return {"data": rows, "pagination": {"total": len(rows) if total is None else total, "perPage": per_page, "page": number}}


def order(id_: str, created_at: Optional[str] = None, **extra: Any) -> Dict[str, Any]:
    """An order shaped like the documented example."""
    return {
        "_id": id_,
        "cms_id": f"ord_{id_}",
        "order_number": "1001",
        "total": 89.99,
        "items_number": 2,
        "paid": True,
        "createdAt": created_at or days_ago(1)[:19] + ".000Z",
        "conversation": {"_id": "507f1f77bcf86cd799439021", "phone": "+393331234567"},
        **extra,
    }


def orders(first: int, last: int, created_at: Optional[str] = None) -> List[Dict[str, Any]]:
    return [order(str(i), created_at) for i in range(first, last + 1)]


def campaign_row(row_id: str, campaign_id: Optional[str], title: str = "Spring sale") -> Dict[str, Any]:
    """A campaign performance row as seen in public client code; the row's ``_id`` is not the campaign's."""
    return {
        "_id": row_id,
        "campaign": {"_id": campaign_id, "title": title} if campaign_id else None,
        "total_messages": 500,
        "cost": 50.25,
        "revenue": 1000.5,
        "orders_number": 12,
        "campaign_conversion_rate": 0.024,
        "average_cart": 83.37,
        "roas": 19.9,
        "campaign_type": "broadcast",
    }


def error(message: str) -> Dict[str, Any]:
    return {"message": message}
