"""Freeze the manifest's ``now_utc()`` at ``builders.NOW`` so that the last orders window ends at a known instant."""

import pytest
from airbyte_cdk.sources.declarative.interpolation import jinja

from builders import NOW


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    monkeypatch.setitem(jinja._ENVIRONMENT.globals, "now_utc", lambda: NOW)
    return NOW
