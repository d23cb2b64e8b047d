"""source-leadway with many locations, run as Airbyte runs it (a subprocess) against the sandbox's agency token.

The sandbox's token sees two locations with data of their own (``sandboxLocation01``, and ``sandboxLocation02`` with
half as many records) and not a third (``sandboxLocation03``, 403). Counts are exact: each is what the sandbox holds
for that location and those days (``Leadway.count``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Tuple

import pytest

from tests.harness import REPO, Connector, ConnectorRunner, Run, configured_catalog
from tests.sandbox import Sandbox
from tests.sandbox.common import RateWindow
from tests.sandbox.leadway import HIDDEN_LOCATION_ID, LOCATION_ID, SECOND_LOCATION_ID

pytestmark = pytest.mark.integration

CONNECTOR = Connector("source-leadway", REPO / "source-leadway")
STREAMS = ("orders", "transactions", "subscriptions", "coupons")
INCREMENTAL = ("orders", "transactions", "subscriptions")
LOCATIONS = (LOCATION_ID, SECOND_LOCATION_ID)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(records=200, prefix="/locations") as running:
        yield running


@pytest.fixture
def vendor(sandbox):
    leadway = sandbox.vendor("leadway")
    leadway.reset()
    return leadway


def runner_for(sandbox, **overrides: Any) -> ConnectorRunner:
    config = {**CONNECTOR.sandbox_config(sandbox.url), **overrides}
    return ConnectorRunner(CONNECTOR, {key: value for key, value in config.items() if value is not None})


def catalog_of(runner: ConnectorRunner, incremental: bool = True) -> Dict[str, Any]:
    return configured_catalog(runner.discover_catalog(), incremental=incremental)


def by_location(run: Run) -> Dict[Tuple[str, str], List[Dict[str, Any]]]:
    found: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for record in run.records:
        found.setdefault((record["stream"], record["data"]["location_id"]), []).append(record["data"])
    return found


def counts(run: Run) -> Dict[Tuple[str, str], int]:
    return {key: len(rows) for key, rows in by_location(run).items()}


def cursors(run: Run, stream: str) -> Dict[str, str]:
    state = run.final_stream_states()[stream]
    return {entry["partition"]["location_id"]: entry["cursor"]["createdAt"] for entry in state["states"]}


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


def test_two_locations_every_stream_exact_for_both(sandbox, vendor):
    runner = runner_for(sandbox, location_ids=list(LOCATIONS))
    assert runner.run("check").of_type("CONNECTION_STATUS")[0]["connectionStatus"] == {"status": "SUCCEEDED"}
    run = runner.run("read", catalog=catalog_of(runner))
    assert run.returncode == 0 and not run.errors, run.errors
    assert counts(run) == {(stream, location): vendor.count(stream, location) for stream in STREAMS
                           for location in LOCATIONS}
    for (stream, location), rows in by_location(run).items():
        assert {row["altId"] for row in rows} == {location}, (stream, location)  # each record where it came from
    ids = [record["data"]["_id"] for record in run.records]
    assert len(ids) == len(set(ids))  # the primary key _id stays unique across locations
    for stream in INCREMENTAL:
        newest = {location: max(day(row["createdAt"]) for row in by_location(run)[(stream, location)])
                  for location in LOCATIONS}
        assert cursors(run, stream) == {location: newest[location].isoformat() for location in LOCATIONS}
        assert set(run.final_stream_states()[stream]) == {"use_global_cursor", "states"}
    assert vendor.status_counts.get(429, 0) == 0

    again = runner.run("read", catalog=catalog_of(runner), state=run.final_states())
    assert again.returncode == 0 and not again.errors
    for stream in INCREMENTAL:  # lookback_days 0: each location reads again only the day of its state
        for location in LOCATIONS:
            saved = day(cursors(run, stream)[location])
            assert counts(again).get((stream, location), 0) == vendor.count(stream, location, saved, dt.date.today())
        assert cursors(again, stream) == cursors(run, stream)


def test_a_location_added_later_is_read_from_start_date_while_the_other_continues(sandbox, vendor):
    catalog = catalog_of(runner_for(sandbox))
    first = runner_for(sandbox, location_ids=[LOCATION_ID]).run("read", catalog=catalog)
    assert first.returncode == 0 and not first.errors
    assert {location for _, location in counts(first)} == {LOCATION_ID}

    second = runner_for(sandbox, location_ids=list(LOCATIONS)).run("read", catalog=catalog, state=first.final_states())
    assert second.returncode == 0 and not second.errors, second.errors
    for stream in INCREMENTAL:
        saved = day(cursors(first, stream)[LOCATION_ID])
        assert counts(second)[(stream, SECOND_LOCATION_ID)] == vendor.count(stream, SECOND_LOCATION_ID)  # its history
        assert counts(second)[(stream, LOCATION_ID)] == vendor.count(stream, LOCATION_ID, saved, dt.date.today())
        assert cursors(second, stream)[LOCATION_ID] == cursors(first, stream)[LOCATION_ID]

    removed = runner_for(sandbox, location_ids=[SECOND_LOCATION_ID]).run(
        "read", catalog=catalog, state=second.final_states())
    assert removed.returncode == 0 and not removed.errors
    assert {location for _, location in counts(removed)} == {SECOND_LOCATION_ID}
    for stream in INCREMENTAL:  # the location taken out keeps its state, untouched
        assert cursors(removed, stream) == cursors(second, stream)


def test_a_location_the_token_cannot_see_fails_check_naming_it_and_stops_a_sync(sandbox, vendor):
    runner = runner_for(sandbox, location_ids=[LOCATION_ID, HIDDEN_LOCATION_ID, SECOND_LOCATION_ID])
    status = runner.run("check").of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED"
    assert status["message"].startswith(
        f"Leadway refused the access token for 1 of the 3 location(s) in location_ids: {HIDDEN_LOCATION_ID} (HTTP "
        "403: The token does not have access to this location.). For each, use a token that may read that sub-account")
    assert "Traceback" not in status["message"]

    run = runner.run("read", catalog=catalog_of(runner_for(sandbox)))
    assert run.returncode != 0
    assert run.errors[0]["failure_type"] == "config_error"
    assert run.errors[0]["message"].startswith(f"Leadway refused access to location {HIDDEN_LOCATION_ID} (The token")
    assert not run.errors[0].get("stack_trace")


def test_the_old_single_location_config_keeps_its_streams_and_its_state(sandbox, vendor):
    old = runner_for(sandbox, location_ids=None, location_id=LOCATION_ID)
    new = runner_for(sandbox, location_ids=[LOCATION_ID])
    catalog = catalog_of(old)
    assert catalog == catalog_of(new)
    assert old.run("check").of_type("CONNECTION_STATUS")[0]["connectionStatus"] == {"status": "SUCCEEDED"}

    # The state an existing connection saved before location_ids: a plain cursor per stream.
    saved = "2024-12-01"
    old_state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": name},
                                               "stream_state": {"createdAt": saved}}} for name in INCREMENTAL]
    for runner in (old, new):  # the old config, and the same location as location_ids: no re-read from start_date
        vendor.reset()
        run = runner.run("read", catalog=catalog, state=old_state)
        assert run.returncode == 0 and not run.errors, run.errors
        for stream in INCREMENTAL:
            assert counts(run)[(stream, LOCATION_ID)] == vendor.count(
                stream, LOCATION_ID, day(saved), dt.date.today()), stream
            assert cursors(run, stream) == {LOCATION_ID: cursors(run, stream)[LOCATION_ID]}
            assert cursors(run, stream)[LOCATION_ID] >= saved
        assert counts(run)[("coupons", LOCATION_ID)] == vendor.count("coupons", LOCATION_ID)
        # and the state it saved is taken again next time
        again = runner.run("read", catalog=catalog, state=run.final_states())
        assert again.returncode == 0 and not again.errors
        assert {stream: cursors(again, stream) for stream in INCREMENTAL} == {
            stream: cursors(run, stream) for stream in INCREMENTAL}


def test_each_location_is_paced_by_its_own_rate_limit_and_no_429_is_left(sandbox, vendor):
    # 8 requests per location per second (LeadConnector: 100 per 10 s): two locations together send up to 16.
    vendor.window = RateWindow(limit=8, seconds=1)
    try:
        # Pages of 4: more than the 16 requests one second allows both locations (windows sized from the data read
        # the months since September in few windows, so pages of 10 came to 13 requests).
        runner = runner_for(sandbox, location_ids=list(LOCATIONS), page_size=4, start_date="2024-09-01")
        catalog = catalog_of(runner)
        catalog["streams"] = [s for s in catalog["streams"] if s["stream"]["name"] in ("orders", "coupons")]
        run = runner.run("read", catalog=catalog)
    finally:
        vendor.window = RateWindow(limit=100_000, seconds=10)
    assert run.returncode == 0 and not run.errors, run.errors
    assert counts(run)[("coupons", SECOND_LOCATION_ID)] == vendor.count("coupons", SECOND_LOCATION_ID)
    for location in LOCATIONS:
        assert counts(run)[("orders", location)] == vendor.count("orders", location, dt.date(2024, 9, 1),
                                                                 dt.date.today())
    served = vendor.status_counts.get(200, 0)
    assert served > 16 and vendor.status_counts.get(429, 0) <= 2  # paced by the headers; a 429 is retried
