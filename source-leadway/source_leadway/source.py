"""The Leadway source: everything it does is declared in manifest.yaml next to this file, plus components.py."""

import logging
from typing import Any, Mapping

from airbyte_cdk.models import AirbyteConnectionStatus, Status
from connectors_shared.budget_per_value import BudgetPerQueryValue
from connectors_shared.rate_limiting import DEFAULT_MAX_WAIT_SECONDS
from connectors_shared.source import ManifestSource, budget_from_definition

from source_leadway.components import LeadwayCheck, LeadwayComponentFactory


class SourceLeadway(ManifestSource):
    """``ManifestSource`` reading several locations, each within its own rate limit, and checking every one of them.

    - Streams are built by ``LeadwayComponentFactory``: each location keeps its own state.
    - The rate limit is LeadConnector's per location, so each location (the ``altId`` of a request) is paced by its
      own ``X-RateLimit-*`` headers (``BudgetPerQueryValue``) instead of one count for all.
    - ``connection_check`` (not ``check``: ``ManifestSource.check`` first refuses a bad config) asks every location
      (``LeadwayCheck``).
    """

    package = "source_leadway"
    component_factory = LeadwayComponentFactory

    def api_budget_for(self, definition: Mapping[str, Any], config: Mapping[str, Any]) -> BudgetPerQueryValue:
        if self._budget is None:
            max_wait = float((config or {}).get("max_wait_seconds") or DEFAULT_MAX_WAIT_SECONDS)
            vendor = str(self.manifest["spec"]["connection_specification"]["title"])
            self._budget = BudgetPerQueryValue(
                "altId", lambda: budget_from_definition(definition, max_wait_seconds=max_wait, vendor=vendor)
            )
        return self._budget

    def connection_check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        succeeded, message = LeadwayCheck().run(self, logger, self.effective_config or config)
        if succeeded:
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        return AirbyteConnectionStatus(status=Status.FAILED, message=str(message))
