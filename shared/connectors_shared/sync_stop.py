"""One flag for errors after which no other request of this sync can succeed, so the whole sync stops at once.

The CDK fails one partition (a date window, a campaign) at a time and goes on with the others. That is right for a
broken page, but not when the API asked for a day's wait (every other window would be told the same), or when a
request timed out through every retry (every other window waits just as long): there, each remaining window would
repeat the same failure, one after another, for hours. Such an error calls ``request()`` before it is raised;
``connectors_shared.source.run_entrypoint`` ends the process right after writing the error's trace. Errors that
are ``config_error`` (a refused token, a 404, a refused redirect, an unreachable host) stop the sync the same way;
the shared error handler calls ``request()`` for an answer it fails as one.

Between the error and the end of the process the other worker threads would go on sending requests (each with the
refused token). In a read (``arm()``, called by ``run_entrypoint``), ``connectors_shared.transport`` holds back every
request once a stop is requested, so none is sent after the error: the thread waits for the process to end (its
own error, raised at once, could reach the main thread before the one that stopped the sync, and be the one shown). Outside a read (``check``, in-process tests)
nothing is refused: Leadway's check, for one, asks every location even after one refused the token.
"""

from __future__ import annotations

import threading

_requested = threading.Event()
_armed = threading.Event()


def request() -> None:
    _requested.set()


def requested() -> bool:
    return _requested.is_set()


def arm() -> None:
    """This process is a read: once a stop is requested, no further request may be sent."""
    _armed.set()


def refuses_requests() -> bool:
    return _armed.is_set() and _requested.is_set()


def wait_for_exit(seconds: float) -> None:
    """Block the calling worker thread for up to ``seconds`` (the process normally ends first)."""
    threading.Event().wait(seconds)
