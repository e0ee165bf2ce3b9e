"""``extapi user`` and ``extapi admin``: people, service accounts and site administrators.

Users pass the API's checks (``validate_user_fields``) with the API's messages."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import Connection

from extapi.cli.base import ExtapiGroup, emit, transaction
from extapi.cli.lookups import tenant_id, user_row
from extapi.cli.views import user_views
from extapi.errors import NotFoundError
from extapi.people import rules
from extapi.people import users as users_service
from extapi.settings import site as site_settings

__all__ = ["user", "admin"]


@click.group(cls=ExtapiGroup)
def user() -> None:
    """Manage users."""


def _view(conn: Connection, user_id: int) -> dict[str, Any]:
    return user_views(conn, [users_service.get_user(conn, user_id)])[0]


def _line(view: dict[str, Any]) -> str:
    tags = [f"tenant {view['tenant']}"] * bool(view["tenant"])
    tags += ["suspended"] * view["suspended"] + ["site administrator"] * view["site_admin"]
    return f"{view['id']}\t{view['username']}\t{view['email']}" + (
        f"\t({', '.join(tags)})" if tags else ""
    )


_country = click.option("--country", default=None, help="ISO 3166 code, e.g. NZ.")
_lang = click.option("--lang", default=None, help="Language pack code, e.g. en.")


@user.command("add")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--firstname", required=True)
@click.option("--lastname", required=True)
@click.option("--password", default=None, help="Checked against the password policy.")
@click.option("--idnumber", default="")
@click.option("--tenant", "tenant_idnumber", default=None, help="Tenant idnumber.")
@_country
@_lang
def user_add(
    username: str,
    email: str,
    firstname: str,
    lastname: str,
    password: str | None,
    idnumber: str,
    tenant_idnumber: str | None,
    country: str | None,
    lang: str | None,
) -> None:
    """Add a user (without --password the user can not sign in)."""
    with transaction() as conn:
        site = site_settings.load_site_settings(conn)
        new = users_service.NewUser(
            username,
            email,
            firstname,
            lastname,
            password,
            idnumber,
            tenant_id(conn, tenant_idnumber),
            country=country,
            lang=lang,
        )
        view = _view(conn, users_service.create_user(conn, new, site))
    emit(view, f"User {view['username']} added (id {view['id']}).")


@user.command("set")
@click.argument("username")
@click.option("--email", default=None)
@click.option("--firstname", default=None)
@click.option("--lastname", default=None)
@click.option("--password", default=None, help="Checked against the password policy.")
@click.option("--idnumber", default=None)
@_country
@_lang
@click.pass_context
def user_set(ctx: click.Context, username: str, **fields: str | None) -> None:
    """Change a user's e-mail, names, password, idnumber, country or language."""
    changes = {name: value for name, value in fields.items() if value is not None}
    if not changes:
        raise click.UsageError(
            "Nothing to change: give at least one of --email, --firstname, --lastname, "
            "--password, --idnumber, --country, --lang.",
            ctx,
        )
    with transaction() as conn:
        found = user_row(conn, username)
        users_service.change_user(conn, int(found["id"]), changes)
        view = _view(conn, int(found["id"]))
    emit(view, f"User {view['username']} changed: {', '.join(sorted(changes))}.")


def _user_action(username: str, action: str) -> dict[str, Any]:
    with transaction() as conn:
        found = int(user_row(conn, username)["id"])
        view = _view(conn, found)
        if action == "delete":
            users_service.soft_delete(conn, found)
            return {**view, "deleted": True, "site_admin": False}
        users_service.set_suspended(conn, found, action == "suspend")
        return _view(conn, found)


@user.command("suspend")
@click.argument("username")
def user_suspend(username: str) -> None:
    """Suspend a user: no sign-in, and clients using the account stop working."""
    emit(_user_action(username, "suspend"), f"User {username} suspended.")


@user.command("unsuspend")
@click.argument("username")
def user_unsuspend(username: str) -> None:
    """Lift a user's suspension."""
    emit(_user_action(username, "unsuspend"), f"User {username} unsuspended.")


@user.command("delete")
@click.argument("username")
def user_delete(username: str) -> None:
    """Delete a user (the record stays, its username, e-mail and idnumber are released)."""
    emit(_user_action(username, "delete"), f"User {username} deleted.")


@user.command("list")
@click.option("--tenant", "tenant_idnumber", default=None, help="Only this tenant's members.")
def user_list(tenant_idnumber: str | None) -> None:
    """List users (not deleted ones)."""
    with transaction() as conn:
        rows = users_service.list_users(conn)
        if tenant_idnumber is not None:
            wanted = tenant_id(conn, tenant_idnumber)
            rows = [row for row in rows if row["tenant_id"] == wanted]
        views = user_views(conn, rows)
    emit(views, "\n".join(_line(v) for v in views) or "No users.")


# --- site administrators -----------------------------------------------------------------------
@click.group(cls=ExtapiGroup)
def admin() -> None:
    """Manage site administrators (they sign in to the web pages)."""


@admin.command("add")
@click.option("--username", required=True)
@click.option(
    "--password",
    default=None,
    help="Checked against the password policy; without it one is made up and printed once.",
)
@click.option("--email", default=None, help="Defaults to USERNAME@localhost.localdomain.")
def admin_add(username: str, password: str | None, email: str | None) -> None:
    """Make a user a site administrator (creating the user when needed) with this password."""
    generated = password is None
    password = rules.generate_password() if password is None else rules.check_password(password)
    with transaction() as conn:
        try:
            user_id = int(users_service.get_user_by_username(conn, username)["id"])
            users_service.set_password(conn, user_id, password)
        except NotFoundError:
            site = site_settings.load_site_settings(conn)
            new = users_service.NewUser(
                username,
                email or f"{username.lower()}@localhost.localdomain",
                "Site",
                "Administrator",
                password,
            )
            user_id = users_service.create_user(conn, new, site)
        users_service.make_site_admin(conn, user_id)
        view = _view(conn, user_id)
    text = f"{view['username']} is a site administrator."
    if generated:
        view["password"] = password
        text += f"\npassword: {password}\nKeep it safe: it is not shown again."
    emit(view, text)
