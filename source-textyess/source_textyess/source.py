"""The TextYess source: everything it does is declared in manifest.yaml next to this file, plus components.py."""

import logging
from typing import Any, Mapping

from airbyte_cdk.models import AirbyteConnectionStatus, Status
from connectors_shared.source import ManifestSource

from source_textyess.components import TextyessCheck, TextyessComponentFactory


class SourceTextyess(ManifestSource):
    """``ManifestSource`` whose check also validates campaign_ids (the manifest schema has no custom checker), and
    whose per-campaign cursors keep no cursor over all campaigns (``TextyessComponentFactory``).

    It overrides ``connection_check``, not ``check``: ``ManifestSource.check`` first refuses a bad config
    (``connectors_shared.input_checks``), then calls this.
    """

    package = "source_textyess"
    component_factory = TextyessComponentFactory

    def connection_check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        checker = TextyessCheck(stream_names=list(self.manifest["check"]["stream_names"]), parameters={})
        succeeded, message = checker.check_connection(self, logger, self.effective_config or config)
        if succeeded:
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        return AirbyteConnectionStatus(status=Status.FAILED, message=str(message))
