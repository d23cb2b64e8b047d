"""Keep the five manifests consistent: the shared components everywhere, keys and schemas on every stream."""

from __future__ import annotations

import importlib
import threading

import pytest
import yaml
from airbyte_cdk.sources.streams.concurrent.cursor import ConcurrentCursor

from connectors_shared.component_factory import ComponentFactory
from connectors_shared.budget_per_value import BudgetPerQueryValue
from connectors_shared.cursors import DatetimeWindowCursor, PartitionWindowCursor
from connectors_shared.rate_limiting import HeaderPacedBudget
from tests.harness import connectors

CONNECTORS = connectors()
IDS = [c.name for c in CONNECTORS]


def package_of(connector):
    return connector.name.replace("-", "_")


def manifest_text(connector) -> str:
    return (connector.folder / package_of(connector) / "manifest.yaml").read_text()


def source_of(connector, config):
    module = importlib.import_module(package_of(connector))
    source_class = next(getattr(module, name) for name in dir(module) if name.startswith("Source"))
    return source_class(config=config)


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_manifest_uses_the_shared_components(connector):
    text = manifest_text(connector)
    for component in (
        "connectors_shared.error_handling.VendorErrorHandler",
        "connectors_shared.normalizer.SchemaNormalizer",
        "connectors_shared.decoding.StrictJsonDecoder",
        "connectors_shared.extraction.FieldPathExtractor",
    ):
        assert component in text, f"{connector.name} does not use {component}"
    assert "DpathExtractor" not in text and "schema_normalization: Default" not in text
    assert "api_budget:" in text and "HTTPAPIBudget" in text


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_spec_has_base_url_and_hides_every_credential(connector):
    spec = yaml.safe_load(manifest_text(connector))["spec"]["connection_specification"]
    assert "base_url" in spec["properties"]
    secrets = [name for name, prop in spec["properties"].items() if prop.get("airbyte_secret")]
    assert secrets, "a connector without a secret field"
    for name in spec["properties"]:
        if any(word in name for word in ("token", "key", "secret", "password")):
            assert name in secrets, f"{name} looks like a credential but is not airbyte_secret"


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_every_stream_has_a_primary_key_a_schema_and_the_header_paced_budget(connector):
    source = source_of(connector, connector.sandbox_config("http://127.0.0.1:9"))
    streams = source.streams(source._config)
    assert streams
    for stream in streams:
        airbyte_stream = stream.as_airbyte_stream()
        assert airbyte_stream.source_defined_primary_key, f"{stream.name} has no primary key"
        assert airbyte_stream.json_schema.get("properties"), f"{stream.name} has no schema"
    assert isinstance(source.budget, (HeaderPacedBudget, BudgetPerQueryValue))  # Leadway: one per location


def test_no_cdk_rate_limiter_thread_is_left_running():
    # The CDK's own HTTPAPIBudget starts a limiter thread; ManifestSource must not build it.
    for connector in CONNECTORS:
        source = source_of(connector, connector.sandbox_config("http://127.0.0.1:9"))
        source.streams(source._config)
    assert not [t for t in threading.enumerate() if "leak" in t.name.lower()]


def test_datetime_cursors_are_built_by_the_shared_factory():
    # ManifestSource switches the CDK's factory to ComponentFactory: no stream may fall back to the CDK's
    # ConcurrentCursor, whose per-record hashing and strptime were a third of a read's CPU.
    built = []
    for connector in CONNECTORS:
        source = source_of(connector, connector.sandbox_config("http://127.0.0.1:9"))
        assert isinstance(source._constructor, ComponentFactory)
        for stream in source.streams(source._config):
            assert type(stream.cursor) is not ConcurrentCursor, f"{connector.name}/{stream.name}"
            if isinstance(stream.cursor, (DatetimeWindowCursor, PartitionWindowCursor)):  # Leadway: one per location
                built.append(f"{connector.name}/{stream.name}")
    assert "source-wickedreports/orders" in built and "source-leadway/transactions" in built
