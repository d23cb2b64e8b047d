"""Console entrypoint of `source-wickedreports`."""

from connectors_shared.source import launch_source
from source_wickedreports.source import SourceWickedreports


def run() -> None:
    launch_source(SourceWickedreports)
