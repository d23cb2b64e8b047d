"""Keep every secret of the config out of everything a connector prints.

The CDK masks the values the spec marks ``airbyte_secret`` in LOG lines only. A vendor that echoes the token in an
error body put it, in clear, into TRACE messages (message, internal_message, stack trace) and into ``check``'s
CONNECTION_STATUS. ``SecretMasker`` is applied to every line the connector writes to stdout and stderr
(``connectors_shared.source.launch_source`` installs it):

- the secrets are the ``airbyte_secret`` values of the config, and the user info of any URL in the config
  (``https://user:pass@host``), each also in the forms it takes once URL-encoded or JSON-escaped;
- a line that contains one is parsed and every string in it masked, so the line stays valid JSON;
  RECORD lines are left alone (records are the vendor's data, and scanning them costs throughput);
- secrets shorter than ``MIN_SECRET_LENGTH`` characters are not masked: replacing ``1`` or ``a`` everywhere would
  garble every message without hiding anything;
- text quoted back in a message and shortened (a vendor's error body, a refused value) goes through ``shorten``,
  which masks before it cuts: cut first, a secret split at the cut would no longer match, and its first characters
  would be printed. ``launch_source`` gives ``PROCESS_MASKER`` the secrets.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Iterable, List, Mapping, Optional, TextIO
from urllib.parse import quote, quote_plus, urlsplit

import orjson
from airbyte_cdk.utils.airbyte_secrets_utils import get_secrets

from connectors_shared.cdk_hooks import RECORD_LINE_PREFIX

MASK = "****"
MIN_SECRET_LENGTH = 4
RECORD_PREFIX = RECORD_LINE_PREFIX  # how the CDK's entrypoint starts a record line (cdk_hooks: entrypoint_lines)


def _url_credentials(config: Any) -> Iterable[str]:
    """The user info of every URL-looking string in the config, and its password alone."""
    if isinstance(config, Mapping):
        for value in config.values():
            yield from _url_credentials(value)
    elif isinstance(config, list):
        for value in config:
            yield from _url_credentials(value)
    elif isinstance(config, str) and "@" in config and "://" in config:
        try:
            parts = urlsplit(config.strip())
        except ValueError:
            return
        if parts.username is not None or parts.password is not None:
            userinfo = parts.netloc.rsplit("@", 1)[0]
            yield userinfo
            if parts.password:
                yield parts.password
            if parts.username and parts.password is None:
                yield parts.username


def secrets_of(spec: Optional[Mapping[str, Any]], config: Optional[Mapping[str, Any]]) -> List[str]:
    """Every secret value of ``config`` in every form it can be printed in, longest first."""
    if not config:
        return []
    values: List[str] = []
    if spec:
        values += [str(value) for value in get_secrets(spec, config) if value not in (None, "")]
    values += list(_url_credentials(config))
    forms = set()
    for value in values:
        if len(value) < MIN_SECRET_LENGTH:
            continue
        forms.update({value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]})
    return sorted(forms, key=len, reverse=True)


class SecretMasker:
    """Replaces secrets with ``****`` in text, keeping JSON lines valid JSON."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: List[str] = list(secrets)

    def set(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted(set(self.secrets) | set(secrets), key=len, reverse=True)

    def _plain(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._plain(value)
        if isinstance(value, dict):
            return {self._walk(key): self._walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._walk(item) for item in value]
        return value

    def mask(self, text: str) -> str:
        if not self.secrets or text.startswith(RECORD_PREFIX):
            return text
        if not any(secret in text for secret in self.secrets):
            return text
        lines = []
        for line in text.split("\n"):
            stripped = line.strip()
            if stripped.startswith("{") and any(secret in stripped for secret in self.secrets):
                try:
                    line = orjson.dumps(self._walk(orjson.loads(stripped))).decode()
                except orjson.JSONDecodeError:
                    line = self._plain(line)
            elif any(secret in line for secret in self.secrets):
                line = self._plain(line)
            lines.append(line)
        return "\n".join(lines)


PROCESS_MASKER = SecretMasker()  # the masker of the running connector's output (launch_source sets its secrets)


def shorten(text: str, limit: int, suffix: str = "") -> str:
    """``text`` cut to ``limit`` characters (``suffix`` added when cut), its secrets masked before the cut."""
    text = PROCESS_MASKER._plain(text)
    return text if len(text) <= limit else text[:limit] + suffix


class MaskingStream:
    """A text stream that masks what it is given and writes it to ``target`` in batches. Thread-safe.

    Writing each message to the interpreter's stdout costs a few microseconds of encoding and locking per record,
    about a fifth of a read's CPU; like the CDK's own ``PrintBuffer``, this collects the messages and writes them
    together once ``FLUSH_BYTES`` have gathered or ``FLUSH_SECONDS`` have passed, and on ``flush()``.
    """

    FLUSH_BYTES = 1 << 16
    FLUSH_SECONDS = 0.1

    def __init__(self, target: TextIO, masker: SecretMasker) -> None:
        self._target = target
        self._masker = masker
        self._lock = threading.Lock()
        self._pending: List[str] = []
        self._size = 0
        self._last_flush = time.monotonic()

    def write(self, text: str) -> int:
        masked = self._masker.mask(text)
        with self._lock:
            self._pending.append(masked)
            self._size += len(masked)
            now = time.monotonic()
            if self._size >= self.FLUSH_BYTES or now - self._last_flush >= self.FLUSH_SECONDS:
                self._write_pending(now)
        return len(text)

    def _write_pending(self, now: float) -> None:
        if self._pending:
            self._target.write("".join(self._pending))
            self._pending.clear()
            self._size = 0
        self._target.flush()
        self._last_flush = now

    def flush(self) -> None:
        with self._lock:
            self._write_pending(time.monotonic())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)
