"""Airbyte source for the OpenLetter Connect API (orders, contacts, templates)."""

from source_openletter.source import SourceOpenletter

__all__ = ["SourceOpenletter"]
