"""One retry and error policy for every connector, with messages a user can act on.

``VendorErrorHandler`` extends the CDK's ``DefaultErrorHandler``. A connector's own ``response_filters`` (for
example "an error whose message says `not enabled` means the API is not switched on") are tried first on every
non-2xx answer; then:

Messages take the placeholders ``{vendor} {status} {path} {message}``, plus the named groups of ``path_pattern``.


===================  ==========================================================================================
answer               what happens
===================  ==========================================================================================
2xx, valid JSON      success; the parsed body is kept on the response so the decoder does not parse it again
2xx, broken JSON     retried (proxies truncate bodies); after ``max_retries`` the sync fails with a clear message
401 / 403            fails at once as a ``config_error`` with the connector's ``auth_error_message`` /
                     ``forbidden_error_message``
404                  fails as a ``config_error`` that names the path and points at ``base_url``
400 / 422            fails as a ``config_error`` that quotes the vendor's message (every entry of a list)
429                  waits until the reset the vendor announced (header or ``Retry-After``), else backs off
                     exponentially; bounded by ``max_retries`` like every retry
5xx, timeouts,       retried with exponential backoff (``backoff_base_seconds * 2 ** (attempt - 1)``, capped at
connection errors    ``max_backoff_seconds``), at most ``max_retries`` times, then fails as a transient error
===================  ==========================================================================================

Example (manifest)::

    error_handler:
      type: CustomErrorHandler
      class_name: connectors_shared.error_handling.VendorErrorHandler
      vendor: Wicked Reports
      auth_error_message: "Wicked Reports did not accept the API key ({message}). Copy it again from ..."
      rate_limit_reset_header: x-ratelimit-reset
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

import orjson
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.requesters.error_handlers.default_error_handler import (
    DefaultErrorHandler,
)
from airbyte_cdk.sources.streams.http.error_handlers.backoff_strategy import BackoffStrategy
from airbyte_cdk.sources.streams.http.error_handlers.response_models import (
    ErrorResolution,
    ResponseAction,
)

from connectors_shared.decoding import parse_once, request_path
from connectors_shared.rate_limiting import seconds_until_reset

MAX_MESSAGE_CHARS = 1000


@dataclass
class RateLimitAwareBackoff(BackoffStrategy):
    """How long to wait before a retry: the vendor's announced reset for a 429, else exponential backoff.

    ``base_seconds * 2 ** (attempt - 1)``, capped at ``max_seconds``: 2, 4, 8, 16, 32 s with the defaults. The CDK
    asks the error handler's ``backoff_strategies`` (not the handler itself), and a strategy that answers keeps the
    retries bounded by ``max_retries`` even for 429s, which the CDK would otherwise retry forever.
    """

    reset_header: Optional[str] = None
    base_seconds: float = 2.0
    max_seconds: float = 120.0

    def backoff_time(
        self,
        response_or_exception: Optional[Union[requests.Response, requests.RequestException]],
        attempt_count: int = 0,
    ) -> Optional[float]:
        if isinstance(response_or_exception, requests.Response) and response_or_exception.status_code == 429:
            if self.reset_header:
                reset_in = seconds_until_reset(self.reset_header, response_or_exception.headers.get(self.reset_header))
                if reset_in is not None:
                    return max(reset_in, 0.5)
            retry_after = seconds_until_reset("retry-after", response_or_exception.headers.get("Retry-After"))
            if retry_after is not None:
                return max(retry_after, 0.5)
        return min(self.base_seconds * (2 ** max(attempt_count - 1, 0)), self.max_seconds)


def vendor_message(response: requests.Response) -> str:
    """The human part of an error body: ``message`` (a list is joined in full), else ``error``, else the text."""
    try:
        body: Any = parse_once(response)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "errors", "detail"):
            value = body.get(key)
            if isinstance(value, list) and value:
                return "; ".join(str(item) for item in value)[:MAX_MESSAGE_CHARS]
            if isinstance(value, dict) and value:
                return orjson.dumps(value).decode()[:MAX_MESSAGE_CHARS]
            if value not in (None, ""):
                return str(value)[:MAX_MESSAGE_CHARS]
    text = (response.text or "").strip()
    return text[:MAX_MESSAGE_CHARS] if text else (response.reason or f"HTTP {response.status_code}")


@dataclass
class VendorErrorHandler(DefaultErrorHandler):
    """``DefaultErrorHandler`` with the shared retry policy and actionable messages (see the module docstring)."""

    vendor: str = "The API"
    auth_error_message: str = (
        "{vendor} did not accept the credentials (HTTP 401: {message}). Check the token in the connector settings."
    )
    forbidden_error_message: str = (
        "{vendor} refused access (HTTP 403: {message}). Check that the credentials have access to this data."
    )
    not_found_error_message: str = (
        "{vendor} answered 404 Not Found for {path}. Check base_url in the connector settings ({message})."
    )
    invalid_request_error_message: str = "{vendor} rejected the request (HTTP {status}): {message}"
    rate_limit_reset_header: Optional[str] = None
    # A regular expression searched in the request path; its named groups become placeholders in the messages,
    # e.g. "/affiliate_campaigns/(?P<campaign_id>[^/]+)/orders" lets a 404 say which configured id is unknown.
    path_pattern: Optional[str] = None
    backoff_base_seconds: float = 2.0
    max_backoff_seconds: float = 120.0

    def interpret_response(
        self, response_or_exception: Optional[Union[requests.Response, Exception]] = None
    ) -> ErrorResolution:
        if isinstance(response_or_exception, requests.Response) and response_or_exception.ok:
            # Vendor filters apply to failures only: evaluating them on every page would cost a second JSON parse.
            return self._parse_success(response_or_exception)
        resolution = self._vendor_filters(response_or_exception)
        if resolution:
            return resolution
        if isinstance(response_or_exception, requests.Response):
            shared = self._classify(response_or_exception)
            if shared:
                return shared
        return super().interpret_response(response_or_exception)

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        if not self.backoff_strategies:
            self.backoff_strategies = [
                RateLimitAwareBackoff(self.rate_limit_reset_header, self.backoff_base_seconds, self.max_backoff_seconds)
            ]

    def _vendor_filters(
        self, response_or_exception: Optional[Union[requests.Response, Exception]]
    ) -> Optional[ErrorResolution]:
        for response_filter in self.response_filters or []:
            if getattr(response_filter, "http_codes", None) or getattr(response_filter, "predicate", None) or getattr(
                response_filter, "error_message_contains", None
            ):
                resolution = response_filter.matches(response_or_exception=response_or_exception)
                if resolution:
                    return resolution
        return None

    def _parse_success(self, response: requests.Response) -> ErrorResolution:
        try:
            parse_once(response)
        except orjson.JSONDecodeError as error:
            return ErrorResolution(
                response_action=ResponseAction.RETRY,
                failure_type=FailureType.transient_error,
                error_message=(
                    f"{self.vendor} sent a response that is not valid JSON for {request_path(response)} ({error}). "
                    "This is usually temporary; the sync retried and stopped so that no page is skipped. "
                    "Run the sync again; it resumes from the last saved state."
                ),
            )
        return ErrorResolution(response_action=ResponseAction.SUCCESS)

    def _classify(self, response: requests.Response) -> Optional[ErrorResolution]:
        status = response.status_code
        template = {
            401: self.auth_error_message,
            403: self.forbidden_error_message,
            404: self.not_found_error_message,
            400: self.invalid_request_error_message,
            422: self.invalid_request_error_message,
        }.get(status)
        if template:
            return ErrorResolution(
                response_action=ResponseAction.FAIL,
                failure_type=FailureType.config_error,
                error_message=self._format(template, response),
            )
        if status == 429:
            return ErrorResolution(
                response_action=ResponseAction.RATE_LIMITED,
                failure_type=FailureType.transient_error,
                error_message=f"{self.vendor} kept answering 429 Too Many Requests; try again later.",
            )
        if status >= 500:
            return ErrorResolution(
                response_action=ResponseAction.RETRY,
                failure_type=FailureType.transient_error,
                error_message=self._format(
                    "{vendor} failed with HTTP {status} for {path} ({message}). It was retried with backoff; "
                    "if it persists the problem is on the vendor's side: run the sync again later.",
                    response,
                ),
            )
        return None

    def _format(self, template: str, response: requests.Response) -> str:
        if self.path_pattern:
            match = re.search(self.path_pattern, request_path(response))
            if match:
                for name, value in match.groupdict().items():
                    template = template.replace("{" + name + "}", value or "")
        return (
            template.replace("{vendor}", self.vendor)
            .replace("{status}", str(response.status_code))
            .replace("{path}", request_path(response))
            .replace("{message}", vendor_message(response))
        )
