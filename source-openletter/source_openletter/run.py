"""Console entrypoint of `source-openletter`."""

from connectors_shared.source import launch_source
from source_openletter.source import SourceOpenletter


def run() -> None:
    launch_source(SourceOpenletter)
