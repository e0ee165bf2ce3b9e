"""Setting up an API client safely: the one-step add form (tenant first, then that tenant's
accounts), the effective status of each client, and confirmation before the actions that
stop clients working."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from extapi.access.roles import assign_role
from extapi.auth import clients
from extapi.people.admin_actions import suspend_tenant
from extapi.people.users import get_user, set_suspended
from extapi.runtime import Runtime
from tests.factories import TOKEN_PATH, make_api_client, make_tenant, make_user
from tests.web.support import picker_of, post_form

NEW = "/admin/clients/new"
_CLIENT_ID = re.compile(r'<code id="client-id">([A-Za-z0-9]+)</code>')
_SECRET = re.compile(r'<code id="client-secret">([A-Za-z0-9]+)</code>')


def _account(runtime: Runtime, username: str, tenant_id: int | None = None) -> int:
    user_id = make_user(runtime, username, firstname=username.capitalize(), tenant_id=tenant_id)
    with runtime.engine.begin() as conn:
        assign_role(conn, "apiuser", user_id, tenant_id)
    return user_id


def _clients(runtime: Runtime) -> list[dict[str, object]]:
    with runtime.engine.connect() as conn:
        return clients.list_clients(conn)


def _token_status(http: TestClient, client_id: str, secret: str) -> int:
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return http.post(TOKEN_PATH, data=data).status_code


def _add(admin: TestClient, **fields: str):  # type: ignore[no-untyped-def]
    return post_form(admin, NEW, NEW, {"name": "Sync", "enabled": "1", **fields})


# --- the add form -------------------------------------------------------------------------------
def test_a_tenant_client_is_created_in_the_chosen_tenant(
    admin: TestClient, runtime: Runtime
) -> None:
    # Given a tenant with its own service account
    acme = make_tenant(runtime, "acme")
    account = _account(runtime, "acmesync", acme)
    # When the admin picks the tenant and its account in the one form
    response = _add(admin, tenant=str(acme), service_account=str(account))
    # Then the client belongs to the tenant, not to the System, and its secret works
    assert response.status_code == 200, response.text
    (client,) = _clients(runtime)
    assert client["tenant_id"] == acme and client["user_id"] == account
    assert "<dt>Tenant</dt><dd>Tenant acme</dd>" in response.text
    client_id = _CLIENT_ID.search(response.text).group(1)  # type: ignore[union-attr]
    secret = _SECRET.search(response.text).group(1)  # type: ignore[union-attr]
    assert _token_status(admin, client_id, secret) == 200


def test_the_system_must_be_chosen_explicitly(admin: TestClient, runtime: Runtime) -> None:
    # Given a system account
    account = _account(runtime, "hrsync")
    # When the form is sent without a tenant choice
    response = _add(admin, tenant="", service_account=str(account))
    # Then nothing is created and the admin is asked to choose
    assert response.status_code == 400
    assert "Choose System or a tenant." in response.text
    assert _clients(runtime) == []
    # And the form says what a System client can reach
    assert "System: can reach users in every tenant" in admin.get(NEW).text


def test_an_account_of_another_tenant_is_refused(admin: TestClient, runtime: Runtime) -> None:
    # Given two tenants and a system account
    acme, globex = make_tenant(runtime, "acme"), make_tenant(runtime, "globex")
    globex_account = _account(runtime, "globexsync", globex)
    system_account = _account(runtime, "hrsync")
    cases = [
        # a hostile form: the account of another tenant, sent for acme
        (str(acme), globex_account, "(globexsync) belongs to Tenant globex, not to Tenant acme"),
        # a tenant member for a System client
        ("system", globex_account, "(globexsync) belongs to Tenant globex, not to System"),
        # a System account for a tenant client
        (str(acme), system_account, "(hrsync) belongs to System, not to Tenant acme"),
    ]
    for tenant, account, message in cases:
        response = _add(admin, tenant=tenant, service_account=str(account))
        assert response.status_code == 400, (tenant, account)
        assert message in response.text
    assert _clients(runtime) == []


def test_hostile_tenant_and_account_values_are_refused(admin: TestClient, runtime: Runtime) -> None:
    make_tenant(runtime, "acme")
    account = _account(runtime, "hrsync")
    cases = [
        ({"tenant": "999999", "service_account": str(account)}, "Choose System or a tenant from"),
        ({"tenant": "-1", "service_account": str(account)}, "Choose System or a tenant from"),
        ({"tenant": "1 OR 1=1", "service_account": str(account)}, "Choose System or a tenant from"),
        ({"tenant": "\u00b2", "service_account": str(account)}, "Choose System or a tenant from"),
        ({"tenant": "SYSTEM", "service_account": str(account)}, "Choose System or a tenant from"),
        ({"tenant": "system", "service_account": "abc"}, "Choose a service account."),
        ({"tenant": "system", "service_account": "-3"}, "Choose a service account."),
        ({"tenant": "system", "service_account": "1e3"}, "Choose a service account."),
        ({"tenant": "system", "service_account": str(account) + ".0"}, "Choose a service account."),
    ]
    for data, message in cases:
        response = _add(admin, **data)
        assert response.status_code == 400, data
        assert message in response.text, data
    assert _clients(runtime) == []


def test_the_form_needs_its_csrf_token(admin: TestClient, runtime: Runtime) -> None:
    account = _account(runtime, "hrsync")
    data = {"name": "Sync", "tenant": "system", "service_account": str(account)}
    assert admin.post(NEW, data=data).status_code == 403
    assert admin.post(NEW, data={**data, "csrf_token": "forged"}).status_code == 403
    assert _clients(runtime) == []


def test_showing_a_tenants_accounts_keeps_the_input_and_creates_nothing(
    admin: TestClient, runtime: Runtime
) -> None:
    # Given a tenant account and a system account
    acme = make_tenant(runtime, "acme")
    _account(runtime, "acmesync", acme)
    _account(runtime, "hrsync")
    # When, without JavaScript, the admin chooses the tenant and asks for its accounts
    response = _add(admin, tenant=str(acme), show_accounts="1", name="Acme <HR>")
    # Then the form comes back narrowed to the tenant, with what was typed, and nothing is made
    assert response.status_code == 200
    picker = picker_of(response.text)
    assert "(acmesync)" in picker and "(hrsync)" not in picker
    assert 'value="Acme &lt;HR&gt;"' in response.text
    assert f'<option value="{acme}" selected>' in response.text
    assert _clients(runtime) == []


def test_the_page_holds_every_account_for_the_script_to_filter(
    admin: TestClient, runtime: Runtime
) -> None:
    acme = make_tenant(runtime, "acme")
    _account(runtime, "acmesync", acme)
    _account(runtime, "hrsync")
    page = admin.get(NEW).text
    assert re.search(rf'data-tenant="{acme}"[^>]*>[^<]*\(acmesync\)', page)
    assert re.search(r'data-tenant="system"[^>]*>[^<]*\(hrsync\)', page)


def test_on_a_big_site_the_picker_still_lists_the_chosen_tenants_accounts(
    admin: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given more candidate accounts than the page carries for its script
    monkeypatch.setattr("extapi.web.views.clients.MAX_CANDIDATES", 2)
    acme = make_tenant(runtime, "acme")
    for name in ("alpha", "bravo", "charlie"):
        _account(runtime, name)
    _account(runtime, "zulusync", acme)
    # When the form is opened for the tenant
    page = admin.get(f"{NEW}?tenant={acme}").text
    # Then the tenant's account is offered (the list is the tenant's own, not a cut of all)
    assert "(zulusync)" in picker_of(page)
    # And the page leaves the narrowing to the server instead of carrying a partial list
    assert 'id="every-account"' not in page
    assert "Show this tenant&#39;s accounts" in page or "Show this tenant's accounts" in page


# --- the client list --------------------------------------------------------------------------
def test_the_list_says_enabled_only_for_clients_that_work(
    admin: TestClient, runtime: Runtime
) -> None:
    # Given clients that work and clients that do not, each for one reason
    working = make_api_client(runtime, name="Working")
    make_api_client(runtime, name="Switched off", enabled=False)
    sleepy = make_api_client(runtime, name="Sleepy account")
    make_api_client(runtime, name="No role", role=None)
    acme = make_tenant(runtime, "acme")
    make_api_client(runtime, name="Acme sync", tenant_id=acme)
    with runtime.engine.begin() as conn:
        set_suspended(conn, sleepy.user_id, True)
        suspend_tenant(conn, acme, True)
    # When the admin opens the list
    rows = {
        name: row
        for row in re.findall(r"<tr>.*?</tr>", admin.get("/admin/clients").text, re.S)
        for name in ("Working", "Switched off", "Sleepy account", "No role", "Acme sync")
        if f">{name}</a>" in row
    }
    # Then each shows its client id and the status it really has
    assert working.client_id in rows["Working"]
    assert '<span class="badge badge-on">Enabled</span>' in rows["Working"]
    assert ">Disabled</span>" in rows["Switched off"]
    assert ">Account suspended</span>" in rows["Sleepy account"]
    assert "Suspended, holds the API User role" in rows["Sleepy account"]
    assert ">No API User role</span>" in rows["No role"]
    assert ">Disabled (tenant suspended)</span>" in rows["Acme sync"]
    assert "<td>Tenant acme</td>" in rows["Acme sync"]
    assert sum("badge-on" in row for row in rows.values()) == 1


def test_the_client_page_shows_the_same_status(admin: TestClient, runtime: Runtime) -> None:
    client = make_api_client(runtime, name="No role", role=None)
    page = admin.get(f"/admin/clients/{client.client_id}").text
    assert '<span class="badge badge-off">No API User role</span>' in page
    assert "Active, no API User role" in page


# --- confirmation before stopping things ----------------------------------------------------
def test_disabling_a_client_happens_only_after_confirmation(
    admin: TestClient, runtime: Runtime
) -> None:
    client = make_api_client(runtime, name="Sync")
    page = f"/admin/clients/{client.client_id}"
    # When the status action is posted without the confirmation
    response = post_form(admin, page, f"{page}/status", {"action": "disable"})
    # Then the admin is sent to the confirmation page and the client still works
    assert response.status_code == 303
    assert response.headers["location"] == f"{page}/disable"
    assert _token_status(admin, client.client_id, client.secret) == 200
    # When the admin confirms on that page
    confirm = admin.get(f"{page}/disable").text
    assert "Disable Sync?" in confirm and 'name="confirmed" value="1"' in confirm
    response = post_form(
        admin, f"{page}/disable", f"{page}/status", {"action": "disable", "confirmed": "1"}
    )
    # Then it is disabled
    assert response.status_code == 303 and response.headers["location"] == page
    assert _token_status(admin, client.client_id, client.secret) == 401


def test_suspending_a_service_account_happens_only_after_confirmation(
    admin: TestClient, runtime: Runtime
) -> None:
    client = make_api_client(runtime, name="Sync")
    action = f"/admin/users/{client.user_id}/suspend"
    response = post_form(admin, "/admin/users", action, {"back": "/admin/users"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{action}?back=%2Fadmin%2Fusers"
    with runtime.engine.connect() as conn:
        assert not get_user(conn, client.user_id)["suspended"]
    confirm = admin.get(response.headers["location"]).text
    assert "every API client that\nacts as this account stops working" in confirm
    post_form(admin, "/admin/users", action, {"confirmed": "1"})
    with runtime.engine.connect() as conn:
        assert get_user(conn, client.user_id)["suspended"]


def test_suspending_a_tenant_happens_only_after_confirmation(
    admin: TestClient, runtime: Runtime
) -> None:
    acme = make_tenant(runtime, "acme")
    client = make_api_client(runtime, tenant_id=acme)
    action = f"/admin/tenants/{acme}/suspend"
    response = post_form(admin, "/admin/tenants", action)
    assert response.status_code == 303 and response.headers["location"] == action
    assert _token_status(admin, client.client_id, client.secret) == 200
    confirm = admin.get(action).text
    assert "Every API client of Tenant acme is disabled" in confirm and "(1 enabled now)" in confirm
    post_form(admin, action, action, {"confirmed": "1"})
    assert _token_status(admin, client.client_id, client.secret) == 401


# --- after creation -----------------------------------------------------------------------------
def test_the_secret_page_has_snippets_with_the_real_client_id_and_address(
    admin: TestClient, runtime: Runtime
) -> None:
    account = _account(runtime, "hrsync")
    response = _add(admin, tenant="system", service_account=str(account))
    client_id = _CLIENT_ID.search(response.text).group(1)  # type: ignore[union-attr]
    curl = re.search(r'<code id="snippet-curl">(.*?)</code>', response.text, re.S)
    python = re.search(r'<code id="snippet-python">(.*?)</code>', response.text, re.S)
    assert curl and python
    assert f"client_id='{client_id}'" in curl.group(1)
    assert "http://testserver/totara/oauth2/token.php" in curl.group(1)
    assert "http://testserver/api/graphql.php" in curl.group(1)
    assert f'"client_id": "{client_id}"' in python.group(1)
    assert 'SITE = "http://testserver"' in python.group(1)
