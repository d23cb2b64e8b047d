"""Console entrypoint of `source-leadway`."""

from connectors_shared.source import launch_source
from source_leadway.source import SourceLeadway


def run() -> None:
    launch_source(SourceLeadway)
