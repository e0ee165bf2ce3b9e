"""has_capability: system and tenant contexts, allow, prevent and prohibit."""

from __future__ import annotations

import pytest

from extapi.access import roles
from extapi.access.capabilities import APIUSER_DEFAULTS
from extapi.access.principal import Principal, has_capability, load_grants
from extapi.errors import ConflictError, NotFoundError
from tests.factories import make_tenant, make_user


def _principal(runtime, user_id: int, tenant_id: int | None = None) -> Principal:
    with runtime.engine.connect() as conn:
        grants = load_grants(conn, user_id)
    return Principal(user_id, tenant_id, loader=lambda: grants)


def test_apiuser_role_has_totaras_defaults(runtime):
    with runtime.engine.connect() as conn:
        apiuser = next(r for r in roles.list_roles(conn) if r["shortname"] == "apiuser")
    assert apiuser["name"] == "API User"
    assert set(apiuser["capabilities"]) == set(APIUSER_DEFAULTS)
    assert "moodle/user:viewalldetails" in apiuser["capabilities"]
    assert "totara/tenant:manageparticipants" not in apiuser["capabilities"]


def test_system_assignment_reaches_every_tenant(runtime):
    user_id = make_user(runtime)
    tenant_id = make_tenant(runtime)
    with runtime.engine.begin() as conn:
        roles.assign_role(conn, "apiuser", user_id, None)
    principal = _principal(runtime, user_id)
    assert has_capability(principal, "moodle/user:create")
    assert has_capability(principal, "moodle/user:create", tenant_id)
    assert not has_capability(principal, "totara/tenant:manageparticipants")


def test_tenant_assignment_reaches_only_that_tenant(runtime):
    tenant_a, tenant_b = make_tenant(runtime), make_tenant(runtime)
    user_id = make_user(runtime, tenant_id=tenant_a)
    with runtime.engine.begin() as conn:
        roles.assign_role(conn, "apiuser", user_id, tenant_a)
    principal = _principal(runtime, user_id, tenant_a)
    assert has_capability(principal, "totara/tenant:usercreate", tenant_a)
    assert not has_capability(principal, "totara/tenant:usercreate", tenant_b)
    assert not has_capability(principal, "totara/tenant:usercreate")


def test_prohibit_in_any_role_wins(runtime):
    user_id = make_user(runtime)
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "locked", "Locked")
        roles.set_permission(conn, "locked", "moodle/user:delete", roles.PROHIBIT)
        roles.assign_role(conn, "apiuser", user_id, None)
        roles.assign_role(conn, "locked", user_id, None)
    assert not has_capability(_principal(runtime, user_id), "moodle/user:delete")
    assert has_capability(_principal(runtime, user_id), "moodle/user:create")


def test_prevent_in_one_role_does_not_cancel_allow_in_another(runtime):
    user_id = make_user(runtime)
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "careful", "Careful")
        roles.set_permission(conn, "careful", "moodle/user:delete", roles.PREVENT)
        roles.assign_role(conn, "apiuser", user_id, None)
        roles.assign_role(conn, "careful", user_id, None)
    assert has_capability(_principal(runtime, user_id), "moodle/user:delete")


def test_custom_role_grant_and_revoke(runtime):
    user_id = make_user(runtime)
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "reader", "Reader")
        roles.set_permission(conn, "reader", "moodle/user:viewalldetails", roles.ALLOW)
        roles.assign_role(conn, "reader", user_id, None)
    assert has_capability(_principal(runtime, user_id), "moodle/user:viewalldetails")
    with runtime.engine.begin() as conn:
        roles.remove_permission(conn, "reader", "moodle/user:viewalldetails")
    assert not has_capability(_principal(runtime, user_id), "moodle/user:viewalldetails")


def test_site_admins_hold_everything():
    assert has_capability(Principal(1, None, is_site_admin=True), "moodle/site:config")


def test_grants_are_loaded_once(runtime):
    calls = []
    principal = Principal(1, None, loader=lambda: calls.append(1) or {})
    has_capability(principal, "moodle/user:create")
    has_capability(principal, "moodle/user:update")
    assert calls == [1]


def test_role_errors(runtime):
    with runtime.engine.begin() as conn:
        with pytest.raises(ConflictError, match="already exists"):
            roles.create_role(conn, "apiuser", "Again")
        with pytest.raises(NotFoundError, match="Capability 'nope:nope' does not exist."):
            roles.set_permission(conn, "apiuser", "nope:nope", roles.ALLOW)
        with pytest.raises(NotFoundError, match="Role 'ghost' does not exist."):
            roles.assign_role(conn, "ghost", 1, None)


def test_assigning_twice_is_harmless(runtime):
    user_id = make_user(runtime)
    with runtime.engine.begin() as conn:
        assert roles.assign_role(conn, "apiuser", user_id, None)
        assert not roles.assign_role(conn, "apiuser", user_id, None)
        assert roles.unassign_role(conn, "apiuser", user_id, None)
        assert not roles.unassign_role(conn, "apiuser", user_id, None)
