"""Issue 13, "Secrets stay with the API they belong to": every connector, as a process, against the hostile sandbox.

Every ``airbyte_secret`` field of the spec gets a unique random secret (with ``/``, ``+`` and ``=`` so that its
URL-encoded forms differ). The connectors run ``spec``, ``check``, ``discover`` and ``read`` against answers that echo
the request's headers and query back, that redirect to another origin (the attacker server, another port or scheme)
or to a cloud metadata address, and with base_urls pointing at metadata services or carrying ``user:pass@``. The
secret must appear nowhere in stdout or stderr (LOG, TRACE message / internal_message / stack_trace,
CONNECTION_STATUS), in any of its forms (``hostile.leak_forms``), and must never reach another origin. A redirect to
another scheme, host or port is refused with an error naming base_url; one to the same origin is followed.

Nothing leaves this machine: the hostile network guard diverts any connection to a non-loopback address to the
attacker server and logs it (see ``tests/sandbox/hostile.py``).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets as random_secrets
from typing import Any, Dict, List, Optional

import pytest

from connectors_shared.error_handling import MAX_MESSAGE_CHARS
from tests.harness import connectors
from tests.sandbox.hostile import (
    MOVED_MARKER,
    PROFILES,
    Hostile,
    Outcome,
    carries_token,
    catalog_for,
    echo,
    echo_body,
    leak_forms,
    redirect,
    scenario_result,
    secret_fields,
    start_scenarios,
)
from tests.sandbox.server import Request, Response

pytestmark = pytest.mark.integration

CONNECTORS = connectors()
IDS = [c.name for c in CONNECTORS]
STATUSES = [400, 401, 403, 404, 422, 500]
METADATA_HOSTS = {
    "aws-ipv4": "169.254.169.254",
    "link-local-ipv6": "[fe80::1]",
    "aws-ipv6": "[fd00:ec2::254]",
    "gcp-name": "metadata.google.internal",
    "aws-ipv4-as-one-number": "2852039166",  # 169.254.169.254 as the resolver also reads it
    "aws-ipv4-in-hex-parts": "0xa9.0xfe.0xa9.0xfe",
}
CUT_INTO_SECRET = 8  # characters of the secret before the cut
METADATA_URL = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"


def new_secret() -> str:
    return f"hs{random_secrets.token_hex(8)}/{random_secrets.token_hex(8)}+{random_secrets.token_hex(8)}="


def recent_dates(profile) -> Dict[str, str]:
    """Dates of the last ten days: one window (a few for SHOPLINE) per stream, so failing reads end soon."""
    today = dt.datetime.now(dt.timezone.utc).date()
    dates = {"start_date": str(today - dt.timedelta(days=10)), "end_date": str(today)}
    return {name: value for name, value in dates.items() if name in profile.date_fields}


def secret_config(hostile: Hostile, profile, **overrides: Any) -> Dict[str, Any]:
    """The hostile config, over the last ten days, with a fresh random secret in every ``airbyte_secret`` field."""
    config = hostile.config(profile, **{**recent_dates(profile), **overrides})
    for name in secret_fields(profile):
        config[name] = new_secret()
    return config


def secrets_of(profile, config: Dict[str, Any]) -> List[str]:
    return [str(config[name]) for name in secret_fields(profile)]


def leaks(outcome: Outcome, secrets: List[str]) -> List[str]:
    """The forms of ``secrets`` found in the run's stdout or stderr, with where and some context."""
    found = []
    for where, text in (("stdout", outcome.stdout), ("stderr", outcome.stderr)):
        for secret in secrets:
            for form in leak_forms(secret):
                index = text.find(form)
                if index >= 0:
                    found.append(f"{where}: {form!r} in ...{text[max(0, index - 120):index + 40]!r}")
    return found


def requests_carrying(hostile: Hostile, profile, secrets: List[str]) -> int:
    return sum(1 for r in hostile.vendor(profile).request_log for s in secrets if carries_token(r, s))


def attacker_hits(hostile: Hostile, secrets: List[str]) -> List[str]:
    """Requests the attacker server received that carry a secret, in any form."""
    hits = []
    for received in hostile.attacker.received:
        text = received.text()
        if any(form in text for secret in secrets for form in leak_forms(secret)):
            hits.append(text[:300])
    return hits


def failure_text(outcome: Outcome) -> str:
    """What the run told the user about a failure: TRACE error messages and the CONNECTION_STATUS message."""
    status = outcome.connection_status() or {}
    return outcome.error_text() + "\n" + str(status.get("message") or "")


def catalog(profile) -> Dict[str, Any]:
    return catalog_for(profile, [profile.main.name])


# ---------------------------------------------------------------------------------------------------------------------
# Scenarios (run in the background from the start of the module; the tests assert on their outcomes).
# ---------------------------------------------------------------------------------------------------------------------


def scenario_spec_and_discover(connector):
    profile = PROFILES[connector.name]
    with Hostile() as hostile:
        config = secret_config(hostile, profile)
        spec = hostile.run(profile, None, "spec")
        discover = hostile.run(profile, config, "discover")
    return {"runs": {"spec": spec, "discover": discover}, "secrets": secrets_of(profile, config)}


def scenario_echoed_error(connector, status, command):
    profile = PROFILES[connector.name]
    with Hostile() as hostile:
        config = secret_config(hostile, profile)
        hostile.rewrite(profile, echo(status))
        outcome = hostile.run(profile, config, command, catalog=catalog(profile) if command == "read" else None)
        sent = requests_carrying(hostile, profile, secrets_of(profile, config))
    return {"outcome": outcome, "secrets": secrets_of(profile, config), "sent": sent}


def _redirect_target(hostile: Hostile, kind: str, request: Request) -> str:
    if kind == "port":
        return f"{hostile.attacker.url}{request.url}"
    if kind == "scheme":
        return f"https://127.0.0.1:{hostile.sandbox.port}{request.url}"
    return METADATA_URL


def scenario_cross_origin_redirect(connector, kind, command):
    profile = PROFILES[connector.name]
    with Hostile() as hostile:
        config = secret_config(hostile, profile)
        hostile.rewrite(profile, redirect(lambda request: _redirect_target(hostile, kind, request)))
        outcome = hostile.run(profile, config, command, catalog=catalog(profile) if command == "read" else None)
        secrets = secrets_of(profile, config)
        return {"outcome": outcome, "secrets": secrets, "attacker": [r.text()[:300] for r in hostile.attacker.received],
                "attacker_hits": attacker_hits(hostile, secrets), "guard": hostile.guard_attempts(),
                "sent": requests_carrying(hostile, profile, secrets)}


def scenario_same_origin_redirect(connector):
    profile = PROFILES[connector.name]

    def moved(request: Request) -> Optional[str]:
        if MOVED_MARKER in request.query:
            return None  # the second leg: served as documented
        separator = "&" if "?" in request.url else "?"
        return f"{hostile.origin}{request.url}{separator}{MOVED_MARKER}=1"

    with Hostile() as hostile:
        hostile.rewrite(profile, redirect(moved))
        outcome = hostile.run(profile, hostile.config(profile), "read", catalog=catalog(profile))
        followed = sum(1 for r in hostile.vendor(profile).request_log if MOVED_MARKER in r.query)
    return {"outcome": outcome, "followed": followed}


def scenario_metadata_base_url(connector, host, command):
    profile = PROFILES[connector.name]
    with Hostile() as hostile:
        config = secret_config(hostile, profile, base_url=f"http://{METADATA_HOSTS[host]}/{profile.vendor}")
        outcome = hostile.run(profile, config, command, catalog=catalog(profile) if command == "read" else None)
        return {"outcome": outcome, "secrets": secrets_of(profile, config),
                "requests": hostile.requests_received() + len(hostile.attacker.received),
                "guard": hostile.guard_attempts()}


USER_PASSWORD = "pw" + random_secrets.token_hex(12)


def scenario_credentials_in_base_url(connector, command):
    profile = PROFILES[connector.name]
    answers: Dict[str, int] = {"count": 0}

    def failing(request: Request, response: Response) -> Response:
        answers["count"] += 1  # two server errors (retried), then a refusal: both paths format the URL
        status = 500 if answers["count"] <= 2 else 401
        return Response(status, echo_body(status, request))

    with Hostile() as hostile:
        base_url = f"http://hostile-user:{USER_PASSWORD}@127.0.0.1:{hostile.sandbox.port}/hostile/{profile.vendor}"
        config = secret_config(hostile, profile, base_url=base_url)
        hostile.rewrite(profile, failing)
        outcome = hostile.run(profile, config, command, catalog=catalog(profile) if command == "read" else None)
        return {"outcome": outcome, "secrets": secrets_of(profile, config) + [USER_PASSWORD],
                "requests": len(hostile.vendor(profile).request_log)}


def scenario_private_base_url(connector, host):
    profile = PROFILES[connector.name]
    with Hostile() as hostile:
        base_url = f"http://{host}:{hostile.sandbox.port}/hostile/{profile.vendor}"
        outcome = hostile.run(profile, hostile.config(profile, base_url=base_url), "check")
        return {"outcome": outcome, "requests": len(hostile.vendor(profile).request_log)}


def scenario_secret_at_the_cut(connector):
    """A 401 whose message quotes the token just where a long message is cut short (MAX_MESSAGE_CHARS)."""
    profile = PROFILES[connector.name]
    with Hostile() as hostile:
        config = secret_config(hostile, profile)
        [secret] = secrets_of(profile, config)[:1]
        text = " token=" + secret
        padding = "Invalid credentials; the request was: " + "x" * MAX_MESSAGE_CHARS
        message = padding[:MAX_MESSAGE_CHARS - len(" token=") - CUT_INTO_SECRET] + text
        hostile.rewrite(profile, lambda request, response: Response(401, {"statusCode": 401, "message": message}))
        outcome = hostile.run(profile, config, "check")
    return {"outcome": outcome, "secrets": secrets_of(profile, config), "prefix": secret[:CUT_INTO_SECRET]}


SCENARIOS = {
    "test_spec_and_discover_print_no_secret": scenario_spec_and_discover,
    "test_error_bodies_echoing_the_request_do_not_leak_the_secret": scenario_echoed_error,
    "test_redirect_to_another_origin_is_refused_without_sending_the_secret": scenario_cross_origin_redirect,
    "test_redirect_to_the_metadata_service_is_refused": scenario_cross_origin_redirect,
    "test_same_origin_redirect_is_followed": scenario_same_origin_redirect,
    "test_metadata_base_url_is_refused_before_any_request": scenario_metadata_base_url,
    "test_password_in_base_url_never_appears_in_output": scenario_credentials_in_base_url,
    "test_loopback_and_private_base_urls_keep_working": scenario_private_base_url,
    "test_a_message_cut_short_shows_no_part_of_the_secret": scenario_secret_at_the_cut,
}


@pytest.fixture(scope="module")
def started(request):
    return start_scenarios(request, SCENARIOS, workers=6)


@pytest.fixture
def result(request, started):
    return scenario_result(request, started)


def assert_no_leak(outcome: Outcome, secrets: List[str]) -> None:
    found = leaks(outcome, secrets)
    assert not found, "a secret reached the output:\n" + "\n".join(found[:5]) + "\n" + outcome.describe(600)


# ---------------------------------------------------------------------------------------------------------------------
# Tests.
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_spec_and_discover_print_no_secret(connector, result):
    assert secret_fields(PROFILES[connector.name]), "the spec declares no airbyte_secret field"
    spec = result["runs"]["spec"].of_type("SPEC")
    declared = spec[0]["spec"]["connectionSpecification"]["properties"] if spec else {}
    assert sorted(secret_fields(PROFILES[connector.name])) == sorted(
        name for name, prop in declared.items() if prop.get("airbyte_secret")), "spec and manifest disagree"
    for name, outcome in result["runs"].items():
        assert outcome.returncode == 0 and not outcome.errors, f"{name} failed:\n{outcome.describe()}"
        assert_no_leak(outcome, result["secrets"])


# read meets every status; check the statuses with distinct handling (400 and 422 go the way of 401/403/404 there).
ECHO_CASES = [(c, status, command) for c in CONNECTORS for status in STATUSES for command in ("check", "read")
              if command == "read" or status not in (400, 422)]


@pytest.mark.parametrize("connector,status,command", ECHO_CASES,
                         ids=[f"{c.name}-{status}-{command}" for c, status, command in ECHO_CASES])
def test_error_bodies_echoing_the_request_do_not_leak_the_secret(connector, status, command, result):
    outcome = result["outcome"]
    assert result["sent"], "no request carried the secret, so nothing could be echoed (scenario problem)"
    assert not outcome.timed_out, outcome.describe()
    assert_no_leak(outcome, result["secrets"])
    failed = outcome.returncode != 0 or (outcome.connection_status() or {}).get("status") == "FAILED"
    assert failed, f"HTTP {status} on every request, yet {command} succeeded:\n{outcome.describe()}"


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_a_message_cut_short_shows_no_part_of_the_secret(connector, result):
    """Masked before it is cut: cut first, the secret split at the cut no longer matches, and its start is printed."""
    outcome = result["outcome"]
    assert (outcome.connection_status() or {}).get("status") == "FAILED", outcome.describe()
    assert "Invalid credentials" in failure_text(outcome), outcome.describe()
    assert_no_leak(outcome, result["secrets"])
    for where, text in (("stdout", outcome.stdout), ("stderr", outcome.stderr)):
        assert result["prefix"] not in text, f"the secret's first characters reached {where}:\n{outcome.describe()}"


REDIRECT_CASES = [(c, "port", command) for c in CONNECTORS for command in ("check", "read")] + [
    (c, "scheme", "read") for c in CONNECTORS]


def _assert_refused_redirect(result: Dict[str, Any], what: str) -> None:
    outcome = result["outcome"]
    report = outcome.describe()
    assert result["sent"], "no request carried the secret to the sandbox (scenario problem)"
    assert not result["attacker_hits"], f"the secret reached {what}:\n" + "\n".join(result["attacker_hits"][:3])
    assert_no_leak(outcome, result["secrets"])
    assert not result["attacker"] and not result["guard"], (
        f"the redirect to {what} was followed (attacker got {result['attacker'][:2]}, guard saw {result['guard'][:2]}):"
        f"\n{report}")
    assert re.search(r"redirect", failure_text(outcome), re.IGNORECASE) and "base_url" in failure_text(outcome), (
        f"no error says the redirect was refused and names base_url:\n{report}")


@pytest.mark.parametrize("connector,kind,command", REDIRECT_CASES,
                         ids=[f"{c.name}-{kind}-{command}" for c, kind, command in REDIRECT_CASES])
def test_redirect_to_another_origin_is_refused_without_sending_the_secret(connector, kind, command, result):
    _assert_refused_redirect(result, "another origin" if kind == "port" else "another scheme")


@pytest.mark.parametrize("kind,command", [("metadata", "read")])
@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_redirect_to_the_metadata_service_is_refused(connector, kind, command, result):
    _assert_refused_redirect(result, "169.254.169.254")


@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_same_origin_redirect_is_followed(connector, result):
    outcome = result["outcome"]
    assert result["followed"], f"the redirect was not followed:\n{outcome.describe()}"
    assert outcome.returncode == 0 and not outcome.errors, outcome.describe()
    assert outcome.records, f"no records after a same-origin redirect:\n{outcome.describe()}"


# read meets every address; check an IPv4 address and a name (both go through the same base_url check).
METADATA_CASES = [(c, host, command) for c in CONNECTORS for host in METADATA_HOSTS for command in ("check", "read")
                  if command == "read" or host in ("aws-ipv4", "gcp-name")]


@pytest.mark.parametrize("connector,host,command", METADATA_CASES,
                         ids=[f"{c.name}-{host}-{command}" for c, host, command in METADATA_CASES])
def test_metadata_base_url_is_refused_before_any_request(connector, host, command, result):
    outcome = result["outcome"]
    report = outcome.describe()
    assert not result["guard"] and result["requests"] == 0, (
        f"the connector connected to {METADATA_HOSTS[host]} ({result['guard'][:2]}):\n{report}")
    assert_no_leak(outcome, result["secrets"])
    if command == "check":
        status = outcome.connection_status() or {}
        refused = status.get("status") == "FAILED" and "base_url" in str(status.get("message"))
    else:
        refused = any(e.get("failure_type") == "config_error" and "base_url" in str(e.get("message"))
                      for e in outcome.errors)
    assert refused, f"{command} did not refuse base_url {METADATA_HOSTS[host]} as a config error naming base_url:\n{report}"


@pytest.mark.parametrize("command", ["check", "read"])
@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_password_in_base_url_never_appears_in_output(connector, command, result):
    outcome = result["outcome"]
    assert result["requests"], f"the sandbox got no request (scenario problem):\n{outcome.describe()}"
    assert_no_leak(outcome, result["secrets"])


@pytest.mark.parametrize("host", ["localhost", "10.20.30.40"])
@pytest.mark.parametrize("connector", CONNECTORS, ids=IDS)
def test_loopback_and_private_base_urls_keep_working(connector, host, result):
    outcome = result["outcome"]
    status = outcome.connection_status() or {}
    assert status.get("status") == "SUCCEEDED", f"check against base_url on {host} failed:\n{outcome.describe()}"
    assert result["requests"], "the check reached the sandbox through no request"
