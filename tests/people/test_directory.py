"""The people directory and the admin actions behind the people pages (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from extapi.access.roles import assign_role
from extapi.db.tables import api_clients, role_assignments
from extapi.errors import ConflictError, NotFoundError, ValidationError
from extapi.people.admin_actions import (
    add_user,
    change_apiuser_role,
    suspend_tenant,
    suspend_user,
)
from extapi.people.directory import (
    NO_TENANT,
    UserSearch,
    get_directory_user,
    get_tenant,
    list_tenant_summaries,
    search_users,
)
from extapi.people.users import NewUser, soft_delete
from extapi.runtime import Runtime
from tests.factories import make_api_client, make_tenant, make_user


def _search(runtime: Runtime, text: str = "", **kwargs: int | None) -> list[str]:
    with runtime.engine.connect() as conn:
        return [u.username for u in search_users(conn, UserSearch(text, **kwargs)).users]


@pytest.fixture
def people(runtime: Runtime) -> dict[str, int]:
    acme = make_tenant(runtime, "acme")
    return {
        "acme": acme,
        "ada": make_user(
            runtime, "ada", firstname="Ada", lastname="Lovelace", email="ada@engine.org"
        ),
        "grace": make_user(
            runtime,
            "grace",
            firstname="Grace",
            lastname="Hopper",
            email="g.hopper@navy.mil",
            idnumber="COBOL-1",
            tenant_id=acme,
        ),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LOVELACE", ["ada"]),  # last name, any case
        ("ada lovelace", ["ada"]),  # full name
        ("NAVY.MIL", ["grace"]),  # email
        ("Grac", ["grace"]),  # username
        ("cobol-1", ["grace"]),  # idnumber
        ("  ", ["grace", "ada"]),  # blank: everyone, by last name
        ("nobody", []),
    ],
)
def test_search_matches_username_name_email_and_idnumber_ignoring_case(
    runtime: Runtime, people: dict[str, int], text: str, expected: list[str]
) -> None:
    assert _search(runtime, text) == expected


def test_search_treats_like_wildcards_as_plain_text(
    runtime: Runtime, people: dict[str, int]
) -> None:
    # Given users none of whose details contain % or _
    # When searching for the LIKE wildcards themselves
    # Then nothing matches (they are escaped, not wildcards)
    assert _search(runtime, "%") == []
    assert _search(runtime, "_") == []


def test_search_filters_by_tenant_and_hides_deleted_users(
    runtime: Runtime, people: dict[str, int]
) -> None:
    with runtime.engine.begin() as conn:
        soft_delete(conn, make_user(runtime, "gone", lastname="Adams"))
    assert _search(runtime, tenant_id=people["acme"]) == ["grace"]
    assert _search(runtime, tenant_id=NO_TENANT) == ["ada"]
    assert "gone" not in _search(runtime)


def test_pages_hold_per_page_rows_and_count_the_total(runtime: Runtime) -> None:
    for n in range(5):
        make_user(runtime, f"p{n}", lastname=f"Page{n}")
    with runtime.engine.connect() as conn:
        first = search_users(conn, UserSearch("page", per_page=2))
        last = search_users(conn, UserSearch("page", page=3, per_page=2))
        beyond = search_users(conn, UserSearch("page", page=99, per_page=2))
    assert [u.username for u in first.users] == ["p0", "p1"]
    assert (first.total, first.has_previous, first.has_next) == (5, False, True)
    assert (first.first, first.last) == (1, 2)
    assert [u.username for u in last.users] == ["p4"]
    assert (last.has_previous, last.has_next, last.first, last.last) == (True, False, 5, 5)
    assert beyond.users == [] and beyond.has_previous


def test_a_page_costs_two_statements_whatever_its_size(runtime: Runtime) -> None:
    # Given twenty users with tenants and roles
    tenant = make_tenant(runtime)
    for n in range(20):
        user_id = make_user(runtime, f"n{n}", tenant_id=tenant if n % 2 else None)
        with runtime.engine.begin() as conn:
            assign_role(conn, "apiuser", user_id, tenant if n % 2 else None)
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(runtime.engine, "before_cursor_execute", listener)
    try:
        with runtime.engine.connect() as conn:
            found = search_users(conn, UserSearch())
    finally:
        event.remove(runtime.engine, "before_cursor_execute", listener)
    # Then the rows and the total are two statements, not one per row
    assert len(found.users) == 20
    assert all(u.apiuser_in_home_context for u in found.users)
    assert len(statements) == 2


def test_very_long_search_text_is_cut(runtime: Runtime, people: dict[str, int]) -> None:
    with runtime.engine.connect() as conn:
        found = search_users(conn, UserSearch("x" * 10_000))
    assert len(found.search.text) == 100 and found.users == []


def test_directory_user_carries_tenant_admin_and_role_flags(
    runtime: Runtime, people: dict[str, int]
) -> None:
    with runtime.engine.begin() as conn:
        assign_role(conn, "apiuser", people["grace"], people["acme"])
        grace = get_directory_user(conn, people["grace"])
        ada = get_directory_user(conn, people["ada"])
    assert (grace.tenant_name, grace.apiuser_tenant, grace.apiuser_system) == (
        "Tenant acme",
        True,
        False,
    )
    assert grace.fullname == "Grace Hopper" and not grace.site_admin
    assert not ada.holds_apiuser and ada.tenant_id is None


def test_unknown_or_deleted_users_are_not_found(runtime: Runtime, people: dict[str, int]) -> None:
    with runtime.engine.begin() as conn:
        soft_delete(conn, people["ada"])
        for user_id in (people["ada"], 999_999):
            with pytest.raises(NotFoundError):
                get_directory_user(conn, user_id)


def test_add_user_with_the_api_user_role_in_the_tenant_context(
    runtime: Runtime, people: dict[str, int]
) -> None:
    new = NewUser("svc", "svc@example.com", "Service", "Account", tenant_id=people["acme"])
    with runtime.engine.begin() as conn:
        user = get_directory_user(conn, add_user(conn, new, assign_apiuser=True))
    assert (user.tenant_id, user.apiuser_tenant, user.apiuser_system) == (
        people["acme"],
        True,
        False,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "short"}, "Passwords must be at least 8 characters long."),
        ({"firstname": "F" * 101}, "First name must not exceed 100 characters."),
        ({"tenant_id": 999_999}, "Choose a tenant from the list."),
        ({"username": "ADA LOVE"}, "The given username contains invalid characters"),
    ],
)
def test_add_user_refuses_bad_input(
    runtime: Runtime, people: dict[str, int], changes: dict[str, object], message: str
) -> None:
    new = NewUser("newbie", "new@example.com", "New", "User")
    for name, value in changes.items():
        setattr(new, name, value)
    with runtime.engine.begin() as conn, pytest.raises(ValidationError) as caught:
        add_user(conn, new)
    assert message in caught.value.message


def test_nobody_may_suspend_themselves(runtime: Runtime, people: dict[str, int]) -> None:
    with runtime.engine.begin() as conn:
        with pytest.raises(ValidationError, match="cannot suspend your own account"):
            suspend_user(conn, people["ada"], True, acting_user_id=people["ada"])
        suspend_user(conn, people["ada"], False, acting_user_id=people["ada"])  # unsuspend is fine
        suspend_user(conn, people["grace"], True, acting_user_id=people["ada"])
        assert get_directory_user(conn, people["grace"]).suspended


def test_role_contexts_follow_the_cli(runtime: Runtime, people: dict[str, int]) -> None:
    with runtime.engine.begin() as conn:
        # a system user gets the role in the system context
        assert change_apiuser_role(conn, people["ada"], True).tenant_id is None
        # a tenant member in their tenant's context, and never newly in the system context
        assert change_apiuser_role(conn, people["grace"], True).tenant_id == people["acme"]
        with pytest.raises(ValidationError, match="tenant's context"):
            change_apiuser_role(conn, people["grace"], True, "system")
        with pytest.raises(ValidationError, match="does not belong to a tenant"):
            change_apiuser_role(conn, people["ada"], True, "tenant")
        # assigning twice changes nothing; unassigning removes it
        assert not change_apiuser_role(conn, people["ada"], True).changed
        assert change_apiuser_role(conn, people["ada"], False, "system").changed
        held = conn.execute(select(role_assignments.c.user_id)).scalars().all()
    assert held == [people["grace"]]


def test_a_tenant_members_system_role_can_be_taken_away(
    runtime: Runtime, people: dict[str, int]
) -> None:
    with runtime.engine.begin() as conn:
        assign_role(conn, "apiuser", people["grace"], None)  # as the CLI allows
        change = change_apiuser_role(conn, people["grace"], False, "system")
    assert change.changed and change.tenant_id is None


def test_tenant_summaries_count_live_users_and_clients(
    runtime: Runtime, people: dict[str, int]
) -> None:
    make_api_client(runtime, tenant_id=people["acme"])  # adds a service account too
    make_api_client(runtime, tenant_id=people["acme"], enabled=False)
    with runtime.engine.begin() as conn:
        soft_delete(conn, make_user(runtime, tenant_id=people["acme"]))
        (acme,) = list_tenant_summaries(conn)
    assert (acme.idnumber, acme.users, acme.clients, acme.enabled_clients) == ("acme", 3, 2, 1)


def test_suspending_a_tenant_disables_its_clients_and_unsuspending_keeps_them_off(
    runtime: Runtime, people: dict[str, int]
) -> None:
    mine = make_api_client(runtime, tenant_id=people["acme"])
    other = make_api_client(runtime)
    with runtime.engine.begin() as conn:
        before = suspend_tenant(conn, people["acme"], True)
        suspend_tenant(conn, people["acme"], False)
        status = dict(conn.execute(select(api_clients.c.id, api_clients.c.status)).all())
        after = get_tenant(conn, people["acme"])
    assert before.enabled_clients == 1
    assert not status[mine.id] and status[other.id]
    assert not after.suspended


def test_unknown_tenants_are_not_found(runtime: Runtime) -> None:
    with runtime.engine.begin() as conn, pytest.raises(NotFoundError):
        suspend_tenant(conn, 999_999, True)


def test_duplicate_usernames_are_conflicts(runtime: Runtime, people: dict[str, int]) -> None:
    with runtime.engine.begin() as conn, pytest.raises(ConflictError):
        add_user(conn, NewUser("ada", "other@example.com", "Other", "Ada"))
