"""The CDK's standard connector tests (spec, check, discover, read, bad catalog) for a connector, against the sandbox.

Each connector's ``unit_tests/test_standard_suite.py`` is two statements::

    from tests.standard_suite import pytest_generate_tests, sandbox_standard_suite  # noqa: F401

    TestWickedReportsStandardSuite = sandbox_standard_suite(
        SourceWickedreports, "source-wickedreports", failing={"wrong_token": {"api_key": "not-a-valid-key"}}
    )

The scenarios that ``acceptance-test-config.yml`` would list are built here instead, because the sandbox listens on a
port chosen at start-up: the connector's sandbox config (spec, connection, discovery, basic read must succeed) and
each ``failing`` override of it (``check`` must report FAILED). The suite's inherited Docker-image tests are left
out: they download a Dockerfile template from github.com, which no machine here can reach. The images are built and
run, offline, by ``tests/test_container_images.py`` instead.
"""

from __future__ import annotations

import atexit
import inspect
from typing import Any, Dict, Mapping, Optional

from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import SourceTestSuiteBase
from airbyte_cdk.test.standard_tests.pytest_hooks import pytest_generate_tests  # noqa: F401 - parametrizes `scenario`

from tests.harness import REPO, Connector
from tests.sandbox import Sandbox

__all__ = ["pytest_generate_tests", "sandbox_standard_suite"]


def _scenario(name: str, config: Dict[str, Any], sections: tuple, status: str) -> ConnectorTestScenario:
    scenario = ConnectorTestScenario(config_dict=config, sections=sections, status=status)
    scenario._id = name
    return scenario


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
    }
    for name in dir(SourceTestSuiteBase):
        if name.startswith("test_docker_image"):
            namespace[name] = None  # not collected: see the module docstring
    return type(f"Test{source_class.__name__}StandardSuite", (SourceTestSuiteBase,), namespace)
