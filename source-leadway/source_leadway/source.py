"""The Leadway source: everything it does is declared in manifest.yaml next to this file."""

from connectors_shared.source import ManifestSource


class SourceLeadway(ManifestSource):
    package = "source_leadway"
