"""The CDK's standard connector tests (spec, check, discover, read, bad catalog), run against the local sandbox.

The scenarios that ``acceptance-test-config.yml`` would list are built here instead, because the sandbox listens on
a port chosen at start-up: a working token, a wrong one and a location the token cannot read, which ``check`` must report as FAILED.
"""

from __future__ import annotations

import atexit
import functools
import sys
from pathlib import Path

import pytest
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import SourceTestSuiteBase
from airbyte_cdk.test.standard_tests.pytest_hooks import pytest_generate_tests  # noqa: F401 - parametrizes `scenario`

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from source_leadway import SourceLeadway  # noqa: E402
from tests.harness import Connector  # noqa: E402
from tests.sandbox import Sandbox  # noqa: E402

# Scenarios are collected before any fixture runs, so the sandbox starts with the module and stops with the process.
SANDBOX = Sandbox(records=120).start()
atexit.register(SANDBOX.stop)
SANDBOX_CONFIG = Connector("source-leadway", REPO / "source-leadway").sandbox_config(SANDBOX.url)


@pytest.fixture
def connector_image_override():
    return None  # the image tests build the image themselves; they run with `-m container` (tests/run_tests.sh --full)


@pytest.fixture
def connector_base_image_override():
    return None


def _in_container_suite(name: str):
    """The inherited image test ``name``, marked ``container`` so the quick suite deselects it (see pytest.ini)."""
    inherited = getattr(SourceTestSuiteBase, name)

    @functools.wraps(inherited)
    def test(self, *args, **kwargs):
        return inherited(self, *args, **kwargs)

    return pytest.mark.container(test)


def _scenario(name: str, config: dict, sections: tuple, status: str) -> ConnectorTestScenario:
    scenario = ConnectorTestScenario(config_dict=config, sections=sections, status=status)
    scenario._id = name
    return scenario


class TestLeadwayStandardSuite(SourceTestSuiteBase):
    connector = SourceLeadway

    @classmethod
    def get_scenarios(cls) -> list[ConnectorTestScenario]:
        return [
            _scenario("sandbox", SANDBOX_CONFIG, ("spec", "connection", "discovery", "basic_read"), "succeed"),
            _scenario("wrong_token", {**SANDBOX_CONFIG, "access_token": "not-a-valid-token"}, ("connection",), "failed"),
            _scenario("foreign_location", {**SANDBOX_CONFIG, "location_id": "someoneElsesLocation"}, ("connection",), "failed"),
        ]

    @classmethod
    def create_connector(cls, scenario: ConnectorTestScenario | None) -> SourceLeadway:
        # The requester's URL is rendered from the config, so the source must be built with it.
        config = scenario.get_config_dict(connector_root=cls.get_connector_root_dir(), empty_if_missing=True) if scenario else None
        return SourceLeadway(config=config or None)


for _name in [name for name in dir(SourceTestSuiteBase) if name.startswith("test_docker_image")]:
    setattr(TestLeadwayStandardSuite, _name, _in_container_suite(_name))
