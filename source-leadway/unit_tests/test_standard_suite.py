"""The CDK's standard connector tests against the sandbox (see tests/standard_suite.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for tests.*

from source_leadway import SourceLeadway  # noqa: E402
from tests.standard_suite import pytest_generate_tests, sandbox_standard_suite  # noqa: E402,F401

TestLeadwayStandardSuite = sandbox_standard_suite(
    SourceLeadway, "source-leadway", failing={
        "wrong_token": {"access_token": "not-a-valid-token"},
        "foreign_location": {"location_id": "someoneElsesLocation"},
    }
)
