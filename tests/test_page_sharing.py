"""A child stream and its parent read in one sync fetch each page once (connectors_shared.page_sharing), through
real connector processes against the sandbox: no request is sent twice, and every stream's records are the ones it
reads on its own.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.harness import ConnectorRunner, configured_catalog, connectors
from tests.sandbox import Sandbox
from tests.test_resilience import keys_by_stream

pytestmark = pytest.mark.integration
CONNECTORS = {connector.name: connector for connector in connectors()}
# connector: (vendor, the parent's path, its stream and the child streams that read its pages)
FAMILIES = {
    "source-openletter": ("openletter", "/orders/", ["orders", "order_recipients"]),
    "source-wickedreports": ("wickedreports", "/orders", ["orders", "order_products", "order_payments"]),
    "source-shopline": ("shopline", "/v1/orders", ["orders", "order_items"]),
}


def rows(records):
    """Each stream's records, whole (every field), in a comparable order."""
    found = {}
    for record in records:
        found.setdefault(record["stream"], []).append(json.dumps(record["data"], sort_keys=True))
    return {stream: sorted(data) for stream, data in found.items()}


def only(catalog, streams):
    return {**catalog, "streams": [s for s in catalog["streams"] if s["stream"]["name"] in streams]}


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("incremental", [False, True], ids=["full_refresh", "incremental"])
def test_a_parent_and_its_children_fetch_each_page_once_and_read_what_each_reads_alone(name, incremental):
    vendor_name, path, family = FAMILIES[name]
    connector = CONNECTORS[name]
    with Sandbox(records=600, prefix="/sharing") as sandbox:
        vendor = sandbox.vendor(vendor_name)
        runner = ConnectorRunner(connector, {**connector.sandbox_config(sandbox.url), "page_size": 50})
        catalog = configured_catalog(runner.discover_catalog(), incremental=incremental)
        vendor.requests.clear()
        together = runner.run("read", catalog=only(catalog, family))
        sent = [json.dumps([p, sorted(q.items())]) for p, q in vendor.requests if p == path]
        alone, alone_rows = {}, {}
        for stream in family:
            vendor.requests.clear()
            run = runner.run("read", catalog=only(catalog, [stream]))
            assert run.returncode == 0 and not run.errors, run.errors
            alone[stream] = keys_by_stream(run.records, only(catalog, [stream]))[stream]
            alone_rows[stream] = rows(run.records)[stream]
            if stream == family[0]:
                parent_requests = sum(1 for p, _ in vendor.requests if p == path)
    assert together.returncode == 0 and not together.errors, together.errors
    repeated = {request: count for request, count in Counter(sent).items() if count > 1}
    assert not repeated, f"pages fetched more than once: {repeated}"
    assert len(sent) == parent_requests  # the family costs what the parent alone costs
    assert keys_by_stream(together.records, only(catalog, family)) == alone
    # Every field of every row, too: the children read pages cut to what they read (page_sharing), never less.
    assert rows(together.records) == alone_rows
    assert all(alone.values())
