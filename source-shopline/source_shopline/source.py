"""The SHOPLINE source: everything it does is declared in manifest.yaml next to this file.

One addition to the shared base: its component factory also builds keyset cursors
(``components.KeysetCursorComponentFactory``), which the per-campaign order stream needs for its "last order id per
campaign" state.
"""

from connectors_shared.source import ManifestSource
from source_shopline.components import KeysetCursorComponentFactory


class SourceShopline(ManifestSource):
    package = "source_shopline"
    component_factory = KeysetCursorComponentFactory
