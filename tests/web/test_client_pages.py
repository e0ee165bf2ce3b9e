"""The API client pages, driven through the real app: list, add, edit, enable/disable,
rotate, delete and per-client settings."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from extapi.access.roles import assign_role
from extapi.auth import clients
from extapi.people.users import set_suspended
from extapi.runtime import Runtime
from tests.factories import TOKEN_PATH, make_api_client, make_tenant, make_user
from tests.web.support import picker_of, post_form

_SECRET = re.compile(r'<code id="client-secret">([A-Za-z0-9]+)</code>')
_CLIENT_ID = re.compile(r'<code id="client-id">([A-Za-z0-9]+)</code>')


def _token_status(http: TestClient, client_id: str, secret: str) -> int:
    response = http.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    return response.status_code


def _client_count(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return len(clients.list_clients(conn))


def _service_account(runtime: Runtime, username: str, tenant_id: int | None = None) -> int:
    user_id = make_user(runtime, username, tenant_id=tenant_id)
    with runtime.engine.begin() as conn:
        assign_role(conn, "apiuser", user_id, tenant_id)
    return user_id


def test_list_shows_clients_with_tenant_account_status_and_limits(
    admin: TestClient, runtime: Runtime
) -> None:
    tenant = make_tenant(runtime, "acme")
    make_api_client(runtime, name="Payroll <sync>")
    make_api_client(runtime, tenant_id=tenant, enabled=False, name="Acme HR")
    page = admin.get("/admin/clients").text
    assert "Payroll &lt;sync&gt;" in page and "<sync>" not in page
    assert 'Acme HR</a> <span class="muted">(disabled)</span>' in page
    assert "acme" in page and "Never" in page and "250,000" in page


def test_new_client_picker_offers_the_chosen_tenants_accounts_with_their_state(
    admin: TestClient, runtime: Runtime
) -> None:
    # Given users of every kind
    tenant = make_tenant(runtime, "acme")
    _service_account(runtime, "systemsync")
    _service_account(runtime, "acmesync", tenant)
    make_user(runtime, "noroles")
    sleepy = _service_account(runtime, "sleepysync")
    with runtime.engine.begin() as conn:
        set_suspended(conn, sleepy, True)
    # When the form is opened with nothing chosen, for System, then for the tenant
    nothing = picker_of(admin.get("/admin/clients/new").text)
    system = picker_of(admin.get("/admin/clients/new?tenant=system").text)
    acme = picker_of(admin.get(f"/admin/clients/new?tenant={tenant}").text)
    # Then nothing is offered until a choice is made
    assert "Choose System or a tenant first" in nothing and "(systemsync)" not in nothing
    # And each choice offers only its own accounts, never an administrator
    assert "(systemsync): Active, holds the API User role" in system
    assert "(noroles): Active, no API User role" in system
    assert "(acmesync)" not in system and "(admin)" not in system
    assert "(acmesync): Active, holds the API User role" in acme and "(systemsync)" not in acme
    # And a suspended account is shown with its state but can not be picked
    assert re.search(r"disabled>[^<]*\(sleepysync\): Suspended", system)


def test_adding_a_client_shows_the_secret_once_and_it_gets_a_token(
    admin: TestClient, runtime: Runtime
) -> None:
    # Given a service account
    account = _service_account(runtime, "hrsync")
    # When the admin adds a client
    response = post_form(
        admin,
        "/admin/clients/new",
        "/admin/clients/new",
        {
            "name": "HR sync",
            "description": "Nightly",
            "service_account": str(account),
            "tenant": "system",
            "enabled": "1",
        },
    )
    # Then the page shows its id and secret, which work at the token endpoint
    assert response.status_code == 200
    client_id = _CLIENT_ID.search(response.text).group(1)  # type: ignore[union-attr]
    secret = _SECRET.search(response.text).group(1)  # type: ignore[union-attr]
    assert _token_status(admin, client_id, secret) == 200
    # And the secret is never shown again
    assert secret not in admin.get(f"/admin/clients/{client_id}").text
    assert secret not in admin.get("/admin/clients").text


def test_invalid_new_client_keeps_the_input_and_creates_nothing(
    admin: TestClient, runtime: Runtime, admin_id: int
) -> None:
    account = _service_account(runtime, "hrsync")
    cases = [
        ({"name": "", "service_account": str(account)}, "Name is required."),
        (
            {"name": "x" * 76, "service_account": str(account)},
            "Name must not exceed 75 characters.",
        ),
        ({"name": "Sync", "service_account": ""}, "Choose a service account."),
        ({"name": "Sync", "service_account": "\u00b2"}, "Choose a service account."),
        ({"name": "Sync", "service_account": "9" * 20}, "Choose a service account."),
        (
            {"name": "Sync", "service_account": str(admin_id)},
            "The user is not valid. The status is ADMIN",
        ),
        (
            {"name": "Sync", "service_account": "999999"},
            "The user is not valid. The status is NO_USER",
        ),
        (
            {"name": "Sync", "description": "d" * 1025, "service_account": str(account)},
            "Description must not exceed 1024 characters.",
        ),
    ]
    for data, message in cases:
        data = {"tenant": "system", **data}
        response = post_form(admin, "/admin/clients/new", "/admin/clients/new", data)
        assert response.status_code == 400, data
        assert message in response.text.replace("&#39;", "'")
    assert _client_count(runtime) == 0


def test_tenant_client_needs_a_member_of_that_tenant(admin: TestClient, runtime: Runtime) -> None:
    tenant = make_tenant(runtime, "acme")
    outsider = _service_account(runtime, "outsider")
    response = post_form(
        admin,
        f"/admin/clients/new?tenant={tenant}",
        "/admin/clients/new",
        {"name": "Acme", "service_account": str(outsider), "tenant": str(tenant), "enabled": "1"},
    )
    assert response.status_code == 400
    assert "(outsider) belongs to System, not to Tenant acme" in response.text
    assert _client_count(runtime) == 0


def test_disabling_a_client_rejects_its_credentials_and_enabling_restores_them(
    admin: TestClient, runtime: Runtime
) -> None:
    client = make_api_client(runtime, name="Sync")
    page = f"/admin/clients/{client.client_id}"
    response = post_form(admin, page, f"{page}/status", {"action": "disable", "confirmed": "1"})
    assert response.status_code == 303
    assert _token_status(admin, client.client_id, client.secret) == 401
    assert "Client disabled" in admin.get(page).text
    post_form(admin, page, f"{page}/status", {"action": "enable"})
    assert _token_status(admin, client.client_id, client.secret) == 200


def test_rotating_the_secret_asks_first_then_replaces_it(
    admin: TestClient, runtime: Runtime
) -> None:
    client = make_api_client(runtime, name="Sync")
    page = f"/admin/clients/{client.client_id}"
    assert "Rotate the secret of Sync?" in admin.get(f"{page}/rotate").text
    response = post_form(admin, f"{page}/rotate", f"{page}/rotate")
    new_secret = _SECRET.search(response.text).group(1)  # type: ignore[union-attr]
    assert _token_status(admin, client.client_id, client.secret) == 401
    assert _token_status(admin, client.client_id, new_secret) == 200


def test_deleting_asks_first_then_removes_the_client(admin: TestClient, runtime: Runtime) -> None:
    client = make_api_client(runtime, name="Old sync")
    page = f"/admin/clients/{client.client_id}"
    assert "Delete Old sync?" in admin.get(f"{page}/delete").text
    response = post_form(admin, f"{page}/delete", f"{page}/delete")
    assert response.headers["location"] == "/admin/clients"
    assert "was deleted" in admin.get("/admin/clients").text
    assert _client_count(runtime) == 0
    assert admin.get(page).status_code == 404


def test_editing_changes_name_and_service_account_but_validates_the_account(
    admin: TestClient, runtime: Runtime
) -> None:
    client = make_api_client(runtime, name="Sync")
    replacement = _service_account(runtime, "newsync")
    edit = f"/admin/clients/{client.client_id}/edit"
    assert "(newsync)" in admin.get(edit).text
    tenant = make_tenant(runtime, "acme")
    member = _service_account(runtime, "member", tenant)
    refused = post_form(admin, edit, edit, {"name": "Sync", "service_account": str(member)})
    assert refused.status_code == 400
    assert "The user is not valid. The status is WRONG_TENANT" in refused.text
    response = post_form(
        admin,
        edit,
        edit,
        {"name": "Renamed", "description": "", "service_account": str(replacement)},
    )
    assert response.status_code == 303
    with runtime.engine.connect() as conn:
        row = clients.get_client(conn, client.client_id)
    assert (row["name"], row["user_id"]) == ("Renamed", replacement)


def test_client_settings_validate_like_totara_and_warn_above_the_site_limit(
    admin: TestClient, runtime: Runtime
) -> None:
    client = make_api_client(runtime, name="Sync")
    page = f"/admin/clients/{client.client_id}"
    action = f"{page}/settings"
    base = {"rate_limit": "100", "token_expiry": "3600", "error_response": "site"}
    for change, message in [
        ({"rate_limit": "-5"}, "Can not set it to negative"),
        ({"token_expiry": "-1"}, "Can not set it to negative"),
        ({"rate_limit": "lots"}, "Client rate limit must be a whole number."),
        ({"rate_limit": "99999999999"}, "Client rate limit must be 2147483647 or less."),
        ({"error_response": "loud"}, "Choose an error response level."),
    ]:
        response = post_form(admin, page, action, {**base, **change})
        assert response.status_code == 400 and message in response.text, change
    with runtime.engine.connect() as conn:
        assert clients.get_client(conn, client.client_id)["client_rate_limit"] == 250000
    saved = post_form(
        admin, page, action, {**base, "rate_limit": "900000", "error_response": "developer"}
    )
    assert saved.status_code == 303
    shown = admin.get(page).text.replace("&#39;", "'")
    assert clients.RATE_LIMIT_WARNING in shown
    with runtime.engine.connect() as conn:
        row = clients.get_client(conn, client.client_id)
    assert (row["client_rate_limit"], row["response_debug"]) == (900000, 2)


def test_the_ip_allow_list_is_set_on_the_settings_form_and_shown(
    admin: TestClient, runtime: Runtime
) -> None:
    # given a client, which accepts any address
    client = make_api_client(runtime, name="Sync")
    page = f"/admin/clients/{client.client_id}"
    assert "Any address" in admin.get(page).text
    base = {"rate_limit": "100", "token_expiry": "3600", "error_response": "site"}
    # when a list is saved, one entry per line or comma-separated
    saved = post_form(
        admin,
        page,
        f"{page}/settings",
        {**base, "allowed_ips": "10.0.0.0/8\r\n2001:DB8::/32, 192.0.2.1"},
    )
    assert saved.status_code == 303
    # then it is stored normalised, shown on the page and offered one per line for editing
    with runtime.engine.connect() as conn:
        stored = clients.get_client(conn, client.client_id)["allowed_ips"]
    assert stored == ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"]
    shown = admin.get(page).text
    assert '<ul class="plain" id="allowed-ips"><li><code>10.0.0.0/8</code></li>' in shown
    assert ">10.0.0.0/8\n2001:db8::/32\n192.0.2.1</textarea>" in shown
    # and an empty field clears it
    assert (
        post_form(admin, page, f"{page}/settings", {**base, "allowed_ips": " "}).status_code == 303
    )
    with runtime.engine.connect() as conn:
        assert clients.get_client(conn, client.client_id)["allowed_ips"] == []


def test_a_bad_allow_list_entry_is_named_next_to_the_field(
    admin: TestClient, runtime: Runtime
) -> None:
    # given a client with an allow-list
    client = make_api_client(runtime, name="Sync")
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(allowed_ips="192.0.2.1")
        )
    page = f"/admin/clients/{client.client_id}"
    base = {"rate_limit": "100", "token_expiry": "3600", "error_response": "site"}
    for typed, message in [
        (
            "10.0.0.0/8\n10.0.0.1/8",
            "&#39;10.0.0.1/8&#39; has host bits set: write the range as 10.0.0.0/8.",
        ),
        (
            "<script>alert(1)</script>",
            "&#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39; is not an IP address",
        ),
        ("10.0.0.1 " * 2000, "The list of allowed IP addresses is too long."),
        (", ".join(f"10.0.{i // 256}.{i % 256}" for i in range(257)), "at most 256 entries"),
    ]:
        # when it is saved with a bad entry
        response = post_form(admin, page, f"{page}/settings", {**base, "allowed_ips": typed})
        # then the page says which, beside the field, keeps what was typed and changes nothing
        assert response.status_code == 400, typed[:40]
        assert '<p class="notice notice-error" id="allowed_ips-error">' in response.text
        field_error = response.text.split('id="allowed_ips-error">')[1].split("</p>")[0]
        assert message in field_error, field_error
        assert 'aria-invalid="true"' in response.text
        assert "<script>alert(1)</script>" not in response.text
    with runtime.engine.connect() as conn:
        assert clients.get_client(conn, client.client_id)["allowed_ips"] == ["192.0.2.1"]


def test_settings_without_the_allow_list_field_leave_it_alone(
    admin: TestClient, runtime: Runtime
) -> None:
    client = make_api_client(runtime, name="Sync")
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(allowed_ips="192.0.2.1")
        )
    page = f"/admin/clients/{client.client_id}"
    form = {"rate_limit": "100", "token_expiry": "3600", "error_response": "site"}
    assert post_form(admin, page, f"{page}/settings", form).status_code == 303
    with runtime.engine.connect() as conn:
        assert clients.get_client(conn, client.client_id)["allowed_ips"] == ["192.0.2.1"]


def test_only_an_administrator_with_the_forms_token_sets_the_list(
    admin: TestClient, anonymous: TestClient, runtime: Runtime
) -> None:
    client = make_api_client(runtime, name="Sync")
    action = f"/admin/clients/{client.client_id}/settings"
    form = {
        "rate_limit": "100",
        "token_expiry": "3600",
        "error_response": "site",
        "allowed_ips": "192.0.2.1",
    }
    # an administrator without the form's CSRF token, and a visitor who is not signed in
    assert admin.post(action, data=form, follow_redirects=False).status_code in (400, 403)
    assert anonymous.post(action, data=form, follow_redirects=False).status_code == 303
    with runtime.engine.connect() as conn:
        assert clients.get_client(conn, client.client_id)["allowed_ips"] == []


def test_invalid_service_account_is_flagged_on_the_client_page(
    admin: TestClient, runtime: Runtime
) -> None:
    client = make_api_client(runtime, name="Sync")
    with runtime.engine.begin() as conn:
        set_suspended(conn, client.user_id, True)
    page = admin.get(f"/admin/clients/{client.client_id}").text
    assert "Invalid service account for Sync" in page
    assert "This user account has been suspended" in page


def test_unknown_client_ids_are_404_pages(admin: TestClient) -> None:
    for path in (
        "/admin/clients/nope",
        "/admin/clients/nope/edit",
        "/admin/clients/nope/delete",
        "/admin/clients/%3Cscript%3E",
    ):
        response = admin.get(path)
        assert response.status_code == 404
        assert "<script>" not in response.text


def test_client_pages_need_an_administrator(anonymous: TestClient, runtime: Runtime) -> None:
    client = make_api_client(runtime, name="Sync")
    response = anonymous.post(
        f"/admin/clients/{client.client_id}/status",
        data={"action": "disable"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert _token_status(anonymous, client.client_id, client.secret) == 200


def test_list_can_show_one_tenants_clients(admin: TestClient, runtime: Runtime) -> None:
    # given a system client and a tenant's client
    tenant = make_tenant(runtime, "acme")
    make_api_client(runtime, name="System sync")
    make_api_client(runtime, tenant_id=tenant, name="Acme HR")
    # when the list is narrowed to the tenant, then to the system
    acme = admin.get(f"/admin/clients?tenant_id={tenant}").text
    system = admin.get("/admin/clients?tenant_id=0").text
    unknown = admin.get("/admin/clients?tenant_id=%C2%B2").text
    # then each shows only its clients, and an unknown tenant shows all
    assert "Acme HR" in acme and "System sync" not in acme
    assert "System sync" in system and "Acme HR" not in system
    assert "System sync" in unknown and "Acme HR" in unknown
    assert f'href="/admin/clients/new?tenant={tenant}"' in acme
    assert 'href="/admin/clients/new?tenant=system"' in system


def test_totaras_client_addresses_lead_here(anonymous: TestClient, runtime: Runtime) -> None:
    cases = {
        "/totara/api/client/": "/admin/clients",
        "/totara/api/client/?tenant_id=7": "/admin/clients?tenant_id=7",
        "/totara/api/client/index.php?tenant_id=99999999999": "/admin/clients",
        "/totara/api/client/?tenant_id=-1%3Cx": "/admin/clients",
        "/totara/api/client/?tenant_id=%C2%B2": "/admin/clients",
    }
    for address, target in cases.items():
        response = anonymous.get(address, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (301, target), address
