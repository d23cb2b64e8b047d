"""Issue 12, "Fail loudly, once and fast": every connector, as a process, against the hostile sandbox.

No sync may end successfully with data missing: a page without its records, a page that ends paging early, a
paging loop, a record dated in the future, a record that is not an object, an impossible config or state, a fatal
answer, a stalled body, a day-long Retry-After, an unreachable base_url. Each case starts its connector run(s) in
the background as soon as the module starts (``hostile.start_scenarios``); the tests below assert on the outcomes.

Connector knowledge (records path, total fields, paging kind, streams) lives in ``tests/sandbox/hostile.py``
(``PROFILES``). Retries are instant in every run (``CONNECTORS_WAIT_SCALE=0.001``).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import time
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

import pytest

from tests.harness import connectors
from tests.sandbox.server import Response
from tests.sandbox.hostile import (
    FUTURE_STAMP,
    LOOP_CAP,
    START,
    EndlessNextTokens,
    EndlessPages,
    Hostile,
    Outcome,
    PageCounter,
    PROFILES,
    RateLimitSpent,
    RepeatedCursor,
    ServedRecords,
    broken_records,
    catalog_for,
    closed_port,
    dates_in,
    early_end,
    fatal_for_token,
    future_record,
    non_object_record,
    rate_limited,
    scenario_result,
    secret_fields,
    start_scenarios,
    stream_state,
    today_utc,
    trickle,
)

pytestmark = pytest.mark.integration

CONNECTORS = connectors()
IDS = [c.name for c in CONNECTORS]
INCREMENTAL = [c for c in CONNECTORS if PROFILES[c.name].incremental]
FULL_REFRESH = [c for c in CONNECTORS if PROFILES[c.name].full_refresh]
WITH_DATES = [c for c in CONNECTORS if PROFILES[c.name].date_fields]
PARTITIONED = [c for c in CONNECTORS if PROFILES[c.name].partitioned]
PAGE_OR_OFFSET = [c for c in CONNECTORS if PROFILES[c.name].paging != "next"]
CURSOR_LOOPS = [c for c in CONNECTORS if c.name in ("source-wickedreports", "source-shopline")]
PYTHON_ERRORS = re.compile(r"Traceback|\b(Type|Value|Key|Attribute|Index|Name|Runtime)Error\b")


def ids(items: List[Any]) -> List[str]:
    return [c.name for c in items]


def word(text: str, term: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(term)}(?![A-Za-z0-9_])", text, re.IGNORECASE) is not None


def errors_naming(outcome: Outcome, *patterns: str) -> List[str]:
    """TRACE error messages matching every regular expression (case-insensitive)."""
    return [str(e.get("message") or "") for e in outcome.errors
            if all(re.search(p, str(e.get("message") or ""), re.IGNORECASE) for p in patterns)]


def timed_run(hostile: Hostile, profile, config, *args: str, **kwargs: Any) -> Tuple[Outcome, float]:
    """``hostile.run`` and the seconds from the connector's first stream STARTED (just before its first request) to
    the process's exit: start-up (Python and CDK imports, slow on a loaded machine) is not counted."""
    outcome = hostile.run(profile, config, *args, **kwargs)
    ended = time.time()
    started = [m["trace"]["emitted_at"] for m in outcome.of_type("TRACE")
               if m["trace"].get("type") == "STREAM_STATUS" and m["trace"].get("emitted_at")]
    return outcome, (ended - min(started) / 1000.0 if started else outcome.elapsed)


def window_starts(hostile: Hostile, profile, stream) -> List[str]:
    return [r.arg(stream.window_param) or "" for r in hostile.vendor(profile).request_log if r.path == stream.endpoint]


# ---------------------------------------------------------------------------------------------------------------------
# Scenarios: each returns what its test asserts on. They run in the background (see the module fixture below).
# ---------------------------------------------------------------------------------------------------------------------


def _broken_page_run(connector, rewriter_factory, stream_kind: str = "main") -> Dict[str, Any]:
    """Run the stream with its page broken by ``rewriter_factory(profile, stream, served, pages)``; when it failed,
    run again from the state it emitted and note the windows that second run asks for first. The second run only
    needs its first requests, so the sandbox refuses them (401) and it ends at once. A state whose dates all lie on
    or before the failed window's start cannot skip that window: then the second run is not needed."""
    profile = PROFILES[connector.name]
    stream = profile.main if stream_kind == "main" else profile.full_refresh
    served, pages = ServedRecords(), PageCounter()
    with Hostile() as hostile:
        hostile.rewrite(profile, rewriter_factory(profile, stream, served, pages))
        catalog = catalog_for(profile, [stream.name])
        outcome = hostile.run(profile, hostile.config(profile), "read", catalog=catalog, timeout=60)
        rerun_windows: Optional[List[str]] = None
        states = outcome.stream_states(stream.name)
        claims = [d for s in states[-1:] for d in dates_in(s["stream"].get("stream_state")) if d[:10] > START]
        if stream.window_param and outcome.returncode != 0 and not outcome.timed_out and claims:
            hostile.vendor(profile).reset()
            hostile.rewrite(profile, lambda request, response: Response(401, {"message": "Invalid token"}))
            hostile.run(profile, hostile.config(profile), "read", catalog=catalog, state=states[-1:], timeout=60)
            rerun_windows = window_starts(hostile, profile, stream)
    return {"profile": profile, "stream": stream, "outcome": outcome, "served": served, "pages": pages,
            "rerun_windows": rerun_windows, "states": states}


def scenario_broken_records_on_page_2(connector, variant):
    return _broken_page_run(connector, lambda p, s, served, pages: broken_records(p, s, 2, variant, served, pages))


def scenario_broken_records_on_page_1_of_full_refresh(connector):
    variant = {"source-leadway": "missing", "source-textyess": "null", "source-openletter": "object",
               "source-shopline": "string"}[connector.name]
    return _broken_page_run(
        connector, lambda p, s, served, pages: broken_records(p, s, 1, variant, served, pages), "full_refresh")


def scenario_early_end_on_page_2(connector, kind):
    return _broken_page_run(connector, lambda p, s, served, pages: early_end(p, s, 2, kind, served, pages))


def _endless_run(connector, endless_class=EndlessPages):
    profile = PROFILES[connector.name]
    endless = endless_class(profile, profile.main)
    with Hostile() as hostile:
        hostile.rewrite(profile, endless.rewriter())
        outcome = hostile.run(profile, hostile.config(profile), "read", catalog=catalog_for(profile, [profile.main.name]),
                              timeout=60)
    return {"outcome": outcome, "served_beyond": endless.served_beyond}


def scenario_endless_pages(connector):
    return _endless_run(connector, EndlessPages)


def scenario_fresh_tokens_beyond_the_total(connector):
    return _endless_run(connector, EndlessNextTokens)


def scenario_repeated_cursor(connector):
    profile = PROFILES[connector.name]
    repeated = RepeatedCursor(profile)
    with Hostile() as hostile:
        hostile.rewrite(profile, repeated.rewriter())
        if profile.vendor == "shopline":
            # One campaign, pages of 5 orders: the campaign has about 16, so page 2 repeats page 1's last_id.
            config = hostile.config(profile, page_size=5, affiliate_campaign_ids=["64" + "0" * 22])
            catalog = catalog_for(profile, ["affiliate_campaign_orders"], with_campaign_ids=True)
        else:
            config, catalog = hostile.config(profile), catalog_for(profile, [profile.main.name])
        outcome = hostile.run(profile, config, "read", catalog=catalog, timeout=60)
    return {"outcome": outcome, "repeats": repeated.repeats}


def scenario_future_record_in_one_partition(connector):
    """TextYess's campaign_orders: one campaign's first page holds an order dated 2099."""
    profile = PROFILES[connector.name]
    name, good_state = profile.partitioned
    campaign = good_state["states"][0]["partition"]["campaign_id"]
    path, marked = f"/analytics/campaigns/{campaign}/orders", []

    def rewriter(request, response):  # the campaign's first page, its total left as it is
        if request.path != path or response.status != 200 or marked or not response.body.get("data"):
            return None
        body = copy.deepcopy(response.body)
        body["data"][0]["createdAt"] = FUTURE_STAMP
        marked.append(body["data"][0]["_id"])
        return Response(200, body)

    with Hostile() as hostile:
        hostile.rewrite(profile, rewriter)
        outcome = hostile.run(profile, hostile.config(profile), "read", catalog=catalog_for(profile, [name]))
    return {"outcome": outcome, "marked": marked, "stream": name}


def scenario_future_record(connector):
    profile = PROFILES[connector.name]
    rewriter, marked = future_record(profile, profile.incremental)
    with Hostile() as hostile:
        hostile.rewrite(profile, rewriter)
        outcome = hostile.run(profile, hostile.config(profile), "read",
                              catalog=catalog_for(profile, [profile.incremental.name]))
    return {"outcome": outcome, "marked": marked}


def scenario_future_state(connector):
    profile = PROFILES[connector.name]
    stream = profile.incremental
    value = profile.state_value(dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc))
    with Hostile() as hostile:
        outcome = hostile.run(profile, hostile.config(profile), "read", catalog=catalog_for(profile, [stream.name]),
                              state=[stream_state(stream.name, {stream.cursor: value})])
    return {"outcome": outcome, "value": value}


def scenario_non_object_record(connector):
    profile = PROFILES[connector.name]
    value = NON_OBJECTS[connector.name]
    with Hostile() as hostile:
        hostile.rewrite(profile, non_object_record(profile, profile.main, value))
        outcome = hostile.run(profile, hostile.config(profile), "read", catalog=catalog_for(profile, [profile.main.name]))
    return {"outcome": outcome}


def _config_case(profile, case: str) -> Dict[str, Any]:
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=40)).strftime("%Y-%m-%d")
    return {
        "month-13": {"start_date": "2024-13-45"},
        "february-30": {"start_date": "2024-02-30"},
        "future-start": {"start_date": future},
        "end-before-start": {"start_date": "2024-06-01", "end_date": "2024-05-01"},
    }[case]


def scenario_config_errors_are_refused_before_any_request(connector, case):
    profile = PROFILES[connector.name]
    with Hostile() as hostile:
        config = hostile.config(profile, **_config_case(profile, case))
        catalog = catalog_for(profile, [profile.main.name])
        # check and read share the config checks; check meets one impossible date of the two.
        check = hostile.run(profile, config, "check", timeout=60) if case != "february-30" else None
        read = hostile.run(profile, config, "read", catalog=catalog, timeout=60)
        requests = hostile.requests_received() + len(hostile.attacker.received)
    return {"check": check, "read": read, "requests": requests}


def _bad_state(profile, variant: str):
    if variant in ("not-a-date", "number"):
        stream = profile.incremental
        value = "yesterday" if variant == "not-a-date" else 12345
        return stream.name, {stream.cursor: value}
    if variant == "state-a-list":  # the stream's whole state is not an object
        return profile.incremental.name, [{profile.incremental.cursor: START}]
    name, good = profile.partitioned
    entry = good["states"][0]
    if variant == "entry-not-an-object":
        return name, {"states": ["oops", {"partition": 42, "cursor": entry["cursor"]}]}
    cursor_key = next(iter(entry["cursor"]))
    value = 42 if variant == "cursor-a-number" else {"not": "a cursor"}  # a number: neither a date nor an order id
    return name, {"states": [{"partition": entry["partition"], "cursor": {cursor_key: value}}]}


def scenario_state_that_cannot_be_a_cursor(connector, variant):
    profile = PROFILES[connector.name]
    name, state = _bad_state(profile, variant)
    with Hostile() as hostile:
        outcome = hostile.run(profile, hostile.config(profile), "read", catalog=catalog_for(profile, [name]),
                              state=[stream_state(name, state)])
        requests = hostile.requests_received()
    return {"outcome": outcome, "stream": name, "requests": requests}


UNKNOWN_STREAM = "stream_that_does_not_exist"


def scenario_unknown_stream_in_catalog(connector):
    profile = PROFILES[connector.name]
    catalog = catalog_for(profile, [profile.main.name], incremental=False)
    catalog["streams"] = [{
        "stream": {"name": UNKNOWN_STREAM, "json_schema": {"type": "object", "properties": {}},
                   "supported_sync_modes": ["full_refresh"]},
        "sync_mode": "full_refresh",
        "destination_sync_mode": "overwrite",
    }]
    with Hostile() as hostile:
        outcome = hostile.run(profile, hostile.config(profile), "read", catalog=catalog)
    return {"outcome": outcome}


BAD_TOKEN = "hostile-revoked-token-7f3a9c"


def scenario_fatal_answer_stops_the_whole_sync(connector, status):
    profile = PROFILES[connector.name]
    with Hostile() as hostile:
        config = hostile.config(profile, **{name: BAD_TOKEN for name in secret_fields(profile)})
        hostile.rewrite(profile, fatal_for_token(BAD_TOKEN, status))
        outcome = hostile.run(profile, config, "read", catalog=catalog_for(profile), timeout=60)
        carrying = [r for r in hostile.vendor(profile).request_log
                    if any(BAD_TOKEN in value for value in r.headers.values())]
    return {"outcome": outcome, "requests": len(carrying), "profile": profile}


# Time-bound runs are killed only far beyond what their tests allow (CI runs two lanes on two cores: start-up alone can
# take tens of seconds); the tests bound the seconds from the first stream STARTED to exit (``timed_run``).
KILL_AFTER = 180


def scenario_trickling_body_hits_the_request_deadline(connector):
    profile = PROFILES[connector.name]
    with Hostile() as hostile:
        hostile.rewrite(profile, trickle(1.0, path=profile.main.endpoint))
        outcome, seconds = timed_run(hostile, profile, hostile.config(profile), "read",
                                     catalog=catalog_for(profile, [profile.main.name]),
                                     env={"CONNECTORS_REQUEST_DEADLINE_SECONDS": "2"}, timeout=KILL_AFTER)
        return {"outcome": outcome, "seconds": seconds}


def scenario_day_long_retry_after_fails_at_once(connector):
    profile = PROFILES[connector.name]
    with Hostile() as hostile:
        hostile.rewrite(profile, rate_limited("100000", path=profile.main.endpoint))
        outcome, seconds = timed_run(hostile, profile, hostile.config(profile), "read",
                                     catalog=catalog_for(profile, [profile.main.name]), timeout=KILL_AFTER)
        return {"outcome": outcome, "seconds": seconds, "requests": len(hostile.vendor(profile).request_log)}


FAR_RESET_SECONDS = 100000  # 27.8 hours
# How each vendor writes its reset value (tests/sandbox/*.py, as the APIs document it): TextYess (express-rate-limit)
# an epoch in seconds, Leadway (LeadConnector) the window's length in milliseconds, the others seconds from now.
RESET_FORMS = {"textyess": "epoch", "leadway": "milliseconds"}


@lru_cache(maxsize=None)
def budget_headers(connector: str) -> Tuple[str, str]:
    """The remaining-calls and reset header names the connector paces by: its manifest's ``api_budget``."""
    import yaml

    (manifest,) = PROFILES[connector].connector_object().folder.glob("source_*/manifest.yaml")
    budget = yaml.safe_load(manifest.read_text())["api_budget"]
    return budget["ratelimit_remaining_header"], budget["ratelimit_reset_header"]


def far_reset_headers(profile) -> Dict[str, str]:
    remaining, reset = budget_headers(profile.connector)
    form = RESET_FORMS.get(profile.vendor, "seconds")
    value = {"epoch": math.ceil(time.time() + FAR_RESET_SECONDS), "milliseconds": FAR_RESET_SECONDS * 1000}.get(
        form, FAR_RESET_SECONDS)
    return {remaining: "0", reset: str(value)}


def scenario_rate_limit_reset_far_away_fails_at_once(connector, status):
    profile = PROFILES[connector.name]
    spent = RateLimitSpent(lambda: far_reset_headers(profile), status=status, path=profile.main.endpoint)
    with Hostile() as hostile:
        hostile.rewrite(profile, spent.rewriter())
        outcome, seconds = timed_run(hostile, profile, hostile.config(profile), "read",
                                     catalog=catalog_for(profile, [profile.main.name]), timeout=KILL_AFTER)
    return {"outcome": outcome, "seconds": seconds, "answered": spent.answered, "after": spent.after,
            "headers": far_reset_headers(profile)}


def scenario_closed_port_fails_naming_base_url(connector):
    profile = PROFILES[connector.name]
    with Hostile() as hostile:
        config = hostile.config(profile, base_url=f"http://127.0.0.1:{closed_port()}/{profile.vendor}")
        outcome, seconds = timed_run(hostile, profile, config, "read",
                                     catalog=catalog_for(profile, [profile.main.name]), timeout=KILL_AFTER)
        return {"outcome": outcome, "seconds": seconds}


SCENARIOS = {
    "test_broken_records_field_on_page_2_fails_the_stream": scenario_broken_records_on_page_2,
    "test_broken_records_field_on_page_1_of_a_full_refresh_stream_fails": scenario_broken_records_on_page_1_of_full_refresh,
    "test_page_ending_paging_early_fails_the_stream": scenario_early_end_on_page_2,
    "test_pages_far_beyond_the_advertised_total_end_in_a_loop_error": scenario_endless_pages,
    "test_repeated_cursor_ends_in_a_loop_error": scenario_repeated_cursor,
    "test_future_record_is_emitted_but_state_stays_at_now": scenario_future_record,
    "test_fresh_tokens_far_beyond_the_advertised_pages_end_in_a_loop_error": scenario_fresh_tokens_beyond_the_total,
    "test_future_record_in_one_partition_leaves_no_state_past_now": scenario_future_record_in_one_partition,
    "test_state_beyond_now_reads_nothing_and_warns": scenario_future_state,
    "test_record_that_is_not_an_object_fails_the_stream_plainly": scenario_non_object_record,
    "test_impossible_config_is_refused_before_any_request": scenario_config_errors_are_refused_before_any_request,
    "test_state_that_cannot_be_a_cursor_is_a_config_error": scenario_state_that_cannot_be_a_cursor,
    "test_partition_state_that_cannot_be_a_cursor_is_a_config_error": scenario_state_that_cannot_be_a_cursor,
    "test_unknown_stream_in_catalog_is_logged": scenario_unknown_stream_in_catalog,
    "test_fatal_answer_stops_the_whole_sync_at_once": scenario_fatal_answer_stops_the_whole_sync,
    "test_trickling_body_fails_on_the_request_deadline": scenario_trickling_body_hits_the_request_deadline,
    "test_timeout_retries_are_not_logged_as_rate_limits": scenario_trickling_body_hits_the_request_deadline,
    "test_day_long_retry_after_fails_at_once_stating_the_wait": scenario_day_long_retry_after_fails_at_once,
    "test_rate_limit_reset_far_away_fails_at_once_stating_the_wait": scenario_rate_limit_reset_far_away_fails_at_once,
    "test_closed_port_fails_within_two_minutes_naming_base_url": scenario_closed_port_fails_naming_base_url,
}
SLOW = {
    "test_trickling_body_fails_on_the_request_deadline",
    "test_timeout_retries_are_not_logged_as_rate_limits",
    "test_day_long_retry_after_fails_at_once_stating_the_wait",
    "test_rate_limit_reset_far_away_fails_at_once_stating_the_wait",
    "test_closed_port_fails_within_two_minutes_naming_base_url",
}


@pytest.fixture(scope="module")
def started(request):
    return start_scenarios(request, SCENARIOS, workers=6, slow=SLOW)


@pytest.fixture
def result(request, started):
    return scenario_result(request, started)


def test_every_connector_has_a_hostile_profile():
    assert sorted(PROFILES) == sorted(IDS)


# ---------------------------------------------------------------------------------------------------------------------
# 1, 2: pages that lose records fail the stream, retried first, and no state claims the lost window.
# ---------------------------------------------------------------------------------------------------------------------


def _assert_failed_without_gap(result: Dict[str, Any], failing_page: int, or_total: bool = False) -> None:
    """Exit code, one error naming vendor, stream and records path (``or_total``: or the advertised total), retries,
    no invented record, and no state past the failed window."""
    profile, stream, outcome = result["profile"], result["stream"], result["outcome"]
    report = outcome.describe()
    assert not outcome.timed_out, report
    assert outcome.returncode != 0, f"the sync ended successfully with {stream.name} page {failing_page} lost:\n{report}"
    path = profile.records_path_pattern
    if or_total:
        path = "|".join([path] + [r"\W{1,6}".join(map(re.escape, p)) for p, _ in profile.total_fields])
    assert errors_naming(outcome, re.escape(profile.label), rf"\b{re.escape(stream.name)}\b", path), (
        f"no TRACE error names {profile.label}, the stream {stream.name} and the records path "
        f"{'.'.join(profile.records_path)}{' (or the total field)' if or_total else ''}:\n{report}")
    asked = [count for (window, page), count in result["pages"].counts.items()
             if page == failing_page and (not stream.window_param or window[:10] == START)]
    assert asked and max(asked) >= 2, f"page {failing_page} was not retried (asked {asked or 0} times):\n{report}"
    invented = [r.get(stream.primary_key) for r in outcome.stream_records(stream.name)
                if r.get(stream.primary_key) not in result["served"]]
    assert not invented, f"records no page carried were emitted: {invented[:5]}"
    if stream.window_param and result["rerun_windows"] is not None:
        windows = result["rerun_windows"]
        assert windows, "the re-run from the emitted state asked for no window at all"
        assert min(w[:10] for w in windows) <= START, (
            f"the state emitted after the failure claims the failed window (from {START}): re-run from "
            f"{result['states'][-1:]} asked only for windows from {min(windows)}")


@pytest.mark.parametrize("variant", ["missing", "null", "object"])
@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_broken_records_field_on_page_2_fails_the_stream(connector, variant, result):
    _assert_failed_without_gap(result, failing_page=2)


@pytest.mark.parametrize("connector", FULL_REFRESH, ids=ids(FULL_REFRESH))
def test_broken_records_field_on_page_1_of_a_full_refresh_stream_fails(connector, result):
    _assert_failed_without_gap(result, failing_page=1)


@pytest.mark.parametrize("kind", ["empty", "short"])
@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_page_ending_paging_early_fails_the_stream(connector, kind, result):
    _assert_failed_without_gap(result, failing_page=2, or_total=True)


# ---------------------------------------------------------------------------------------------------------------------
# 3: paging loops end, quickly, with an error that says so.
# ---------------------------------------------------------------------------------------------------------------------


def _assert_loop_error(outcome: Outcome, served: int, what: str) -> None:
    report = outcome.describe()
    assert not outcome.timed_out and outcome.elapsed < 60, f"the read was still running after 60 s:\n{report}"
    assert served <= LOOP_CAP, (
        f"the sandbox served {LOOP_CAP} {what} and then ended paging itself; the connector never noticed:\n{report}")
    assert outcome.returncode != 0, f"the sync ended successfully after {served} {what}:\n{report}"
    assert errors_naming(outcome, r"loop|repeat"), f"no TRACE error mentions a loop or repeat:\n{report}"


@pytest.mark.parametrize("connector", PAGE_OR_OFFSET, ids=ids(PAGE_OR_OFFSET))
def test_pages_far_beyond_the_advertised_total_end_in_a_loop_error(connector, result):
    _assert_loop_error(result["outcome"], result["served_beyond"], "full pages beyond the advertised total")


NEXT_TOKENS = [c for c in CONNECTORS if PROFILES[c.name].paging == "next"]


@pytest.mark.parametrize("connector", NEXT_TOKENS, ids=ids(NEXT_TOKENS))
def test_fresh_tokens_far_beyond_the_advertised_pages_end_in_a_loop_error(connector, result):
    """Each page a new ``next`` token, the page number never advancing: only the count against totalPages notices."""
    _assert_loop_error(result["outcome"], result["served_beyond"], "pages with new next tokens beyond totalPages")


@pytest.mark.parametrize("connector", CURSOR_LOOPS, ids=ids(CURSOR_LOOPS))
def test_repeated_cursor_ends_in_a_loop_error(connector, result):
    _assert_loop_error(result["outcome"], result["repeats"], "pages with a repeated next/last_id")


# ---------------------------------------------------------------------------------------------------------------------
# 4: future cursors.
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("connector", INCREMENTAL, ids=ids(INCREMENTAL))
def test_future_record_is_emitted_but_state_stays_at_now(connector, result):
    profile, outcome = PROFILES[connector.name], result["outcome"]
    stream = profile.incremental
    report = outcome.describe()
    assert result["marked"], "the sandbox never served the first page (scenario problem)"
    emitted = [r for r in outcome.stream_records(stream.name) if r.get(stream.primary_key) == result["marked"][0]]
    assert emitted, f"the record dated {FUTURE_STAMP} was not emitted:\n{report}"
    states = outcome.stream_states(stream.name)
    assert states, f"no state for {stream.name}:\n{report}"
    final = states[-1]["stream"]["stream_state"]
    beyond = [value for value in dates_in(final) if value[:10] > today_utc()]
    assert not beyond, f"the final state of {stream.name} is past today ({today_utc()}): {json.dumps(final)}"


PER_DATE_PARTITION = [c for c in CONNECTORS if c.name == "source-textyess"]  # a date cursor per partition


@pytest.mark.parametrize("connector", PER_DATE_PARTITION, ids=ids(PER_DATE_PARTITION))
def test_future_record_in_one_partition_leaves_no_state_past_now(connector, result):
    """Each partition's cursor is capped at its window; nothing else in the state (no cursor over all partitions)
    may carry the 2099 date either, or the next sync warns that it reads nothing."""
    outcome = result["outcome"]
    report = outcome.describe()
    assert result["marked"], "the sandbox never served the campaign's first page (scenario problem)"
    assert outcome.returncode == 0 and not outcome.errors, report
    assert [r for r in outcome.stream_records(result["stream"]) if r.get("_id") == result["marked"][0]], report
    states = outcome.stream_states(result["stream"])
    assert states, report
    for message in states:
        state = message["stream"]["stream_state"]
        beyond = [value for value in dates_in(state) if value[:10] > today_utc()]
        assert not beyond, f"a state of {result['stream']} is past today ({today_utc()}): {json.dumps(state)}"
        assert set(state) <= {"states", "use_global_cursor", "parent_state"}, json.dumps(state)


@pytest.mark.parametrize("connector", INCREMENTAL, ids=ids(INCREMENTAL))
def test_state_beyond_now_reads_nothing_and_warns(connector, result):
    profile, outcome = PROFILES[connector.name], result["outcome"]
    stream = profile.incremental
    report = outcome.describe()
    assert not outcome.stream_records(stream.name), f"records were read from a state in 2099:\n{report}"
    warnings = [log["message"] for log in outcome.logs("WARN", "WARNING")
                if word(log["message"], stream.name) and "2099" in log["message"]]
    assert warnings, f"no LOG WARN names {stream.name} and the state value {result['value']}:\n{report}"


# ---------------------------------------------------------------------------------------------------------------------
# 5: a record that is not an object.
# ---------------------------------------------------------------------------------------------------------------------


NON_OBJECTS = {c.name: ("a string", 42)[i % 2] for i, c in enumerate(CONNECTORS)}  # strings and numbers, alternately


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_record_that_is_not_an_object_fails_the_stream_plainly(connector, result):
    profile, outcome = PROFILES[connector.name], result["outcome"]
    value = NON_OBJECTS[connector.name]
    report = outcome.describe()
    assert outcome.returncode != 0, f"the sync succeeded with a record that is {value!r}:\n{report}"
    assert errors_naming(outcome, rf"\b{re.escape(profile.main.name)}\b"), f"no TRACE error names the stream:\n{report}"
    shown = [str(e.get("message")) for e in outcome.errors] + [str(log.get("message")) for log in outcome.logs()]
    leaked = [m[:300] for m in shown if PYTHON_ERRORS.search(m)]
    assert not leaked, f"messages show Python internals (Traceback, TypeError, ...): {leaked}"


# ---------------------------------------------------------------------------------------------------------------------
# 6, 7, 8: config, state and catalog are checked before any request.
# ---------------------------------------------------------------------------------------------------------------------

CONFIG_CASES = [(c, case) for c in WITH_DATES for case in ("month-13", "february-30", "future-start")] + [
    (c, "end-before-start") for c in WITH_DATES if "end_date" in PROFILES[c.name].date_fields]


@pytest.mark.parametrize("connector,case", CONFIG_CASES, ids=[f"{c.name}-{case}" for c, case in CONFIG_CASES])
def test_impossible_config_is_refused_before_any_request(connector, case, result):
    field = "end_date" if case == "end-before-start" else "start_date"
    check, read = result["check"], result["read"]
    if check is not None:
        status = check.connection_status()
        assert status and status["status"] == "FAILED" and field in str(status.get("message")), (
            f"check did not fail naming {field}:\n{check.describe()}")
    config_errors = [e for e in read.errors if e.get("failure_type") == "config_error" and field in str(e.get("message"))]
    assert config_errors, f"read gave no config_error naming {field}:\n{read.describe()}"
    assert result["requests"] == 0, f"the sandbox received {result['requests']} request(s) for an impossible config"


STATE_CASES = [(c, v) for c in INCREMENTAL for v in ("not-a-date", "number", "state-a-list")]
PARTITION_CASES = [(c, v) for c in PARTITIONED
                   for v in ("entry-not-an-object", "cursor-not-a-cursor", "cursor-a-number")]


def _assert_state_config_error(result: Dict[str, Any]) -> None:
    outcome, stream = result["outcome"], result["stream"]
    report = outcome.describe()
    assert [e for e in outcome.errors if e.get("failure_type") == "config_error" and word(str(e.get("message")), stream)], (
        f"no TRACE config_error names {stream}:\n{report}")
    assert "Traceback" not in outcome.stdout and "Traceback" not in outcome.stderr, (
        "a Traceback reached stdout or stderr:\n" + report)
    assert result["requests"] == 0, f"{result['requests']} request(s) sent from a state that cannot be used:\n{report}"


@pytest.mark.parametrize("connector,variant", STATE_CASES, ids=[f"{c.name}-{v}" for c, v in STATE_CASES])
def test_state_that_cannot_be_a_cursor_is_a_config_error(connector, variant, result):
    _assert_state_config_error(result)


@pytest.mark.parametrize("connector,variant", PARTITION_CASES, ids=[f"{c.name}-{v}" for c, v in PARTITION_CASES])
def test_partition_state_that_cannot_be_a_cursor_is_a_config_error(connector, variant, result):
    _assert_state_config_error(result)


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_unknown_stream_in_catalog_is_logged(connector, result):
    outcome = result["outcome"]
    named = [log for log in outcome.logs("WARN", "WARNING", "ERROR") if UNKNOWN_STREAM in str(log.get("message"))]
    assert named, f"no LOG WARN/ERROR names {UNKNOWN_STREAM}:\n{outcome.describe()}"


# ---------------------------------------------------------------------------------------------------------------------
# 9: a fatal answer stops everything, once.
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403, 404])
@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_fatal_answer_stops_the_whole_sync_at_once(connector, status, result):
    outcome = result["outcome"]
    report = outcome.describe()
    assert not outcome.timed_out, report
    assert outcome.returncode != 0, f"the sync ended successfully after HTTP {status}:\n{report}"
    assert len(outcome.errors) == 1, f"{len(outcome.errors)} TRACE errors instead of one:\n{report}"
    [error] = outcome.errors
    assert error.get("failure_type") == "config_error", report
    assert str(error.get("message")).startswith(result["profile"].label), (
        f"the one error is not ours (a sentence naming the vendor first):\n{report}")
    # Only the requests already in flight when the answer came (the workers read 2-4 at a time), and no more.
    assert result["requests"] <= 4, f"{result['requests']} requests carried the refused token (at most 4):\n{report}"


# ---------------------------------------------------------------------------------------------------------------------
# 10: time is bounded.
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_trickling_body_fails_on_the_request_deadline(connector, result):
    outcome, seconds = result["outcome"], result["seconds"]
    report = outcome.describe()
    # About 10 s by the contract (4 attempts of 2 s each, then the whole sync stops), timed from the first stream
    # STARTED; 60 s leaves room for a loaded machine. Without the deadline a page (thousands of bytes) takes hours.
    assert not outcome.timed_out and seconds <= 60, (
        f"a body trickling at 1 byte/s kept the read going {seconds:.0f} s after its first stream started "
        f"(CONNECTORS_REQUEST_DEADLINE_SECONDS=2):\n{report}")
    assert outcome.returncode != 0, report
    assert errors_naming(outcome, r"time[sd]?[ -]?out|deadline"), f"no TRACE error mentions the timeout:\n{report}"


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_timeout_retries_are_not_logged_as_rate_limits(connector, result):
    outcome = result["outcome"]
    logs = [str(log.get("message")) for log in outcome.logs()]
    mislabelled = [m[:200] for m in logs if re.search(r"rate[ -]?limit", m, re.IGNORECASE)]
    assert not mislabelled, f"the sandbox never rate-limited, yet LOGs say so: {mislabelled}"
    timeouts = [m for m in logs if re.search(r"time[sd]?[ -]?out|deadline", m, re.IGNORECASE)]
    assert timeouts, f"no LOG says a request timed out and is retried:\n{outcome.describe()}"


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_day_long_retry_after_fails_at_once_stating_the_wait(connector, result):
    outcome, seconds = result["outcome"], result["seconds"]
    report = outcome.describe()
    # Far below the 100000 s asked, with room for a loaded machine; "at once" is the request count below.
    assert not outcome.timed_out and seconds <= 90, (
        f"a 429 with Retry-After: 100000 kept the read going {seconds:.0f} s after its first stream started:\n{report}")
    assert outcome.returncode != 0, report
    # At once: the requests already in flight (the connectors read 2-4 at a time), and no more.
    assert result["requests"] <= 4, (
        f"after a 429 asking for 100000 s the connector sent {result['requests']} requests (at most 4):\n{report}")
    assert errors_naming(outcome, r"100[ ,.]?000"), f"no TRACE error states the 100000 s the API asked:\n{report}"


# Every connector paces by its vendor's remaining-calls and reset headers (its manifest's api_budget). A 2xx saying no
# call remains until a reset 27.8 hours away, and a 429 saying the same with the vendor's reset header (SHOPLINE's reset
# header is Retry-After: test_day_long_retry_after_fails_at_once_stating_the_wait covers its 429).
RESET_CASES = [(c, 200) for c in CONNECTORS] + [
    (c, 429) for c in CONNECTORS if budget_headers(c.name)[1].lower() != "retry-after"]


@pytest.mark.parametrize("connector,status", RESET_CASES, ids=[f"{c.name}-{status}" for c, status in RESET_CASES])
def test_rate_limit_reset_far_away_fails_at_once_stating_the_wait(connector, status, result):
    outcome, seconds = result["outcome"], result["seconds"]
    profile = PROFILES[connector.name]
    report = f"headers {result['headers']} on HTTP {status}\n{outcome.describe()}"
    assert result["answered"], f"the sandbox never sent the rate-limit answer (scenario problem):\n{report}"
    assert not outcome.timed_out and seconds <= 90, (
        f"the read went on {seconds:.0f} s after its first stream started, for a reset 100000 s away:\n{report}")
    assert outcome.returncode != 0, f"the sync ended successfully:\n{report}"
    # At once: the requests already in flight when the answer came (the connectors read 2-4 at a time), and no more.
    assert result["after"] <= 4, (
        f"{result['after']} requests reached the sandbox after it said no call remains for 27.8 hours (at most 4):\n"
        f"{report}")
    assert errors_naming(outcome, re.escape(profile.label), r"27\.8 hours|\b100[ ,.]?000\b"), (
        f"no TRACE error names {profile.label} and states the wait asked (27.8 hours, 100000 s):\n{report}")


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_closed_port_fails_within_two_minutes_naming_base_url(connector, result):
    outcome, seconds = result["outcome"], result["seconds"]
    report = outcome.describe()
    assert not outcome.timed_out and seconds <= 120, (
        f"still running {seconds:.0f} s after its first stream started:\n{report}")
    assert outcome.returncode != 0, report
    assert errors_naming(outcome, r"base_url"), f"no TRACE error names base_url:\n{report}"
