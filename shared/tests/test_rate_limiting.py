"""HeaderPacedBudget and reset-header parsing."""

import threading

import pytest
import requests

from connectors_shared.rate_limiting import HeaderPacedBudget, seconds_until_reset
from connectors_shared.source import budget_from_definition


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def response(status=200, **headers):
    answer = requests.Response()
    answer.status_code = status
    answer.headers.update(headers)
    return answer


@pytest.mark.parametrize(
    "header, value, expected",
    [
        ("x-ratelimit-reset", "37", 37.0),
        ("x-ratelimit-reset", str(2_000_000_000 + 30), 30.0),
        ("x-ratelimit-reset", str((2_000_000_000 + 30) * 1000), 30.0),
        ("X-RateLimit-Interval-Milliseconds", "10000", 10.0),
        ("x-ratelimit-reset", "soon", None),
        ("x-ratelimit-reset", None, None),
        ("x-ratelimit-reset", "999999", 999999.0),  # no clamp: the caller refuses waits over max_wait_seconds
    ],
)
def test_reset_headers_in_every_unit(header, value, expected):
    assert seconds_until_reset(header, value, now=2_000_000_000) == expected


def budget(clock, **kwargs):
    return HeaderPacedBudget("x-ratelimit-remaining", "x-ratelimit-reset", clock=clock, sleep=clock.sleep, **kwargs)


def test_waits_until_reset_once_no_calls_remain_and_not_before():
    clock = Clock()
    paced = budget(clock)
    paced.acquire_call(None)
    paced.update_from_response(None, response(**{"x-ratelimit-remaining": "1", "x-ratelimit-reset": "9"}))
    paced.acquire_call(None)
    assert clock.slept == []
    paced.update_from_response(None, response(**{"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9"}))
    paced.acquire_call(None)
    assert clock.slept == [9.0]
    paced.acquire_call(None)  # the window reset: no new figure yet, so no waiting
    assert clock.slept == [9.0]


def test_a_429_without_headers_waits_the_declared_window():
    clock = Clock()
    paced = budget(clock, fallback_wait_seconds=60)
    paced.update_from_response(None, response(429))
    paced.acquire_call(None)
    assert clock.slept == [60]


def test_concurrent_threads_do_not_overspend_the_last_call():
    clock = Clock()
    paced = budget(clock)
    paced.update_from_response(None, response(**{"x-ratelimit-remaining": "1", "x-ratelimit-reset": "5"}))
    threads = [threading.Thread(target=paced.acquire_call, args=(None,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.slept == [5.0]


def test_responses_without_rate_limit_headers_never_cause_waits():
    clock = Clock()
    paced = budget(clock)
    for _ in range(50):
        paced.acquire_call(None)
        paced.update_from_response(None, response())
    assert clock.slept == []


def test_budget_from_manifest_definition_reads_headers_and_window():
    paced = budget_from_definition({
        "type": "HTTPAPIBudget", "ratelimit_remaining_header": "X-RateLimit-Remaining",
        "ratelimit_reset_header": "X-RateLimit-Interval-Milliseconds",
        "policies": [{"type": "MovingWindowCallRatePolicy", "rates": [{"limit": 100, "interval": "PT10S"}], "matchers": []}],
    })
    assert (paced._remaining_header, paced._reset_header, paced._fallback_wait) == (
        "X-RateLimit-Remaining", "X-RateLimit-Interval-Milliseconds", 10.0)


def test_calls_in_flight_and_late_answers_cannot_overspend_the_window():
    clock = Clock()
    paced = budget(clock)
    first, second, third, fourth = object(), object(), object(), object()
    paced.acquire_call(first)
    paced.acquire_call(second)
    limit_headers = {"x-ratelimit-reset": "5"}
    paced.update_from_response(second, response(**{"x-ratelimit-remaining": "2", **limit_headers}))  # first in flight
    paced.acquire_call(third)  # the last call of the window
    paced.update_from_response(first, response(**{"x-ratelimit-remaining": "3", **limit_headers}))  # late and stale
    assert clock.slept == []
    paced.acquire_call(fourth)
    assert clock.slept == [5.0]


def test_a_request_that_raised_stops_counting_as_in_flight_after_the_expiry():
    clock = Clock()
    paced = budget(clock)
    paced.acquire_call(object())  # never answered: the request raised
    clock.now += 601
    answered = object()
    paced.acquire_call(answered)
    paced.update_from_response(answered, response(**{"x-ratelimit-remaining": "1", "x-ratelimit-reset": "5"}))
    paced.acquire_call(object())
    assert clock.slept == []

