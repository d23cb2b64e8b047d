"""Unit-test fixtures: a case-sensitive ``requests_mock``, so ``pageSize`` sent as ``pagesize`` fails a test."""

import pytest
import requests_mock as requests_mock_module


@pytest.fixture
def requests_mock():
    with requests_mock_module.Mocker(case_sensitive=True) as mocker:
        yield mocker
