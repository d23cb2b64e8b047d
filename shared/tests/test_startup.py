"""The CDK's protocol serializers are built without their JSON schemas, which they still give when asked."""

from __future__ import annotations

import json
import subprocess
import sys

from airbyte_cdk.models import AirbyteCatalog, AirbyteMessage, AirbyteRecordMessage, Type
from airbyte_cdk.models.airbyte_protocol_serializers import AirbyteCatalogSerializer, AirbyteMessageSerializer
from serpyco_rs import Serializer
from serpyco_rs._json_schema import get_json_schema as build_json_schema

from connectors_shared.cdk_hooks import _DeferredSchema, defer_serializer_json_schemas


def test_a_connector_process_imports_the_cdk_without_building_serializer_schemas() -> None:
    # In a fresh interpreter, as a connector starts: its package imports connectors_shared before the CDK.
    probe = (
        "import json, source_wickedreports\n"
        "from airbyte_cdk.models import airbyte_protocol_serializers as s\n"
        "print(json.dumps({name: type(value._schema).__name__ for name, value in vars(s).items()"
        " if name.endswith('Serializer') and hasattr(value, '_schema')}))\n"
    )
    process = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    schema_types = json.loads(process.stdout)
    assert "AirbyteMessageSerializer" in schema_types
    assert set(schema_types.values()) == {"_DeferredSchema"}, schema_types


def test_a_deferred_schema_is_the_schema_serpyco_would_have_built() -> None:
    serializer = Serializer(AirbyteCatalog, omit_none=True)
    deferred = serializer._schema
    assert isinstance(deferred, _DeferredSchema)
    expected = build_json_schema(deferred.type_info)
    assert serializer.get_json_schema() == expected
    assert serializer.get_json_schema() is serializer.get_json_schema()  # built once
    catalog_schema = AirbyteCatalogSerializer.get_json_schema()
    assert catalog_schema["$ref"].endswith(".AirbyteCatalog")
    assert "streams" in catalog_schema["components"]["schemas"][catalog_schema["$ref"].rsplit("/", 1)[1]]["properties"]


def test_serialisation_is_unchanged() -> None:
    message = AirbyteMessage(
        type=Type.RECORD, record=AirbyteRecordMessage(stream="orders", data={"id": 1, "x": "y"}, emitted_at=5)
    )
    assert AirbyteMessageSerializer.dump(message) == {
        "type": "RECORD",
        "record": {"stream": "orders", "data": {"id": 1, "x": "y"}, "emitted_at": 5},
    }


def test_deferring_twice_changes_nothing() -> None:
    method = Serializer.get_json_schema
    assert defer_serializer_json_schemas() is True
    assert Serializer.get_json_schema is method
