"""TextYess pieces the declarative manifest cannot express.

- ``CampaignPartitionRouter``: campaign_orders partitions from ``campaign_ids``, or from the campaigns stream.
- ``TextyessCheck``: the ``check`` (run by ``SourceTextyess.check``) that also validates ``campaign_ids`` and the campaign listing,
  its probes sent under the shared error policy (``CheckProbeErrorHandler``).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Tuple, Union

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.checks.check_stream import CheckStream
from airbyte_cdk.sources.declarative.partition_routers.substream_partition_router import (
    SubstreamPartitionRouter,
)
from airbyte_cdk.sources.streams.http.error_handlers.response_models import ErrorResolution, ResponseAction
from airbyte_cdk.sources.streams.http.http_client import HttpClient
from airbyte_cdk.sources.types import StreamSlice
from airbyte_cdk.utils.datetime_helpers import ab_datetime_parse
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from connectors_shared.component_factory import ComponentFactory
from connectors_shared.cursors import PartitionStateCursor
from connectors_shared.decoding import request_path
from connectors_shared.error_handling import VendorErrorHandler, vendor_message

logger = logging.getLogger("airbyte")

DEFAULT_BASE_URL = "https://api-ai.textyess.com"
OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")

NO_CAMPAIGNS_MESSAGE = (
    "TextYess answered 404 for /analytics/campaigns, so campaign_orders cannot discover the campaigns by itself. "
    "List the campaign ids to sync (24-character ids from the campaign pages of the TextYess dashboard) in the "
    "campaign_ids setting."
)


def campaign_id_problem(config: Mapping[str, Any]) -> Optional[str]:
    """A sentence naming what is wrong with ``campaign_ids``, or ``None`` when every entry is an ObjectId."""
    ids = config.get("campaign_ids")
    if ids in (None, ""):
        return None
    if not isinstance(ids, list):
        return "campaign_ids must be a list of campaign ids, for example [\"65a1f0c2e4b0a1b2c3d4e5f6\"]."
    for value in ids:
        if not isinstance(value, str) or not OBJECT_ID.match(value.strip()):
            return (
                f"campaign_ids contains {value!r}, which is not a TextYess campaign id. Campaign ids are 24 hexadecimal "
                "characters (MongoDB ObjectIds) such as 65a1f0c2e4b0a1b2c3d4e5f6; copy them from the campaign pages "
                "of the TextYess dashboard, or leave campaign_ids empty to sync every campaign."
            )
    return None


def configured_campaign_ids(config: Mapping[str, Any]) -> List[str]:
    """The distinct ids of ``campaign_ids``, in the order given."""
    seen: List[str] = []
    for value in config.get("campaign_ids") or []:
        value = value.strip()
        if value not in seen:
            seen.append(value)
    return seen


@dataclass
class TextyessComponentFactory(ComponentFactory):
    """``ComponentFactory`` whose per-campaign cursors are ``PartitionStateCursor``: each campaign's state capped at
    the window it read, and no uncapped cursor over all campaigns saved beside them."""

    partition_cursor_class = PartitionStateCursor


class CampaignPartitionRouter(SubstreamPartitionRouter):
    """One partition per campaign: the configured ``campaign_ids``, else every ``campaign._id`` of the parent stream.

    A ``SubstreamPartitionRouter`` cannot be switched off by config, and a ``ListPartitionRouter`` cannot fall back to
    a parent stream. Both modes emit the same partition, ``{"campaign_id": id, "parent_slice": {}}``, so a campaign's
    state survives when a user starts or stops listing ids. Example: ``campaign_ids: ["65a1…", "65b2…"]`` gives two
    partitions without reading /analytics/campaigns; ``campaign_ids: []`` reads it and gives one per listed campaign.
    """

    def stream_slices(self) -> Iterable[StreamSlice]:
        problem = campaign_id_problem(self.config)
        if problem:
            raise AirbyteTracedException(message=problem, internal_message=problem, failure_type=FailureType.config_error)
        ids = configured_campaign_ids(self.config)
        if ids:
            for campaign_id in ids:
                yield StreamSlice(partition={"campaign_id": campaign_id, "parent_slice": {}}, cursor_slice={})
            return
        found = 0
        for stream_slice in super().stream_slices():
            found += 1
            yield stream_slice
        if not found:
            logger.warning(
                "campaign_orders: /analytics/campaigns listed no campaigns (it may have answered 404, see above), so "
                "no campaign orders were read. To sync campaign_orders, list the campaign ids (24-character ids from "
                "the campaign pages of the TextYess dashboard) in the campaign_ids setting."
            )


class CheckProbeErrorHandler(VendorErrorHandler):
    """The shared error policy (``VendorErrorHandler``) for the check's probes, which word the answers themselves.

    What a sync would retry (429, 5xx, timeouts, a broken body) is retried exactly as in a sync: the same waits
    (``RateLimitAwareBackoff``, a 429's Retry-After up to ``max_wait_seconds``), the same ``max_retries``. Every
    other answer, and the last one when the retries run out, comes back to ``TextyessCheck`` instead of failing, so
    that the check can say which campaign id is unknown. A 429 is retried as a plain retry: the CDK announces a
    rate-limited *stream* on stdout, and a check has none.
    """

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self.attempts = 0

    def interpret_response(
        self, response_or_exception: Optional[Union[requests.Response, Exception]] = None
    ) -> ErrorResolution:
        resolution = super().interpret_response(response_or_exception)
        self.attempts += 1
        if not isinstance(response_or_exception, requests.Response):
            return resolution  # no answer to word: retried, then the check fails with the shared message
        action = resolution.response_action
        retries_left = self.attempts <= (self.max_retries if isinstance(self.max_retries, int) else 5)
        if action in (ResponseAction.RETRY, ResponseAction.RATE_LIMITED) and retries_left:
            return ErrorResolution(
                response_action=ResponseAction.RETRY,
                failure_type=resolution.failure_type,
                error_message=resolution.error_message,
            )
        if action == ResponseAction.SUCCESS:
            return resolution
        return ErrorResolution(
            response_action=ResponseAction.IGNORE,
            failure_type=resolution.failure_type,
            error_message=(
                f"check: {request_path(response_or_exception)} answered HTTP {response_or_exception.status_code}"
            ),
        )

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], config: Mapping[str, Any]) -> "CheckProbeErrorHandler":
        """The manifest's ``base_error_handler`` (vendor, messages, retries, waits), without its page contract."""
        definition = manifest["definitions"]["base_error_handler"]
        settings = {field.name for field in dataclasses.fields(cls)} - {
            "config", "response_filters", "backoff_strategies", "records_path",
        }
        return cls(
            config=config,
            parameters={"name": "check"},
            **{key: value for key, value in definition.items() if key in settings},
        )


@dataclass
class TextyessCheck(CheckStream):
    """``CheckStream`` on orders (the token), plus what a sync of campaign_orders needs, with sentences to act on.

    - an entry of ``campaign_ids`` that is not an ObjectId fails before any request;
    - each configured id is probed with ``/analytics/campaigns/{id}/orders?page=0&perPage=1``; a 4xx names the id;
    - without ``campaign_ids``, a 404 from ``/analytics/campaigns`` fails with a request to list campaign ids.

    The check has no stream per id, so each probe is one request (one page of one record) sent through the CDK's
    ``HttpClient`` with the manifest's error handler and the source's rate-limit budget: it is paced, retried and
    bounded exactly as a sync's requests are (``CheckProbeErrorHandler``).
    """

    # Each probe's connect and read timeout, in seconds (HttpClient's request_timeout).
    probe_timeout_seconds: float = 30.0

    def check_connection(self, source: Any, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Any]:
        problem = campaign_id_problem(config)
        if problem:
            return False, problem
        ok, message = super().check_connection(source, logger, config)
        if not ok:
            return False, self._plain(message)
        base_url = (config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        ids = configured_campaign_ids(config)
        try:
            for campaign_id in ids:
                response = self._probe(source, logger, config, f"{base_url}/analytics/campaigns/{campaign_id}/orders", {})
                if response.status_code in (400, 404, 422):
                    return False, (
                        f"TextYess does not know the campaign {campaign_id} listed in campaign_ids (HTTP "
                        f"{response.status_code}: {vendor_message(response)}). Copy the id from the campaign's page in "
                        "the TextYess dashboard, or remove it from campaign_ids."
                    )
                if not response.ok:
                    return False, self._failure(response)
            if not ids:
                start = ab_datetime_parse(config["start_date"]).strftime("%Y-%m-%dT%H:%M:%SZ")
                response = self._probe(source, logger, config, f"{base_url}/analytics/campaigns", {"from": start})
                if response.status_code == 404:
                    return False, NO_CAMPAIGNS_MESSAGE
                if not response.ok:
                    return False, self._failure(response)
        except AirbyteTracedException as error:  # the shared policy gave up (unreachable host, too long a wait)
            return False, error.message
        return True, None

    def _probe(
        self, source: Any, logger: logging.Logger, config: Mapping[str, Any], url: str, params: Mapping[str, Any]
    ) -> requests.Response:
        handler = CheckProbeErrorHandler.from_manifest(source.manifest, config)
        client = HttpClient(
            name="check",
            logger=logger,
            error_handler=handler,
            api_budget=getattr(source, "budget", None),
            backoff_strategy=handler.backoff_strategies,
            request_timeout=self.probe_timeout_seconds,
        )
        query = {"page": "0", "perPage": "1", "sortKey": "createdAt", "sortDirection": "1", **params}
        _, response = client.send_request(
            "GET", url, request_kwargs={}, headers={"x-auth-token": str(config.get("api_token", ""))}, params=query
        )
        return response

    @staticmethod
    def _failure(response: requests.Response) -> str:
        path = response.request.path_url.split("?", 1)[0] if response.request else response.url
        if response.status_code in (401, 403):
            return (
                f"TextYess did not accept the API token for {path} (HTTP {response.status_code}: "
                f"{vendor_message(response)}). Copy the token from the Developers section of the TextYess dashboard."
            )
        return (
            f"TextYess answered HTTP {response.status_code} for {path} ({vendor_message(response)}). "
            "If this persists, check base_url and try again later."
        )

    @staticmethod
    def _plain(message: Any) -> str:
        """CheckStream wraps the error handler's sentence in stream jargon; keep the sentence the user can act on."""
        text = str(message)
        for marker in ("Stream orders is not available: ",):
            if text.startswith(marker):
                text = text[len(marker):]
        return text
