"""TextYess pieces the declarative manifest cannot express.

- ``CampaignPartitionRouter``: campaign_orders partitions from ``campaign_ids``, or from the campaigns stream.
- ``PerPartitionStateOnly``: a campaign first seen starts at ``start_date`` instead of the other campaigns' cursor.
- ``TextyessCheck``: the ``check`` (run by ``SourceTextyess.check``) that also validates ``campaign_ids`` and the campaign listing.

``PerPartitionStateOnly`` is generic (any partitioned incremental stream) and a candidate for ``connectors_shared``.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Tuple

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.checks.check_stream import CheckStream
from airbyte_cdk.sources.declarative.migrations.state_migration import StateMigration
from airbyte_cdk.sources.declarative.partition_routers.substream_partition_router import (
    SubstreamPartitionRouter,
)
from airbyte_cdk.sources.types import StreamSlice
from airbyte_cdk.utils.datetime_helpers import ab_datetime_parse
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from connectors_shared.error_handling import vendor_message
from connectors_shared.rate_limiting import seconds_until_reset

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


class PerPartitionStateOnly(StateMigration):
    """Drop the global fallback cursor from per-partition state, so a new partition starts at ``start_date``.

    The CDK's per-partition cursor saves ``state`` (the newest cursor over all partitions) beside ``states`` and starts
    any partition missing from ``states`` there: a campaign added after the first sync would skip all its older
    orders. Before: ``{"states": [{"partition": {...A}, "cursor": {...}}], "state": {"createdAt": "2024-06-01..."},
    "lookback_window": 86400}``; after: ``{"states": [...]}``. State that switched to the global cursor (more than
    10,000 partitions) is left as it is, since ``state`` is then the only cursor.
    """

    def __init__(self, **_: Any) -> None:
        pass

    def should_migrate(self, stream_state: Mapping[str, Any]) -> bool:
        return bool(
            stream_state
            and "states" in stream_state
            and not stream_state.get("use_global_cursor")
            and ("state" in stream_state or "lookback_window" in stream_state)
        )

    def migrate(self, stream_state: Mapping[str, Any]) -> Mapping[str, Any]:
        return {key: value for key, value in stream_state.items() if key not in ("state", "lookback_window")}


@dataclass
class TextyessCheck(CheckStream):
    """``CheckStream`` on orders (the token), plus what a sync of campaign_orders needs, with sentences to act on.

    - an entry of ``campaign_ids`` that is not an ObjectId fails before any request;
    - each configured id is probed with ``/analytics/campaigns/{id}/orders?page=0&perPage=1``; a 4xx names the id;
    - without ``campaign_ids``, a 404 from ``/analytics/campaigns`` fails with a request to list campaign ids.

    The probes use ``requests`` directly (one page of one record each) because the check has no stream per id.
    """

    probe_attempts: int = 3
    probe_timeout_seconds: float = 30.0
    max_probe_wait_seconds: float = 30.0

    def check_connection(self, source: Any, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Any]:
        problem = campaign_id_problem(config)
        if problem:
            return False, problem
        ok, message = super().check_connection(source, logger, config)
        if not ok:
            return False, self._plain(message)
        base_url = (config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        session = requests.Session()
        session.headers["x-auth-token"] = str(config.get("api_token", ""))
        ids = configured_campaign_ids(config)
        for campaign_id in ids:
            response = self._probe(session, f"{base_url}/analytics/campaigns/{campaign_id}/orders", {})
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
            response = self._probe(session, f"{base_url}/analytics/campaigns", {"from": start})
            if response.status_code == 404:
                return False, NO_CAMPAIGNS_MESSAGE
            if not response.ok:
                return False, self._failure(response)
        return True, None

    def _probe(self, session: requests.Session, url: str, params: Mapping[str, Any]) -> requests.Response:
        query = {"page": "0", "perPage": "1", "sortKey": "createdAt", "sortDirection": "1", **params}
        response: Optional[requests.Response] = None
        for attempt in range(self.probe_attempts):
            response = session.get(url, params=query, timeout=self.probe_timeout_seconds)
            if response.status_code != 429 and response.status_code < 500:
                return response
            if attempt + 1 < self.probe_attempts:
                wait = seconds_until_reset("retry-after", response.headers.get("retry-after"))
                time.sleep(min(wait if wait is not None else 2.0 * 2**attempt, self.max_probe_wait_seconds))
        assert response is not None
        return response

    @staticmethod
    def _failure(response: requests.Response) -> str:
        path = response.request.path_url.split("?", 1)[0] if response.request else response.url
        if response.status_code in (401, 403):
            return (
                f"TextYess did not accept the API token for {path} (HTTP {response.status_code}: "
                f"{vendor_message(response)}). Copy the token from Settings > Developers in the TextYess dashboard."
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
