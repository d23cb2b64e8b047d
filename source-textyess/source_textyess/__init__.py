"""Airbyte source for the TextYess analytics API (orders, campaigns, campaign orders)."""

import connectors_shared  # noqa: F401 - before the CDK, so that its start-up hook applies (connectors_shared.cdk_hooks)
from source_textyess.source import SourceTextyess

__all__ = ["SourceTextyess"]
