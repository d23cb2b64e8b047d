"""A threaded HTTP server on 127.0.0.1 that serves every vendor emulator under its own path prefix.

``http://127.0.0.1:PORT[/PREFIX]/<vendor>/<endpoint>``: each connector's ``base_url`` therefore carries a path, as a
proxy's would. Vendors are the modules of this package that define ``VENDOR_CLASS`` (see ``vendors()``).

Hostile mode (``tests/sandbox/hostile.py``) builds on three hooks here: ``Vendor.rewrite`` (a function that may replace
any answer, e.g. echo the request's headers, redirect, break a page), ``Response.trickle`` (send the body one byte per
that many seconds) and ``RecordingServer`` (a second server, "the attacker", that records every request it gets).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

try:
    import orjson

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value)
except ImportError:  # pragma: no cover - the sandbox also runs without orjson
    import json

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()


@dataclass
class Request:
    method: str
    path: str  # below the vendor prefix, without the query, e.g. "/contacts"
    query: Dict[str, List[str]]
    headers: Mapping[str, str]
    url: str = ""  # the request target as received (prefix, path and query), for echoes and redirects

    def arg(self, name: str, default: Optional[str] = None) -> Optional[str]:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or bytes sent as they are (for malformed-body scenarios)
    headers: Dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0  # > 0: send the body one byte per this many seconds (a stalled or throttled connection)
    content_type: str = "application/json"


# A rewriter sees every request of a vendor and the answer it is about to get; it returns a replacement or None.
Rewriter = Callable[[Request, Response], Optional[Response]]


class Vendor:
    """Base of the emulators: counts requests and lets tests queue faults for the next requests."""

    name = ""

    def __init__(self, records: int = 1000, rate_limit: int = 100_000) -> None:
        self.records = records
        self.rate_limit = rate_limit
        self.requests: List[Tuple[str, Dict[str, List[str]]]] = []
        self.status_counts: Dict[int, int] = {}
        self._faults: List[Response] = []
        self._rewriters: List[Rewriter] = []
        self.request_log: List[Request] = []  # every request with its headers (hostile mode asserts on them)
        self._lock = threading.Lock()

    def inject(self, *faults: Response) -> None:
        """Answer the next requests with these responses (then serve normally again)."""
        with self._lock:
            self._faults.extend(faults)

    def rewrite(self, *rewriters: Rewriter) -> None:
        """Pass every answer from now on through these functions, in order (hostile mode); see ``Rewriter``."""
        with self._lock:
            self._rewriters.extend(rewriters)

    def reset(self) -> None:
        """Forget rewriters, queued faults and the request logs: serve as documented again."""
        with self._lock:
            self._rewriters.clear()
            self._faults.clear()
            self.requests.clear()
            self.request_log.clear()
            self.status_counts.clear()

    def dispatch(self, request: Request) -> Response:
        with self._lock:
            self.requests.append((request.path, request.query))
            self.request_log.append(request)
            fault = self._faults.pop(0) if self._faults else None
            rewriters = list(self._rewriters)
        response = fault or self.handle(request)
        for rewriter in rewriters:
            response = rewriter(request, response) or response
        with self._lock:
            self.status_counts[response.status] = self.status_counts.get(response.status, 0) + 1
        return response

    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError


# Limits the vendors publish, as (requests, per seconds): the sandbox windows of these vendors have those lengths.
# The others publish none (see ../shared/api-reference/NOTES.md); the connectors pace them by their own budgets.
DOCUMENTED_RATE_LIMITS: Dict[str, Tuple[int, float]] = {
    "leadway": (100, 10.0),  # LeadConnector: 100 per 10 s per location (and 200,000 per day)
    "wickedreports": (120, 60.0),  # Wicked Reports outbound API: 120 per minute
}


def vendors() -> Dict[str, type]:
    """Every emulator module in this package that defines ``VENDOR_CLASS``, by vendor name."""
    found: Dict[str, type] = {}
    package = importlib.import_module(__package__)
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{__package__}.{module_info.name}")
        vendor_class = getattr(module, "VENDOR_CLASS", None)
        if vendor_class is not None:
            found[vendor_class.name] = vendor_class
    return found


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep the sandbox quiet
        pass

    def _serve(self) -> None:
        received = time.time()
        parts = urlsplit(self.path)
        path = parts.path
        prefix = self.server.prefix
        if prefix and path.startswith(prefix):
            path = path[len(prefix):]
        segments = path.lstrip("/").split("/", 1)
        vendor = self.server.vendors.get(segments[0])
        if segments[0] == "__log":
            # The benchmark replays exactly the requests a connector made; only recorded when asked for.
            response = Response(200, self.server.replay_log)
            self.server.replay_log = []
        elif vendor is None:
            response = Response(404, {"message": f"no sandbox vendor at {segments[0]!r}"})
        else:
            request = Request(
                method=self.command,
                path="/" + (segments[1] if len(segments) > 1 else ""),
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                url=self.path,
            )
            if self.server.latency:
                time.sleep(self.server.latency)
            response = vendor.dispatch(request)
            if self.server.record_requests:
                # "at" (wall clock) lets the benchmark time a read from its first request, without start-up.
                self.server.replay_log.append({"url": self.path, "headers": dict(self.headers.items()), "at": received,
                                               "status": response.status})
        body = response.body if isinstance(response.body, bytes) else dumps(response.body)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if response.trickle > 0:
            self._trickle(body, response.trickle)
        else:
            self.wfile.write(body)

    def _trickle(self, body: bytes, seconds_per_byte: float) -> None:
        self.wfile.flush()
        for index in range(len(body)):
            if self.server.stopping.wait(seconds_per_byte):
                break
            try:
                self.wfile.write(body[index:index + 1])
                self.wfile.flush()
            except OSError:  # the client gave up: exactly what a trickle is for
                break
        self.close_connection = True

    do_GET = _serve
    do_POST = _serve


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # clients that hang up mid-answer (timeouts, killed connectors) are part of the hostile scenarios
        super().handle_error(request, client_address)


class _Server(_QuietServer):
    prefix = ""
    latency = 0.0
    vendors: Dict[str, Vendor] = {}
    record_requests = False
    replay_log: List[Dict[str, Any]] = []


class Sandbox:
    """Run every vendor emulator on 127.0.0.1 in a background thread: ``with Sandbox(records=500) as sandbox: ...``."""

    def __init__(self, port: int = 0, prefix: str = "", records: int = 1000, rate_limit: int = 100_000,
                 record_requests: bool = False, poll_interval: float = 0.5, latency: float = 0.0,
                 rate_limits: Optional[Mapping[str, int]] = None) -> None:
        """``latency``: seconds every vendor answer waits before it is made, as a real API's round trip (requests
        overlap: the server is threaded). ``rate_limits``: a vendor's own limit per its window, overriding
        ``rate_limit`` (the benchmark sets the documented ones, see ``DOCUMENTED_RATE_LIMITS``)."""
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.record_requests = record_requests
        self._server.replay_log = []
        self._server.prefix = prefix.rstrip("/")
        self._server.latency = latency
        limits = rate_limits or {}
        self._server.vendors = {name: cls(records=records, rate_limit=limits.get(name, rate_limit))
                                for name, cls in vendors().items()}
        self._server.stopping = threading.Event()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(poll_interval,), name="sandbox",
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self._server.prefix}"

    def base_url(self, vendor: str) -> str:
        return f"{self.url}/{vendor}"

    def vendor(self, name: str) -> Vendor:
        return self._server.vendors[name]

    def start(self) -> "Sandbox":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@dataclass
class Received:
    """One request as the recording server saw it."""

    method: str
    target: str  # the request line's target: a path, or an absolute URL when sent through a proxy
    headers: Dict[str, str]  # lower-case names
    body: bytes

    def text(self) -> str:
        """Everything the request carried, as one string to search for secrets."""
        lines = [f"{self.method} {self.target}"] + [f"{name}: {value}" for name, value in self.headers.items()]
        return "\n".join(lines) + "\n\n" + self.body.decode("utf-8", "replace")


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "RecordingServer._Http"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        received = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        with self.server.lock:
            self.server.received.append(received)
        answer = dumps(self.server.answer)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_CONNECT = _record


class RecordingServer:
    """A second server on 127.0.0.1 ("the attacker"): answers 200 ``answer`` to anything and records every request.

    ``with RecordingServer() as attacker: ... attacker.received`` (a list of ``Received``, headers included).
    """

    class _Http(_QuietServer):
        received: List[Received]
        lock: threading.Lock
        answer: Any

    def __init__(self, answer: Any = None) -> None:
        self._server = self._Http(("127.0.0.1", 0), _RecordingHandler)
        self._server.received = []
        self._server.lock = threading.Lock()
        self._server.answer = {} if answer is None else answer
        # A short poll interval: hostile tests start and stop one of these per connector run.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="attacker", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def received(self) -> List[Received]:
        with self._server.lock:
            return list(self._server.received)

    def start(self) -> "RecordingServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "RecordingServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
