"""A threaded HTTP server on 127.0.0.1 that serves every vendor emulator under its own path prefix.

``http://127.0.0.1:PORT[/PREFIX]/<vendor>/<endpoint>``: each connector's ``base_url`` therefore carries a path, as a
proxy's would. Vendors are the modules of this package that define ``VENDOR_CLASS`` (see ``vendors()``).
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Mapping, Optional, Tuple
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

    def arg(self, name: str, default: Optional[str] = None) -> Optional[str]:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or bytes sent as they are (for malformed-body scenarios)
    headers: Dict[str, str] = field(default_factory=dict)


class Vendor:
    """Base of the emulators: counts requests and lets tests queue faults for the next requests."""

    name = ""

    def __init__(self, records: int = 1000, rate_limit: int = 100_000) -> None:
        self.records = records
        self.rate_limit = rate_limit
        self.requests: List[Tuple[str, Dict[str, List[str]]]] = []
        self.status_counts: Dict[int, int] = {}
        self._faults: List[Response] = []
        self._lock = threading.Lock()

    def inject(self, *faults: Response) -> None:
        """Answer the next requests with these responses (then serve normally again)."""
        with self._lock:
            self._faults.extend(faults)

    def dispatch(self, request: Request) -> Response:
        with self._lock:
            self.requests.append((request.path, request.query))
            fault = self._faults.pop(0) if self._faults else None
        response = fault or self.handle(request)
        with self._lock:
            self.status_counts[response.status] = self.status_counts.get(response.status, 0) + 1
        return response

    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError


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
            )
            response = vendor.dispatch(request)
            if self.server.record_requests:
                # "at" (wall clock) lets the benchmark time a read from its first request, without start-up.
                self.server.replay_log.append({"url": self.path, "headers": dict(self.headers.items()), "at": received})
        body = response.body if isinstance(response.body, bytes) else dumps(response.body)
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = _serve
    do_POST = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    prefix = ""
    vendors: Dict[str, Vendor] = {}
    record_requests = False
    replay_log: List[Dict[str, Any]] = []


class Sandbox:
    """Run every vendor emulator on 127.0.0.1 in a background thread: ``with Sandbox(records=500) as sandbox: ...``."""

    def __init__(self, port: int = 0, prefix: str = "", records: int = 1000, rate_limit: int = 100_000,
                 record_requests: bool = False) -> None:
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.record_requests = record_requests
        self._server.replay_log = []
        self._server.prefix = prefix.rstrip("/")
        self._server.vendors = {name: cls(records=records, rate_limit=rate_limit) for name, cls in vendors().items()}
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)

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
        self._server.shutdown()
        self._server.server_close()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
