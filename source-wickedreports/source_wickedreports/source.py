"""The Wicked Reports source: everything it does is declared in manifest.yaml next to this file."""

from connectors_shared.source import ManifestSource


class SourceWickedreports(ManifestSource):
    package = "source_wickedreports"
