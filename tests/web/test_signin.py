"""Sign-in, sessions and sign-out of the web pages."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from extapi.access.roles import assign_role
from extapi.app import ExtapiApp
from extapi.auth.signin import INVALID_LOGIN
from extapi.auth.throttle import FREE_ATTEMPTS, FREE_ATTEMPTS_PER_ADDRESS
from extapi.config import Config
from extapi.people.users import set_password, set_suspended
from extapi.runtime import Runtime, open_runtime
from extapi.web.sessions import ABSOLUTE_SECONDS, COOKIE_NAME, IDLE_SECONDS, Session
from tests.factories import make_user
from tests.web.support import ADMIN_PASSWORD, csrf_token, sign_in


def _attempt(client: TestClient, username: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/login",
        data={"username": username, "password": password, **extra},
        follow_redirects=False,
    )


def test_anonymous_visitor_is_sent_to_sign_in_and_back(
    anonymous: TestClient, admin_id: int
) -> None:
    # Given an anonymous browser
    # When it opens an admin page
    response = anonymous.get("/admin/clients?x=1", follow_redirects=False)
    # Then it is sent to the sign-in page, which remembers the page
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fadmin%2Fclients%3Fx%3D1"
    # And signing in there leads back to it
    signed = _attempt(anonymous, "admin", ADMIN_PASSWORD, next="/admin/clients?x=1")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/admin/clients?x=1"
    assert anonymous.get("/admin/clients").status_code == 200


def test_session_cookie_is_http_only_strict_and_signed(
    anonymous: TestClient, admin_id: int
) -> None:
    response = _attempt(anonymous, "admin", ADMIN_PASSWORD)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert ADMIN_PASSWORD not in cookie


def test_wrong_password_unknown_user_and_suspended_admin_get_the_same_answer(
    anonymous: TestClient, runtime: Runtime, admin_id: int
) -> None:
    # Given a suspended site administrator
    make_user(runtime, "sleepy", password="Sleepy-pass-1")
    with runtime.engine.begin() as conn:
        from extapi.people.users import make_site_admin

        sleepy = conn.execute(
            __import__("sqlalchemy").text("select id from users where username='sleepy'")
        ).scalar_one()
        make_site_admin(conn, sleepy)
        set_suspended(conn, sleepy, True)
    # When each tries to sign in
    answers = [
        _attempt(anonymous, "admin", "wrong"),
        _attempt(anonymous, "nobody", "whatever"),
        _attempt(anonymous, "sleepy", "Sleepy-pass-1"),
    ]
    # Then all are refused alike, and no session starts
    for answer in answers:
        assert answer.status_code == 401
        assert INVALID_LOGIN in answer.text
        assert COOKIE_NAME not in answer.headers.get("set-cookie", "")


def test_user_without_admin_or_documentation_rights_can_not_sign_in(
    anonymous: TestClient, runtime: Runtime
) -> None:
    make_user(runtime, "plain", password="Plain-pass-1")
    assert _attempt(anonymous, "plain", "Plain-pass-1").status_code == 401


def test_documentation_reader_signs_in_to_the_docs_but_not_the_admin_pages(
    anonymous: TestClient, runtime: Runtime
) -> None:
    # Given a user holding the API User role (which grants totara/api:viewdocumentation)
    reader = make_user(runtime, "reader", password="Reader-pass-1")
    with runtime.engine.begin() as conn:
        assign_role(conn, "apiuser", reader, None)
    # When they sign in
    response = _attempt(anonymous, "reader", "Reader-pass-1")
    # Then they land on the API documentation, and admin pages are refused
    assert response.headers["location"] == "/totara/api/documentation/"
    assert anonymous.get("/admin/clients").status_code == 403


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    anonymous: TestClient, admin_id: int
) -> None:
    # Given as many failures as are free
    for _ in range(FREE_ATTEMPTS):
        assert _attempt(anonymous, "admin", "wrong").status_code == 401
    # When the right password comes next
    response = _attempt(anonymous, "admin", ADMIN_PASSWORD)
    # Then it is refused with a lock-out message that says when to retry
    assert response.status_code == 401
    assert "Too many failed sign-ins. Try again in 1 minute." in response.text


def test_a_success_before_the_limit_clears_the_count(anonymous: TestClient, admin_id: int) -> None:
    for _ in range(FREE_ATTEMPTS - 1):
        _attempt(anonymous, "admin", "wrong")
    assert _attempt(anonymous, "admin", ADMIN_PASSWORD).status_code == 303
    for _ in range(FREE_ATTEMPTS - 1):
        _attempt(anonymous, "admin", "wrong")
    assert _attempt(anonymous, "admin", ADMIN_PASSWORD).status_code == 303


def test_one_address_guessing_many_names_is_locked_out(
    anonymous: TestClient, admin_id: int
) -> None:
    for n in range(FREE_ATTEMPTS_PER_ADDRESS):
        _attempt(anonymous, f"guess{n}", "wrong")
    assert "Too many failed sign-ins" in _attempt(anonymous, "admin", ADMIN_PASSWORD).text


def test_next_parameter_never_leads_off_site(anonymous: TestClient, admin_id: int) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"):
        response = _attempt(anonymous, "admin", ADMIN_PASSWORD, next=target)
        assert response.headers["location"] == "/admin/"


def test_forged_or_expired_cookies_are_ignored(app: ExtapiApp, admin_id: int) -> None:
    codec = app.pages.state.web.codec
    with TestClient(app, base_url="http://testserver") as client:
        sign_in(client)
        genuine = client.cookies[COOKIE_NAME]
        now = int(time.time())
        stale = [
            genuine[:-1] + ("0" if genuine[-1] != "0" else "1"),
            codec.encode(Session(admin_id, now - ABSOLUTE_SECONDS - 5, now, "x", "y")),
            codec.encode(Session(admin_id, now - 60, now - IDLE_SECONDS - 5, "x", "y")),
            "not-a-cookie",
            "a" * 5000,
        ]
        for value in stale:
            client.cookies.clear()
            client.cookies.set(COOKIE_NAME, value)
            assert client.get("/admin/clients", follow_redirects=False).status_code == 303


def test_changing_the_password_ends_existing_sessions(
    admin: TestClient, runtime: Runtime, admin_id: int
) -> None:
    with runtime.engine.begin() as conn:
        set_password(conn, admin_id, "Another-pass-9")
    assert admin.get("/admin/clients", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_even_for_a_copied_cookie(admin: TestClient) -> None:
    # Given a signed-in browser and a copy of its cookie
    copied = admin.cookies[COOKIE_NAME]
    token = csrf_token(admin, "/admin/clients")
    # When it signs out
    response = admin.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.headers["location"] == "/login?signed_out=1"
    # Then neither the browser nor the copy is signed in any more
    assert admin.get("/admin/clients", follow_redirects=False).status_code == 303
    admin.cookies.set(COOKIE_NAME, copied)
    assert admin.get("/admin/clients", follow_redirects=False).status_code == 303


def test_sign_out_needs_the_csrf_token(admin: TestClient) -> None:
    admin.post("/logout", data={}, follow_redirects=False)
    assert admin.get("/admin/clients").status_code == 200


def test_oversized_credentials_are_cut_not_crashing(anonymous: TestClient, admin_id: int) -> None:
    response = _attempt(anonymous, "admin" * 1000, "x" * 100_000)
    assert response.status_code == 401


def test_sign_in_posted_from_another_site_is_refused(anonymous: TestClient, admin_id: int) -> None:
    response = anonymous.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert COOKIE_NAME not in response.headers.get("set-cookie", "")


def test_long_flash_messages_never_make_the_cookie_unreadable(app: ExtapiApp) -> None:
    # Given a session that collects many messages naming very long (non-ASCII) names
    codec = app.pages.state.web.codec
    now = int(time.time())
    session = codec.start(1, "hash", now)
    for _ in range(6):
        session = session.with_flash("Suspended " + "\U0001f600" * 300)
    # When it is written and read back
    cookie = codec.encode(session)
    # Then it still fits a browser's cookie and is accepted
    assert len(cookie) < 4000
    assert codec.decode(cookie, now) is not None


def test_behind_a_trusted_proxy_each_browser_is_counted_apart(
    config: Config, admin_id: int
) -> None:
    # given a worker that trusts the proxy at 10.0.0.1
    runtime = open_runtime(replace(config, trusted_proxies=("10.0.0.1",)))
    try:
        with TestClient(ExtapiApp(runtime), client=("10.0.0.1", 4000)) as proxy:
            # when one browser behind it guesses many names
            guesser = {"X-Forwarded-For": "198.51.100.7"}
            for n in range(FREE_ATTEMPTS_PER_ADDRESS):
                proxy.post("/login", data={"username": f"g{n}", "password": "x"}, headers=guesser)
            locked = proxy.post(
                "/login", data={"username": "admin", "password": "x"}, headers=guesser
            )
            # then that browser is locked out, and another behind the same proxy is not
            assert "Too many failed sign-ins" in locked.text
            other = proxy.post(
                "/login",
                data={"username": "admin", "password": ADMIN_PASSWORD},
                headers={"X-Forwarded-For": "198.51.100.8"},
                follow_redirects=False,
            )
            assert other.status_code == 303
    finally:
        runtime.close()


def _set_auth(runtime: Runtime, user_id: int, auth: str) -> None:
    from sqlalchemy import update

    from extapi.db.tables import users

    with runtime.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(auth=auth))


def test_an_administrator_who_may_not_log_in_gets_the_wrong_password_answer(
    anonymous: TestClient, runtime: Runtime, admin_id: int
) -> None:
    # Given a site administrator whose authentication method is "No login"
    _set_auth(runtime, admin_id, "nologin")
    # When they sign in with their right password
    answer = _attempt(anonymous, "admin", ADMIN_PASSWORD)
    # Then they are refused exactly as for a wrong password, and no session starts
    wrong = _attempt(anonymous, "admin", "wrong")
    assert (answer.status_code, wrong.status_code) == (401, 401)
    assert INVALID_LOGIN in answer.text
    assert answer.text.replace(INVALID_LOGIN, "") == wrong.text.replace(INVALID_LOGIN, "")
    assert COOKIE_NAME not in answer.headers.get("set-cookie", "")


def test_an_administrator_of_an_external_sign_in_method_can_not_use_the_local_password(
    anonymous: TestClient, runtime: Runtime, admin_id: int
) -> None:
    # extapi checks no LDAP, SAML, CAS or OAuth 2 sign-ins: only the local password counts
    _set_auth(runtime, admin_id, "ldap")
    assert _attempt(anonymous, "admin", ADMIN_PASSWORD).status_code == 401


def _no_login(runtime: Runtime, user_id: int) -> None:
    _set_auth(runtime, user_id, "nologin")


def _suspend(runtime: Runtime, user_id: int) -> None:
    with runtime.engine.begin() as conn:
        set_suspended(conn, user_id, True)


def _delete(runtime: Runtime, user_id: int) -> None:
    from extapi.people.users import soft_delete

    with runtime.engine.begin() as conn:
        soft_delete(conn, user_id)


@pytest.mark.parametrize("change", [_no_login, _suspend, _delete])
def test_a_session_ends_when_its_account_may_no_longer_sign_in(
    admin: TestClient, runtime: Runtime, admin_id: int, change
) -> None:
    # Given a signed-in administrator
    assert admin.get("/admin/clients").status_code == 200
    # When their account is set to "No login", suspended or deleted elsewhere
    change(runtime, admin_id)
    # Then their very next request is sent to the sign-in page
    response = admin.get("/admin/clients", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
