"""The component factory every connector's source builds its streams with.

It is the CDK's ``ModelToComponentFactory`` with one change: a manifest's ``DatetimeBasedCursor`` becomes a
``DatetimeWindowCursor`` (``connectors_shared.cursors``), the CDK's own cursor minus two per-record costs.
``ManifestSource`` installs it; a connector that needs more (SHOPLINE's keyset cursor) subclasses it and names its
subclass in ``ManifestSource.component_factory``.
"""

from __future__ import annotations

from typing import Any

from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory
from airbyte_cdk.sources.streams.concurrent.cursor import ConcurrentCursor

from connectors_shared.cursors import DatetimeWindowCursor


class ComponentFactory(ModelToComponentFactory):
    def create_concurrent_cursor_from_datetime_based_cursor(self, *args: Any, **kwargs: Any) -> ConcurrentCursor:
        cursor = super().create_concurrent_cursor_from_datetime_based_cursor(*args, **kwargs)
        if type(cursor) is ConcurrentCursor:
            # The subclass adds no state of its own: switching the class keeps everything the CDK configured.
            cursor.__class__ = DatetimeWindowCursor
        return cursor
