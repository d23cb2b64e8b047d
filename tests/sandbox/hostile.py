"""Hostile mode of the sandbox: vendor answers that break the rules, an attacker server, and a network guard.

The vendor emulators answer as their APIs are documented. Hostile mode passes their answers through *rewriters*
(``Vendor.rewrite``) that break them the way real APIs and networks do: a page whose records field is missing, a
page short of the advertised total, a ``next`` hash that repeats, a record dated 2099, a body that trickles in one
byte per second, a 429 asking for a day's wait, error bodies that echo the request's headers, redirects elsewhere.

    with Hostile() as hostile:                                   # sandbox + attacker server + network guard
        profile = PROFILES["source-leadway"]                     # what this module knows about each connector
        hostile.rewrite(profile, broken_records(profile, profile.incremental, page=2, variant="null"))
        outcome = hostile.run(profile, hostile.config(profile), "read", catalog=catalog_for(profile, ["orders"]))
        outcome.returncode, outcome.errors, outcome.elapsed, hostile.attacker.received, hostile.guard_attempts()

Every connector process started by ``Hostile.run`` runs under a *network guard* (a ``sitecustomize`` written to a
temporary folder and put first on ``PYTHONPATH``): a connection to any address that is not loopback (a cloud
metadata service at 169.254.169.254 for example) is diverted to the attacker server and logged, and
``metadata.google.internal`` resolves as it does on a cloud VM (to 169.254.169.254). No test can reach anything
outside this machine, and a test can tell whether the connector tried. ``HOSTILE_GUARD_ALIASES`` lets a private
address stand for the sandbox (``10.20.30.40`` -> ``127.0.0.1``), to check that private hosts keep working.

Retries are instant: ``CONNECTORS_WAIT_SCALE=0.001`` is passed to every run unless a test overrides it.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote, quote_plus

from tests.harness import Connector, ConnectorRunner, Run, configured_catalog, connectors
from tests.sandbox.server import RecordingServer, Request, Response, Rewriter, Sandbox

UTC = dt.timezone.utc
ADVERTISED_TOTAL = 250  # records the hostile pages claim the first window holds
FUTURE_STAMP = "2099-06-15T12:00:00.000Z"
LOOP_CAP = 40  # a loop scenario serves this many repeated pages, then ends paging so that no test hangs
DEFAULT_ENV = {"CONNECTORS_WAIT_SCALE": "0.001"}
MISSING = object()


# ---------------------------------------------------------------------------------------------------------------------
# What the tests know about each connector: one table.
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    name: str
    endpoint: str  # the vendor path below the vendor prefix, e.g. "/payments/orders"
    primary_key: str
    cursor: Optional[str] = None  # incremental streams: the record field the cursor reads
    window_param: Optional[str] = None  # incremental streams: the query parameter carrying the window's start


@dataclass(frozen=True)
class Profile:
    connector: str  # folder name, e.g. "source-leadway"
    vendor: str  # sandbox vendor, e.g. "leadway"
    label: str  # how the connector's messages name the vendor
    records_path: Tuple[str, ...]
    # Fields advertising the total, each counting "records" or "pages".
    total_fields: Tuple[Tuple[Tuple[str, ...], str], ...]
    paging: str  # "next" (Wicked's next hash), "offset", "page0" (0-based page), "page1" (1-based page)
    page_size: int
    incremental: Optional[Stream]
    full_refresh: Optional[Stream]
    config: Mapping[str, Any]  # overrides of sandbox_config.json for hostile runs: small windows, known page size
    date_fields: Tuple[str, ...] = ()  # config fields holding dates
    state_format: str = "%Y-%m-%d"  # how the incremental stream's cursor is saved
    partitioned: Optional[Tuple[str, Dict[str, Any]]] = None  # a per-partition stream and a well-formed state of it

    @property
    def main(self) -> Stream:
        """The stream hostile scenarios break by default: the incremental one, else the full-refresh one."""
        return self.incremental or self.full_refresh  # type: ignore[return-value]

    @property
    def records_path_pattern(self) -> str:
        """A regular expression matching the records path as a message may write it (``data.rows``, ``data/rows``)."""
        return r"\W{1,6}".join(re.escape(key) for key in self.records_path)

    def state_value(self, moment: dt.datetime) -> str:
        text = moment.strftime(self.state_format.replace("%_ms", "000"))
        return text

    def connector_object(self) -> Connector:
        return next(c for c in connectors() if c.name == self.connector)


START = "2024-12-01"  # hostile runs start here: the first window holds a few full pages (records=3000)

PROFILES: Dict[str, Profile] = {
    profile.connector: profile
    for profile in (
        Profile(
            connector="source-wickedreports",
            vendor="wickedreports",
            label="Wicked Reports",
            records_path=("results",),
            total_fields=((("totalPages",), "pages"), (("total",), "records")),
            paging="next",
            page_size=100,
            incremental=Stream("orders", "/orders", "id", cursor="date", window_param="from"),
            full_refresh=None,
            config={"start_date": START, "end_date": "2024-12-31", "page_size": 100},
            date_fields=("start_date", "end_date"),
            state_format="%Y-%m-%d",
        ),
        Profile(
            connector="source-leadway",
            vendor="leadway",
            label="Leadway",
            records_path=("data",),
            total_fields=((("totalCount",), "records"),),
            paging="offset",
            page_size=100,
            incremental=Stream("orders", "/payments/orders", "_id", cursor="createdAt", window_param="startAt"),
            full_refresh=Stream("coupons", "/payments/coupon/list", "_id"),
            config={"start_date": START, "page_size": 100, "lookback_days": 0},
            date_fields=("start_date",),
            state_format="%Y-%m-%d",
        ),
        Profile(
            connector="source-textyess",
            vendor="textyess",
            label="TextYess",
            records_path=("data",),
            total_fields=((("pagination", "total"), "records"),),
            paging="page0",
            page_size=100,
            incremental=Stream("orders", "/analytics/orders", "_id", cursor="createdAt", window_param="from"),
            full_refresh=Stream("campaigns", "/analytics/campaigns", "_id"),
            config={"start_date": START, "page_size": 100, "campaign_ids": []},
            date_fields=("start_date",),
            state_format="%Y-%m-%dT%H:%M:%SZ",
            partitioned=("campaign_orders", {
                "states": [{"partition": {"campaign_id": "65a1f0c20000000000000000", "parent_slice": {}},
                            "cursor": {"createdAt": "2024-12-01T00:00:00Z"}}]
            }),
        ),
        Profile(
            connector="source-openletter",
            vendor="openletter",
            label="OpenLetter",
            records_path=("data", "rows"),
            total_fields=((("data", "count"), "records"),),
            paging="page0",
            page_size=100,
            incremental=None,
            full_refresh=Stream("orders", "/orders/", "id"),
            config={"page_size": 100},
        ),
        Profile(
            connector="source-shopline",
            vendor="shopline",
            label="SHOPLINE",
            records_path=("items",),
            total_fields=((("pagination", "total_pages"), "pages"), (("pagination", "total_count"), "records")),
            paging="page1",
            page_size=50,
            incremental=Stream("orders", "/v1/orders", "id", cursor="updated_at", window_param="updated_after"),
            full_refresh=Stream("affiliate_campaigns", "/v1/affiliate_campaigns", "id"),
            config={"start_date": START, "page_size": 50},
            date_fields=("start_date",),
            state_format="%Y-%m-%d %H:%M:%S.%_ms",
            partitioned=("affiliate_campaign_orders", {
                "states": [{"partition": {"affiliate_campaign_id": "64" + "0" * 22}, "cursor": {"id": "0" * 24}}]
            }),
        ),
    )
}


# ---------------------------------------------------------------------------------------------------------------------
# Reading and changing pages.
# ---------------------------------------------------------------------------------------------------------------------


def dig(body: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(body, Mapping):
            return None
        body = body.get(key)
    return body


def put(body: Any, path: Sequence[str], value: Any) -> None:
    """Set (or, with ``MISSING``, delete) the value at ``path`` in a JSON object."""
    for key in path[:-1]:
        body = body.setdefault(key, {})
    if value is MISSING:
        body.pop(path[-1], None)
    else:
        body[path[-1]] = value


def records_of(profile: Profile, body: Any) -> Any:
    return dig(body, profile.records_path)


def page_number(profile: Profile, request: Request, body: Any) -> int:
    """The 1-based number of the page this answer is (within its window)."""
    if profile.paging == "next":
        return int(body.get("page") or 1) if isinstance(body, Mapping) else 1
    if profile.paging == "offset":
        return int(request.arg("offset", "0") or 0) // profile.page_size + 1
    if profile.paging == "page0":
        return int(request.arg("page", "0") or 0) + 1
    return int(request.arg("page", "1") or 1)


def advertise_total(profile: Profile, body: Any, records: int = ADVERTISED_TOTAL) -> None:
    for path, counts in profile.total_fields:
        put(body, path, records if counts == "records" else math.ceil(records / profile.page_size))


def in_first_window(stream: Stream, request: Request) -> bool:
    """Incremental streams: the window starting at the configured start date; full refresh: every request."""
    if not stream.window_param:
        return True
    value = request.arg(stream.window_param) or ""
    return value[:10] == START


def _body(response: Response) -> Any:
    if isinstance(response.body, bytes):
        try:
            return json.loads(response.body)
        except ValueError:
            return None
    return copy.deepcopy(response.body)


class ServedRecords:
    """The primary keys of every record a stream's pages really carried (to tell delivered from invented)."""

    def __init__(self) -> None:
        self._keys: set = set()
        self._lock = threading.Lock()

    def add(self, stream: Stream, records: Any) -> None:
        if isinstance(records, list):
            with self._lock:
                self._keys.update(r.get(stream.primary_key) for r in records if isinstance(r, Mapping))

    def __contains__(self, key: Any) -> bool:
        with self._lock:
            return key in self._keys


class PageCounter:
    """How often each (window start, page) of a stream was asked for: retries show up as counts above 1."""

    def __init__(self) -> None:
        self.counts: Dict[Tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def add(self, key: Tuple[str, int]) -> None:
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + 1


def on_stream(profile: Profile, stream: Stream, change: Callable[[Request, Any, int], Optional[Response]],
              served: Optional[ServedRecords] = None, pages: Optional[PageCounter] = None,
              first_window_only: bool = True) -> Rewriter:
    """A rewriter for the 2xx pages of one stream: ``change(request, body, page)`` returns a replacement or None.

    ``body`` is a copy of the page the vendor would send, to change freely. Every page of the first window also
    advertises ``ADVERTISED_TOTAL`` records.
    """

    def rewrite(request: Request, response: Response) -> Optional[Response]:
        if request.path != stream.endpoint or response.status != 200:
            return None
        if first_window_only and not in_first_window(stream, request):
            if served is not None and isinstance(response.body, dict):
                served.add(stream, records_of(profile, response.body))
            return None
        body = _body(response)
        if not isinstance(body, dict):
            return None
        page = page_number(profile, request, body)
        if pages is not None:
            pages.add(((request.arg(stream.window_param) if stream.window_param else "") or "", page))
        advertise_total(profile, body)
        replacement = change(request, body, page)
        answer = replacement or Response(200, body, dict(response.headers))
        if served is not None and answer.status == 200:
            served.add(stream, records_of(profile, _body(answer)))
        return answer

    return rewrite


def broken_records(profile: Profile, stream: Stream, page: int, variant: str,
                   served: Optional[ServedRecords] = None, pages: Optional[PageCounter] = None) -> Rewriter:
    """Page ``page`` of the first window carries its records field ``variant``: missing, null, or an object/string."""
    values = {"missing": MISSING, "null": None, "object": {"0": {"id": "not-a-list"}}, "string": "no records today"}

    def change(request: Request, body: Any, number: int) -> Optional[Response]:
        if number == page:
            put(body, profile.records_path, values[variant])
        return None

    return on_stream(profile, stream, change, served, pages)


def early_end(profile: Profile, stream: Stream, page: int, kind: str,
              served: Optional[ServedRecords] = None, pages: Optional[PageCounter] = None) -> Rewriter:
    """Page ``page`` of the first window comes back empty or short, although the advertised total says more remain."""

    def change(request: Request, body: Any, number: int) -> Optional[Response]:
        if number == page:
            records = records_of(profile, body) or []
            put(body, profile.records_path, [] if kind == "empty" else records[:7])
            if profile.paging == "next":
                body["page"] = number  # Wicked: still page 2 of 3
        return None

    return on_stream(profile, stream, change, served, pages)


class EndlessPages:
    """Page/offset paging that never runs dry: every page after the first repeats page 1 in full, far past the total.

    After ``cap`` such pages the answer is an empty page, so a connector that does not notice still ends (with
    duplicated records and exit code 0) instead of hanging the test. ``served_beyond`` counts the pages served past
    the advertised total.
    """

    def __init__(self, profile: Profile, stream: Stream, cap: int = LOOP_CAP) -> None:
        self.profile, self.stream, self.cap = profile, stream, cap
        self.served_beyond = 0
        self._first: Optional[Any] = None
        self._lock = threading.Lock()

    def rewriter(self) -> Rewriter:
        def change(request: Request, body: Any, number: int) -> Optional[Response]:
            with self._lock:
                if number == 1:
                    self._first = copy.deepcopy(records_of(self.profile, body))
                    return None
                first = self._first
                self.served_beyond += 1
                exhausted = self.served_beyond > self.cap
            put(body, self.profile.records_path, [] if exhausted else copy.deepcopy(first or []))
            return None

        return on_stream(self.profile, self.stream, change)


class EndlessNextTokens(EndlessPages):
    """Wicked's ``next`` paging that never runs dry: every answer to a ``next`` token repeats the first page in full,
    still says ``page: 1`` of ``totalPages: 3`` (so the stop condition never holds) and hands out a new token each time.

    No token repeats and no page ends with the record the page before ended with (each copy gets new ids), so only the
    count of pages against the advertised total can notice. After ``cap`` such pages the answer is an empty page (see
    EndlessPages); ``served_beyond`` counts them.
    """

    TOTAL_PAGES = 3

    def rewriter(self) -> Rewriter:
        def rewrite(request: Request, response: Response) -> Optional[Response]:
            if request.path != self.stream.endpoint:
                return None
            if request.arg("next") is None:
                if response.status != 200 or not isinstance(response.body, dict):
                    return None
                body = copy.deepcopy(response.body)
                with self._lock:
                    if self._first is None:
                        self._first = copy.deepcopy(records_of(self.profile, body))
                body.update(page=1, totalPages=self.TOTAL_PAGES, next="endless-0")
                return Response(200, body, response.headers, content_type=response.content_type)
            with self._lock:
                self.served_beyond += 1
                served, exhausted = self.served_beyond, self.served_beyond > self.cap
                first = copy.deepcopy(self._first or [])
            key = self.stream.primary_key
            for record in first:  # new records each time: a page ending as the one before is caught another way
                if isinstance(record, dict) and key in record:
                    record[key] = record[key] + served * 10**9 if isinstance(record[key], int) else f"{record[key]}-{served}"
            body = {"page": 1, "totalPages": self.TOTAL_PAGES, "next": f"endless-{served}"}
            put(body, self.profile.records_path, [] if exhausted else first)
            return Response(200, body)

        return rewrite


class RepeatedCursor:
    """Cursor paging that repeats itself: Wicked's ``next`` or SHOPLINE's ``last_id`` comes back unchanged.

    Wicked: the answer to ``next=T`` carries ``next=T`` again. SHOPLINE (keyset, per campaign): the answer to
    ``previous_id=X`` carries ``last_id=X``. After ``cap`` repeats paging ends with an empty page (see EndlessPages).
    """

    def __init__(self, profile: Profile, cap: int = LOOP_CAP) -> None:
        self.profile, self.cap = profile, cap
        self.repeats = 0
        self._lock = threading.Lock()

    def rewriter(self) -> Rewriter:
        def rewrite(request: Request, response: Response) -> Optional[Response]:
            if response.status != 200:
                return None
            body = _body(response)
            if not isinstance(body, dict):
                return None
            if self.profile.vendor == "wickedreports":
                token = request.arg("next")
                if request.path != "/orders" or not token:
                    return None
                key = "results"
                body["next"] = token
            elif self.profile.vendor == "shopline":
                previous = request.arg("previous_id")
                if not request.path.endswith("/orders") or request.path == "/v1/orders" or not previous:
                    return None
                key = "items"
                body["last_id"] = previous
            else:
                return None
            with self._lock:
                self.repeats += 1
                exhausted = self.repeats > self.cap
            if exhausted:
                body[key] = []
            return Response(200, body, dict(response.headers))

        return rewrite


def future_record(profile: Profile, stream: Stream, stamp: str = FUTURE_STAMP) -> Tuple[Rewriter, List[Any]]:
    """The first record of the stream's first page is dated ``stamp``; returns the rewriter and [its primary key]."""
    marked: List[Any] = []

    def change(request: Request, body: Any, number: int) -> Optional[Response]:
        records = records_of(profile, body)
        if number == 1 and isinstance(records, list) and records:
            records[0][stream.cursor] = stamp
            if not marked:
                marked.append(records[0][stream.primary_key])
        return None

    return on_stream(profile, stream, change), marked


def non_object_record(profile: Profile, stream: Stream, value: Any) -> Rewriter:
    """The second record of the stream's first page is ``value`` (a string, a number) instead of an object."""

    def change(request: Request, body: Any, number: int) -> Optional[Response]:
        records = records_of(profile, body)
        if number == 1 and isinstance(records, list) and len(records) > 1:
            records[1] = value
        return None

    return on_stream(profile, stream, change)


def trickle(seconds_per_byte: float = 1.0, path: Optional[str] = None) -> Rewriter:
    """Every answer (or those to ``path``) keeps its body but sends it one byte per ``seconds_per_byte``."""

    def rewrite(request: Request, response: Response) -> Optional[Response]:
        if path is not None and request.path != path:
            return None
        return Response(response.status, response.body, dict(response.headers), trickle=seconds_per_byte)

    return rewrite


def rate_limited(retry_after: str = "100000", path: Optional[str] = None) -> Rewriter:
    """Every answer (or those to ``path``) is a 429 whose only wait is ``Retry-After: <retry_after>``."""

    def rewrite(request: Request, response: Response) -> Optional[Response]:
        if path is not None and request.path != path:
            return None
        return Response(429, {"message": "Too many requests, please try again later."}, {"Retry-After": retry_after})

    return rewrite


class RateLimitSpent:
    """Answers to ``path`` (every path when None) carry rate-limit ``headers`` saying no call remains until far away.

    ``status`` 200 keeps the page (a 2xx that spends the last call: the connector must not pause for the reset it
    announces when that is beyond max_wait_seconds); 429 replaces it with a plain "too many requests" body. The vendor's
    own headers of the same names (any case) are replaced, not doubled. ``after`` counts the requests the vendor
    received, on any path, after the first such answer was made.
    """

    def __init__(self, headers: Callable[[], Mapping[str, str]], status: int = 200, path: Optional[str] = None) -> None:
        self.headers, self.status, self.path = headers, status, path
        self.answered = 0
        self.after = 0
        self._lock = threading.Lock()

    def rewriter(self) -> Rewriter:
        def rewrite(request: Request, response: Response) -> Optional[Response]:
            with self._lock:
                self.after += self.answered > 0
            if self.path is not None and request.path != self.path:
                return None
            if self.status == 200 and response.status != 200:
                return None
            extra = dict(self.headers())
            names = {name.lower() for name in extra}
            kept = {name: value for name, value in response.headers.items() if name.lower() not in names}
            with self._lock:
                self.answered += 1
            if self.status == 200:
                return Response(200, response.body, {**kept, **extra}, content_type=response.content_type)
            return Response(self.status, {"message": "Too many requests, please try again later."}, extra)

        return rewrite


def echo_body(status: int, request: Request) -> Dict[str, Any]:
    """An error body that quotes the request back: its line, every header and the query (a leaky vendor or proxy)."""
    headers = dict(request.headers)
    echoed = f"{request.method} {request.url} headers={json.dumps(headers)} query={json.dumps(request.query)}"
    text = f"HTTP {status} for {echoed}"
    return {"statusCode": status, "message": text, "error": text, "detail": text, "request": {
        "url": request.url, "headers": headers, "query": request.query}}


def echo(status: int) -> Rewriter:
    """Every answer is ``status`` with a body that echoes the request's headers and query."""

    def rewrite(request: Request, response: Response) -> Optional[Response]:
        return Response(status, echo_body(status, request))

    return rewrite


def fatal_for_token(token: str, status: int) -> Rewriter:
    """Every request carrying ``token`` in a header gets ``status`` (401, 403 or 404) with a plain vendor body."""
    messages = {401: "Invalid token", 403: "Forbidden: the token has no access to this resource", 404: "Not Found"}

    def rewrite(request: Request, response: Response) -> Optional[Response]:
        if any(token in value for value in request.headers.values()):
            return Response(status, {"statusCode": status, "message": messages.get(status, "error")})
        return None

    return rewrite


def redirect(location: Callable[[Request], Optional[str]], status: int = 302) -> Rewriter:
    """Answer ``status`` with ``Location: location(request)`` (None: serve the request normally)."""

    def rewrite(request: Request, response: Response) -> Optional[Response]:
        target = location(request)
        if target is None:
            return None
        return Response(status, b"", {"Location": target}, content_type="text/plain")

    return rewrite


MOVED_MARKER = "hostile_moved"


def carries_token(request: Request, token: str) -> bool:
    return any(token in value for value in request.headers.values()) or token in request.url


# ---------------------------------------------------------------------------------------------------------------------
# The network guard, the hostile sandbox and running connectors in it.
# ---------------------------------------------------------------------------------------------------------------------

GUARD_SOURCE = r'''
"""Hostile-mode network guard (tests/sandbox/hostile.py): nothing but loopback is reachable from this process."""
import ipaddress, os, socket, threading

_port = int(os.environ.get("HOSTILE_GUARD_PORT") or 0)
if _port:
    _log_path = os.environ.get("HOSTILE_GUARD_LOG") or ""
    _aliases = dict(p.split("=", 1) for p in (os.environ.get("HOSTILE_GUARD_ALIASES") or "").split(",") if "=" in p)
    _names = {"metadata.google.internal": "169.254.169.254", "metadata.google.internal.": "169.254.169.254"}
    _lock = threading.Lock()
    _real_getaddrinfo = socket.getaddrinfo
    _real_connect = socket.socket.connect
    _real_connect_ex = socket.socket.connect_ex

    def _note(text):
        if _log_path:
            with _lock, open(_log_path, "a") as log:
                log.write(text + "\n")

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.lower() in _names:
            return _real_getaddrinfo(_names[name.lower()], *args, **kwargs)
        return _real_getaddrinfo(host, *args, **kwargs)

    def _divert(sock, address):
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
            return address
        host = address[0]
        if host in _aliases:
            return (_aliases[host],) + tuple(address[1:])
        try:
            ip = ipaddress.ip_address(str(host).split("%")[0])
        except ValueError:
            return address  # a name: connect() resolves it through getaddrinfo, which is guarded above
        if ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback):
            return address
        _note(f"connect {host} {address[1]}")
        if sock.family == socket.AF_INET6:
            return ("::ffff:127.0.0.1", _port, 0, 0)
        return ("127.0.0.1", _port)

    def connect(self, address):
        return _real_connect(self, _divert(self, address))

    def connect_ex(self, address):
        return _real_connect_ex(self, _divert(self, address))

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
'''


@lru_cache(maxsize=1)
def _guard_dir() -> str:
    folder = Path(tempfile.mkdtemp(prefix="hostile-guard-"))
    (folder / "sitecustomize.py").write_text(GUARD_SOURCE)
    return str(folder)


@dataclass
class Outcome(Run):
    """A ``Run`` plus how long it took and whether the test had to kill it."""

    elapsed: float = 0.0
    timed_out: bool = False

    def logs(self, *levels: str) -> List[Dict[str, Any]]:
        logs = [m["log"] for m in self.of_type("LOG")]
        return [log for log in logs if not levels or log.get("level") in levels]

    def stream_records(self, stream: str) -> List[Dict[str, Any]]:
        return [r["data"] for r in self.records if r["stream"] == stream]

    def stream_states(self, stream: str) -> List[Any]:
        return [s for s in self.states if s.get("type") == "STREAM"
                and s["stream"]["stream_descriptor"]["name"] == stream]

    def connection_status(self) -> Optional[Dict[str, Any]]:
        statuses = self.of_type("CONNECTION_STATUS")
        return statuses[0]["connectionStatus"] if statuses else None

    def error_text(self) -> str:
        """Every TRACE error's message, one per line (what the user is shown)."""
        return "\n".join(str(error.get("message") or "") for error in self.errors)

    def describe(self, tail: int = 1500) -> str:
        """A short account of the run, for assertion messages."""
        lines = [f"exit={self.returncode} elapsed={self.elapsed:.1f}s timed_out={self.timed_out} "
                 f"records={self.records_by_stream()}"]
        for error in self.errors:
            lines.append(f"TRACE ERROR [{error.get('failure_type')}] {str(error.get('message'))[:400]}")
        for log in self.logs("WARN", "ERROR", "FATAL"):
            lines.append(f"LOG {log.get('level')}: {str(log.get('message'))[:300]}")
        status = self.connection_status()
        if status:
            lines.append(f"CONNECTION_STATUS {status.get('status')}: {str(status.get('message'))[:400]}")
        if self.stderr.strip():
            lines.append("stderr: " + self.stderr.strip()[-tail:])
        return "\n".join(lines)


def _parse_lines(text: str) -> List[Dict[str, Any]]:
    messages = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                messages.append(json.loads(line))
            except ValueError:
                continue
    return messages


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Hostile:
    """A sandbox (every vendor), an attacker server and a guard log, started and stopped together."""

    def __init__(self, records: int = 3000, prefix: str = "/hostile") -> None:
        self.sandbox = Sandbox(records=records, prefix=prefix, poll_interval=0.05)
        self.attacker = RecordingServer()
        handle, path = tempfile.mkstemp(prefix="hostile-guard-", suffix=".log")
        os.close(handle)
        self.guard_log = Path(path)

    def __enter__(self) -> "Hostile":
        self.sandbox.start()
        self.attacker.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.sandbox.stop()
        self.attacker.stop()
        self.guard_log.unlink(missing_ok=True)

    # -- the sandbox -----------------------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.sandbox.port}"

    def vendor(self, profile_or_name: Any):
        name = profile_or_name.vendor if isinstance(profile_or_name, Profile) else profile_or_name
        return self.sandbox.vendor(name)

    def rewrite(self, profile: Profile, *rewriters: Rewriter) -> None:
        self.vendor(profile).rewrite(*rewriters)

    def config(self, profile: Profile, **overrides: Any) -> Dict[str, Any]:
        config = profile.connector_object().sandbox_config(self.sandbox.url)
        config.update(profile.config)
        config.update(overrides)
        return config

    def requests_received(self) -> int:
        """Requests every vendor of the sandbox received."""
        return sum(len(self.sandbox.vendor(name).request_log) for name in PROFILE_VENDORS)

    def guard_attempts(self) -> List[str]:
        """Connections the guard diverted (anything not loopback the connector tried to reach)."""
        return [line for line in self.guard_log.read_text().splitlines() if line.strip()]

    # -- running connectors ----------------------------------------------------------------------------------------

    def env(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        pythonpath = os.pathsep.join(p for p in (_guard_dir(), os.environ.get("PYTHONPATH", "")) if p)
        env = {
            **DEFAULT_ENV,
            "PYTHONPATH": pythonpath,
            "HOSTILE_GUARD_PORT": str(self.attacker.port),
            "HOSTILE_GUARD_LOG": str(self.guard_log),
            "HOSTILE_GUARD_ALIASES": "10.20.30.40=127.0.0.1",
        }
        env.update(extra or {})
        return env

    def run(self, profile: Profile, config: Optional[Dict[str, Any]], *args: str,
            catalog: Optional[Dict[str, Any]] = None, state: Optional[List[Any]] = None,
            env: Optional[Mapping[str, str]] = None, timeout: float = 60) -> Outcome:
        """Run ``spec|check|discover|read`` as a subprocess; a run still going after ``timeout`` s is killed."""
        runner = ConnectorRunner(profile.connector_object(), config or {})
        started = time.monotonic()
        try:
            run = runner.run(*args, catalog=catalog, state=state, timeout=timeout, env=self.env(env))
        except subprocess.TimeoutExpired as expired:
            stdout, stderr = _text(expired.stdout), _text(expired.stderr)
            return Outcome(_parse_lines(stdout), -9, stderr, stdout, time.monotonic() - started, True)
        return Outcome(run.messages, run.returncode, run.stderr, run.stdout, time.monotonic() - started, False)


PROFILE_VENDORS = tuple(profile.vendor for profile in PROFILES.values())


# ---------------------------------------------------------------------------------------------------------------------
# Catalogs, states, secrets, parallel runs.
# ---------------------------------------------------------------------------------------------------------------------

_catalog_lock = threading.Lock()


@lru_cache(maxsize=None)
def _discovered(connector: str, with_campaign_ids: bool) -> str:
    profile = PROFILES[connector]
    config = profile.connector_object().sandbox_config("http://127.0.0.1:9")
    config.update(profile.config)
    if with_campaign_ids:
        config["affiliate_campaign_ids"] = ["64" + "0" * 22]
    runner = ConnectorRunner(profile.connector_object(), config)
    return json.dumps(runner.discover_catalog())


def catalog_for(profile: Profile, streams: Optional[Iterable[str]] = None, incremental: bool = True,
                with_campaign_ids: bool = False) -> Dict[str, Any]:
    """The configured catalog of ``streams`` (all when None): incremental where the stream can be."""
    with _catalog_lock:
        discovered = json.loads(_discovered(profile.connector, with_campaign_ids))
    catalog = configured_catalog(discovered, incremental=incremental)
    if streams is not None:
        wanted = list(streams)
        catalog["streams"] = [s for s in catalog["streams"] if s["stream"]["name"] in wanted]
        assert len(catalog["streams"]) == len(wanted), f"{profile.connector} has not all of {wanted}"
    return catalog


def stream_state(stream: str, value: Any) -> Dict[str, Any]:
    """A per-stream state message as Airbyte passes it back with --state."""
    return {"type": "STREAM", "stream": {"stream_descriptor": {"name": stream}, "stream_state": value}}


def dates_in(value: Any) -> List[str]:
    """Every string in a (nested) state that starts with a date, e.g. ``2024-12-31`` or ``2024-12-31T06:25:55Z``."""
    found: List[str] = []
    if isinstance(value, Mapping):
        for item in value.values():
            found += dates_in(item)
    elif isinstance(value, list):
        for item in value:
            found += dates_in(item)
    elif isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
        found.append(value)
    return found


def today_utc() -> str:
    return dt.datetime.now(UTC).strftime("%Y-%m-%d")


def leak_forms(secret: str) -> List[str]:
    """The secret as it could appear in output: as is, URL-encoded (both ways), and its random core."""
    forms = {secret, quote(secret), quote(secret, safe=""), quote_plus(secret)}
    forms.update(part for part in re.split(r"[^0-9A-Za-z]", secret) if len(part) >= 12)
    return sorted(forms)


def secret_fields(profile: Profile) -> List[str]:
    """The spec's ``airbyte_secret`` fields, read from the connector's manifest (what ``spec`` prints)."""
    return list(_secret_fields(profile.connector))


@lru_cache(maxsize=None)
def _secret_fields(connector: str) -> Tuple[str, ...]:
    import yaml

    (manifest,) = PROFILES[connector].connector_object().folder.glob("source_*/manifest.yaml")
    spec = yaml.safe_load(manifest.read_text())["spec"]["connection_specification"]
    return tuple(name for name, prop in spec["properties"].items() if prop.get("airbyte_secret"))


def parallel(jobs: Mapping[Any, Callable[[], Any]], workers: int = 3) -> Dict[Any, Future]:
    """Start every job on a pool of ``workers`` threads (connector runs mostly wait); returns their futures."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hostile")
    futures = {key: pool.submit(job) for key, job in jobs.items()}
    pool.shutdown(wait=False)
    return futures


def start_scenarios(request: Any, scenarios: Mapping[str, Callable[..., Any]], workers: int = 2,
                    slow: Iterable[str] = (), slow_workers: int = 8) -> Dict[Tuple[str, str], Future]:
    """Start, at once, the scenario of every selected test of ``request``'s module (a module-scoped fixture's request).

    ``scenarios`` maps a test function's name to a function taking the test's parameters; each selected test item
    gets a future under ``(name, callspec id)`` (see ``scenario_result``). Connector runs spend much of their time
    starting up or waiting, so running a few at once keeps a file of some hundred runs within minutes. Scenarios
    named in ``slow`` mostly wait (timeouts, back-offs): they get their own, wider pool.
    """
    slow = set(slow)
    fast_jobs: Dict[Tuple[str, str], Callable[[], Any]] = {}
    slow_jobs: Dict[Tuple[str, str], Callable[[], Any]] = {}
    for item in request.session.items:
        if getattr(item, "module", None) is not request.module:
            continue
        name = getattr(item, "originalname", item.name)
        if name not in scenarios:
            continue
        callspec = getattr(item, "callspec", None)
        params = dict(callspec.params) if callspec else {}
        key = (name, callspec.id if callspec else "")
        job = (lambda fn, kwargs: (lambda: fn(**kwargs)))(scenarios[name], params)
        (slow_jobs if name in slow else fast_jobs)[key] = job
    futures = parallel(slow_jobs, workers=slow_workers) if slow_jobs else {}
    futures.update(parallel(fast_jobs, workers=workers) if fast_jobs else {})
    return futures


def scenario_result(request: Any, futures: Mapping[Tuple[str, str], Future], timeout: float = 600) -> Any:
    """The result of the scenario started for this test item (re-raises what the scenario raised)."""
    callspec = getattr(request.node, "callspec", None)
    key = (request.node.originalname, callspec.id if callspec else "")
    return futures[key].result(timeout=timeout)
