"""Console entrypoint of `source-shopline`."""

from connectors_shared.source import launch_source
from source_shopline.source import SourceShopline


def run() -> None:
    launch_source(SourceShopline)
