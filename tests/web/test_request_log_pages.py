"""The request log pages, driven through the real app: one request in full, a client's log
and the site-wide log, their filters, keyset pages and permissions."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from extapi.access.roles import assign_role
from extapi.app import ExtapiApp
from extapi.people import users as user_service
from extapi.runtime import Runtime
from extapi.settings.site import set_setting
from tests.factories import ApiClient, fetch_token, graphql, make_api_client, make_user
from tests.web.support import sign_in

_ENTRY = re.compile(r'href="(/admin/clients/[A-Za-z0-9]+/requests/(\d+))"')
_NEXT = re.compile(r'href="([^"]+)" rel="next"')
HOUR = 3600


def _record(
    runtime: Runtime, client: ApiClient, when: int, operations: str, outcome: str = "success"
) -> None:
    status = {"rate_limited": 429, "refused": 200, "ip_not_allowed": 403}.get(outcome, 200)
    runtime.request_log.record(client.id, operations, 7, status, outcome, 1.5, when)


def _entries(page: str) -> list[str]:
    """The detail links of a log page, in order."""
    return [m.group(1) for m in _ENTRY.finditer(page)]


def _operations(page: str) -> list[str]:
    return re.findall(r"<td><code>([^<]*)</code></td>", page)


@pytest.fixture
def client(runtime: Runtime) -> ApiClient:
    return make_api_client(runtime, name="Payroll")


def test_a_failed_request_opens_with_its_errors_variables_and_request_id(
    admin: TestClient, http: TestClient, runtime: Runtime, client: ApiClient
) -> None:
    # given a Developer-level client that sent a failing query with a password among its
    # variables
    with runtime.engine.begin() as conn:
        set_setting(conn, "response_debug", "2")
    token = fetch_token(http, client)
    body = {
        "query": "query Broken { no_such_field }",
        "operationName": "Broken",
        "variables": {"password": "hunter2"},
    }
    graphql(http, token, body, headers={"X-Request-Id": "trace-42"})
    runtime.request_log.flush()
    # when the admin opens it from the client's log, filtered to errors
    log = admin.get(f"/admin/clients/{client.client_id}/requests?outcome=errors")
    assert log.status_code == 200
    (href,) = _entries(log.text)
    page = admin.get(href)
    # then it shows the operation, outcome, status, request id, error and masked variables
    assert page.status_code == 200
    text = page.text
    assert "<code>Broken</code>" in text
    assert "Error</span>" in text
    assert '<code id="request-id">trace-42</code>' in text
    assert "no_such_field" in text
    assert "********" in text and "hunter2" not in text


def test_the_outcome_operation_and_time_filters(
    admin: TestClient, runtime: Runtime, client: ApiClient
) -> None:
    # given requests of every outcome, an hour apart
    now = int(time.time())
    _record(runtime, client, now - 4 * HOUR, "Old", "error")
    _record(runtime, client, now - 3 * HOUR, "SyncUsers", "success")
    _record(runtime, client, now - 2 * HOUR, "SyncUsers", "rate_limited")
    _record(runtime, client, now - HOUR, "Status", "refused")
    _record(runtime, client, now - 60, "Status", "ip_not_allowed")
    _record(runtime, client, now, "syncusers", "error")
    runtime.request_log.flush()
    base = f"/admin/clients/{client.client_id}/requests"

    def shown(query: str) -> list[str]:
        response = admin.get(f"{base}?{query}")
        assert response.status_code == 200, response.text
        return _operations(response.text)

    # then each filter picks its requests, newest first
    assert shown("") == ["syncusers", "Status", "Status", "SyncUsers", "SyncUsers", "Old"]
    assert shown("outcome=errors") == ["syncusers", "Old"]
    assert shown("outcome=rate_limited") == ["SyncUsers"]
    assert shown("outcome=refused") == ["Status", "Status"]
    assert shown("operation=SyncUsers") == ["syncusers", "SyncUsers", "SyncUsers"]
    assert shown("operation=sync&outcome=errors") == ["syncusers"]
    # (the form is minute-grained: From rounds down to at most the request's time, To rounds
    # down from a minute later to just after it)
    since = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(now - 3 * HOUR))
    until = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(now - HOUR + 60))
    assert shown(f"since={since}&until={until}") == ["Status", "SyncUsers", "SyncUsers"]
    assert "No logged requests match." in admin.get(f"{base}?operation=nothing").text


def test_pages_follow_by_keyset_without_repeats(
    admin: TestClient, runtime: Runtime, client: ApiClient
) -> None:
    # given 120 requests, several in the same second
    now = int(time.time())
    for n in range(120):
        _record(runtime, client, now - n // 3, f"Op{n}")
    runtime.request_log.flush()
    # when the admin follows "Older requests" to the end
    seen: list[str] = []
    address: str | None = f"/admin/clients/{client.client_id}/requests"
    pages = 0
    while address is not None:
        page = admin.get(address.replace("&amp;", "&")).text
        seen += _operations(page)
        found = _NEXT.search(page)
        assert pages < 5
        address = found.group(1) if found else None
        pages += 1
    # then every request was shown once, newest first (the later written first within a
    # second), in pages of 50
    assert pages == 3
    assert seen == [f"Op{3 * second + k}" for second in range(40) for k in (2, 1, 0)]


def test_the_site_wide_log_lists_every_client_and_is_in_the_nav(
    admin: TestClient, runtime: Runtime, client: ApiClient
) -> None:
    # given requests of two clients
    other = make_api_client(runtime, name="Reports <beta>")
    now = int(time.time())
    _record(runtime, client, now - 5, "FromPayroll", "error")
    _record(runtime, other, now, "FromReports")
    runtime.request_log.flush()
    # when the admin opens the site-wide log
    page = admin.get("/admin/requests").text
    # then both clients' requests are there, named (escaped) and linked, newest first
    assert _operations(page) == ["FromReports", "FromPayroll"]
    assert "Reports &lt;beta&gt;" in page and "<beta>" not in page
    assert f'href="/admin/clients/{other.client_id}/requests"' in page
    assert '<a href="/admin/requests" aria-current="page">Request log</a>' in page
    # and it filters across clients
    assert _operations(admin.get("/admin/requests?outcome=errors").text) == ["FromPayroll"]


@pytest.mark.parametrize(
    "query",
    [
        "outcome=everything",
        "outcome=%3Cscript%3E",
        "since=yesterday",
        "since=2026-02-30T10:00",
        "until=2026-01-01T00:00&since=2026-01-02T00:00",
        "operation=" + "x" * 101,
        "before=12-abc",
        "before=99999999999999999999-1",
        "before=-1--1",
    ],
)
def test_hostile_filter_input_is_a_clear_400(
    admin: TestClient, client: ApiClient, query: str
) -> None:
    for base in ("/admin/requests", f"/admin/clients/{client.client_id}/requests"):
        response = admin.get(f"{base}?{query}")
        assert response.status_code == 400, (base, query)
        assert 'id="filter-error"' in response.text
        assert "<script>" not in response.text


def test_unknown_clients_and_requests_are_404(
    admin: TestClient, runtime: Runtime, client: ApiClient
) -> None:
    other = make_api_client(runtime, name="Other")
    _record(runtime, other, int(time.time()), "TheirOwn")
    runtime.request_log.flush()
    (href,) = _entries(admin.get(f"/admin/clients/{other.client_id}/requests").text)
    entry_id = href.rsplit("/", 1)[1]
    base = f"/admin/clients/{client.client_id}/requests"
    # a request of another client is not found under this one
    assert admin.get(f"{base}/{entry_id}").status_code == 404
    for path in (
        f"{base}/0",
        f"{base}/abc",
        f"{base}/{'9' * 30}",
        "/admin/clients/nosuchclient/requests",
        "/admin/clients/nosuchclient/requests/1",
    ):
        assert admin.get(path).status_code == 404, path


@pytest.fixture
def non_admin(app: ExtapiApp, runtime: Runtime) -> Iterator[TestClient]:
    """A user who may sign in (to read the API documentation) but is no site administrator."""
    reader = make_user(runtime, "plain", password="Plain-pass-123")
    with runtime.engine.begin() as conn:
        assign_role(conn, "apiuser", reader, None)
    with TestClient(app, base_url="http://testserver") as http:
        sign_in(http, "plain", "Plain-pass-123")
        yield http


def test_only_site_administrators_see_the_log(
    non_admin: TestClient, anonymous: TestClient, runtime: Runtime, client: ApiClient
) -> None:
    _record(runtime, client, int(time.time()), "Secret")
    runtime.request_log.flush()
    for path in (
        "/admin/requests",
        f"/admin/clients/{client.client_id}/requests",
        f"/admin/clients/{client.client_id}/requests/1",
    ):
        denied = non_admin.get(path)
        assert denied.status_code == 403, path
        assert "Secret" not in denied.text
        assert anonymous.get(path, follow_redirects=False).status_code in (302, 303), path


def test_a_refused_client_no_longer_shows_never_used(
    admin: TestClient, http: TestClient, runtime: Runtime, client: ApiClient
) -> None:
    # given a client whose service account was suspended after it got a token
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        user_service.set_suspended(conn, client.user_id, True)
    # when it calls the API and the log is written
    graphql(http, token, {"query": "query Status { totara_webapi_status { status } }"})
    runtime.request_log.flush()
    # then its page shows a last use and the refusal among its requests
    page = admin.get(f"/admin/clients/{client.client_id}").text
    assert "<dt>Last used</dt><dd>Never" not in page
    assert "Refused</span>" in page
