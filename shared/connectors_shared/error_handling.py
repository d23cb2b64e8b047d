"""One retry and error policy for every connector, with messages a user can act on.

``VendorErrorHandler`` extends the CDK's ``DefaultErrorHandler``. A connector's own ``response_filters`` (for
example "an error whose message says `not enabled` means the API is not switched on") are tried first on every
non-2xx answer; then:

Messages take the placeholders ``{vendor} {status} {path} {message}``, plus the named groups of ``path_pattern`` and
the query parameters named in ``query_placeholders`` (``{altId}``: which location a 403 was for).


===================  ==========================================================================================
answer               what happens
===================  ==========================================================================================
2xx, valid JSON      success; the parsed body is kept on the response so the decoder does not parse it again
2xx, broken JSON     retried (proxies truncate bodies); after ``max_retries`` the sync fails with a clear message
2xx, broken page     no records list at ``records_path``, or a short page while the total says more remain
                     (``PageContract``): retried, then the stream fails naming vendor, stream and path
401 / 403            fails at once as a ``config_error`` with the connector's ``auth_error_message`` /
                     ``forbidden_error_message``
404                  fails as a ``config_error`` that names the path and points at ``base_url``
400 / 422            fails as a ``config_error`` that quotes the vendor's message (every entry of a list)
429                  waits until the reset the vendor announced (header or ``Retry-After``), else backs off
                     exponentially; bounded by ``max_retries`` like every retry; a reset beyond
                     ``max_wait_seconds`` (default 600) fails at once, saying what the API asked
5xx, timeouts        retried with exponential backoff (``backoff_base_seconds * 2 ** (attempt - 1)``, capped at
                     ``max_backoff_seconds``), at most ``max_retries`` times, then fails as a transient error
connection errors    the same, but after ``CONNECTION_ATTEMPTS`` the whole sync stops with a config_error naming the
                     host: an unreachable base_url fails in about a minute, not once per date window
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

import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional, Union
from urllib.parse import parse_qs, urlsplit

import orjson
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.interpolation import InterpolatedString
from airbyte_cdk.sources.declarative.requesters.error_handlers.default_error_handler import (
    DefaultErrorHandler,
)
from airbyte_cdk.sources.streams.http.error_handlers.backoff_strategy import BackoffStrategy
from airbyte_cdk.sources.streams.http.error_handlers.response_models import (
    ErrorResolution,
    ResponseAction,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared import page_sharing, sync_stop
from connectors_shared.cdk_hooks import QuietCdkBackoffLog, cdk_backoff_answer
from connectors_shared.decoding import parse_once, request_path
from connectors_shared.pagination import as_number, dig
from connectors_shared.rate_limiting import DEFAULT_MAX_WAIT_SECONDS, seconds_until_reset, too_long_a_wait, wait_scale
from connectors_shared.secret_masking import shorten
from connectors_shared.transport import display_origin

logger = logging.getLogger("airbyte")

MAX_MESSAGE_CHARS = 1000
# Attempts at a request that cannot connect before the whole sync stops: unreachable is rarely a one-page problem.
CONNECTION_ATTEMPTS = 4


def retry_reason(response_or_exception: Any) -> str:
    """What went wrong, in words a log reader recognises: never "rate limit" for a timeout."""
    if isinstance(response_or_exception, requests.Response):
        status = response_or_exception.status_code
        if status == 429:
            return "rate limited (HTTP 429)"
        if response_or_exception.ok:
            return "an unusable page"
        return f"HTTP {status}"
    if isinstance(response_or_exception, requests.exceptions.ConnectTimeout):
        return "a connection timeout"
    if isinstance(response_or_exception, requests.exceptions.Timeout):
        return "a timeout"
    if isinstance(response_or_exception, requests.exceptions.ConnectionError):
        return "a connection error"
    return type(response_or_exception).__name__ if response_or_exception is not None else "an error"


@dataclass
class RateLimitAwareBackoff(BackoffStrategy):
    """How long to wait before a retry: the vendor's announced reset for a 429, else exponential backoff.

    ``base_seconds * 2 ** (attempt - 1)``, capped at ``max_seconds``: 2, 4, 8, 16, 32 s with the defaults. The CDK
    asks the error handler's ``backoff_strategies`` (not the handler itself), and a strategy that answers keeps the
    retries bounded by ``max_retries`` even for 429s, which the CDK would otherwise retry forever. Two more bounds:

    - a 429 asking for more than ``max_wait_seconds`` fails at once, saying what the API asked;
    - a request that could not connect ``CONNECTION_ATTEMPTS`` times stops the whole sync with a ``config_error``
      naming base_url's host, instead of every date window retrying for a minute.

    Each retry is logged for what it is (HTTP status, timeout, connection error, 429). The CDK sleeps one second more
    than the strategy answers and logs every such wait as "Rate limit exceeded"; the strategy answers one second less
    and ``QuietCdkBackoffLog`` drops that line (``connectors_shared.cdk_hooks``, its ``cdk_backoff_sleep`` hook).
    """

    reset_header: Optional[str] = None
    base_seconds: float = 2.0
    max_seconds: float = 120.0
    vendor: str = "The API"
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS
    max_retries: int = 5

    def backoff_time(
        self,
        response_or_exception: Optional[Union[requests.Response, requests.RequestException]],
        attempt_count: int = 0,
    ) -> Optional[float]:
        wait = self._wait(response_or_exception, attempt_count)
        if isinstance(response_or_exception, requests.exceptions.ConnectionError) and not isinstance(
            response_or_exception, requests.exceptions.ReadTimeout
        ):
            if attempt_count >= CONNECTION_ATTEMPTS:
                raise self._unreachable(response_or_exception, attempt_count)
        elif isinstance(response_or_exception, requests.exceptions.Timeout) and attempt_count >= CONNECTION_ATTEMPTS:
            # Every other window would time out just as slowly: stop the sync rather than wait once per window.
            sync_stop.request()
            raise self._too_slow(response_or_exception, attempt_count)
        where = ""
        if isinstance(response_or_exception, requests.Response):
            where = f" for {request_path(response_or_exception)}"
        elif isinstance(response_or_exception, requests.RequestException) and response_or_exception.request is not None:
            where = f" for {urlsplit(response_or_exception.request.url or '').path}"
        scaled = wait * wait_scale()
        # The CDK asks for a wait on its last attempt too, then gives up without waiting: do not promise a retry.
        next_step = f"retrying in {scaled:.1f} s" if attempt_count <= self.max_retries else "giving up"
        # Connection errors and timeouts end at CONNECTION_ATTEMPTS (above), not at max_retries + 1.
        attempts = self.max_retries + 1
        if isinstance(response_or_exception, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            attempts = min(attempts, CONNECTION_ATTEMPTS)
        logger.info(
            f"{self.vendor}: {retry_reason(response_or_exception)}{where} (attempt {attempt_count} of "
            f"{attempts}); {next_step}."
        )
        # The CDK sleeps one second more than it is told (see the class docstring).
        return cdk_backoff_answer(scaled)

    def _wait(self, response_or_exception: Any, attempt_count: int) -> float:
        if isinstance(response_or_exception, requests.Response) and response_or_exception.status_code == 429:
            headers = response_or_exception.headers
            for name in ([self.reset_header] if self.reset_header else []) + ["Retry-After"]:
                raw = headers.get(name)
                seconds = seconds_until_reset(name, raw)
                if seconds is not None:
                    if seconds > self.max_wait_seconds:
                        raise too_long_a_wait(self.vendor, seconds, f"{name}: {raw}", self.max_wait_seconds)
                    return max(seconds, 0.5)
        return min(self.base_seconds * (2 ** max(attempt_count - 1, 0)), self.max_seconds)

    def _too_slow(self, error: requests.RequestException, attempts: int) -> AirbyteTracedException:
        url = error.request.url if error.request is not None else ""
        parts = urlsplit(url or "")
        message = (
            f"{self.vendor} did not answer {parts.path or '/'} in time, {attempts} times in a row ({error}). The sync "
            "stopped rather than wait as long for every other request; run it again later. If it keeps happening, "
            "check base_url and any proxy between the connector and the API."
        )
        return AirbyteTracedException(message=message, internal_message=str(error), failure_type=FailureType.transient_error)

    def _unreachable(self, error: requests.RequestException, attempts: int) -> AirbyteTracedException:
        host = display_origin(error.request.url or "" if error.request is not None else "")
        message = (
            f"Could not connect to {self.vendor} at {host} (base_url) after {attempts} attempts: "
            f"{retry_reason(error)}. Check base_url in the connector settings and that this host is reachable from "
            "where the connector runs; the sync stopped instead of retrying every date window."
        )
        return AirbyteTracedException(message=message, internal_message=str(error), failure_type=FailureType.config_error)


_quiet_filter = QuietCdkBackoffLog()
if _quiet_filter not in logging.getLogger("airbyte").filters:
    logging.getLogger("airbyte").addFilter(_quiet_filter)


@dataclass
class PageContract:
    """What a 2xx page must hold before its records are trusted, or the request is retried and then fails.

    - ``records_path``: a list must be there. Missing, ``null`` or anything else is not "no records": it is a page
      the vendor failed to build, and taking it for an empty page would end paging with records never read.
    - A short or empty page while the advertised total says more remain. The page's place comes from the body
      (``page_path``, 1-based, against a total of pages: Wicked Reports) or from the request's query (``offset_param``
      against a total of records, or ``page_param`` counted from ``start_from_page``); the page size from the query's
      ``page_size_param``. A total of 0, or one the records have overtaken, proves nothing and is not checked.
    """

    records_path: List[str] = field(default_factory=list)
    total_path: List[str] = field(default_factory=list)
    total_counts: str = "records"
    page_path: List[str] = field(default_factory=list)
    page_param: Optional[str] = None
    start_from_page: int = 0
    offset_param: Optional[str] = None
    page_size_param: Optional[str] = None

    def problem(self, response: requests.Response, body: Any) -> Optional[str]:
        """What is wrong with this page, as the end of a sentence, or ``None``."""
        path = ".".join(self.records_path)
        records = dig(body, self.records_path)
        if not isinstance(records, list):
            found = "nothing" if records is None else f"a {type(records).__name__}"
            if isinstance(body, Mapping) and self.records_path and self.records_path[0] not in body:
                found = "no such field"
            return f"no list of records at '{path}' ({found})"
        for position, record in enumerate(records):
            if not isinstance(record, dict):
                return f"a record that is not a JSON object at '{path}'[{position}] ({type(record).__name__})"
        count = len(records)
        query = parse_qs(urlsplit(response.request.url if response.request is not None else "").query)

        def number(name: Optional[str]) -> Optional[float]:
            values = query.get(name or "")
            return as_number(values[0]) if values else None

        size = number(self.page_size_param)
        if not size or count >= size:
            return None
        total = as_number(dig(body, self.total_path)) if self.total_path else None
        if not total:
            return None
        if self.page_path:
            page = as_number(dig(body, self.page_path))
            remaining = page is not None and page < total
        elif self.offset_param:
            remaining = (number(self.offset_param) or 0) + count < total
        elif self.page_param:
            index = (number(self.page_param) or self.start_from_page) - self.start_from_page
            remaining = index + 1 < total if self.total_counts == "pages" else index * size + count < total
        else:
            remaining = False
        if remaining:
            unit = "pages" if self.total_counts == "pages" or self.page_path else "records"
            return (
                f"a short page: {count} records where {int(size)} were asked for, while '{'.'.join(self.total_path)}' "
                f"says {int(total)} {unit} in all"
            )
        return None


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
                return shorten("; ".join(str(item) for item in value), MAX_MESSAGE_CHARS)
            if isinstance(value, dict) and value:
                return shorten(orjson.dumps(value).decode(), MAX_MESSAGE_CHARS)
            if value not in (None, ""):
                return shorten(str(value), MAX_MESSAGE_CHARS)
    text = (response.text or "").strip()
    return shorten(text, MAX_MESSAGE_CHARS) if text else (response.reason or f"HTTP {response.status_code}")


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
    # Query parameters of the request that messages may name, e.g. [altId] lets a 403 say which location it was for.
    query_placeholders: Optional[List[str]] = None
    backoff_base_seconds: float = 2.0
    max_backoff_seconds: float = 120.0
    # Longest Retry-After / reset the sync waits for; "{{ config.get('max_wait_seconds') }}" style values are evaluated.
    max_wait_seconds: Union[float, str] = DEFAULT_MAX_WAIT_SECONDS
    # The page contract (see ``PageContract``): where the records are, and how the page tells what remains.
    records_path: Optional[List[str]] = None
    total_path: Optional[List[str]] = None
    total_counts: str = "records"
    page_path: Optional[List[str]] = None
    page_param: Optional[str] = None
    start_from_page: int = 0
    offset_param: Optional[str] = None
    page_size_param: Optional[str] = None

    def interpret_response(
        self, response_or_exception: Optional[Union[requests.Response, Exception]] = None
    ) -> ErrorResolution:
        if isinstance(response_or_exception, requests.Response) and response_or_exception.ok:
            # Vendor filters apply to failures only: evaluating them on every page would cost a second JSON parse.
            resolution = self._parse_success(response_or_exception)
            if resolution.response_action != ResponseAction.SUCCESS:
                page_sharing.SHARE.forget(response_or_exception.request)  # its retry must reach the API
            return resolution
        resolution = self._vendor_filters(response_or_exception)
        if not resolution and isinstance(response_or_exception, requests.Response):
            resolution = self._classify(response_or_exception)
        if not resolution:
            resolution = super().interpret_response(response_or_exception)
        if resolution.response_action == ResponseAction.FAIL and resolution.failure_type == FailureType.config_error:
            # A refused token, a 404, a refused page size: every other request of this sync would meet it too.
            sync_stop.request()
        return resolution

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._stream = str(parameters.get("name") or "")
        max_wait = self.max_wait_seconds
        if isinstance(max_wait, str):
            max_wait = InterpolatedString.create(max_wait, parameters=parameters).eval(self.config or {})
        self._max_wait = float(max_wait) if max_wait not in (None, "", "None") else DEFAULT_MAX_WAIT_SECONDS
        self._contract = PageContract(
            records_path=list(self.records_path or []),
            total_path=list(self.total_path or []),
            total_counts=self.total_counts,
            page_path=list(self.page_path or []),
            page_param=self.page_param,
            start_from_page=int(self.start_from_page),
            offset_param=self.offset_param,
            page_size_param=self.page_size_param,
        ) if self.records_path else None
        if not self.backoff_strategies:
            max_retries = self.max_retries if isinstance(self.max_retries, int) else 5
            self.backoff_strategies = [
                RateLimitAwareBackoff(
                    self.rate_limit_reset_header,
                    self.backoff_base_seconds,
                    self.max_backoff_seconds,
                    vendor=self.vendor,
                    max_wait_seconds=self._max_wait,
                    max_retries=max_retries,
                )
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
            body = parse_once(response)
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
        problem = self._contract.problem(response, body) if self._contract else None
        if problem:
            stream = f" (stream {self._stream})" if self._stream else ""
            return ErrorResolution(
                response_action=ResponseAction.RETRY,
                failure_type=FailureType.transient_error,
                error_message=(
                    f"{self.vendor} answered {request_path(response)}{stream} with {problem}. It was retried and the "
                    "stream stopped rather than skip records: no state was saved past the last complete page. Run the "
                    "sync again; if this persists, report it to the vendor."
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
        if self.query_placeholders:
            query = parse_qs(urlsplit(response.request.url if response.request is not None else "").query)
            for name in self.query_placeholders:
                template = template.replace("{" + name + "}", (query.get(name) or [""])[0])
        return (
            template.replace("{vendor}", self.vendor)
            .replace("{status}", str(response.status_code))
            .replace("{path}", request_path(response))
            .replace("{message}", vendor_message(response))
        )
