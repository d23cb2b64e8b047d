"""The CDK's standard connector tests against the sandbox (see tests/standard_suite.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for tests.*

from source_openletter import SourceOpenletter  # noqa: E402
from tests.standard_suite import pytest_generate_tests, sandbox_standard_suite  # noqa: E402,F401

TestOpenLetterStandardSuite = sandbox_standard_suite(
    SourceOpenletter, "source-openletter", failing={"wrong_token": {"api_token": "not-a-valid-token"}}
)
