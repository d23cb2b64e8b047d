"""Where requests may go, and how long one may take: the guard every connector's HTTP traffic passes through.

``install()`` wraps ``requests.Session.send`` and ``Session.get_redirect_target`` once per process (through
``connectors_shared.cdk_hooks``, its ``session_guard`` hook), so that it covers every request a connector makes, the
CDK's and our own (TextYess's check):

- **Credentials stay with the API.** A redirect is followed only to the same scheme, host and port as the request
  that was redirected. A redirect anywhere else (another host, port or scheme) is refused with a ``config_error``
  before anything is sent there, so no header (``apikey``, ``x-auth-token``, ``Authorization``) can follow it.
  (``requests`` itself strips only ``Authorization`` on a host change, and only that header.)
- **No cloud metadata endpoints.** A request to a link-local address (169.254.0.0/16, fe80::/10), to AWS's
  fd00:ec2::254 or to a metadata host name is refused before it is sent, whatever its spelling: an IPv4 address
  written as one number (``2852039166``), in hex or octal parts (``0xa9.0xfe.0xa9.0xfe``) is read as the resolver
  reads it, and a host name is looked up before the first real request to it (once per name and process) and refused
  when any of its addresses is such a one (``169.254.169.254.nip.io``). ``check_base_url`` says the same of a
  configured ``base_url`` before any request. Loopback and private addresses are allowed (sandboxes, proxies).
- **Every request ends.** The body is read under an overall deadline (``REQUEST_DEADLINE_SECONDS``, default 120 s;
  ``CONNECTORS_REQUEST_DEADLINE_SECONDS`` in the environment overrides it), and the connect and read timeouts are
  capped at the same figure. A body trickling in a byte at a time, or a server that never answers, raises
  ``ReadTimeout``, which the shared error handler retries as a timeout.
- **A page is fetched once per sync** when a child stream reads its parent's pages: see
  ``connectors_shared.page_sharing``.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import socket
import time
from typing import Any, Optional, Tuple
from urllib.parse import urljoin, urlsplit

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

from connectors_shared import cdk_hooks, page_sharing, sync_stop

REQUEST_DEADLINE_SECONDS = 120.0
STOP_GRACE_SECONDS = 30.0  # how long a request made after a sync stop waits for the process to end
READ_CHUNK_BYTES = 1 << 20
METADATA_HOST_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata.azure.internal"})
_LINK_LOCAL_V4 = ipaddress.ip_network("169.254.0.0/16")
_LINK_LOCAL_V6 = ipaddress.ip_network("fe80::/10")
_AWS_METADATA_V6 = ipaddress.ip_address("fd00:ec2::254")


def request_deadline_seconds() -> float:
    raw = os.environ.get("CONNECTORS_REQUEST_DEADLINE_SECONDS")
    try:
        return float(raw) if raw else REQUEST_DEADLINE_SECONDS
    except ValueError:
        return REQUEST_DEADLINE_SECONDS


def origin(url: str) -> Tuple[str, str, Optional[int]]:
    """``(scheme, host, port)`` with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def display_origin(url: str) -> str:
    """``scheme://host:port`` of a URL: never its user info, path or query, which may carry secrets."""
    scheme, host, port = origin(url)
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def refused_host(host: str) -> Optional[str]:
    """Why requests to ``host`` are refused (a cloud metadata or link-local address), or ``None``."""
    name = host.strip("[]").lower().rstrip(".")
    if name in METADATA_HOST_NAMES:
        return "a cloud metadata service"
    address = _ip_literal(name)
    if address is None:
        return None
    return refused_address(address)


def refused_address(address: Any) -> Optional[str]:
    """Why connecting to IP ``address`` is refused, or ``None``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address == _AWS_METADATA_V6:
        return "a cloud metadata service"
    if address in (_LINK_LOCAL_V4 if address.version == 4 else _LINK_LOCAL_V6):
        return "a link-local address, where cloud metadata services live"
    return None


_NUMERIC_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")


def _ip_literal(name: str) -> Any:
    """The address a host written as an IP literal stands for, in any spelling the resolver accepts; else ``None``."""
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_IPV4.match(name):  # 2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except (OSError, ValueError):
            return None
    return None


@functools.lru_cache(maxsize=256)
def refused_resolution(host: str) -> Optional[str]:
    """Why ``host``, a name, is refused for one of the addresses it resolves to; ``None`` when none is (or the name
    does not resolve: the request then fails as unreachable, as it would have anyway)."""
    name = host.strip("[]").lower().rstrip(".")
    if not name or _ip_literal(name) is not None:
        return None
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        try:
            reason = refused_address(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
        if reason:
            return f"{reason} ({name} resolves to {info[4][0]})"
    return None


def check_base_url(url: Any, field: str = "base_url") -> None:
    """Refuse a configured URL that is not http(s) or points at a metadata/link-local host (a ``config_error``)."""
    if url in (None, ""):
        return
    text = str(url)
    parts = urlsplit(text.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise AirbyteTracedException(
            message=f"{field} must be an http:// or https:// address with a host name, such as https://api.example.com.",
            failure_type=FailureType.config_error,
        )
    reason = refused_host(parts.hostname)
    if reason:
        raise AirbyteTracedException(
            message=(
                f"{field} points at {display_origin(text)}, {reason}. Connectors never send credentials there; set {field} "
                "to the vendor's API address (or leave it empty for the default)."
            ),
            failure_type=FailureType.config_error,
        )


def _refuse_redirect(response: requests.Response, target: str) -> AirbyteTracedException:
    reason = refused_host(origin(target)[1])
    where = f"{display_origin(target)} ({reason})" if reason else display_origin(target)
    return AirbyteTracedException(
        message=(
            f"The API at {display_origin(response.url)} answered HTTP {response.status_code}, redirecting to {where}. "
            "Credentials are sent only to the scheme, host and port of base_url, so the redirect was not followed. "
            "If the API has moved, set base_url to its new address."
        ),
        internal_message=f"Refused redirect from {display_origin(response.url)} to {display_origin(target)}",
        failure_type=FailureType.config_error,
    )


def _read_body(response: requests.Response, deadline: float) -> None:
    """Read the whole body now, failing with ``ReadTimeout`` once ``deadline`` (monotonic) has passed."""
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:
        response.content  # noqa: B018 - not a urllib3 response (a test double): read it the ordinary way
        return
    chunks = []
    try:
        while True:
            chunk = read1(READ_CHUNK_BYTES, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            if time.monotonic() > deadline:
                response.close()
                raise requests.exceptions.ReadTimeout(
                    f"the response body was still arriving after the {request_deadline_seconds():.0f} s deadline "
                    "for one request",
                    request=response.request,
                )
    except ReadTimeoutError as error:
        raise requests.exceptions.ReadTimeout(error, request=response.request) from error
    except ProtocolError as error:
        raise requests.exceptions.ChunkedEncodingError(error, request=response.request) from error
    except DecodeError as error:
        raise requests.exceptions.ContentDecodingError(error, request=response.request) from error
    except SSLError as error:
        raise requests.exceptions.SSLError(error, request=response.request) from error
    cdk_hooks.keep_body(response, b"".join(chunks))
    response.raw.release_conn()


def _capped_timeout(timeout: Any) -> Any:
    """The connect and read timeouts, neither longer than the request deadline.

    The deadline bounds a body that is still arriving; a server that accepts the connection and never answers is
    bounded by the read timeout, which the CDK leaves at minutes. Capped, such a request ends as a ``ReadTimeout``
    within the deadline too, so four of them stop the sync (see ``error_handling``) well before the CDK's own limit.
    """
    limit = request_deadline_seconds()
    if isinstance(timeout, tuple) and len(timeout) == 2:
        connect, read = timeout
    else:
        connect = read = timeout
    return (min(connect, limit) if connect else limit, min(read, limit) if read else limit)


def _guarded_send(original_send: Any) -> Any:
    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if sync_stop.refuses_requests():
            # The error that stopped the sync is on its way to the main thread, which ends the process once it has
            # written it. Raising here could put this thread's error first and end the process with it instead, so
            # wait for the end (bounded: should the process go on, say why this request was not sent).
            sync_stop.wait_for_exit(STOP_GRACE_SECONDS)
            raise AirbyteTracedException(
                message="Not sent: the sync is stopping after an error every other request would meet too.",
                failure_type=FailureType.transient_error,
            )
        host = origin(request.url or "")[1]
        reason = refused_host(host)
        if not reason and isinstance(self.get_adapter(request.url or ""), requests.adapters.HTTPAdapter):
            reason = refused_resolution(host)  # a real connection (not a test's mock adapter): where does it go?
        if reason:
            raise AirbyteTracedException(
                message=(
                    f"Refused to send a request to {display_origin(request.url or '')}, {reason}. Set base_url to the "
                    "vendor's API address."
                ),
                failure_type=FailureType.config_error,
            )
        kwargs["timeout"] = _capped_timeout(kwargs.get("timeout"))
        if kwargs.get("stream"):
            return original_send(self, request, **kwargs)
        kept = page_sharing.SHARE.take(request)  # a page another stream of this sync has fetched already
        if kept is not None:
            return kept
        answered = None  # the response once its whole body has arrived
        try:
            deadline = time.monotonic() + request_deadline_seconds()
            response = original_send(self, request, **{**kwargs, "stream": True})
            _read_body(response, deadline)
            answered = response
        finally:
            page_sharing.SHARE.fetched(request, answered)
        return response

    return send


def _guarded_redirect_target(original_redirect_target: Any) -> Any:
    def get_redirect_target(self: requests.Session, response: requests.Response) -> Optional[str]:
        target = original_redirect_target(self, response)
        if target:
            absolute = urljoin(response.url, target)
            if origin(absolute) != origin(response.url):
                raise _refuse_redirect(response, absolute)
        return target

    return get_redirect_target


def install() -> None:
    """Wrap ``requests.Session`` (see the module docstring). Safe to call repeatedly: each method is wrapped again
    only when something (a test's ``requests_mock``) has put another one in place since."""
    cdk_hooks.wrap_session("_connectors_transport", _guarded_send, _guarded_redirect_target)
