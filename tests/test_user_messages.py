"""What a person running a connector reads, from real connector processes (as Airbyte and PyAirbyte run them).

- a config the spec refuses: each field named, what it expects said in words, no jsonschema phrasing or regular
  expression, a secret never quoted back;
- a failed check: the sentence itself, without the quotes or ``Exception(...)`` Python wrapped it in;
- no LOG line carries a Python traceback.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
import yaml

from tests.harness import Connector, ConnectorRunner, Run, connectors
from tests.sandbox import Sandbox

pytestmark = pytest.mark.integration

CONNECTORS = connectors()
IDS = [c.name for c in CONNECTORS]
JSONSCHEMA_WORDS = ("Config validation error", "is not of type", "does not match", "is a required property", "^[0-9]")
NOT_A_SECRET = 123456789


def _spec(connector: Connector) -> Dict[str, Any]:
    manifest = connector.folder / connector.name.replace("-", "_") / "manifest.yaml"
    return yaml.safe_load(manifest.read_text())["spec"]["connection_specification"]


def _secret(connector: Connector) -> str:
    return next(name for name, prop in _spec(connector)["properties"].items() if prop.get("airbyte_secret"))


def _logs_with_tracebacks(run: Run) -> List[str]:
    logs = [m["log"]["message"] for m in run.of_type("LOG")]
    return [log[:300] for log in logs if "Traceback" in log or 'File "' in log]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(records=20) as running:
        yield running


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_given_a_config_the_spec_refuses_when_check_then_each_field_is_named_in_words(connector) -> None:
    properties = _spec(connector)["properties"]
    config = {**connector.sandbox_config("http://127.0.0.1:9"), "page_size": "lots", _secret(connector): NOT_A_SECRET}
    if "start_date" in properties:
        config["start_date"] = "2024/01/01"
    run = ConnectorRunner(connector, config).run("check")
    status = run.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED" and run.returncode == 0
    message = status["message"]
    example = properties["page_size"].get("default")
    assert f"page_size: 'lots' is not an integer, for example {example} (the default)." in message
    assert f"{_secret(connector)}: the value given is not text (a string in quotes)." in message
    if "start_date" in properties:
        assert "start_date: '2024/01/01' is not a date like 2024-01-01" in message
    assert not [words for words in JSONSCHEMA_WORDS if words in message], message
    assert str(NOT_A_SECRET) not in run.stdout + run.stderr
    assert not _logs_with_tracebacks(run)


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_given_a_missing_secret_when_discover_then_a_config_error_says_what_it_is(connector) -> None:
    config = connector.sandbox_config("http://127.0.0.1:9")
    secret = config.pop(_secret(connector))
    run = ConnectorRunner(connector, config).run("discover")
    assert run.returncode == 1 and not run.of_type("CATALOG")
    (error,) = run.errors
    title = _spec(connector)["properties"][_secret(connector)]["title"]
    assert error["failure_type"] == "config_error" and not error.get("stack_trace")
    assert error["message"].startswith(f"{_secret(connector)} is missing; it is required ({title}: ")
    assert "Traceback" not in run.stdout + run.stderr and secret not in run.stdout


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_given_a_refused_token_when_check_then_the_message_has_no_python_quoting(connector, sandbox) -> None:
    config = {**connector.sandbox_config(sandbox.url), _secret(connector): "definitely-not-a-valid-token"}
    run = ConnectorRunner(connector, config).run("check")
    message = run.of_type("CONNECTION_STATUS")[0]["connectionStatus"]["message"]
    assert message[0] not in "'\"" and message[-1] not in "'\")", message
    assert not message.startswith(("Exception(", "AirbyteTracedException(")), message
    assert len(message) > 40 and "Traceback" not in message
    assert not _logs_with_tracebacks(run)
