"""The harness's state comparison masks only the sync duration the CDK writes, and still sees every other difference."""

import pytest

from tests.harness import comparable_states


def _campaign_state(created_at: str, duration: int) -> dict:
    return {
        "states": [{"partition": {"campaign_id": "65a1f0c20000000000000004"}, "cursor": {"createdAt": created_at}}],
        "lookback_window": duration,
    }


def test_given_states_differing_only_in_sync_duration_then_comparable_states_are_equal() -> None:
    assert comparable_states({"campaign_orders": _campaign_state("2024-12-31T06:25:55Z", 4)}) == comparable_states(
        {"campaign_orders": _campaign_state("2024-12-31T06:25:55Z", 5)}
    )


def test_given_states_differing_in_a_cursor_then_comparable_states_differ() -> None:
    assert comparable_states({"campaign_orders": _campaign_state("2024-12-31T06:25:55Z", 4)}) != comparable_states(
        {"campaign_orders": _campaign_state("2024-12-30T12:51:50Z", 4)}
    )


def test_given_a_sync_duration_that_is_not_seconds_then_comparison_fails() -> None:
    with pytest.raises(AssertionError, match="lookback_window"):
        comparable_states({"campaign_orders": _campaign_state("2024-12-31T06:25:55Z", "4")})
