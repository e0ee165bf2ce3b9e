"""The people admin pages: users (search, add, suspend, API User role) and tenants, driven
through the real ASGI app as a browser would."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from extapi.access.roles import assign_role
from extapi.app import ExtapiApp
from extapi.db.tables import api_clients, tenants, users
from extapi.people.directory import get_directory_user
from extapi.runtime import Runtime
from tests.factories import make_api_client, make_tenant, make_user
from tests.web.support import post_form, sign_in

USERS = "/admin/users"
TENANTS = "/admin/tenants"
PAGES = [USERS, f"{USERS}/new", TENANTS, f"{TENANTS}/new"]


def _user(runtime: Runtime, user_id: int):  # type: ignore[no-untyped-def]
    with runtime.engine.connect() as conn:
        return get_directory_user(conn, user_id)


def _count(runtime: Runtime, table) -> int:  # type: ignore[no-untyped-def]
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _rows(page: str) -> list[str]:
    """The text of each body row of the page's table, tags stripped."""
    body = page.split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


@pytest.fixture
def ada(runtime: Runtime) -> int:
    return make_user(runtime, "ada", firstname="Ada", lastname="Lovelace", email="ada@engine.org")


# --- who may see the pages --------------------------------------------------------------------
@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_anonymous_posts_change_nothing(anonymous: TestClient, runtime: Runtime, ada: int) -> None:
    response = anonymous.post(f"{USERS}/{ada}/suspend", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert not _user(runtime, ada).suspended


def test_a_documentation_reader_is_refused(app: ExtapiApp, runtime: Runtime) -> None:
    # Given a user who may only view the API documentation (through the API User role)
    reader = make_user(runtime, "reader", password="Reader-pass-1")
    with runtime.engine.begin() as conn:
        assign_role(conn, "apiuser", reader, None)
    with TestClient(app, base_url="http://testserver") as client:
        sign_in(client, "reader", "Reader-pass-1")
        # When they open the people pages, Then each answers 403
        for path in PAGES:
            assert client.get(path).status_code == 403, path


# --- searching ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("q", "email"),
    [
        ("LOVELACE", "ada@engine.org"),  # last name
        ("ada lovelace", "ada@engine.org"),  # full name
        ("ENGINE.ORG", "ada@engine.org"),  # email
        ("BYRON", "lord@poet.example"),  # username only
    ],
)
def test_search_finds_by_name_email_or_username_ignoring_case(
    admin: TestClient, runtime: Runtime, ada: int, q: str, email: str
) -> None:
    # Given a few users
    make_user(runtime, "byron", firstname="Lord", lastname="Poet", email="lord@poet.example")
    make_user(runtime, "grace", firstname="Grace", lastname="Hopper")
    # When the admin searches, Then only the one matching user is listed
    rows = _rows(admin.get(USERS, params={"q": q}).text)
    assert len(rows) == 1 and email in rows[0]


def test_the_list_shows_tenant_status_role_and_site_admin(
    admin: TestClient, runtime: Runtime
) -> None:
    acme = make_tenant(runtime, "acme")
    grace = make_user(runtime, "grace", firstname="Grace", lastname="Hopper", tenant_id=acme)
    with runtime.engine.begin() as conn:
        assign_role(conn, "apiuser", grace, acme)
    rows = _rows(admin.get(USERS).text)
    assert any("Site administrator" in r and "admin@example.com" in r for r in rows)
    (grace_row,) = [r for r in rows if "grace" in r]
    # name, username, email, tenant, status (in words), where the API User role is held
    assert (
        "Grace Hopper grace grace@example.com Tenant acme Active Tenant acme Suspend" in grace_row
    )


def test_the_tenant_filter_shows_only_its_members(admin: TestClient, runtime: Runtime) -> None:
    acme = make_tenant(runtime, "acme")
    make_user(runtime, "member", tenant_id=acme)
    make_user(runtime, "outsider")
    rows = _rows(admin.get(USERS, params={"tenant": str(acme)}).text)
    assert len(rows) == 1 and "member" in rows[0]
    system_rows = _rows(admin.get(USERS, params={"tenant": "none"}).text)
    assert not any("member" in r for r in system_rows)


def test_users_are_paged_fifty_at_a_time(admin: TestClient, runtime: Runtime) -> None:
    for n in range(55):
        make_user(runtime, f"bulk{n:02d}", lastname=f"Bulk{n:02d}")
    first = admin.get(USERS, params={"q": "bulk"})
    assert len(_rows(first.text)) == 50
    assert 'href="/admin/users?q=bulk&amp;page=2" rel="next"' in first.text
    second = admin.get(USERS, params={"q": "bulk", "page": "2"})
    assert len(_rows(second.text)) == 5
    assert 'href="/admin/users?q=bulk" rel="prev"' in second.text
    assert 'rel="next"' not in second.text


def test_deleted_users_are_never_listed(admin: TestClient, runtime: Runtime) -> None:
    from extapi.people.users import soft_delete

    gone = make_user(runtime, "gone", lastname="Gone")
    with runtime.engine.begin() as conn:
        soft_delete(conn, gone)
    assert not any("Gone" in r for r in _rows(admin.get(USERS).text))
    assert admin.get(f"{USERS}/{gone}").status_code == 404


# --- hostile input ------------------------------------------------------------------------------
def test_markup_in_names_is_escaped(admin: TestClient, runtime: Runtime) -> None:
    user_id = make_user(runtime, "evil", firstname="<script>alert(1)</script>")
    for path in (USERS, f"{USERS}/{user_id}"):
        page = admin.get(path).text
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 5000},
        {"q": "%_\\'\""},
        {"page": "99999999999999999999"},
        {"page": "-1"},
        {"tenant": "abc"},
        {"tenant": "99999999999"},
    ],
)
def test_odd_query_strings_still_give_a_page(admin: TestClient, params: dict[str, str]) -> None:
    assert admin.get(USERS, params=params).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        f"{USERS}/999999",
        f"{USERS}/abc",
        f"{USERS}/-1",
        f"{USERS}/0",
        f"{USERS}/99999999999999999999",
    ],
)
def test_unknown_or_malformed_user_ids_give_the_404_page(admin: TestClient, path: str) -> None:
    response = admin.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.text


@pytest.mark.parametrize(
    "action",
    [
        f"{USERS}/999999/suspend",
        f"{USERS}/abc/unsuspend",
        f"{USERS}/999999/roles/apiuser",
        f"{TENANTS}/999999/suspend",
        f"{TENANTS}/x/unsuspend",
    ],
)
def test_actions_on_unknown_ids_give_the_404_page(admin: TestClient, action: str) -> None:
    response = post_form(admin, USERS, action, {"action": "assign", "confirmed": "1"})
    assert response.status_code == 404


def test_posts_without_the_csrf_token_are_refused(
    admin: TestClient, runtime: Runtime, ada: int
) -> None:
    tenant = make_tenant(runtime, "acme")
    client = make_api_client(runtime, tenant_id=tenant)
    users_before = _count(runtime, users)
    posts = [
        (f"{USERS}/{ada}/suspend", {"confirmed": "1"}),
        (f"{USERS}/{ada}/roles/apiuser", {"action": "assign"}),
        (f"{USERS}/new", {"username": "x", "email": "x@example.com", "firstname": "X"}),
        (f"{TENANTS}/new", {"name": "T", "idnumber": "t"}),
        (f"{TENANTS}/{tenant}/suspend", {"confirmed": "1"}),
    ]
    for action, data in posts:
        response = admin.post(action, data={**data, "csrf_token": "wrong"})
        assert response.status_code == 403, action
        assert admin.post(action, data=data).status_code == 403, action
    # nothing changed
    assert not _user(runtime, ada).suspended and not _user(runtime, ada).holds_apiuser
    assert _count(runtime, users) == users_before and _count(runtime, tenants) == 1
    with runtime.engine.connect() as conn:
        status = conn.execute(select(api_clients.c.status).where(api_clients.c.id == client.id))
        assert status.scalar_one()


# --- adding users -------------------------------------------------------------------------------
NEW_USER = {
    "username": "svc.acme",
    "email": "svc@acme.example",
    "firstname": "Service",
    "lastname": "Account",
    "idnumber": "SVC-1",
}


def test_add_a_service_account_with_the_api_user_role(admin: TestClient, runtime: Runtime) -> None:
    acme = make_tenant(runtime, "acme")
    form = {**NEW_USER, "tenant": str(acme), "apiuser": "1", "password": ""}
    response = post_form(admin, f"{USERS}/new", f"{USERS}/new", form)
    assert response.status_code == 303
    page = admin.get(response.headers["location"])
    assert "User svc.acme added." in page.text
    user_id = int(response.headers["location"].rsplit("/", 1)[1])
    user = _user(runtime, user_id)
    assert (user.tenant_id, user.apiuser_tenant, user.idnumber) == (acme, True, "SVC-1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # the API's rules and messages, as on the command line
        ({"username": "Not Valid!"}, "The given username contains invalid characters"),
        ({"email": "not-an-email"}, "Invalid email format: not-an-email"),
        ({"email": "ｓｖｃ@acme.example"}, "Invalid email format: ｓｖｃ@acme.example"),
        ({"firstname": " "}, "Firstname can not be blank"),
        ({"password": "weak"}, "Passwords must be at least 8 characters long."),
        ({"tenant": "999999"}, "Choose a tenant from the list."),
        ({"tenant": "acme"}, "Choose a tenant from the list."),
        ({"lastname": "L" * 201}, "Last name must not exceed 200 characters."),
    ],
)
def test_add_user_errors_keep_the_input_and_change_nothing(
    admin: TestClient, runtime: Runtime, change: dict[str, str], message: str
) -> None:
    before = _count(runtime, users)
    form = {**NEW_USER, "apiuser": "1", **change}
    response = post_form(admin, f"{USERS}/new", f"{USERS}/new", form)
    assert response.status_code == 400
    assert message in response.text
    assert 'id="form-errors"' in response.text
    assert 'value="svc@acme.example"' in response.text or "email" in change
    assert 'value="SVC-1"' in response.text
    assert "checked" in response.text  # the role checkbox stays ticked
    assert 'value="weak"' not in response.text  # passwords are never echoed
    assert _count(runtime, users) == before


def test_a_taken_username_is_reported(admin: TestClient, ada: int) -> None:
    response = post_form(admin, f"{USERS}/new", f"{USERS}/new", {**NEW_USER, "username": "ada"})
    assert response.status_code == 400
    assert "Username already exists: ada" in response.text


@pytest.mark.parametrize("race", [False, True], ids=["look-up", "database"])
def test_a_taken_email_address_is_reported(
    admin: TestClient, runtime: Runtime, ada: int, monkeypatch: pytest.MonkeyPatch, race: bool
) -> None:
    # given Ada's address, found by the look-up or (in a lost race) only by the database
    if race:
        from extapi.people import users as users_service

        monkeypatch.setattr(users_service, "identifier_taken", lambda *a: False, raising=False)
    before = _count(runtime, users)
    # when another user is added with it, then the form says so and nothing is added
    form = {**NEW_USER, "email": "ada@engine.org"}
    response = post_form(admin, f"{USERS}/new", f"{USERS}/new", form)
    assert response.status_code == 400
    assert "Email address already exists: ada@engine.org" in response.text
    assert _count(runtime, users) == before


# --- suspending ---------------------------------------------------------------------------------
def test_suspend_and_unsuspend_a_user(admin: TestClient, runtime: Runtime, ada: int) -> None:
    response = post_form(
        admin, USERS, f"{USERS}/{ada}/suspend", {"back": "/admin/users?q=ada", "confirmed": "1"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users?q=ada"
    assert _user(runtime, ada).suspended
    page = admin.get("/admin/users?q=ada").text
    assert "Ada Lovelace (ada) suspended." in page
    assert "Suspended" in _rows(page)[0]
    assert 'Unsuspend<span class="visually-hidden"> Ada Lovelace</span>' in page

    response = post_form(admin, USERS, f"{USERS}/{ada}/unsuspend")
    assert response.headers["location"] == f"/admin/users/{ada}"
    assert not _user(runtime, ada).suspended


def test_the_back_address_never_leaves_the_people_pages(admin: TestClient, ada: int) -> None:
    for back in ("https://evil.example/", "//evil.example/admin/users", "/logout"):
        response = post_form(
            admin, USERS, f"{USERS}/{ada}/suspend", {"back": back, "confirmed": "1"}
        )
        assert response.headers["location"] == f"/admin/users/{ada}"


def test_an_admin_cannot_suspend_themselves(
    admin: TestClient, runtime: Runtime, admin_id: int
) -> None:
    assert f'href="/admin/users/{admin_id}/suspend' not in admin.get(USERS).text
    response = post_form(admin, USERS, f"{USERS}/{admin_id}/suspend", {"confirmed": "1"})
    assert response.status_code == 400
    assert "You cannot suspend your own account" in response.text
    assert not _user(runtime, admin_id).suspended
    assert admin.get(USERS).status_code == 200  # still signed in


# --- the API User role --------------------------------------------------------------------------
def test_assign_and_unassign_the_api_user_role(
    admin: TestClient, runtime: Runtime, ada: int
) -> None:
    acme = make_tenant(runtime, "acme")
    grace = make_user(runtime, "grace", firstname="Grace", lastname="Hopper", tenant_id=acme)
    # When the admin gives both users the role from the list
    for user_id in (ada, grace):
        response = post_form(admin, USERS, f"{USERS}/{user_id}/roles/apiuser", {"action": "assign"})
        assert response.status_code == 303
    # Then each holds it in their home context, and the list says where
    rows = {r.split()[0]: r for r in _rows(admin.get(USERS).text)}
    assert "Ada Lovelace ada ada@engine.org System Active System" in rows["Ada"]
    assert "Tenant acme Active Tenant acme" in rows["Grace"]
    assert _user(runtime, ada).apiuser_system and _user(runtime, grace).apiuser_tenant
    # When the role is taken away again
    post_form(admin, USERS, f"{USERS}/{grace}/roles/apiuser", {"action": "unassign"})
    assert not _user(runtime, grace).holds_apiuser
    assert "no longer holds the API User role in tenant Tenant acme" in admin.get(USERS).text


def test_role_requests_that_make_no_sense_are_refused(
    admin: TestClient, runtime: Runtime, ada: int
) -> None:
    tenant_form = {"action": "assign", "context": "tenant"}
    response = post_form(admin, USERS, f"{USERS}/{ada}/roles/apiuser", tenant_form)
    assert response.status_code == 400 and "does not belong to a tenant" in response.text
    response = post_form(admin, USERS, f"{USERS}/{ada}/roles/apiuser", {"action": "grant"})
    assert response.status_code == 400 and "assign or unassign" in response.text
    assert not _user(runtime, ada).holds_apiuser


# --- tenants --------------------------------------------------------------------------------------
def test_add_a_tenant_and_refuse_a_duplicate_idnumber(admin: TestClient, runtime: Runtime) -> None:
    form = {"name": "Acme Corp", "idnumber": "acme", "description": "Makers of everything"}
    response = post_form(admin, f"{TENANTS}/new", f"{TENANTS}/new", form)
    assert response.status_code == 303 and response.headers["location"] == TENANTS
    page = admin.get(TENANTS).text
    assert "Tenant Acme Corp added." in page
    assert "Acme Corp acme Active 0 users in tenant Acme Corp 0" in _rows(page)[0]

    again = post_form(admin, f"{TENANTS}/new", f"{TENANTS}/new", {**form, "name": "Other"})
    assert again.status_code == 400
    assert "A tenant with idnumber &#39;acme&#39; already exists." in again.text
    assert 'value="Other"' in again.text and "Makers of everything" in again.text
    assert _count(runtime, tenants) == 1


def test_a_tenant_needs_a_name_and_idnumber(admin: TestClient, runtime: Runtime) -> None:
    response = post_form(admin, f"{TENANTS}/new", f"{TENANTS}/new", {"name": "  "})
    assert response.status_code == 400 and "needs a name and an idnumber" in response.text
    assert _count(runtime, tenants) == 0


def test_suspending_a_tenant_disables_its_clients(admin: TestClient, runtime: Runtime) -> None:
    acme = make_tenant(runtime, "acme")
    ours = [make_api_client(runtime, tenant_id=acme) for _ in range(2)]
    other = make_api_client(runtime)
    row = _rows(admin.get(TENANTS).text)[0]
    assert (
        "Active 2 users in tenant Tenant acme 2 API clients of Tenant acme (2 enabled)" in row
    )  # two service accounts, two clients

    response = post_form(admin, TENANTS, f"{TENANTS}/{acme}/suspend", {"confirmed": "1"})
    assert response.status_code == 303
    page = admin.get(TENANTS).text
    assert "Tenant Tenant acme suspended; 2 API clients were disabled." in page
    assert (
        "Suspended 2 users in tenant Tenant acme 2 API clients of Tenant acme (0 enabled)"
        in _rows(page)[0]
    )
    with runtime.engine.connect() as conn:
        status = dict(conn.execute(select(api_clients.c.id, api_clients.c.status)).all())
    assert [status[c.id] for c in ours] == [False, False] and status[other.id]

    post_form(admin, TENANTS, f"{TENANTS}/{acme}/unsuspend")
    page = admin.get(TENANTS).text
    assert "Its API clients stay disabled" in page
    assert (
        "Active 2 users in tenant Tenant acme 2 API clients of Tenant acme (0 enabled)"
        in _rows(page)[0]
    )
