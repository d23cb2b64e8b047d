"""The CDK's standard connector tests against the sandbox (see tests/standard_suite.py)."""

from source_textyess import SourceTextyess
from tests.standard_suite import pytest_generate_tests, sandbox_standard_suite  # noqa: F401

TestTextyessStandardSuite = sandbox_standard_suite(
    SourceTextyess, "source-textyess", failing={
        "wrong_token": {"api_token": "not-a-valid-token"},
        "malformed_campaign_id": {"campaign_ids": ["spring-sale"]},
        "unknown_campaign_id": {"campaign_ids": ["65a1f0c2ffffffffffffffff"]},
    }, records=60
)
