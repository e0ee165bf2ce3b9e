"""GraphQL-over-HTTP conformance: the ``graphql-http`` audit suite against a live server
(the ``extapi_server`` sandbox fixture).

The audits live in the npm package ``graphql-http`` (pinned in ``package.json`` next to this
file, installed by ``make node-deps``); ``audit.mjs`` runs every one of them with a client's
bearer token and prints one JSON line per result.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from extapi.sandbox import Sandbox

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "audit.mjs"
PACKAGE = HERE / "node_modules" / "graphql-http"
AUDIT_TIMEOUT = 120
# The server is the extapi_server sandbox, seeded from seed.toml next to this file.
pytestmark = pytest.mark.extapi_seed("seed.toml")


@dataclass(frozen=True)
class AuditResult:
    id: str
    name: str
    status: str
    reason: str | None

    def describe(self) -> str:
        return f"[{self.status}] {self.id} {self.name}: {self.reason}"


@pytest.fixture
def node() -> str:
    """The node binary, or a skip when the audit cannot run here."""
    binary = shutil.which("node")
    if binary is None:
        pytest.skip("node is not installed: the GraphQL-over-HTTP audit needs Node.js")
    if not PACKAGE.is_dir():
        pytest.skip(
            f"{PACKAGE} is missing: run `make node-deps` (npm ci --prefix tests/conformance)"
        )
    return binary


def _run_audit(node: str, url: str, token: str) -> list[AuditResult]:
    completed = subprocess.run(
        [node, str(SCRIPT), url, token],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=AUDIT_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, (
        f"audit.mjs exited {completed.returncode}:\n{completed.stderr}\n{completed.stdout}"
    )
    results: list[AuditResult] = []
    for line in completed.stdout.splitlines():
        if line.strip():
            item = json.loads(line)
            results.append(AuditResult(item["id"], item["name"], item["status"], item["reason"]))
    return results


@pytest.fixture
def audit_results(node: str, extapi_server: Sandbox) -> list[AuditResult]:
    """Every audit's result against the sandbox server (seed.toml: introspection on), with a
    valid token."""
    return _run_audit(node, extapi_server.graphql_url, extapi_server.token())


def _failing(results: list[AuditResult], level: str) -> list[AuditResult]:
    return [r for r in results if r.name.startswith(f"{level} ") and r.status != "ok"]


def test_server_passes_every_must_and_should_audit(audit_results: list[AuditResult]) -> None:
    # given the sandbox server with introspection on and a client token (fixture)
    # when the graphql-http server audits run against its GraphQL endpoint (fixture)
    musts = _failing(audit_results, "MUST")
    shoulds = _failing(audit_results, "SHOULD")
    # then no MUST audit fails and no SHOULD audit warns
    failures = musts + shoulds
    assert not failures, (
        f"{len(musts)} MUST and {len(shoulds)} SHOULD audits did not pass:\n"
        + "\n".join(r.describe() for r in failures)
    )
    # and a body that is not JSON gets 400 (a MAY there; extapi's difference from Totara's 200)
    parse_failures = [r for r in audit_results if r.id in ("B6DC", "BCF8")]
    assert [r.status for r in parse_failures] == ["ok", "ok"], parse_failures
    # and GET works for clients asking for application/graphql-response+json (variables as
    # JSON text), while a mutation by GET is not run
    get_audits = sorted((r.id, r.status) for r in audit_results if r.id in ("D6D5", "9C48"))
    assert get_audits == [("9C48", "ok"), ("D6D5", "ok")], get_audits


def test_audit_actually_runs_the_suite(audit_results: list[AuditResult]) -> None:
    # given the sandbox server with introspection on and a client token (fixture)
    # when the graphql-http server audits run against its GraphQL endpoint (fixture)
    # then the whole suite ran, not an empty or truncated list
    assert len(audit_results) > 50
