"""Many locations in one source: every stream reads every location, state per location, old configs unchanged.

Each mocked request names its location (``altId``) and window exactly, so a test fails when a location is read from
the wrong day, twice, or not at all.
"""

import logging

import pytest
from airbyte_cdk.sources.declarative.concurrency_level import ConcurrencyLevel

from builders import (LOCATION_ID, SECOND_LOCATION_ID, START, TODAY, LeadwayRequest, config, coupon, cursors_of,
                      days_ago, error, locations_config, order, page, partition_state, probe_answer, subscription,
                      transaction)
from connectors_shared.testing import check, error_messages, failure_type, read
from source_leadway import SourceLeadway

LOCATIONS = (LOCATION_ID, SECOND_LOCATION_ID)
STREAMS = [
    ("orders", order, True),
    ("transactions", transaction, True),
    ("subscriptions", subscription, True),
    ("coupons", lambda id_, _created_at, **extra: coupon(id_, **extra), False),
]


def records(output):
    return [message.record.data for message in output.records]


def last_cursors(output):
    return cursors_of(output.most_recent_state.stream_state)


def mock_window(requests_mock, stream, location, first, last, rows):
    request = getattr(LeadwayRequest, stream)(location=location).window(first, last)
    return requests_mock.get(request.url, json=page(rows), complete_qs=True)


class TestEveryStreamReadsEveryLocation:
    @pytest.mark.parametrize("stream, build, dated", STREAMS, ids=[s[0] for s in STREAMS])
    def test_given_two_locations_when_read_then_both_are_read_and_each_record_names_its_location(
        self, requests_mock, stream, build, dated
    ):
        mocks = {}
        for location in LOCATIONS:
            rows = [build(f"{location}-{n}", f"{days_ago(3)}T08:00:00.000Z", altId=location) for n in range(2)]
            request = getattr(LeadwayRequest, stream)(location=location)
            url = (request.window(START, TODAY) if dated else request).url
            mocks[location] = requests_mock.get(url, json=page(rows), complete_qs=True)
        output = read(SourceLeadway, locations_config(), stream)
        assert not output.errors
        assert sorted((r["location_id"], r["_id"]) for r in records(output)) == sorted(
            (location, f"{location}-{n}") for location in LOCATIONS for n in range(2))
        assert [mocks[location].call_count for location in LOCATIONS] == [1, 1]

    def test_given_two_locations_with_many_windows_then_windows_alternate_between_locations(self, requests_mock):
        # The rate limit is per location: windows handed out in turns let the workers send to both at once. Each
        # location's windows are sized by its own probe (altId sent): 2,500 orders, 25 pages, 3 windows of 22 days.
        probes = [requests_mock.get(LeadwayRequest.orders(location=location).window(days_ago(65), TODAY).url,
                                    json=probe_answer(2500), complete_qs=True) for location in LOCATIONS]
        source = SourceLeadway(config=locations_config(start_date=days_ago(65)))
        [orders] = [stream for stream in source.streams(source.effective_config) if stream.name == "orders"]
        windows = [(s.partition["location_id"], s["start_time"], s["end_time"]) for s in orders.cursor.stream_slices()]
        assert windows == [
            (location, first, last)
            for first, last in [(days_ago(65), days_ago(44)), (days_ago(43), days_ago(22)), (days_ago(21), TODAY)]
            for location in LOCATIONS
        ]
        assert [probe.call_count for probe in probes] == [1, 1]

    def test_given_a_location_listed_twice_when_read_then_refused_before_any_request(self, requests_mock):
        output = read(SourceLeadway, locations_config(LOCATION_ID, LOCATION_ID), "orders")
        assert "has non-unique elements" in error_messages(output)
        assert requests_mock.call_count == 0


class TestStatePerLocation:
    def test_given_first_sync_when_read_then_each_location_keeps_the_day_of_its_own_newest_record(self, requests_mock):
        mock_window(requests_mock, "orders", LOCATION_ID, START, TODAY, [order("a", f"{days_ago(2)}T08:00:00.000Z")])
        mock_window(requests_mock, "orders", SECOND_LOCATION_ID, START, TODAY,
                    [order("b", f"{days_ago(7)}T08:00:00.000Z", altId=SECOND_LOCATION_ID)])
        output = read(SourceLeadway, locations_config(), "orders", sync_mode="incremental")
        state = output.most_recent_state.stream_state.__dict__
        assert state == partition_state((LOCATION_ID, days_ago(2)), (SECOND_LOCATION_ID, days_ago(7)))
        assert "state" not in state and "lookback_window" not in state  # no cursor a new location could start from

    def test_given_per_location_state_when_read_then_each_location_resumes_from_its_own_day(self, requests_mock):
        mock_window(requests_mock, "transactions", LOCATION_ID, days_ago(2), TODAY, [])
        mock_window(requests_mock, "transactions", SECOND_LOCATION_ID, days_ago(7), TODAY,
                    [transaction("b", f"{days_ago(5)}T08:00:00.000Z", altId=SECOND_LOCATION_ID)])
        state = partition_state((LOCATION_ID, days_ago(2)), (SECOND_LOCATION_ID, days_ago(7)))
        output = read(SourceLeadway, locations_config(), "transactions", sync_mode="incremental", stream_state=state)
        assert [r["_id"] for r in records(output)] == ["b"]
        assert last_cursors(output) == {LOCATION_ID: days_ago(2), SECOND_LOCATION_ID: days_ago(5)}
        assert requests_mock.call_count == 2

    @pytest.mark.parametrize("saved_by", ["this connector", "the CDK's stock per-partition cursor"])
    def test_given_a_location_added_to_an_existing_connection_when_read_then_it_is_read_from_start_date(
        self, requests_mock, saved_by
    ):
        # The CDK starts a partition missing from the state at the newest cursor over all partitions ("state"):
        # the new location would lose everything it has before A's state. It must start at start_date instead.
        extra = {} if saved_by == "this connector" else {"state": {"createdAt": days_ago(2)}, "lookback_window": 30}
        state = partition_state((LOCATION_ID, days_ago(2)), **extra)
        resumed = mock_window(requests_mock, "subscriptions", LOCATION_ID, days_ago(2), TODAY, [])
        history = mock_window(requests_mock, "subscriptions", SECOND_LOCATION_ID, START, TODAY,
                              [subscription("old", f"{START}T08:00:00.000Z", altId=SECOND_LOCATION_ID)])
        output = read(SourceLeadway, locations_config(), "subscriptions", sync_mode="incremental", stream_state=state)
        assert (resumed.call_count, history.call_count) == (1, 1) and requests_mock.call_count == 2
        assert [(r["_id"], r["location_id"]) for r in records(output)] == [("old", SECOND_LOCATION_ID)]
        assert last_cursors(output) == {LOCATION_ID: days_ago(2), SECOND_LOCATION_ID: START}

    def test_given_a_location_removed_when_read_then_the_others_continue_and_its_state_is_kept(self, requests_mock):
        mock_window(requests_mock, "orders", LOCATION_ID, days_ago(4), TODAY,
                    [order("a", f"{days_ago(1)}T08:00:00.000Z")])
        state = partition_state((LOCATION_ID, days_ago(4)), (SECOND_LOCATION_ID, days_ago(8)))
        output = read(SourceLeadway, locations_config(LOCATION_ID), "orders", sync_mode="incremental",
                      stream_state=state)
        assert [r["_id"] for r in records(output)] == ["a"] and requests_mock.call_count == 1
        # B is not read, and its state stays as it was: listed again later, it resumes where it stopped.
        assert last_cursors(output) == {LOCATION_ID: days_ago(1), SECOND_LOCATION_ID: days_ago(8)}

    def test_given_a_failed_window_of_one_location_when_read_then_the_other_location_still_saves_its_state(
        self, requests_mock, no_waiting
    ):
        mock_window(requests_mock, "orders", LOCATION_ID, START, TODAY, [order("a", f"{days_ago(2)}T08:00:00.000Z")])
        requests_mock.get(LeadwayRequest.orders(location=SECOND_LOCATION_ID).window(START, TODAY).url, status_code=503,
                          json={"statusCode": 503, "message": "down"}, complete_qs=True)
        output = read(SourceLeadway, locations_config(), "orders", sync_mode="incremental")
        assert failure_type(output) == "transient_error"
        # B's state stays at start_date, before its failed window: the next sync reads it from there, no gap.
        assert last_cursors(output) == {LOCATION_ID: days_ago(2), SECOND_LOCATION_ID: START}


class TestConfigsWrittenBeforeLocationIds:
    """``{"location_id": "A"}`` and the plain state ``{"createdAt": day}`` such a config saved."""

    def test_given_old_config_and_old_state_when_read_then_resumes_from_the_old_cursor(self, requests_mock):
        saved = days_ago(4)
        mock_window(requests_mock, "orders", LOCATION_ID, saved, TODAY, [order("new", f"{days_ago(1)}T08:00:00.000Z")])
        output = read(SourceLeadway, config(), "orders", sync_mode="incremental", stream_state={"createdAt": saved})
        assert [(r["_id"], r["location_id"]) for r in records(output)] == [("new", LOCATION_ID)]
        assert requests_mock.call_count == 1  # no re-read from start_date, no gap
        assert output.most_recent_state.stream_state.__dict__ == partition_state((LOCATION_ID, days_ago(1)))

    def test_given_old_config_when_the_state_it_saved_is_used_next_time_then_it_resumes_again(self, requests_mock):
        mock_window(requests_mock, "orders", LOCATION_ID, days_ago(4), TODAY,
                    [order("a", f"{days_ago(3)}T08:00:00.000Z")])
        first = read(SourceLeadway, config(), "orders", sync_mode="incremental",
                     stream_state={"createdAt": days_ago(4)})
        mock_window(requests_mock, "orders", LOCATION_ID, days_ago(3), TODAY,
                    [order("b", f"{days_ago(1)}T08:00:00.000Z")])
        second = read(SourceLeadway, config(), "orders", sync_mode="incremental",
                      stream_state=first.most_recent_state.stream_state.__dict__)
        assert [r["_id"] for r in records(second)] == ["b"] and not second.errors
        assert last_cursors(second) == {LOCATION_ID: days_ago(1)}

    def test_given_location_ids_with_that_one_location_and_old_state_when_read_then_no_reread(self, requests_mock):
        mock_window(requests_mock, "transactions", LOCATION_ID, days_ago(4), TODAY, [])
        output = read(SourceLeadway, locations_config(LOCATION_ID), "transactions", sync_mode="incremental",
                      stream_state={"createdAt": days_ago(4)})
        assert not output.errors and requests_mock.call_count == 1
        assert last_cursors(output) == {LOCATION_ID: days_ago(4)}

    def test_given_a_second_location_added_to_an_old_config_when_read_then_only_the_new_one_starts_over(
        self, requests_mock
    ):
        # The old location_id stays in the config (a hidden field of the spec): it says whose the plain state was.
        mock_window(requests_mock, "orders", LOCATION_ID, days_ago(4), TODAY, [])
        mock_window(requests_mock, "orders", SECOND_LOCATION_ID, START, TODAY, [])
        output = read(SourceLeadway, {**locations_config(), "location_id": LOCATION_ID}, "orders",
                      sync_mode="incremental", stream_state={"createdAt": days_ago(4)})
        assert not output.errors and requests_mock.call_count == 2

    def test_given_several_locations_and_a_plain_state_of_unknown_location_when_read_then_all_start_over_and_warn(
        self, requests_mock, caplog
    ):
        for location in LOCATIONS:
            mock_window(requests_mock, "orders", location, START, TODAY, [])
        with caplog.at_level(logging.WARNING, logger="airbyte"):
            output = read(SourceLeadway, locations_config(), "orders", sync_mode="incremental",
                          stream_state={"createdAt": days_ago(4)})
        assert not output.errors and requests_mock.call_count == 2  # read twice rather than skipped
        warning = " ".join(record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
        assert "does not say which location_id it was saved for" in warning and "stream orders" in warning

    def test_given_old_config_when_check_then_it_probes_its_one_location(self, requests_mock):
        probe = requests_mock.get(LeadwayRequest.check_probe(LOCATION_ID).url, json=page([]), complete_qs=True)
        assert check(SourceLeadway, config())["status"] == "SUCCEEDED" and probe.call_count == 1


class TestErrorsNameTheLocation:
    def test_given_403_for_one_location_during_read_then_config_error_naming_it(self, requests_mock, no_waiting):
        mock_window(requests_mock, "orders", LOCATION_ID, START, TODAY, [])
        requests_mock.get(LeadwayRequest.orders(location=SECOND_LOCATION_ID).window(START, TODAY).url,
                          status_code=403, complete_qs=True,
                          json=error(403, "The token does not have access to this location.", "Forbidden"))
        output = read(SourceLeadway, locations_config(), "orders")
        assert failure_type(output) == "config_error"
        message = output.errors[0].trace.error.message  # a real sync stops on it (connectors_shared.source)
        assert message.startswith(
            f"Leadway refused access to location {SECOND_LOCATION_ID} (The token does not have access to this "
            "location.). Check that the access token may read this sub-account (location)")
        assert message.endswith(f"or remove {SECOND_LOCATION_ID} from location_ids.") and "'" not in message


@pytest.mark.parametrize("locations, workers", [(0, 2), (1, 2), (2, 4), (3, 6), (4, 8), (30, 8)])
def test_two_workers_per_location_at_most_eight(locations, workers):
    # 0: a config written before location_ids, with its one location_id.
    configured = locations_config(*[f"loc{n:02d}" for n in range(locations)]) if locations else config()
    source = SourceLeadway(config=configured)
    level = source.manifest["concurrency_level"]
    assert ConcurrencyLevel(default_concurrency=level["default_concurrency"], max_concurrency=level["max_concurrency"],
                            config=source.effective_config, parameters={}).get_concurrency_level() == workers
