"""HeaderPacedBudget and reset-header parsing."""

import threading

import pytest
import requests

from connectors_shared.rate_limiting import HeaderPacedBudget, seconds_until_reset, window_margin
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
    assert clock.slept == [9.0]  # then the window reset: this call goes, and finds the new figure
    paced.update_from_response(None, response(**{"x-ratelimit-remaining": "1", "x-ratelimit-reset": "9"}))
    paced.acquire_call(None)
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
    zeroth, first, second, third, fourth = object(), object(), object(), object(), object()
    limit_headers = {"x-ratelimit-reset": "5"}
    paced.acquire_call(zeroth)  # the first call finds the figure
    paced.update_from_response(zeroth, response(**{"x-ratelimit-remaining": "4", **limit_headers}))
    paced.acquire_call(first)
    paced.acquire_call(second)
    paced.update_from_response(second, response(**{"x-ratelimit-remaining": "2", **limit_headers}))  # first in flight
    paced.acquire_call(third)  # the last call of the window
    paced.update_from_response(first, response(**{"x-ratelimit-remaining": "3", **limit_headers}))  # late and stale
    assert clock.slept == []
    paced.acquire_call(fourth)
    assert clock.slept == [5.0]


def test_while_no_figure_is_known_one_call_goes_alone_and_the_others_wait_for_its_answer():
    clock = Clock()
    paced = budget(clock)
    scout = object()
    paced.acquire_call(scout)
    passed = []
    threads = [threading.Thread(target=lambda: (paced.acquire_call(object()), passed.append(1))) for _ in range(3)]
    for thread in threads:
        thread.start()
    threading.Event().wait(0.3)
    assert passed == []  # a limit of 2 would already be spent by three more calls sent blind
    paced.update_from_response(scout, response(**{"x-ratelimit-remaining": "5", "x-ratelimit-reset": "9"}))
    for thread in threads:
        thread.join(5)
    assert passed == [1, 1, 1] and clock.slept == []


def test_a_call_finding_the_figure_that_never_answers_holds_the_others_a_bounded_time(monkeypatch):
    from connectors_shared import rate_limiting

    monkeypatch.setattr(rate_limiting, "SCOUT_WAIT_SECONDS", 0.2)
    clock = Clock()
    paced = budget(clock)
    paced.acquire_call(object())  # raised: never answers
    done = threading.Thread(target=paced.acquire_call, args=(object(),))
    done.start()
    done.join(3)
    assert not done.is_alive()
    paced.acquire_call(object())  # the search is over: nobody waits for it any more


def test_a_vendor_without_rate_limit_headers_ends_the_search_at_its_first_answer():
    clock = Clock()
    paced = budget(clock)
    first = object()
    paced.acquire_call(first)
    paced.update_from_response(first, response())
    for _ in range(3):
        paced.acquire_call(object())  # no answers yet, no figure: nothing to wait for
    assert clock.slept == []


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



def window_budget(clock, seconds=10.0):
    """LeadConnector's shape: remaining and the window's length, no reset time."""
    return HeaderPacedBudget("X-RateLimit-Remaining", "X-RateLimit-Interval-Milliseconds", clock=clock,
                             sleep=clock.sleep, fallback_wait_seconds=seconds, window_log=True)


WINDOW = {"X-RateLimit-Interval-Milliseconds": "10000"}


def answered(paced, clock, remaining, status=200, after=0.0):
    """One call through ``paced``, answered ``after`` seconds later with ``remaining`` calls left; its send time."""
    call = object()
    paced.acquire_call(call)
    sent = clock.now
    clock.now += after
    figure = {"X-RateLimit-Remaining": remaining} if remaining is not None else {}
    paced.update_from_response(call, response(status, **figure, **WINDOW))
    return sent


def spend(paced, clock, calls, limit=4, answer_after=0.1):
    """Send ``calls`` one after another, each answered ``answer_after`` s later by a fixed-window server (a window
    begins with the first call after the previous one ended)."""
    sent, window = [], None
    for _ in range(calls):
        request = object()
        paced.acquire_call(request)
        sent.append(clock.now)
        if window is None or clock.now >= window[0] + 10.0:
            window = (clock.now, [])
        window[1].append(clock.now)
        assert len(window[1]) <= limit, "a 429"
        clock.now += answer_after
        paced.update_from_response(request, response(**{
            "X-RateLimit-Remaining": str(limit - len(window[1])), "X-RateLimit-Interval-Milliseconds": "10000"}))
    return sent


def test_a_window_length_header_waits_for_the_windows_end_not_a_whole_window_from_the_last_answer():
    clock = Clock()
    sent = spend(window_budget(clock), clock, 9)
    margin = window_margin(10.0)
    # Four calls in 0.4 s; the fifth goes when the first has left the window (plus the margin), not 10 s after the
    # fourth's answer (which paced LeadConnector to 0.7x of its limit).
    assert sent[4] == pytest.approx(sent[0] + 10.0 + margin)
    assert sent[8] == pytest.approx(sent[4] + 10.0 + margin)
    # Never more than four calls in any 10 s: the server, fixed window or sliding, is never over its limit.
    assert all(later - earlier > 10.0 for earlier, later in zip(sent, sent[4:]))


def test_a_window_spent_by_someone_else_waits_until_the_window_that_our_first_call_found_ends():
    clock = Clock()
    paced = window_budget(clock)
    window_began = clock.now  # the first call we saw a figure for began the window as far as we know
    for remaining in ("40", "39", "0"):  # "0": others spent it
        answered(paced, clock, remaining, after=1.0)
    expected = window_began + 10.0 + window_margin(10.0) - clock.now
    paced.acquire_call(object())
    assert clock.slept == [pytest.approx(expected)]


def test_a_figure_that_rises_again_marks_a_new_window():
    clock = Clock()
    paced = window_budget(clock)
    sent = {remaining: answered(paced, clock, remaining, after=0.5) for remaining in ("5", "4", "80", "0")}
    began = sent["80"]  # the server's window reset before this call
    expected = began + 10.0 + window_margin(10.0) - clock.now
    paced.acquire_call(object())
    assert clock.slept == [pytest.approx(expected)]


def test_a_429_with_no_call_of_ours_in_the_window_waits_one_window():
    clock = Clock()
    paced = window_budget(clock)
    paced.update_from_response(None, response(429, **WINDOW))
    paced.acquire_call(object())
    assert clock.slept == [pytest.approx(10.0 + window_margin(10.0))]


def test_concurrent_threads_share_the_window_log():
    clock = Clock()
    waits = []
    paced = HeaderPacedBudget("X-RateLimit-Remaining", "X-RateLimit-Interval-Milliseconds", clock=clock,
                              sleep=waits.append, fallback_wait_seconds=10.0, window_log=True)  # time stands still
    paced._window_limit = 3  # as learned from a window's first answer (remaining 2)
    threads = [threading.Thread(target=paced.acquire_call, args=(object(),)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert waits == [pytest.approx(10.0 + window_margin(10.0))] * 3  # three go at once, three a window later


def test_budget_from_manifest_definition_keeps_a_window_log_only_for_a_window_length_header():
    rates = [{"type": "MovingWindowCallRatePolicy", "rates": [{"limit": 100, "interval": "PT10S"}], "matchers": []}]
    leadway = budget_from_definition({"type": "HTTPAPIBudget", "ratelimit_remaining_header": "X-RateLimit-Remaining",
                                      "ratelimit_reset_header": "X-RateLimit-Interval-Milliseconds", "policies": rates})
    wicked = budget_from_definition({"type": "HTTPAPIBudget", "ratelimit_remaining_header": "x-ratelimit-remaining",
                                     "ratelimit_reset_header": "x-ratelimit-reset", "policies": rates})
    assert leadway._sent is not None and wicked._sent is None


def test_the_window_limit_is_the_servers_not_the_manifests_so_a_sandbox_with_a_high_limit_is_not_slowed():
    clock = Clock()
    sent = spend(window_budget(clock), clock, 500, limit=100_000)  # the manifest documents 100 per 10 s
    assert clock.slept == [] and sent[-1] - sent[0] < 60


def test_until_an_answer_tells_the_limit_the_log_holds_nobody_back():
    clock = Clock()
    paced = window_budget(clock)
    for _ in range(5):
        paced.acquire_call(object())
    assert clock.slept == []


def test_a_late_answer_of_an_earlier_call_is_stale_not_a_new_window():
    clock = Clock()
    paced = window_budget(clock)
    earlier, later = object(), object()
    paced.acquire_call(earlier)
    clock.now += 0.1
    paced.acquire_call(later)
    clock.now += 0.5
    paced.update_from_response(later, response(**{"X-RateLimit-Remaining": "0", **WINDOW}))
    paced.update_from_response(earlier, response(**{"X-RateLimit-Remaining": "1", **WINDOW}))  # the server saw it first
    # Still spent; and the window is not taken to begin again with the earlier call. It is dated from the first call
    # whose figure arrived (the later one, 0.1 s after it truly began: waiting 0.1 s longer is the safe side).
    expected = 1000.1 + 10.0 + window_margin(10.0) - clock.now
    paced.acquire_call(object())
    assert clock.slept == [pytest.approx(expected)]


def test_a_window_spent_long_after_the_one_we_knew_is_dated_from_the_call_that_found_it_spent():
    clock = Clock()
    paced = window_budget(clock)
    answered(paced, clock, "50")
    clock.now += 60.0  # idle for a minute; meanwhile another app spent the location's window
    sent = answered(paced, clock, None, status=429, after=0.2)
    expected = sent + 10.0 + window_margin(10.0) - clock.now
    paced.acquire_call(object())
    assert clock.slept == [pytest.approx(expected)]


def test_a_higher_figure_for_a_call_sent_before_the_lowest_arrived_is_no_new_window():
    clock = Clock()
    paced = window_budget(clock)
    answered(paced, clock, "60", after=4.0)  # the window's first call, at 1000.0
    a, b = object(), object()
    paced.acquire_call(a)
    paced.acquire_call(b)  # both in flight: the server counts b first (1 left), then a (0 left)
    clock.now += 0.1
    paced.update_from_response(a, response(**{"X-RateLimit-Remaining": "0", **WINDOW}))
    paced.update_from_response(b, response(**{"X-RateLimit-Remaining": "1", **WINDOW}))  # higher, but no reset
    expected = 1000.0 + 10.0 + window_margin(10.0) - clock.now
    paced.acquire_call(object())
    assert clock.slept == [pytest.approx(expected)]  # until the window that began at 1000.0 ends, not b's + 10 s


def test_the_call_finding_the_figure_sent_again_after_a_timeout_does_not_wait_for_itself():
    clock = Clock()
    paced = budget(clock)
    scout = object()
    paced.acquire_call(scout)  # timed out: the CDK sends the same request again
    done = threading.Thread(target=paced.acquire_call, args=(scout,))
    done.start()
    done.join(2)
    assert not done.is_alive()
