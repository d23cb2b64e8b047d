"""The CDK's standard connector tests against the sandbox (see tests/standard_suite.py)."""

from source_leadway import SourceLeadway
from tests.standard_suite import pytest_generate_tests, sandbox_standard_suite  # noqa: F401

TestLeadwayStandardSuite = sandbox_standard_suite(
    SourceLeadway, "source-leadway", failing={
        "wrong_token": {"access_token": "not-a-valid-token"},
        "foreign_location": {"location_ids": ["sandboxLocation01", "someoneElsesLocation"]},
    }
)
