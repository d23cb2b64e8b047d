"""Airbyte source for the SHOPLINE Open API (affiliate campaigns, their orders, orders)."""

from source_shopline.source import SourceShopline

__all__ = ["SourceShopline"]
