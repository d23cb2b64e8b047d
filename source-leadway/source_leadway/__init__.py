"""Airbyte source for Leadway CRM (LeadConnector) payments: orders, transactions, subscriptions, coupons."""

from source_leadway.source import SourceLeadway

__all__ = ["SourceLeadway"]
