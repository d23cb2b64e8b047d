"""Console entrypoint of `source-textyess`."""

from connectors_shared.source import launch_source
from source_textyess.source import SourceTextyess


def run() -> None:
    launch_source(SourceTextyess)
