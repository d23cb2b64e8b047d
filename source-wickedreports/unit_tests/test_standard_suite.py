"""The CDK's standard connector tests against the sandbox (see tests/standard_suite.py)."""

from source_wickedreports import SourceWickedreports
from tests.standard_suite import pytest_generate_tests, sandbox_standard_suite  # noqa: F401

TestWickedReportsStandardSuite = sandbox_standard_suite(
    SourceWickedreports, "source-wickedreports", failing={"wrong_token": {"api_key": "not-a-valid-key"}}
)
