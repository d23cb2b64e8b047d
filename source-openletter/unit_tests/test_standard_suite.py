"""The CDK's standard connector tests against the sandbox (see tests/standard_suite.py)."""

from source_openletter import SourceOpenletter
from tests.standard_suite import pytest_generate_tests, sandbox_standard_suite  # noqa: F401

TestOpenLetterStandardSuite = sandbox_standard_suite(
    SourceOpenletter, "source-openletter", failing={"wrong_token": {"api_token": "not-a-valid-token"}}
)
