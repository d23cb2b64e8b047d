"""The CDK's standard connector tests against the sandbox (see tests/standard_suite.py)."""

from source_shopline import SourceShopline
from tests.standard_suite import pytest_generate_tests, sandbox_standard_suite  # noqa: F401

TestShoplineStandardSuite = sandbox_standard_suite(
    SourceShopline, "source-shopline", failing={"wrong_token": {"access_token": "not-a-valid-token"}}
)
