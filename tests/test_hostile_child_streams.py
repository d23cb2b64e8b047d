"""Child streams (order lines, payments, recipients) read their parents' pages: a broken or short parent page fails
the child stream too, as a real connector process against the hostile sandbox, never an exit 0 with rows missing."""

from __future__ import annotations

import pytest

from tests.sandbox.hostile import PROFILES, Hostile, broken_records, catalog_for, early_end

CHILDREN = [("source-wickedreports", "order_payments"), ("source-wickedreports", "order_products"),
            ("source-shopline", "order_items"), ("source-openletter", "order_recipients")]
BREAKS = {
    "records field null on page 2": lambda profile, stream: broken_records(profile, stream, 2, "null"),
    "short page 2 before the total": lambda profile, stream: early_end(profile, stream, 2, "short"),
}


@pytest.mark.parametrize("kind", list(BREAKS))
@pytest.mark.parametrize("connector,child", CHILDREN, ids=[child for _, child in CHILDREN])
def test_a_broken_parent_page_fails_the_child_stream_naming_vendor_and_page(connector, child, kind):
    profile = PROFILES[connector]
    with Hostile() as hostile:
        hostile.rewrite(profile, BREAKS[kind](profile, profile.main))
        outcome = hostile.run(profile, hostile.config(profile), "read", catalog=catalog_for(profile, [child]),
                              timeout=90)
    messages = [str(error.get("message") or "") for error in outcome.errors]
    assert outcome.returncode != 0 and not outcome.timed_out, f"{child} ended as a success: {messages}"
    assert any(profile.label in m and profile.main.endpoint in m for m in messages), messages


@pytest.mark.parametrize("kind", list(BREAKS))
@pytest.mark.parametrize("connector,child", CHILDREN, ids=[child for _, child in CHILDREN])
def test_a_broken_parent_page_fails_the_parent_and_the_child_read_together(connector, child, kind):
    # Read together, the child gets its parent's pages from a copy cut to what it reads (page_sharing): a broken
    # page must still fail both streams, never leave the child an exit 0 with the rows of that page missing.
    profile = PROFILES[connector]
    with Hostile() as hostile:
        hostile.rewrite(profile, BREAKS[kind](profile, profile.main))
        outcome = hostile.run(profile, hostile.config(profile), "read",
                              catalog=catalog_for(profile, [profile.main.name, child]), timeout=120)
    messages = [str(error.get("message") or "") for error in outcome.errors]
    assert outcome.returncode != 0 and not outcome.timed_out, f"{child} with its parent ended as a success: {messages}"
    assert any(profile.label in m and profile.main.endpoint in m for m in messages), messages
    assert any(child in m for m in messages), f"the failure does not name {child}: {messages}"
