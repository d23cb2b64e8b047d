"""Record extraction by a plain field path, without walking the whole page.

The CDK's ``DpathExtractor`` hands even a fixed path such as ``[results]`` to ``dpath.get``, which walks every node
of the page (every field of every record) to match it: with 1000-record pages it was the largest single cost of a
read, more than parsing the JSON. ``FieldPathExtractor`` follows the keys directly.

Example (manifest)::

    extractor:
      type: CustomRecordExtractor
      class_name: connectors_shared.extraction.FieldPathExtractor
      field_path: [data, rows]

A list at the path yields its items, an object yields itself, anything else (missing, null, empty) yields nothing.
Paths are literal keys: wildcards and interpolation are refused at start-up.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from typing import Any, Iterable, List, Mapping, MutableMapping, Optional

import requests
from airbyte_cdk.sources.declarative.decoders.decoder import Decoder
from airbyte_cdk.sources.declarative.extractors.record_extractor import RecordExtractor

from connectors_shared.decoding import StrictJsonDecoder


@dataclass
class FieldPathExtractor(RecordExtractor):
    """``DpathExtractor`` for literal paths: a dictionary lookup per level instead of a walk of the page."""

    field_path: List[str]
    config: Optional[Mapping[str, Any]] = None
    parameters: InitVar[Optional[Mapping[str, Any]]] = None
    decoder: Decoder = field(default_factory=StrictJsonDecoder)

    def __post_init__(self, parameters: Optional[Mapping[str, Any]]) -> None:
        for key in self.field_path:
            if not isinstance(key, str) or "*" in key or "{{" in key:
                raise ValueError(f"FieldPathExtractor takes literal keys only, got {key!r} in {self.field_path!r}")

    def extract_records(self, response: requests.Response) -> Iterable[MutableMapping[Any, Any]]:
        for body in self.decoder.decode(response):
            extracted: Any = body
            for key in self.field_path:
                extracted = extracted.get(key) if isinstance(extracted, Mapping) else None
            if isinstance(extracted, list):
                yield from extracted
            elif extracted:
                yield extracted
