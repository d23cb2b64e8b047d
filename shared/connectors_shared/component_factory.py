"""The component factory every connector's source builds its streams with.

It is the CDK's ``ModelToComponentFactory`` with two changes: a manifest's ``DatetimeBasedCursor`` becomes a
``DatetimeWindowCursor`` (``connectors_shared.cursors``), the CDK's own cursor minus two per-record costs, with windows
sized from the data (``connectors_shared.window_sizing``); a per-partition cursor becomes a ``SizedPartitionCursor``,
so that each partition's windows are sized too.
``ManifestSource`` installs it; a connector that needs more (SHOPLINE's keyset cursor) subclasses it, overrides
``custom_concurrent_cursor`` and names its subclass in ``ManifestSource.component_factory``. How the CDK is made to
use it is in ``connectors_shared.cdk_hooks`` (``HookedComponentFactory``).
"""

from __future__ import annotations

from connectors_shared.cdk_hooks import HookedComponentFactory
from connectors_shared.cursors import DatetimeWindowCursor, SizedPartitionCursor


class ComponentFactory(HookedComponentFactory):
    datetime_cursor_class = DatetimeWindowCursor
    partition_cursor_class = SizedPartitionCursor
