"""Leadway pieces the declarative manifest cannot express.

- ``LeadwayComponentFactory``: the shared factory, building each location's state with ``PartitionWindowCursor``
  (no fallback to the other locations' cursor, a state after every window, locations read in turns).
- ``LeadwayCheck``: the ``check`` (run by ``SourceLeadway.connection_check``): one cheap request per location, and a
  FAILED status naming every location the token cannot read and what to do about it.
- ``location_ids``: the locations a config lists.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import requests
from airbyte_cdk.sources.streams.http.error_handlers.response_models import ErrorResolution, ResponseAction
from airbyte_cdk.sources.streams.http.http_client import HttpClient
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from connectors_shared.budget_per_value import query_value
from connectors_shared.component_factory import ComponentFactory
from connectors_shared.cursors import PartitionWindowCursor
from connectors_shared.error_handling import VendorErrorHandler, vendor_message

DEFAULT_BASE_URL = "https://services.leadconnectorhq.com"
API_VERSION = "2021-07-28"
SCOPES = ("payments/orders.readonly, payments/transactions.readonly, payments/subscriptions.readonly and "
          "payments/coupons.readonly")


class LeadwayComponentFactory(ComponentFactory):
    """``ComponentFactory`` whose per-location cursors are ``PartitionWindowCursor`` (see its docstring)."""

    partition_cursor_class = PartitionWindowCursor


def location_ids(config: Mapping[str, Any]) -> List[str]:
    """The locations to read: ``location_ids``, else the single ``location_id`` of configs written before it."""
    listed = config.get("location_ids") or ([config["location_id"]] if config.get("location_id") else [])
    found: List[str] = []
    for value in listed:
        text = str(value).strip()
        if text and text not in found:
            found.append(text)
    return found


@dataclass
class ProbeErrorHandler(VendorErrorHandler):
    """The sync's error policy (``VendorErrorHandler``) for the check's probes, one request per location.

    Retries (429, 5xx, timeouts) are the sync's: same waits, same bounds. Every answer a sync would fail on (and the
    last one when the retries run out) comes back to ``LeadwayCheck`` instead of raising, with the sentence the
    sync would have shown in ``failure``: a 403 for one location must not hide the answer for the next one.
    """

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self.attempts = 0
        self.failure: Optional[ErrorResolution] = None

    def interpret_response(
        self, response_or_exception: Optional[Union[requests.Response, Exception]] = None
    ) -> ErrorResolution:
        resolution = super().interpret_response(response_or_exception)
        self.attempts += 1
        if not isinstance(response_or_exception, requests.Response):
            return resolution  # no answer to report: retried, then the shared policy's own error ends the check
        action = resolution.response_action
        retries = self.max_retries if isinstance(self.max_retries, int) else 5
        if action == ResponseAction.SUCCESS or (
            action in (ResponseAction.RETRY, ResponseAction.RATE_LIMITED) and self.attempts <= retries
        ):
            return resolution
        self.failure = resolution
        location = query_value(response_or_exception.request, "altId")
        return ErrorResolution(
            response_action=ResponseAction.IGNORE,
            failure_type=resolution.failure_type,
            error_message=f"check: location {location} answered HTTP {response_or_exception.status_code}",
        )

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], config: Mapping[str, Any]) -> "ProbeErrorHandler":
        """The manifest's requester error handler (vendor, messages, retries, waits), without its page contract."""
        definition = manifest["definitions"]["base_requester"]["error_handler"]
        settings = {field.name for field in dataclasses.fields(cls)} - {
            "config", "response_filters", "backoff_strategies", "records_path", "total_path",
        }
        return cls(config=config, parameters={"name": "check"},
                   **{key: value for key, value in definition.items() if key in settings})


@dataclass
class LeadwayCheck:
    """``check``: every location of the config answers the token, or a FAILED status names each one that does not.

    One request per location, ``GET /payments/orders?altId=<id>&limit=1&offset=0`` (the scope
    ``payments/orders.readonly``, as a sync's first request), sent with the sync's error policy and rate-limit
    budget. A 401 (the token itself), a 404 (``base_url``) or a host that cannot be reached ends the check at once with
    the sync's message; a 403, 400 or 422 is noted for its location and the next location is asked.
    """

    timeout_seconds: float = 60.0

    def run(self, source: Any, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[str]]:
        ids = location_ids(config)
        if not ids:
            return False, "location_ids is empty. List the id of every sub-account (location) to read."
        refused: List[Tuple[str, str]] = []
        try:
            for location in ids:
                problem = self._probe(source, logger, config, location)
                if problem is not None:
                    if problem[0] not in (400, 403, 422):
                        return False, problem[1]
                    refused.append((location, problem[1]))
        except AirbyteTracedException as error:  # the shared policy gave up: unreachable host, too long a wait
            return False, error.message
        if refused:
            return False, self._refused_message(refused, len(ids))
        return True, None

    def _probe(
        self, source: Any, logger: logging.Logger, config: Mapping[str, Any], location: str
    ) -> Optional[Tuple[int, str]]:
        """``None`` when ``location`` answered; else its HTTP status and what to say about it."""
        handler = ProbeErrorHandler.from_manifest(source.manifest, config)
        client = HttpClient(
            name="check",
            logger=logger,
            error_handler=handler,
            api_budget=source.api_budget_for(source.manifest.get("api_budget") or {}, config),
            backoff_strategy=handler.backoff_strategies,
            request_timeout=self.timeout_seconds,
        )
        base_url = (config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        _, response = client.send_request(
            "GET",
            f"{base_url}/payments/orders",
            request_kwargs={},
            headers={"Authorization": f"Bearer {config.get('access_token', '')}", "Version": API_VERSION},
            params={"altId": location, "limit": "1", "offset": "0"},
        )
        if handler.failure is None and response is not None and response.ok:
            return None
        status = response.status_code if response is not None else 0
        if status in (400, 403, 422):
            return status, f"HTTP {status}: {vendor_message(response)}"
        message = handler.failure.error_message if handler.failure is not None else None
        return status, message or f"Leadway answered HTTP {status} for /payments/orders ({vendor_message(response)})."

    @staticmethod
    def _refused_message(refused: List[Tuple[str, str]], total: int) -> str:
        by_reason: Dict[str, List[str]] = {}
        for location, reason in refused:
            by_reason.setdefault(reason, []).append(location)
        details = "; ".join(f"{', '.join(ids)} ({reason})" for reason, ids in by_reason.items())
        return (
            f"Leadway refused the access token for {len(refused)} of the {total} location(s) in location_ids: "
            f"{details}. For each, use a token that may read that sub-account (the API documents a Sub-Account access "
            f"token or the Private Integration token of that sub-account) with the scopes {SCOPES}; or "
            "remove the id from location_ids (location_id in older configs)."
        )
