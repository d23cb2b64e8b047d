"""Config, request and response builders for the OpenLetter Connect unit tests.

Requests are matched on their exact, case-sensitive query string (see conftest.py), so every mock is also an
assertion about the parameters the connector sends; a request nobody registered fails the test.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

API_TOKEN = "olc-secret-token-7c1e"
PRODUCTION_URL = "https://api.openletterconnect.com/api/v1"
DEMO_URL = "https://demoapi.openletterconnect.com/api/v1"
ACCOUNT_ID = "123-1234-12342355-12323534634"


def config(**overrides: Any) -> Dict[str, Any]:
    values = {"api_token": API_TOKEN}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


class OpenLetterRequest:
    """``OpenLetterRequest.orders().page(1).url`` -> the exact URL the connector must call."""

    def __init__(self, endpoint: str, base_url: str = PRODUCTION_URL) -> None:
        self._endpoint = endpoint
        self._base_url = base_url.rstrip("/")
        self._params: Dict[str, Any] = {"page": 0, "pageSize": 100}

    @classmethod
    def orders(cls, base_url: str = PRODUCTION_URL) -> "OpenLetterRequest":
        return cls("orders/", base_url)

    @classmethod
    def contacts(cls, base_url: str = PRODUCTION_URL) -> "OpenLetterRequest":
        return cls("contacts", base_url)

    @classmethod
    def templates(cls, base_url: str = PRODUCTION_URL) -> "OpenLetterRequest":
        return cls("templates", base_url)

    def page(self, number: int) -> "OpenLetterRequest":
        self._params["page"] = number
        return self

    def page_size(self, size: int) -> "OpenLetterRequest":
        self._params["pageSize"] = size
        return self

    def account(self, account_id: str) -> "OpenLetterRequest":
        self._params["meta.account_id"] = account_id
        return self

    @property
    def url(self) -> str:
        return f"{self._base_url}/{self._endpoint}?{urlencode(self._params)}"


def page(rows: List[Dict[str, Any]], count: Optional[int] = None) -> Dict[str, Any]:
    """A list answer, ``{message, data: {count, rows}}``; ``count`` defaults to the rows given."""
    return {"message": "Success", "data": {"count": len(rows) if count is None else count, "rows": rows}}


def rows(first: int, last: int, build=None) -> List[Dict[str, Any]]:
    """Rows with ids ``first``..``last`` (both included)."""
    build = build or (lambda i: {"id": str(i)})
    return [build(i) for i in range(first, last + 1)]


def order(id_: str, **extra: Any) -> Dict[str, Any]:
    """An order shaped like the documented list example (nested campaign, product, contacts, template)."""
    record = {
        "id": id_,
        "orgId": "1",
        "fileUrl": None,
        "mergeVariables": [],
        "status": 10,
        "meta": {},
        "isLiveMode": False,
        "campaign": {"id": "2", "name": "One-off order", "description": "This is a one-off order",
                     "scheduleType": "immediate", "useType": None, "deliveryDate": None, "campaignType": "one-off order"},
        "product": {"id": "1", "paperType": "60# Statement", "paperSize": "8.5x11", "deliveryType": "First Class",
                    "productType": "Professional letters", "envelopeType": "#10 Double-Window",
                    "postageType": "Indicia", "name": "Professional Letters, First Class", "meta": None},
        "contacts": [
            {"id": "28", "orderId": id_, "trackingCode": None, "isDelivered": False, "status": None, "meta": {},
             "contact": contact("1")},
        ],
        "template": template("8"),
    }
    record.update(extra)
    return record


def contact(id_: str, **extra: Any) -> Dict[str, Any]:
    return {"id": id_, "zip": "62704", "city": "Springfield", "email": "alex@example.com", "phoneNo": "217-555-1234",
            "address1": "1234 Random Street, Suite 567", "address2": "Springfield, IL 62704", "fullName": "Alex Brown",
            "lastName": "Brown", "firstName": "Alex", "websiteUrl": "https://techcorp.com", "companyName": "TechCorp",
            **extra}


def template(id_: str, **extra: Any) -> Dict[str, Any]:
    return {"id": id_, "title": "My Template 3", "templateType": "json",
            "templateUrl": "https://api.openletterconnect.com/api/v1/s3/openletterconnect/template.json",
            "thumbnailUrl": "https://api.openletterconnect.com/api/v1/s3/openletterconnect/logo.png",
            "creator": {"id": "2", "fullName": "Alex Brown"}, **extra}


def error(message: Any) -> Dict[str, Any]:
    return {"message": message}
