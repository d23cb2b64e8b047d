"""What the demo prints about state and records: readable at a glance, never the CDK's bookkeeping."""

from __future__ import annotations

import pytest

from tests.demo import partition_lines, sample_lines, state_summary

CAMPAIGNS = {
    "use_global_cursor": False,
    "states": [
        {"partition": {"campaign_id": f"65a1f0c2000000000000000{i}", "parent_slice": {}},
         "cursor": {"createdAt": f"2024-12-2{i}T08:09:36Z"}}
        for i in range(5)
    ],
    "state": {"createdAt": "2024-12-24T08:09:36Z"},
    "lookback_window": 6,
    "parent_state": {},
}
KEYSET = {"states": [{"partition": {"affiliate_campaign_id": "6400"}, "cursor": {"id": "676fb24"}}]}


@pytest.mark.parametrize(
    "state, shown",
    [
        ({"__ab_no_cursor_state_message": True}, "none (read whole each time)"),
        ({"createdAt": "2024-12-30"}, "createdAt 2024-12-30"),
        ({"updated_at": "2025-01-01 11:04:48.363"}, "updated_at 2025-01-01 11:04:48.363"),
        (CAMPAIGNS, "5 partitions by campaign_id, createdAt up to 2024-12-24T08:09:36Z"),
        (KEYSET, "affiliate_campaign_id 6400: id 676fb24"),
        ({**CAMPAIGNS, "use_global_cursor": True, "states": []},
         "0 partitions by partition; one cursor for all: createdAt 2024-12-24T08:09:36Z"),
        (None, "-"),
    ],
)
def test_state_is_summarised_in_one_line_without_bookkeeping(state, shown) -> None:
    assert state_summary(state) == shown
    assert "__ab_" not in state_summary(state) and "lookback_window" not in state_summary(state)


def test_partitions_are_listed_with_their_cursor_a_few_at_a_time() -> None:
    assert partition_lines(CAMPAIGNS) == [
        "65a1f0c20000000000000000: createdAt 2024-12-20T08:09:36Z",
        "65a1f0c20000000000000001: createdAt 2024-12-21T08:09:36Z",
        "65a1f0c20000000000000002: createdAt 2024-12-22T08:09:36Z",
        "... and 2 more",
    ]
    assert partition_lines(KEYSET) == []  # one partition: said whole in the summary
    assert partition_lines({"createdAt": "2024-12-30"}) == []
    assert partition_lines({"__ab_no_cursor_state_message": True}) == []


def test_a_sample_record_is_cut_to_two_lines() -> None:
    record = {"id": "WR-1", "note": "x" * 500}
    lines = sample_lines(record, width=40)
    assert len(lines) == 2 and all(len(line) <= 40 for line in lines)
    assert lines[0].startswith('{"id":"WR-1"') and lines[1].endswith("...")
    assert sample_lines({"id": 1}, width=40) == ['{"id":1}']
