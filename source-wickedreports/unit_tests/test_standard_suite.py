"""The CDK's standard connector tests against the sandbox (see tests/standard_suite.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for tests.*

from source_wickedreports import SourceWickedreports  # noqa: E402
from tests.standard_suite import pytest_generate_tests, sandbox_standard_suite  # noqa: E402,F401

TestWickedReportsStandardSuite = sandbox_standard_suite(
    SourceWickedreports, "source-wickedreports", failing={"wrong_token": {"api_key": "not-a-valid-key"}}
)
