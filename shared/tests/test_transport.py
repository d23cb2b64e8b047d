"""connectors_shared.transport against real local HTTP servers: redirects, metadata hosts, the request deadline."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List

import pytest
import requests
import requests_mock
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared import transport

transport.install()


class _Server:
    def __init__(self, handle: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.seen: List[Dict[str, Any]] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                seen.append({"path": self.path, "headers": dict(self.headers.items())})
                handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"{}", headers: Dict[str, str] = {}) -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def other() -> Iterator[_Server]:
    server = _Server(lambda h: _reply(h, 200, b'{"stolen": true}'))
    yield server
    server.close()


def test_a_redirect_to_another_port_is_refused_and_nothing_reaches_it(other):
    api = _Server(lambda h: _reply(h, 302, headers={"Location": f"{other.url}/collect"}))
    try:
        with pytest.raises(AirbyteTracedException) as raised:
            requests.get(f"{api.url}/orders", headers={"apikey": "secret-key"})
        assert "redirecting to http://127.0.0.1:" in raised.value.message and "base_url" in raised.value.message
        assert raised.value.failure_type.value == "config_error"
        assert other.seen == []
    finally:
        api.close()


def test_a_redirect_on_the_same_origin_is_followed_with_its_headers():
    def handle(h: BaseHTTPRequestHandler) -> None:
        if h.path == "/old":
            _reply(h, 301, headers={"Location": "/new"})
        else:
            _reply(h, 200, b'{"ok": 1}')

    api = _Server(handle)
    try:
        response = requests.get(f"{api.url}/old", headers={"apikey": "secret-key"})
        assert response.json() == {"ok": 1}
        assert [seen["path"] for seen in api.seen] == ["/old", "/new"]
        assert api.seen[1]["headers"].get("apikey") == "secret-key"
    finally:
        api.close()


def test_a_redirect_to_a_metadata_address_is_refused():
    api = _Server(lambda h: _reply(h, 307, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    try:
        with pytest.raises(AirbyteTracedException) as raised:
            requests.get(f"{api.url}/orders")
        assert "169.254.169.254" in raised.value.message and "metadata" in raised.value.message
    finally:
        api.close()


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest", "http://[fe80::1]/x", "http://[fd00:ec2::254]/", "http://metadata.google.internal/",
     "http://[::ffff:169.254.169.254]/", "http://2852039166/", "http://0xa9fea9fe/", "http://0xa9.0xfe.0xa9.0xfe/",
     "http://0251.0376.0251.0376/", "http://169.254.43518/"],
)
def test_requests_to_metadata_hosts_are_refused_before_sending(url):
    with pytest.raises(AirbyteTracedException, match="metadata|link-local"):
        requests.get(url, timeout=1)
    with pytest.raises(AirbyteTracedException, match="base_url"):
        transport.check_base_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765/x", "http://10.1.2.3/", "https://api.wickedreports.com", None, "",
                                 "http://2130706433:8765/x", "http://1.2.3/"])
def test_loopback_private_and_public_base_urls_are_accepted(url):
    transport.check_base_url(url)


def test_a_host_name_that_resolves_to_a_metadata_address_is_refused_before_connecting(monkeypatch):
    """``169.254.169.254.nip.io`` passes every check of the name; where it resolves to does not."""
    looked_up, connected = [], []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        looked_up.append(host)
        if host == "metadata-alias.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 0))]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: connected.append(address))
    transport.refused_resolution.cache_clear()
    try:
        with pytest.raises(AirbyteTracedException, match="link-local.*metadata-alias.example resolves to 169.254.169.254"):
            requests.get("http://metadata-alias.example/latest", timeout=1)
        assert looked_up == ["metadata-alias.example"] and connected == []
    finally:
        transport.refused_resolution.cache_clear()


def test_a_test_adapter_is_not_looked_up(monkeypatch):
    """Mocked requests (requests_mock, the CDK's HttpMocker) never reach the resolver."""
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("looked up a mocked host"))
    with requests_mock.Mocker() as mocker:
        mocker.get("https://api.wickedreports.com/orders", json={"results": []})
        assert requests.get("https://api.wickedreports.com/orders").json() == {"results": []}


def test_a_body_that_trickles_past_the_deadline_is_a_read_timeout(monkeypatch):
    monkeypatch.setenv("CONNECTORS_REQUEST_DEADLINE_SECONDS", "1")

    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        try:
            for _ in range(100):
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    api = _Server(trickle)
    try:
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout, match="deadline"):
            requests.get(f"{api.url}/slow", timeout=30)
        assert time.monotonic() - started < 5
    finally:
        api.close()


@pytest.mark.parametrize("timeout", [None, 300, (10, 300)])
def test_a_server_that_never_answers_is_a_read_timeout_within_the_deadline(monkeypatch, timeout):
    monkeypatch.setenv("CONNECTORS_REQUEST_DEADLINE_SECONDS", "1")
    released = threading.Event()

    def silent(h: BaseHTTPRequestHandler) -> None:  # accepts the request, sends nothing, hangs up after 10 s
        released.wait(10)
        h.close_connection = True

    api = _Server(silent)
    try:
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(f"{api.url}/silent", timeout=timeout)
        assert time.monotonic() - started < 3
    finally:
        released.set()
        api.close()


def test_a_whole_body_is_read_and_decoded_as_before():
    body = b'{"results": [' + b",".join(b'{"id": %d}' % i for i in range(20000)) + b"]}"
    api = _Server(lambda h: _reply(h, 200, body))
    try:
        response = requests.get(f"{api.url}/big")
        assert response.content == body and len(response.json()["results"]) == 20000
    finally:
        api.close()
