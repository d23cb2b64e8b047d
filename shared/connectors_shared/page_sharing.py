"""Fetch a page once when several streams of one sync read it: a child stream and its parent.

A child stream (OpenLetter ``order_recipients``, SHOPLINE ``order_items``, Wicked Reports ``order_products`` and
``order_payments``) has no endpoint of its own: it reads its parent's pages and extracts the list inside each record.
Read side by side, the two would request every parent page twice (three times for Wicked Reports' orders), against
the vendor's rate limit and the sync's time. ``ManifestSource.read`` counts, per endpoint, how many selected streams
read it (``share_endpoints``); the transport (``connectors_shared.transport``) then keeps each successful answer to a
GET on such an endpoint until every other reader has asked for the very same request (method, URL with its query,
and headers), and answers those from the copy instead of the network.

- **Only identical requests.** A child whose state, window or page size differs from its parent's asks for other
  URLs and is sent to the API as before: sharing never changes what a stream reads, only where the bytes come from.
- **Memory stays flat.** Bodies wait in an anonymous temporary file (deleted by the system when the process ends),
  not in memory: ``ManifestSource.children_last`` has the CDK read a child after the other streams, so a parent's
  pages are all fetched before its child asks for them. Only an index (a digest of each request and where its body
  lies) stays in memory. A copy is dropped once its last reader took it; past ``MAX_KEPT_BYTES`` nothing more is kept.
- **Only answers worth repeating.** Only 200 answers whose whole body arrived are kept; an error is asked again, as
  it would have been. A 200 the error handler retries (not JSON, no records list, a short page) is dropped at once
  (``forget``), so the retry, and every other reader, asks the API again.
- **No call spent twice.** A replayed answer carries no rate-limit headers (they described the moment it was
  fetched), and the budget lets it through without counting a call (``will_serve``). A reader asking for a request
  another reader is sending at that moment waits for that answer (at most ``FETCH_WAIT_SECONDS``).
- **A child gets only what it reads.** A child stream reads three or four fields of each parent record (the list it
  turns into rows and the fields it carries), and parsing a whole page again is most of what a child costs (a
  Wicked Reports orders page: 13 ms whole, under 1 ms as its children read it). A ``ChildRecordExtractor`` declares
  what it reads (``PageNeeds``, ``reads_only``). When every reader still to come is such a child, the copy kept is
  the page with each record cut down to those fields: every other field of the page (totals, page numbers, the
  next-page token) and every record's place stay as they were, so the page contract, the paginator and the loop
  guards judge the same page. The page is parsed once for that, and the parse is kept for the fetching stream's
  own decoder. A stream that reads whole pages (a parent, a partition router, any stream not known) is never given
  a cut copy: it asks the API instead. A body that is not JSON, or not shaped as declared, is kept whole.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Mapping, Optional, Sequence, Tuple, Union

import orjson
import requests

from connectors_shared import cdk_hooks
from connectors_shared.decoding import parse_once

# Headers of a kept answer that are replayed: what the decoder reads. Not rate-limit figures, and not
# Content-Encoding: the body was kept as it was decoded.
REPLAYED_HEADERS = ("Content-Type",)
# Past this much kept on disk, answers are no longer kept (the other readers ask the API, as they would without).
MAX_KEPT_BYTES = 2 << 30
# How long a reader waits for the same request another reader is sending, before it sends its own.
FETCH_WAIT_SECONDS = 180.0


@dataclass(frozen=True)
class PageNeeds:
    """What a reader reads of a page: the records list at ``records_path``, and of each record only ``fields``."""

    records_path: Tuple[str, ...]
    fields: FrozenSet[str]

    def covers(self, other: Optional["PageNeeds"]) -> bool:
        """Whether a page cut to these needs holds all that ``other`` reads (None: the whole page)."""
        return other is not None and other.records_path == self.records_path and other.fields <= self.fields

    def cut(self, body: Any) -> Any:
        """``body`` with each record at ``records_path`` cut down to ``fields``; ``body`` itself (unchanged) when
        nothing at that path is a list. Elements that are not objects stay as they are, for the reader to refuse."""

        def down(node: Any, depth: int) -> Any:
            if depth == len(self.records_path):
                if type(node) is not list:
                    return body
                fields = self.fields
                return [{k: record[k] for k in fields if k in record} if type(record) is dict else record
                        for record in node]
            key = self.records_path[depth]
            if type(node) is not dict or key not in node:
                return body
            below = down(node[key], depth + 1)
            if below is body:
                return body
            return {**node, key: below}

        return down(body, 0)


class _Copy:
    __slots__ = ("offset", "length", "readers_left", "headers", "needs")

    def __init__(
        self, offset: int, length: int, readers_left: int, headers: Dict[str, str], needs: Optional[PageNeeds]
    ) -> None:
        self.offset = offset
        self.length = length
        self.readers_left = readers_left
        self.headers = headers
        self.needs = needs  # None: the whole page; else the page cut to these needs


class PageShare:
    """Answers kept for the other readers of an endpoint (module docstring). One per process: ``SHARE``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers: Dict[str, Tuple[str, ...]] = {}  # endpoint path -> streams of this sync that read it
        self._needs: Dict[str, PageNeeds] = {}  # stream -> what it reads of a page, for streams that read only part
        self._copies: Dict[bytes, _Copy] = {}
        self._fetching: Dict[bytes, threading.Event] = {}  # requests on their way to the API, by key
        self._file: Optional[Any] = None
        self._end = 0
        self.served = 0  # answers given from a copy (tests and the benchmark read it)

    def share_endpoints(self, readers: Mapping[str, Union[int, Sequence[str]]]) -> None:
        """``{endpoint path: the streams of this sync that read it}`` (or how many: streams not named read whole
        pages); an endpoint read by one stream is not kept. Called as a read starts, before its streams are built
        (which declare what they read: ``reads_only``), and as it ends."""
        with self._lock:
            named = {path.strip("/"): ("",) * who if isinstance(who, int) else tuple(who) for path, who in readers.items()}
            self._readers = {path: who for path, who in named.items() if len(who) > 1}
            self._needs.clear()
            self._copies.clear()
            self._fetching.clear()
            self._end = 0
            if self._file is not None:
                self._file.close()
                self._file = None

    def reads_only(self, stream: str, needs: PageNeeds) -> None:
        """``stream`` reads only ``needs`` of each page it reads (a child stream, as it is built)."""
        with self._lock:
            self._needs[stream] = needs

    def needs_of(self, stream: Optional[str]) -> Optional[PageNeeds]:
        """What ``stream`` declared it reads of a page; None: the whole page."""
        return self._needs.get(stream) if stream is not None else None

    def _readers_of(self, request: requests.PreparedRequest) -> Tuple[str, ...]:
        if not self._readers or (request.method or "GET").upper() != "GET":
            return ()
        path = requests.utils.urlparse(request.url or "").path.strip("/")
        for endpoint, who in self._readers.items():
            if path == endpoint or path.endswith("/" + endpoint):
                return who
        return ()

    def _needs_of_others(self, readers: Tuple[str, ...]) -> Optional[PageNeeds]:
        """What the readers other than the one fetching now read of the page: None (the whole page) unless this
        thread's stream is one of ``readers`` and every other reader declared the same records and some fields."""
        others = list(readers)
        fetching = cdk_hooks.reading_stream()
        if fetching not in others:
            return None
        others.remove(fetching)
        needs = [self.needs_of(stream) for stream in others]
        first = needs[0] if needs else None
        if first is None or any(n is None or n.records_path != first.records_path for n in needs):
            return None
        return PageNeeds(first.records_path, frozenset().union(*(n.fields for n in needs)))

    def _serves(self, copy: _Copy) -> bool:
        """Whether this thread's stream may read ``copy``: any stream a whole page, only a declared reader a cut one."""
        if copy.needs is None:
            return True
        return copy.needs.covers(self.needs_of(cdk_hooks.reading_stream()))

    @staticmethod
    def _key(request: Any) -> bytes:
        """A digest of the method, the URL and the headers (``request``: what was sent, or ``response.request``)."""
        digest = hashlib.sha256((request.method or "GET").encode())
        digest.update(b"\0" + (request.url or "").encode())
        for name, value in sorted((str(k).lower(), str(v)) for k, v in (request.headers or {}).items()):
            digest.update(b"\0" + name.encode() + b"=" + value.encode())
        return digest.digest()

    def will_serve(self, request: Any) -> bool:
        """Whether ``request`` will be answered from a copy (so no call to the API is spent on it)."""
        if not self._copies or not isinstance(request, requests.PreparedRequest):
            return False
        copy = self._copies.get(self._key(request))
        return copy is not None and self._serves(copy)

    def take(self, request: requests.PreparedRequest) -> Optional[requests.Response]:
        """The kept answer to ``request``, or None: then send it, and hand the answer to ``fetched`` (always).

        When another reader is fetching the very same request at this moment (a parent stream read by a partition
        router while the stream itself reads it), this one waits for that answer rather than ask the API too."""
        if not self._readers or len(self._readers_of(request)) < 2:
            return None
        key = self._key(request)
        for _ in range(2):
            with self._lock:
                copy = self._copies.get(key)
                if copy is not None:
                    if not self._serves(copy):
                        return None  # a page cut for child streams: this stream asks the API (``fetched`` counts it)
                    body = os.pread(self._file.fileno(), copy.length, copy.offset)
                    self._taken(key, copy)
                    break
                fetching = self._fetching.get(key)
                if fetching is None:
                    self._fetching[key] = threading.Event()  # this request fetches; ``fetched`` ends that
                    return None
            fetching.wait(FETCH_WAIT_SECONDS)
        else:
            return None  # the other fetch failed or took too long: ask the API (without registering twice)
        self.served += 1
        response = requests.Response()
        response.status_code = 200
        response.reason = "OK"
        response.headers.update(copy.headers)
        cdk_hooks.keep_body(response, body)
        response.url = request.url or ""
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        return response

    def fetched(self, request: requests.PreparedRequest, response: Optional[requests.Response]) -> None:
        """The API's answer to a request ``take`` did not answer (None when sending it raised): keep it for the
        endpoint's other readers when it is a whole 200, and wake any reader waiting for it."""
        readers = self._readers_of(request)
        if len(readers) < 2:
            return
        key = self._key(request)
        keep = response is not None and response.status_code == 200 and not response.history
        body = response.content if keep else b""
        needs = self._needs_of_others(readers) if keep else None
        if needs is not None:
            body, needs = self._cut(response, body, needs)
        with self._lock:
            fetching = self._fetching.pop(key, None)
            try:
                copy = self._copies.get(key)
                if copy is not None:  # another reader fetched it too: this fetch was its turn
                    self._taken(key, copy)
                elif keep and self._end + len(body) <= MAX_KEPT_BYTES and self._write(body):
                    headers = {name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}
                    self._copies[key] = _Copy(self._end - len(body), len(body), len(readers) - 1, headers, needs)
            finally:
                if fetching is not None:
                    fetching.set()

    @staticmethod
    def _cut(response: requests.Response, body: bytes, needs: PageNeeds) -> Tuple[bytes, Optional[PageNeeds]]:
        """The page cut to ``needs``, or the whole ``body`` (and None) when it is not JSON of the declared shape.
        The parse stays on the response, for the fetching stream's decoder."""
        try:
            whole = parse_once(response)
            cut = needs.cut(whole)
            if cut is whole:
                return body, None
            return orjson.dumps(cut), needs
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            return body, None

    def _write(self, body: bytes) -> bool:
        """Append ``body`` to the temporary file; False when it cannot be written (no writable temporary directory,
        a full disk): the other readers then ask the API, as they would without sharing."""
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="connector-pages-")
            os.pwrite(self._file.fileno(), body, self._end)
        except OSError:
            return False
        self._end += len(body)
        return True

    def forget(self, request: Any) -> None:
        """Drop the copy of ``request``: its answer was a broken page, to be asked again rather than replayed (the
        shared error handler calls this for every 200 it retries). Without it a retry would be answered from the
        copy its own first answer left for the other readers."""
        if not self._copies or request is None:
            return
        with self._lock:
            copy = self._copies.pop(self._key(request), None)
            if copy is not None and not self._copies and self._file is not None:
                self._file.truncate(0)
                self._end = 0

    def _taken(self, key: bytes, copy: _Copy) -> None:
        """One more reader had its copy; the last one frees it, and once none waits the file starts over."""
        copy.readers_left -= 1
        if copy.readers_left > 0:
            return
        del self._copies[key]
        if not self._copies and self._file is not None:
            self._file.truncate(0)
            self._end = 0

    @property
    def kept(self) -> Tuple[int, int]:
        """(copies waiting for a reader, bytes written to the temporary file so far)."""
        return len(self._copies), self._end


SHARE = PageShare()
