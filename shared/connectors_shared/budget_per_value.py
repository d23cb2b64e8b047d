"""Pace by the vendor's rate-limit headers separately for each value of a request parameter.

Some APIs count their rate limit per account *inside* one token: LeadConnector allows 100 requests per 10 seconds
(and 200,000 a day) per app and per location, and the ``X-RateLimit-Remaining`` of an answer counts the location the
request named in ``altId``. One ``HeaderPacedBudget`` for every location would read location A's "0 remaining" as
the figure of location B too (pausing B for nothing), and mix their counts. ``BudgetPerQueryValue`` keeps one
``HeaderPacedBudget`` per value of the parameter, built on first use: each location is paced by its own headers, and
locations are read side by side up to each one's limit. A request without the parameter shares one pacer.

Example (a source's ``api_budget_for``)::

    BudgetPerQueryValue("altId", lambda: budget_from_definition(definition, max_wait_seconds, vendor))
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Optional
from urllib.parse import parse_qs, urlsplit

from airbyte_cdk.sources.streams.call_rate import AbstractAPIBudget, AbstractCallRatePolicy

from connectors_shared.rate_limiting import HeaderPacedBudget


def query_value(request: Any, parameter: str) -> str:
    """The first value of ``parameter`` in the URL of ``request`` (a ``requests.PreparedRequest``), or ``""``."""
    url = getattr(request, "url", None) or ""
    values = parse_qs(urlsplit(url).query).get(parameter)
    return values[0] if values else ""


class BudgetPerQueryValue(AbstractAPIBudget):
    """A ``HeaderPacedBudget`` per value of the query parameter ``parameter`` (module docstring)."""

    def __init__(self, parameter: str, new_budget: Callable[[], HeaderPacedBudget]) -> None:
        self.parameter = parameter
        self._new_budget = new_budget
        self._budgets: Dict[str, HeaderPacedBudget] = {}
        self._lock = threading.Lock()

    def budget_for(self, request: Any) -> HeaderPacedBudget:
        """The pacer of the value ``request`` names (built on first use)."""
        key = query_value(request, self.parameter)
        budget = self._budgets.get(key)
        if budget is None:
            with self._lock:
                budget = self._budgets.get(key)
                if budget is None:
                    budget = self._budgets[key] = self._new_budget()
        return budget

    @property
    def keys(self) -> list:
        """The values seen so far, in the order first seen."""
        return list(self._budgets)

    def acquire_call(self, request: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        self.budget_for(request).acquire_call(request, block=block, timeout=timeout)

    def update_from_response(self, request: Any, response: Any) -> None:
        self.budget_for(request).update_from_response(request, response)

    def get_matching_policy(self, request: Any) -> Optional[AbstractCallRatePolicy]:
        return None
