"""Airbyte source for the Wicked Reports outbound API (contacts, clicks, orders)."""

from source_wickedreports.source import SourceWickedreports

__all__ = ["SourceWickedreports"]
