"""Records handed from the CDK's workers to its main thread a page at a time (the record_batches hook in
connectors_shared.cdk_hooks): the same lines, counts and order as the CDK's own one-by-one path."""

import threading
import time
from collections import defaultdict
from queue import Queue

import orjson
import pytest
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource
from airbyte_cdk.sources.concurrent_source.stream_thread_exception import StreamThreadException
from airbyte_cdk.sources.connector_state_manager import HashableStreamDescriptor
from airbyte_cdk.sources.streams.concurrent.partition_reader import PartitionReader
from airbyte_cdk.sources.streams.concurrent.partitions.types import PartitionCompleteSentinel
from airbyte_cdk.sources.types import Record
from airbyte_cdk.sources.utils.record_helper import stream_data_to_airbyte_message

from connectors_shared import cdk_hooks
from connectors_shared.cdk_hooks import RecordBatch, RecordLines


@pytest.fixture
def batches():
    assert cdk_hooks.record_batches(True)
    yield
    cdk_hooks.record_batches(False)


class Partition:
    """A partition whose read yields ``pages`` of records, calling what a retriever calls before each request."""

    def __init__(self, pages, fail_after=None):
        self.pages, self.fail_after = pages, fail_after

    def read(self):
        for number, page in enumerate(self.pages):
            cdk_hooks.flush_record_batch()  # what HookedSimpleRetriever._fetch_next_page does before a request
            if number == self.fail_after:
                raise RuntimeError("page broken")
            for index in range(page):
                yield Record(data={"id": f"{number}-{index}"}, stream_name="orders")

    def stream_name(self):
        return "orders"


class Cursor:
    """Puts a marker where the CDK's cursor would emit its state (onto the same queue)."""

    def __init__(self, queue):
        self.queue, self.observed = queue, 0

    def observe(self, record):
        self.observed += 1

    def close_partition(self, partition):
        self.queue.put("STATE")


def drained(queue):
    items = []
    while not queue.empty():
        items.append(queue.get())
    return items


def test_a_worker_hands_over_a_page_at_a_time_and_every_record_before_the_partitions_state(batches, monkeypatch):
    monkeypatch.setattr(cdk_hooks, "RECORD_BATCH_SIZE", 500)
    queue = Queue()
    cursor = Cursor(queue)
    partition = Partition([3, 1200, 0, 2])
    PartitionReader(queue).process_partition(partition, cursor)
    items = drained(queue)
    sizes = [len(item) if isinstance(item, RecordBatch) else item for item in items[:-1]]
    # page 1 (3 records) goes when page 2 is requested; page 2 in batches of at most 500; the last page before the state
    assert sizes == [3, 500, 500, 200, 2, "STATE"]
    assert isinstance(items[-1], PartitionCompleteSentinel) and items[-1].is_successful
    assert [r.data["id"] for item in items[:-2] for r in item] == [
        f"{page}-{index}" for page, size in enumerate(partition.pages) for index in range(size)
    ]
    assert cursor.observed == 1205


def test_a_failing_partition_hands_over_what_it_read_then_its_error(batches):
    queue = Queue()
    PartitionReader(queue).process_partition(Partition([2, 3], fail_after=1), Cursor(queue))
    items = drained(queue)
    assert len(items[0]) == 2 and isinstance(items[0], RecordBatch)
    assert isinstance(items[1], StreamThreadException) and str(items[1].exception) == "page broken"
    assert isinstance(items[2], PartitionCompleteSentinel) and not items[2].is_successful
    assert len(items) == 3  # no state: the partition did not finish


def test_turned_off_the_cdks_own_path_runs(batches):
    cdk_hooks.record_batches(False)
    queue = Queue()
    PartitionReader(queue).process_partition(Partition([2]), Cursor(queue))
    assert [type(item).__name__ for item in drained(queue)] == ["Record", "Record", "str", "PartitionCompleteSentinel"]
    cdk_hooks.flush_record_batch()  # outside a batched partition: nothing to hand over, no error


def test_a_worker_waits_while_the_backlog_is_full_and_goes_on_as_the_main_thread_takes_batches(batches, monkeypatch):
    monkeypatch.setattr(cdk_hooks, "RECORD_BACKLOG_LIMIT", 4)
    monkeypatch.setattr(cdk_hooks, "RECORD_BATCH_SIZE", 3)
    queue = Queue()
    worker = threading.Thread(
        target=PartitionReader(queue).process_partition, args=(Partition([3, 3, 3]), Cursor(queue)), daemon=True
    )
    worker.start()
    source = type("Source", (), {"_queue": queue})()
    processor = type("Processor", (), {"on_record": lambda self, record: iter(()), "_record_counter": defaultdict(int)})()
    taken = []
    for _ in range(3):
        time.sleep(0.2)
        waiting = [item for item in list(queue.queue) if isinstance(item, RecordBatch)]
        assert len(waiting) == 1  # 3 records wait; 3 more would pass the limit of 4
        taken.append(queue.get())
        list(ConcurrentSource._handle_item(source, taken[-1], processor))  # the main thread takes them
    worker.join(2)
    assert not worker.is_alive()
    assert [len(batch) for batch in taken] == [3, 3, 3] and drained(queue)[0] == "STATE"


def test_the_backlog_wait_is_bounded(batches, monkeypatch):
    monkeypatch.setattr(cdk_hooks, "RECORD_BACKLOG_LIMIT", 2)
    monkeypatch.setattr(cdk_hooks, "RECORD_BATCH_SIZE", 2)
    monkeypatch.setattr(cdk_hooks, "RECORD_BACKLOG_WAIT_SECONDS", 0.2)
    queue = Queue()
    started = time.monotonic()
    PartitionReader(queue).process_partition(Partition([2, 2]), Cursor(queue))  # nobody takes the first batch
    assert time.monotonic() - started < 3
    assert [len(item) if isinstance(item, RecordBatch) else item for item in drained(queue)[:-1]] == [2, 2, "STATE"]


RECORDS = [
    {"id": "o1", "amount": 79.5, "note": None, "nested": {"kept": None}, "items": [None, {"a": None}]},
    {"id": "o2", "text": "caf\u00e9 \u2603 \"quoted\"\n", "n": -(2**63), "flag": False, "empty": {}},
    {"id": "o3", "huge": 10**20},  # past 64 bits: orjson refuses it, the CDK's own path writes it
    {},
]


def cdk_line(data):
    return orjson.loads(AirbyteEntrypoint.airbyte_message_to_string(stream_data_to_airbyte_message("orders", data)))


def test_the_main_thread_writes_each_record_as_the_cdk_would_and_counts_them(batches):
    batch = RecordBatch(Record(data=dict(data), stream_name="orders") for data in [{"id": "first"}, *RECORDS])
    counter = defaultdict(int)
    processor = type("Processor", (), {
        "on_record": lambda self, record: iter([stream_data_to_airbyte_message(record.stream_name, record.data)]),
        "_record_counter": counter,
    })()
    source = type("Source", (), {"_queue": Queue()})()
    messages = list(ConcurrentSource._handle_item(source, batch, processor))
    assert messages[0].record.data == {"id": "first"}  # the first record goes the CDK's way (its RUNNING status)
    lines = messages[1]
    assert isinstance(lines, RecordLines) and lines.count == len(RECORDS) and counter["orders"] == len(RECORDS)
    text = AirbyteEntrypoint.airbyte_message_to_string(lines)
    written = [orjson.loads(line) for line in text.split("\n")]
    for mine, data in zip(written, RECORDS):
        expected = cdk_line(data)
        assert abs(mine["record"].pop("emitted_at") - expected["record"].pop("emitted_at")) < 60_000
        assert mine == expected
    assert "note" not in written[0]["record"]["data"] and written[0]["record"]["data"]["nested"] == {"kept": None}
    counts = defaultdict(float)
    assert AirbyteEntrypoint.handle_record_counts(lines, counts) is lines
    assert counts == {HashableStreamDescriptor(name="orders", namespace=None): float(len(RECORDS))}


def test_the_hooks_targets_are_in_place():
    assert cdk_hooks.record_batches_problem() is None
