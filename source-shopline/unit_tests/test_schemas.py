"""The schemas share their repeated parts through ``$ref`` to fragment files in ``schemas/shared/``.

The CDK's ``JsonFileSchemaLoader`` resolves a ``$ref`` such as ``"money.json"`` or ``"order.json#/properties/id"``
against ``schemas/shared/`` of the package; discover must show the schemas fully resolved, and the package must ship
the fragments.
"""

import json
import tomllib
from pathlib import Path

import pytest

from builders import config
from connectors_shared.testing import discover
from source_shopline import SourceShopline

PACKAGE = Path(__file__).resolve().parents[1] / "source_shopline"
SCHEMAS = PACKAGE / "schemas"
SHARED = SCHEMAS / "shared"


@pytest.fixture(scope="module")
def discovered():
    return {s.name: s.json_schema for s in discover(SourceShopline, config()).catalog.catalog.streams}


def refs_in(value):
    if isinstance(value, dict):
        return ([value["$ref"]] if "$ref" in value else []) + [r for v in value.values() for r in refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs_in(v)]
    return []


def money_objects(value, path=""):
    """Paths of every object schema declaring the money fields (cents, dollars, currency_iso)."""
    found = []
    if isinstance(value, dict):
        if {"cents", "dollars", "currency_iso"} <= set(value.get("properties") or {}):
            found.append(path)
        for key, item in value.items():
            found += money_objects(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += money_objects(item, f"{path}/{index}")
    return found


def test_discover_shows_every_schema_fully_resolved(discovered):
    assert set(discovered) == {"affiliate_campaigns", "affiliate_campaign_orders", "orders", "order_items"}
    for name, schema in discovered.items():
        assert refs_in(schema) == [], f"{name} still holds a $ref"
        assert "definitions" not in schema
        assert schema["type"] == "object" and schema["properties"]


def test_the_money_object_is_written_once_and_every_money_field_is_that_object(discovered):
    money = json.loads((SHARED / "money.json").read_text())
    on_disk = {path.relative_to(SCHEMAS).as_posix(): money_objects(json.loads(path.read_text()))
               for path in SCHEMAS.rglob("*.json")}
    assert {name: paths for name, paths in on_disk.items() if paths} == {"shared/money.json": [""]}
    resolved = [(name, path) for name, schema in discovered.items() for path in money_objects(schema)]
    assert len(resolved) == 20 + 20 + 2 + 7  # orders, affiliate_campaign_orders, a campaign, an order_items row
    for name, path in resolved:
        node = discovered[name]
        for key in path.strip("/").split("/"):
            node = node[int(key)] if isinstance(node, list) else node[key]
        assert node == money, f"{name}{path}"


def test_orders_and_campaign_orders_share_the_order_body_field_by_field(discovered):
    order = discovered["orders"]
    campaign_order = discovered["affiliate_campaign_orders"]
    assert {k: v for k, v in campaign_order["properties"].items() if k != "affiliate_campaign_id"} == order["properties"]
    assert campaign_order["properties"]["affiliate_campaign_id"]["type"] == "string"
    assert campaign_order["required"] == ["affiliate_campaign_id", "id"] and order["required"] == ["id"]
    # The body is declared once: the stream files only point at it.
    assert json.loads((SCHEMAS / "orders.json").read_text()) == {"$ref": "order.json"}
    pointers = refs_in(json.loads((SCHEMAS / "affiliate_campaign_orders.json").read_text()))
    assert sorted(pointers) == sorted(f"order.json#/properties/{name}" for name in order["properties"])


def test_order_items_rows_are_typed_like_the_items_of_an_order(discovered):
    item = discovered["orders"]["properties"]["subtotal_items"]["items"]
    rows = discovered["order_items"]["properties"]
    assert {name: rows[name] for name in item["properties"] if name != "id"} == {
        name: schema for name, schema in item["properties"].items() if name != "id"}
    assert rows["id"]["type"] == "string"  # part of the primary key: never null


def test_the_package_ships_the_fragments():
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["source_shopline"]
    assert "schemas/shared/*.json" in patterns and "schemas/*.json" in patterns
    referenced = {ref.split("#")[0] for path in SCHEMAS.rglob("*.json") for ref in refs_in(json.loads(path.read_text()))}
    assert referenced == {path.name for path in SHARED.glob("*.json")}  # every fragment used, none missing
