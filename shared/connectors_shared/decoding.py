"""A JSON decoder that parses each page once and never mistakes a broken body for an empty page.

The CDK's ``JsonDecoder`` answers a body it cannot parse with ``{}``: the extractor then finds no records, the
paginator sees an empty page and stops, and the sync "succeeds" with a silent gap. It is also called separately by
the extractor and by the paginator, so every page is parsed twice.

``StrictJsonDecoder`` reuses the body that ``VendorErrorHandler`` already parsed (and retried when broken), keeping
it on the response object, and raises a clear error if a body still cannot be parsed.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import orjson
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.decoders.decoder import DECODER_OUTPUT_TYPE
from airbyte_cdk.sources.declarative.decoders.json_decoder import JsonDecoder
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

PARSED_BODY_ATTRIBUTE = "_connectors_parsed_body"


def request_path(response: requests.Response) -> str:
    """The path the response answers, without the query (which may carry filters, never secrets, but is noise)."""
    request = response.request
    url = getattr(request, "path_url", None) if request is not None else None
    return (url or response.url or "").split("?", 1)[0]


def parse_once(response: requests.Response) -> Any:
    """Parse the JSON body and keep it on the response; raises ``orjson.JSONDecodeError`` for a broken body."""
    body = getattr(response, PARSED_BODY_ATTRIBUTE, None)
    if body is None:
        content = response.content
        body = orjson.loads(content) if content else {}
        setattr(response, PARSED_BODY_ATTRIBUTE, body)
    return body


def parsed_body(response: requests.Response) -> Any:
    """The JSON body of ``response``, parsed at most once; a broken body ends the sync with a clear message."""
    try:
        return parse_once(response)
    except orjson.JSONDecodeError as error:
        raise AirbyteTracedException(
            message=(
                f"The API sent a response that is not valid JSON ({request_path(response)}). "
                "The sync stopped so that no page is skipped; run it again to resume from the last saved state."
            ),
            internal_message=f"JSON decode error: {error}",
            failure_type=FailureType.transient_error,
        ) from error


class StrictJsonDecoder(JsonDecoder):
    """Decode a JSON body once per response; fail loudly on malformed JSON instead of yielding ``{}``.

    A ``JsonDecoder`` subclass because the CDK accepts only JSON/XML decoders for paginators.
    """

    def __init__(self, parameters: Optional[Mapping[str, Any]] = None, **_: Any) -> None:
        super().__init__(parameters=parameters or {})

    def is_stream_response(self) -> bool:
        return False

    def decode(self, response: requests.Response) -> DECODER_OUTPUT_TYPE:
        body = parsed_body(response)
        if isinstance(body, list):
            yield from body  # a top-level array is a page of records, as with the CDK's JsonParser
        else:
            yield body
