"""The CDK's standard connector tests (spec, check, discover, read, bad catalog) for a connector, against the sandbox.

Each connector's ``unit_tests/test_standard_suite.py`` is two statements::

    from tests.standard_suite import pytest_generate_tests, sandbox_standard_suite  # noqa: F401

    TestWickedReportsStandardSuite = sandbox_standard_suite(
        SourceWickedreports, "source-wickedreports", failing={"wrong_token": {"api_key": "not-a-valid-key"}}
    )

Beside the CDK's tests, ``AcceptanceTests`` adds what Airbyte's acceptance tests check and the CDK's suite does not:
two full-refresh reads give identical records; a state in the far future reads nothing, exits cleanly and still
gives a state per stream; a read resumed from every state message of a full read (not only the last) misses no
record; every primary key and cursor field exists in its stream's schema.

The scenarios that ``acceptance-test-config.yml`` would list are built here instead, because the sandbox listens on a
port chosen at start-up: the connector's sandbox config (spec, connection, discovery, basic read must succeed) and
each ``failing`` override of it (``check`` must report FAILED). The suite's inherited Docker-image tests are left
out: they download a Dockerfile template from github.com, which no machine here can reach. The images are built and
run, offline, by ``tests/test_container_images.py`` instead.
"""

from __future__ import annotations

import atexit
import inspect
import json
import re
from collections import Counter
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

import pytest
from airbyte_cdk.models import (
    AirbyteMessageSerializer,
    AirbyteStateMessage,
    AirbyteStateMessageSerializer,
    ConfiguredAirbyteCatalogSerializer,
)
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from airbyte_cdk.test.entrypoint_wrapper import discover as discover_in_process
from airbyte_cdk.test.entrypoint_wrapper import read as read_in_process
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import SourceTestSuiteBase
from airbyte_cdk.test.standard_tests.pytest_hooks import pytest_generate_tests  # noqa: F401 - parametrizes `scenario`

from tests.harness import REPO, Connector, configured_catalog
from tests.sandbox import Sandbox

__all__ = ["pytest_generate_tests", "sandbox_standard_suite"]


def _scenario(name: str, config: Dict[str, Any], sections: tuple, status: str) -> ConnectorTestScenario:
    scenario = ConnectorTestScenario(config_dict=config, sections=sections, status=status)
    scenario._id = name
    return scenario


FAR_FUTURE_YEAR = "2999"  # a date cursor's year in the far-future state


class AcceptanceTests:
    """Acceptance-grade reads of one connector against the sandbox (see the module docstring).

    Reads run in-process; each test runs only for the scenario that must succeed. ``source_class`` and
    ``sandbox_config`` are set by ``sandbox_standard_suite``.
    """

    source_class: type
    sandbox_config: Dict[str, Any]

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _only_for_the_working_config(self, scenario: ConnectorTestScenario) -> None:
        if not scenario.expected_outcome.expect_success():
            pytest.skip("acceptance reads run for the working sandbox config only")

    def _catalog(self) -> Dict[str, Any]:
        output = discover_in_process(self.source_class(config=self.sandbox_config), dict(self.sandbox_config))
        assert not output.errors, output.get_formatted_error_message()
        return AirbyteMessageSerializer.dump(output.catalog)["catalog"]

    def _read(self, configured: Dict[str, Any], state: Optional[List[Dict[str, Any]]] = None) -> EntrypointOutput:
        catalog = ConfiguredAirbyteCatalogSerializer.load(configured)
        states = [_state_message(message) for message in state] if state is not None else None
        source = self.source_class(catalog=catalog, config=self.sandbox_config, state=states)
        output = read_in_process(source, dict(self.sandbox_config), catalog, states)
        assert not output.errors, output.get_formatted_error_message()
        return output

    @staticmethod
    def _incremental_only(configured: Dict[str, Any]) -> Dict[str, Any]:
        return {"streams": [s for s in configured["streams"] if s["sync_mode"] == "incremental"]}

    # -- tests -----------------------------------------------------------------------------------------------------

    def test_primary_keys_and_cursor_fields_exist_in_their_schemas(self, scenario: ConnectorTestScenario) -> None:
        self._only_for_the_working_config(scenario)
        for stream in self._catalog()["streams"]:
            paths = list(stream.get("source_defined_primary_key") or [])
            if stream.get("default_cursor_field"):
                paths.append(stream["default_cursor_field"])
            for path in paths:
                schema = stream["json_schema"]
                for key in path:
                    properties = schema.get("properties") or {}
                    assert key in properties, f"{stream['name']}: {'.'.join(path)} is not in the stream's schema"
                    schema = properties[key]

    def test_two_full_refresh_reads_give_identical_records(self, scenario: ConnectorTestScenario) -> None:
        self._only_for_the_working_config(scenario)
        configured = configured_catalog(self._catalog(), incremental=False)
        first, second = (Counter(_record_bodies(self._read(configured))) for _ in range(2))
        assert first, "the sandbox gave no records at all"
        assert first == second

    def test_a_state_in_the_far_future_reads_nothing_and_still_gives_a_state_per_stream(
        self, scenario: ConnectorTestScenario
    ) -> None:
        self._only_for_the_working_config(scenario)
        configured = self._incremental_only(configured_catalog(self._catalog(), incremental=True))
        if not configured["streams"]:
            pytest.skip("no stream of this connector reads incrementally")
        full = self._read(configured)
        cursors = {s["stream"]["name"]: s["cursor_field"][-1] for s in configured["streams"]}
        future = [_moved_to_year(message, cursors, FAR_FUTURE_YEAR) for message in _last_state_per_stream(full)]
        assert len(future) == len(configured["streams"]), "the full read did not end with a state for every stream"
        output = self._read(configured, future)
        assert not output.records, f"records from a state in {FAR_FUTURE_YEAR}: {_record_bodies(output)[:3]}"
        assert {m.state.stream.stream_descriptor.name for m in output.state_messages} == set(cursors)

    def test_a_read_resumed_from_any_state_message_misses_no_record(self, scenario: ConnectorTestScenario) -> None:
        self._only_for_the_working_config(scenario)
        configured = self._incremental_only(configured_catalog(self._catalog(), incremental=True))
        if not configured["streams"]:
            pytest.skip("no stream of this connector reads incrementally")
        keys = {s["stream"]["name"]: s["primary_key"] for s in configured["streams"]}
        full = self._read(configured)
        # For each stream: its distinct state messages in order, and the keys of the records emitted after each.
        checkpoints: Dict[str, List[Tuple[Dict[str, Any], Set[Any]]]] = {}
        for message in full.records_and_state_messages:
            if message.state is not None:
                name = message.state.stream.stream_descriptor.name
                dumped = _dump_state(message)
                if not checkpoints.get(name) or checkpoints[name][-1][0] != dumped:
                    checkpoints.setdefault(name, []).append((dumped, set()))
            else:
                record = message.record
                for _, after in checkpoints.get(record.stream, []):
                    after.add(_key(record.stream, record.data, keys[record.stream]))
        assert set(checkpoints) == set(keys), "every incremental stream checkpoints at least once"
        # Resume read i starts every stream that has an i-th distinct state from it.
        for index in range(max(len(points) for points in checkpoints.values())):
            names = [name for name, points in checkpoints.items() if index < len(points)]
            state = [checkpoints[name][index][0] for name in names]
            selected = {"streams": [s for s in configured["streams"] if s["stream"]["name"] in names]}
            resumed: Dict[str, Set[Any]] = {}
            for record in self._read(selected, state).records:
                resumed.setdefault(record.record.stream, set()).add(
                    _key(record.record.stream, record.record.data, keys[record.record.stream]))
            for name in names:
                dumped, after = checkpoints[name][index]
                missed = after - resumed.get(name, set())
                assert not missed, (f"{name}: resumed from state {json.dumps(dumped['stream']['stream_state'])} "
                                    f"the read missed {len(missed)} record(s), e.g. {sorted(missed, key=str)[:3]}")


def _state_message(message: Dict[str, Any]) -> AirbyteStateMessage:
    return AirbyteStateMessageSerializer.load(message)


def _dump_state(message: Any) -> Dict[str, Any]:
    dumped = AirbyteStateMessageSerializer.dump(message.state)
    dumped.pop("sourceStats", None)
    return dumped


def _last_state_per_stream(output: EntrypointOutput) -> List[Dict[str, Any]]:
    last: Dict[str, Dict[str, Any]] = {}
    for message in output.state_messages:
        last[message.state.stream.stream_descriptor.name] = _dump_state(message)
    return list(last.values())


def _moved_to_year(message: Dict[str, Any], cursors: Mapping[str, str], year: str) -> Dict[str, Any]:
    """The state message with every value of its stream's cursor field moved to ``year`` (same format); a cursor
    that is a hexadecimal id (Shopline's keyset ``id``) becomes the largest id of its length."""
    cursor = cursors[message["stream"]["stream_descriptor"]["name"]]

    def far(value: str) -> str:
        if re.match(r"^\d{4}-", value):
            return year + value[4:]
        if re.fullmatch(r"[0-9a-f]+", value):
            return "f" * len(value)
        raise AssertionError(f"cannot tell what lies in the far future of the cursor value {value!r}")

    def move(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (far(v) if k == cursor and isinstance(v, str) else move(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [move(item) for item in value]
        return value

    moved = json.loads(json.dumps(message))
    moved["stream"]["stream_state"] = move(moved["stream"]["stream_state"])
    return moved


def _key(stream: str, data: Mapping[str, Any], primary_key: List[List[str]]) -> Any:
    if not primary_key:
        return json.dumps(data, sort_keys=True)
    values = []
    for path in primary_key:
        value: Any = data
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        values.append(value)
    return tuple(values)


def _record_bodies(output: EntrypointOutput) -> List[str]:
    return [f"{m.record.stream} {json.dumps(m.record.data, sort_keys=True)}" for m in output.records]


def sandbox_standard_suite(
    source_class: type,
    connector_folder: str,
    failing: Mapping[str, Mapping[str, Any]],
    records: int = 120,
) -> type:
    """A ``SourceTestSuiteBase`` subclass for ``source_class``, defined in the calling test module."""
    # Scenarios are collected before any fixture runs, so the sandbox starts now and stops with the process.
    sandbox = Sandbox(records=records).start()
    atexit.register(sandbox.stop)
    config = Connector(connector_folder, REPO / connector_folder).sandbox_config(sandbox.url)
    scenarios = [_scenario("sandbox", config, ("spec", "connection", "discovery", "basic_read"), "succeed")]
    scenarios += [_scenario(name, {**config, **override}, ("connection",), "failed") for name, override in failing.items()]

    def get_scenarios(cls) -> list:
        return scenarios

    def create_connector(cls, scenario: Optional[ConnectorTestScenario]) -> Any:
        # The requester's URL is rendered from the config, so the source must be built with it.
        scenario_config = (
            scenario.get_config_dict(connector_root=cls.get_connector_root_dir(), empty_if_missing=True)
            if scenario
            else None
        )
        return source_class(config=scenario_config or None)

    caller = inspect.stack()[1].frame.f_globals
    namespace: Dict[str, Any] = {
        "__module__": caller["__name__"],  # the CDK finds the connector folder from the test module's location
        "connector": source_class,
        "get_scenarios": classmethod(get_scenarios),
        "create_connector": classmethod(create_connector),
        "source_class": source_class,
        "sandbox_config": config,
    }
    for name in dir(SourceTestSuiteBase):
        if name.startswith("test_docker_image"):
            namespace[name] = None  # not collected: see the module docstring
    return type(f"Test{source_class.__name__}StandardSuite", (AcceptanceTests, SourceTestSuiteBase), namespace)
