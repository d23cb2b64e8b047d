"""Config, request and response builders for the Wicked Reports unit tests.

Requests are matched on their exact query string (``complete_qs``), so every mock is also an assertion about
the parameters the connector sends; a request nobody registered fails the test.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

API_KEY = "wr-secret-key-4f9a"
BASE_URL = "https://api.wickedreports.com"


def config(**overrides: Any) -> Dict[str, Any]:
    # lookback_days 0: tests about windows and state see the bare cursor; test_lookback.py covers the default.
    values = {"api_key": API_KEY, "start_date": "2024-01-01", "end_date": "2024-01-20", "page_size": 1000,
              "lookback_days": 0}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


class WickedRequest:
    """``WickedRequest.contacts().window("2024-01-01", "2024-01-20").url`` -> the exact URL the connector must call."""

    def __init__(self, endpoint: str, base_url: str = BASE_URL) -> None:
        self._endpoint = endpoint
        self._base_url = base_url.rstrip("/")
        self._params: Dict[str, Any] = {"limit": 1000}

    @classmethod
    def contacts(cls, base_url: str = BASE_URL) -> "WickedRequest":
        return cls("contacts", base_url)

    @classmethod
    def clicks(cls, base_url: str = BASE_URL) -> "WickedRequest":
        return cls("clicks", base_url)

    @classmethod
    def orders(cls, base_url: str = BASE_URL) -> "WickedRequest":
        return cls("orders", base_url)

    def window(self, first: str, last: str) -> "WickedRequest":
        self._params.update({"from": first, "to": last})
        return self

    def limit(self, limit: int) -> "WickedRequest":
        self._params["limit"] = limit
        return self

    def next(self, token: str) -> "WickedRequest":
        self._params["next"] = token
        return self

    @property
    def url(self) -> str:
        return f"{self._base_url}/{self._endpoint}?{urlencode(self._params)}"


def page(results: List[Dict[str, Any]], number: int = 1, total_pages: int = 1, next_token: Optional[str] = "n2") -> Dict[str, Any]:
    """A list answer; ``next`` is present on the last page too, as the docs show."""
    body: Dict[str, Any] = {"status": "success", "results": results, "page": number, "totalPages": total_pages,
                            "total": len(results) * total_pages}
    if next_token is not None:
        body["next"] = next_token
    return body


def contact(id_: str, create_date: str = "2024-01-05T10:00:00.000Z", **extra: Any) -> Dict[str, Any]:
    return {"id": id_, "sourceId": f"src-{id_}", "email": f"{id_}@example.com", "urlWicked": "https://x",
            "createDate": create_date, "LTV": 0, **extra}


def click(contact_id: str, date: str = "2024-01-05T10:00:00.000Z", **extra: Any) -> Dict[str, Any]:
    return {"contactId": contact_id, "date": date, "isFirstClick": False, **extra}


def order(id_: str, date: str = "2024-01-05T10:00:00.000Z", **extra: Any) -> Dict[str, Any]:
    return {"id": id_, "sourceId": f"src-{id_}", "date": date, "amount": 79, **extra}


def error(message: str) -> Dict[str, Any]:
    return {"status": "error", "message": message}
