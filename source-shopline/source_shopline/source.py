"""The SHOPLINE source: everything it does is declared in manifest.yaml next to this file.

One addition to the shared base: the component factory learns keyset cursors (``components.use_keyset_cursors``),
which the per-campaign order stream needs for its "last order id per campaign" state.
"""

from typing import Any

from connectors_shared.source import ManifestSource
from source_shopline.components import use_keyset_cursors


class SourceShopline(ManifestSource):
    package = "source_shopline"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        use_keyset_cursors(self)
