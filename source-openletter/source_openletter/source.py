"""The OpenLetter Connect source: everything it does is declared in manifest.yaml next to this file."""

from connectors_shared.source import ManifestSource


class SourceOpenletter(ManifestSource):
    package = "source_openletter"
