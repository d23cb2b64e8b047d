"""Airbyte source for the TextYess analytics API (orders, campaigns, campaign orders)."""

from source_textyess.source import SourceTextyess

__all__ = ["SourceTextyess"]
