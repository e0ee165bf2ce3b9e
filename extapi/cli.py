"""The ``extapi`` command: serve the API and manage its data (PRODUCT.md section 4)."""

from __future__ import annotations

import logging.config
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
import orjson
from sqlalchemy import Connection

from extapi.access import roles as roles_service
from extapi.auth import clients as clients_service
from extapi.auth.secrets import load_hasher
from extapi.config import Config, load_config
from extapi.errors import ExtapiError, NotFoundError
from extapi.org import hierarchy as hierarchy_service
from extapi.people import profile_fields
from extapi.people import tenants as tenants_service
from extapi.people import users as users_service
from extapi.runtime import open_database
from extapi.schema_cli import schema as schema_commands
from extapi.settings import site as site_settings
from extapi.sync_cli import sync as sync_command

__all__ = ["main", "cli"]

F = TypeVar("F", bound=Callable[..., Any])


def _config() -> Config:
    return load_config()


@contextmanager
def _transaction() -> Iterator[Connection]:
    engine = open_database(_config())
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _emit(as_json: bool, data: Any, text: str) -> None:
    if as_json:
        click.echo(orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS).decode())
    else:
        click.echo(text)


def _tenant_id(conn: Connection, idnumber: str | None) -> int | None:
    if idnumber is None:
        return None
    return int(tenants_service.get_tenant_by_idnumber(conn, idnumber)["id"])


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


class ExtapiGroup(click.Group):
    """Turns domain errors into a one-line message on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ExtapiError as exc:
            raise click.ClickException(exc.message) from exc


@click.group(cls=ExtapiGroup)
def cli() -> None:
    """extapi: a fast, Totara-compatible external GraphQL API server."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--demo", is_flag=True, help="Seed a demo site and print its client credentials.")
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Create or migrate the database, then serve the API."""
    import uvicorn

    from extapi.demo import seed_demo
    from extapi.ops.logs import logging_config

    config = _config()
    # The same configuration is applied by uvicorn in every worker: one line per request
    # from extapi, so uvicorn's own access log stays off.
    log_config = logging_config(config.log_format)
    logging.config.dictConfig(log_config)
    engine = open_database(config)
    if demo:
        with engine.begin() as conn:
            click.echo(seed_demo(conn, load_hasher(conn, config.secret_key), host, port))
    engine.dispose()
    with _shared_metrics(config, workers):
        uvicorn.run(
            "extapi.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http="httptools",
            loop="uvloop",
            access_log=False,
            proxy_headers=False,
            log_level="info",
            log_config=log_config,
        )


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def _shared_metrics(config: Config, workers: int) -> Iterator[None]:
    """With metrics on and several workers, each worker writes its figures to files in a
    private folder that any of them reads back when scraped (prometheus-client's multiprocess
    mode). The folder is made before the workers start and removed when the server stops."""
    if config.metrics is None or workers == 1:
        yield
        return
    folder = tempfile.mkdtemp(prefix="extapi-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous


@cli.command()
def migrate() -> None:
    """Create the database or bring it to the newest schema."""
    open_database(_config()).dispose()
    click.echo("Database is up to date.")


# --- tenants -------------------------------------------------------------------------------
@cli.group()
def tenant() -> None:
    """Manage tenants."""


@tenant.command("add")
@click.option("--name", required=True)
@click.option("--idnumber", required=True)
@click.option("--description", default="")
@json_option
def tenant_add(name: str, idnumber: str, description: str, as_json: bool) -> None:
    with _transaction() as conn:
        new_id = tenants_service.add_tenant(conn, name, idnumber, description)
    _emit(as_json, {"id": new_id, "idnumber": idnumber}, f"Tenant {idnumber} added (id {new_id}).")


@tenant.command("list")
@json_option
def tenant_list(as_json: bool) -> None:
    with _transaction() as conn:
        rows = tenants_service.list_tenants(conn)
    lines = [
        f"{r['id']}\t{r['idnumber']}\t{r['name']}{' (suspended)' * r['suspended']}" for r in rows
    ]
    _emit(as_json, rows, "\n".join(lines) or "No tenants.")


@tenant.command("suspend")
@click.argument("idnumber")
def tenant_suspend(idnumber: str) -> None:
    """Suspend a tenant; its API clients are disabled."""
    with _transaction() as conn:
        tenants_service.set_tenant_suspended(conn, _tenant_id(conn, idnumber) or 0, True)
    click.echo(f"Tenant {idnumber} suspended; its API clients are disabled.")


@tenant.command("unsuspend")
@click.argument("idnumber")
def tenant_unsuspend(idnumber: str) -> None:
    with _transaction() as conn:
        tenants_service.set_tenant_suspended(conn, _tenant_id(conn, idnumber) or 0, False)
    click.echo(f"Tenant {idnumber} unsuspended. Re-enable its clients with 'extapi client enable'.")


# --- users -----------------------------------------------------------------------------------
@cli.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--firstname", required=True)
@click.option("--lastname", required=True)
@click.option("--password", default=None)
@click.option("--idnumber", default="")
@click.option("--tenant", "tenant_idnumber", default=None, help="Tenant idnumber.")
@json_option
def user_add(
    username: str,
    email: str,
    firstname: str,
    lastname: str,
    password: str | None,
    idnumber: str,
    tenant_idnumber: str | None,
    as_json: bool,
) -> None:
    with _transaction() as conn:
        site = site_settings.load_site_settings(conn)
        new = users_service.NewUser(
            username,
            email,
            firstname,
            lastname,
            password,
            idnumber,
            _tenant_id(conn, tenant_idnumber),
        )
        new_id = users_service.create_user(conn, new, site)
    _emit(
        as_json,
        {"id": new_id, "username": new.username},
        f"User {new.username} added (id {new_id}).",
    )


@user.command("suspend")
@click.argument("username")
def user_suspend(username: str) -> None:
    with _transaction() as conn:
        found = users_service.get_user_by_username(conn, username)
        users_service.set_suspended(conn, found["id"], True)
    click.echo(f"User {username} suspended.")


@user.command("unsuspend")
@click.argument("username")
def user_unsuspend(username: str) -> None:
    with _transaction() as conn:
        found = users_service.get_user_by_username(conn, username)
        users_service.set_suspended(conn, found["id"], False)
    click.echo(f"User {username} unsuspended.")


@user.command("delete")
@click.argument("username")
def user_delete(username: str) -> None:
    with _transaction() as conn:
        found = users_service.get_user_by_username(conn, username)
        users_service.soft_delete(conn, found["id"])
    click.echo(f"User {username} deleted.")


@user.command("list")
@json_option
def user_list(as_json: bool) -> None:
    with _transaction() as conn:
        rows = users_service.list_users(conn)
    for row in rows:
        row.pop("password", None)
    lines = [f"{r['id']}\t{r['username']}\t{r['email']}" for r in rows]
    _emit(as_json, rows, "\n".join(lines))


# --- roles -----------------------------------------------------------------------------------
@cli.group()
def role() -> None:
    """Manage roles, their capabilities and who holds them."""


def _role_target(
    conn: Connection, username: str, tenant_idnumber: str | None
) -> tuple[int, int | None]:
    found = users_service.get_user_by_username(conn, username)
    return int(found["id"]), _tenant_id(conn, tenant_idnumber)


@role.command("assign")
@click.argument("role_name", metavar="ROLE")
@click.option("--user", "username", required=True)
@click.option("--tenant", "tenant_idnumber", default=None, help="Assign in this tenant's context.")
def role_assign(role_name: str, username: str, tenant_idnumber: str | None) -> None:
    """Give USER the ROLE in the system context, or in a tenant's context."""
    with _transaction() as conn:
        user_id, tenant_id = _role_target(conn, username, tenant_idnumber)
        added = roles_service.assign_role(conn, role_name, user_id, tenant_id)
    where = f"tenant {tenant_idnumber}" if tenant_idnumber else "the system context"
    click.echo(f"{'Assigned' if added else 'Already held:'} {role_name} to {username} in {where}.")


@role.command("unassign")
@click.argument("role_name", metavar="ROLE")
@click.option("--user", "username", required=True)
@click.option("--tenant", "tenant_idnumber", default=None)
def role_unassign(role_name: str, username: str, tenant_idnumber: str | None) -> None:
    with _transaction() as conn:
        user_id, tenant_id = _role_target(conn, username, tenant_idnumber)
        removed = roles_service.unassign_role(conn, role_name, user_id, tenant_id)
    click.echo(f"{'Removed' if removed else 'Not held:'} {role_name} from {username}.")


@role.command("create")
@click.argument("shortname")
@click.option("--name", required=True)
@click.option("--description", default="")
@json_option
def role_create(shortname: str, name: str, description: str, as_json: bool) -> None:
    """Create an empty role; grant capabilities with 'extapi role grant'."""
    with _transaction() as conn:
        new_id = roles_service.create_role(conn, shortname, name, description)
    _emit(
        as_json, {"id": new_id, "shortname": shortname}, f"Role {shortname} created (id {new_id})."
    )


_PERMISSIONS = {
    "allow": roles_service.ALLOW,
    "prevent": roles_service.PREVENT,
    "prohibit": roles_service.PROHIBIT,
}


@role.command("grant")
@click.argument("role_name", metavar="ROLE")
@click.argument("capability")
@click.option(
    "--permission", type=click.Choice(list(_PERMISSIONS)), default="allow", show_default=True
)
def role_grant(role_name: str, capability: str, permission: str) -> None:
    with _transaction() as conn:
        roles_service.set_permission(conn, role_name, capability, _PERMISSIONS[permission])
    click.echo(f"{role_name}: {capability} = {permission}.")


@role.command("revoke")
@click.argument("role_name", metavar="ROLE")
@click.argument("capability")
def role_revoke(role_name: str, capability: str) -> None:
    with _transaction() as conn:
        roles_service.remove_permission(conn, role_name, capability)
    click.echo(f"{role_name}: {capability} removed.")


@role.command("list")
@json_option
def role_list(as_json: bool) -> None:
    with _transaction() as conn:
        rows = roles_service.list_roles(conn)
    lines = [f"{r['shortname']}\t{r['name']}\t{len(r['capabilities'])} capabilities" for r in rows]  # type: ignore[arg-type]
    _emit(as_json, rows, "\n".join(lines))


# --- site administrators -----------------------------------------------------------------------
@cli.group()
def admin() -> None:
    """Manage site administrators (they sign in to the web pages)."""


@admin.command("add")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--email", default=None, help="Defaults to USERNAME@localhost.localdomain.")
@json_option
def admin_add(username: str, password: str, email: str | None, as_json: bool) -> None:
    """Make a user a site administrator (creating the user when needed) with this password."""
    with _transaction() as conn:
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
    _emit(as_json, {"id": user_id, "username": username}, f"{username} is a site administrator.")


# --- API clients -------------------------------------------------------------------------------
@cli.group()
def client() -> None:
    """Manage API clients."""


def _client_view(row: dict[str, Any]) -> dict[str, Any]:
    debug = row["response_debug"]
    names = {None: "site", 0: "none", 1: "normal", 2: "developer"}
    return {
        "id": row["id"],
        "client_id": row["client_id"],
        "name": row["name"],
        "description": row["description"],
        "status": "enabled" if row["status"] else "disabled",
        "tenant": row["tenant"],
        "service_account": row["service_account"],
        "rate_limit": row["client_rate_limit"],
        "token_expiry": row["default_token_expiry_time"],
        "error_response": names.get(debug, str(debug)),
        "allowed_ips": row["allowed_ips"],
    }


def _client_line(view: dict[str, Any]) -> str:
    allowed = view["allowed_ips"]
    return (
        f"{view['client_id']}  {view['name']}  [{view['status']}]  service account: "
        f"{view['service_account'] or '-'}  tenant: {view['tenant'] or '-'}"
        + (f"  allowed IPs: {', '.join(allowed)}" if allowed else "")
    )


@client.command("add")
@click.option("--name", required=True)
@click.option("--service-account", "service_account", required=True, help="Username.")
@click.option("--tenant", "tenant_idnumber", default=None)
@click.option("--description", default="")
@click.option("--disabled", is_flag=True)
@json_option
def client_add(
    name: str,
    service_account: str,
    tenant_idnumber: str | None,
    description: str,
    disabled: bool,
    as_json: bool,
) -> None:
    """Register a client; its secret is printed once and never again."""
    config = _config()
    with _transaction() as conn:
        site = site_settings.load_site_settings(conn)
        account = users_service.get_user_by_username(conn, service_account)
        new = clients_service.NewClient(
            name, int(account["id"]), _tenant_id(conn, tenant_idnumber), description, not disabled
        )
        row, secret = clients_service.add_client(
            conn, load_hasher(conn, config.secret_key), site, new
        )
    view = {**_client_view(row), "client_secret": secret}
    _emit(
        as_json,
        view,
        f"client_id: {row['client_id']}\nclient_secret: {secret}\n"
        "Keep the secret safe: it is not shown again "
        "(rotate it with 'extapi client rotate-secret').",
    )


@client.command("list")
@json_option
def client_list(as_json: bool) -> None:
    with _transaction() as conn:
        views = [_client_view(r) for r in clients_service.list_clients(conn)]
    _emit(as_json, views, "\n".join(_client_line(v) for v in views) or "No API clients.")


def _client_action(action: str) -> Callable[[str, bool], None]:
    def command(client_id: str, as_json: bool) -> None:
        with _transaction() as conn:
            if action == "delete":
                row = clients_service.delete_client(conn, client_id)
            else:
                row = clients_service.set_client_status(conn, client_id, action == "enable")
        _emit(as_json, _client_view(row), f"Client {client_id}: {action}d.")

    return command


for _action in ("enable", "disable", "delete"):
    client.command(_action, help=f"{_action.capitalize()} a client.")(
        click.argument("client_id")(json_option(_client_action(_action)))
    )


@client.command("rotate-secret")
@click.argument("client_id")
@json_option
def client_rotate(client_id: str, as_json: bool) -> None:
    """Issue a new secret; every token of the client stops working."""
    config = _config()
    with _transaction() as conn:
        row, secret = clients_service.rotate_secret(
            conn, load_hasher(conn, config.secret_key), client_id
        )
    view = {**_client_view(row), "client_secret": secret}
    _emit(
        as_json,
        view,
        f"client_id: {client_id}\nclient_secret: {secret}\nEarlier tokens are revoked.",
    )


@client.command("set")
@click.argument("client_id")
@click.option("--rate-limit", type=int, default=None, help="Points per minute.")
@click.option("--token-expiry", type=int, default=None, help="Seconds; 0 follows the site default.")
@click.option(
    "--error-response",
    type=click.Choice(["site", "none", "normal", "developer"]),
    default=None,
)
@click.option(
    "--allowed-ips",
    default=None,
    help='IP allow-list: addresses and CIDR ranges, comma-separated; "" clears it.',
)
@json_option
def client_set(
    client_id: str,
    rate_limit: int | None,
    token_expiry: int | None,
    error_response: str | None,
    allowed_ips: str | None,
    as_json: bool,
) -> None:
    """Change a client's rate limit, token lifetime, error response level or IP allow-list."""
    change = clients_service.ClientSettingsChange(
        rate_limit, token_expiry, error_response, allowed_ips
    )
    with _transaction() as conn:
        row = clients_service.update_client_settings(conn, client_id, change)
        site = site_settings.load_site_settings(conn)
    view = _client_view(row)
    _emit(as_json, view, _client_line(view))
    if clients_service.exceeds_site_limit(row, site):
        click.echo(f"Warning: {clients_service.RATE_LIMIT_WARNING}", err=True)


# --- custom profile fields --------------------------------------------------------------------
@cli.group("profile-field")
def profile_field() -> None:
    """Manage custom profile field definitions."""


@profile_field.command("add")
@click.option("--shortname", required=True)
@click.option("--name", required=True)
@click.option("--type", "datatype", required=True, type=click.Choice(profile_fields.DATATYPES))
@click.option("--options", default="", help="Menu options, comma separated.")
@click.option(
    "--visible",
    type=click.Choice(["none", "user", "all"]),
    default="all",
    show_default=True,
    help="Who sees values: nobody but privileged viewers, the user too, or everyone.",
)
@click.option("--locked", is_flag=True, help="Only holders of moodle/user:update may change it.")
@json_option
def profile_field_add(
    shortname: str,
    name: str,
    datatype: str,
    options: str,
    visible: str,
    locked: bool,
    as_json: bool,
) -> None:
    levels = {"none": 0, "user": 1, "all": 2}
    choices = [o for o in options.split(",")] if options else []
    with _transaction() as conn:
        new_id = profile_fields.add_field(
            conn, shortname, name, datatype, choices, levels[visible], locked
        )
    _emit(
        as_json,
        {"id": new_id, "shortname": shortname, "type": datatype},
        f"Custom profile field {shortname} ({datatype}) added (id {new_id}).",
    )


@profile_field.command("list")
@json_option
def profile_field_list(as_json: bool) -> None:
    with _transaction() as conn:
        fields = profile_fields.list_fields(conn)
    rows = [
        {
            "id": f.id,
            "shortname": f.shortname,
            "name": f.name,
            "type": f.datatype,
            "visible": f.visible,
            "locked": f.locked,
            "options": list(f.options),
        }
        for f in fields
    ]
    lines = [f"{r['shortname']}\t{r['type']}\t{r['name']}" for r in rows]
    _emit(as_json, rows, "\n".join(lines) or "No custom profile fields.")


@profile_field.command("delete")
@click.argument("shortname")
def profile_field_delete(shortname: str) -> None:
    """Delete a definition and every user's value of it."""
    with _transaction() as conn:
        profile_fields.delete_field(conn, shortname)
    click.echo(f"Custom profile field {shortname} deleted.")


# --- organisation structure ----------------------------------------------------------------------
@cli.group()
def hierarchy() -> None:
    """Manage position and organisation frameworks and types."""


@hierarchy.group("framework")
def hierarchy_framework() -> None:
    """Manage frameworks: the trees that hold positions or organisations."""


@hierarchy.group("type")
def hierarchy_type() -> None:
    """Manage types: labels that classify positions or organisations."""


kind_option = click.option(
    "--kind", required=True, type=click.Choice(list(hierarchy_service.KINDS))
)


def _named_view(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("id", "kind", "idnumber", "fullname", "shortname")}


def _hierarchy_add(what: str) -> Callable[..., None]:
    add = hierarchy_service.add_framework if what == "framework" else hierarchy_service.add_type

    def command(kind: str, idnumber: str, fullname: str, shortname: str, as_json: bool) -> None:
        with _transaction() as conn:
            new_id = add(conn, hierarchy_service.KIND_INFO[kind], idnumber, fullname, shortname)
        _emit(
            as_json,
            {"id": new_id, "kind": kind, "idnumber": idnumber.strip()},
            f"{kind.capitalize()} {what} {idnumber.strip()} added (id {new_id}).",
        )

    return command


def _hierarchy_list(what: str) -> Callable[..., None]:
    fetch = (
        hierarchy_service.list_frameworks if what == "framework" else hierarchy_service.list_types
    )

    def command(kind: str, as_json: bool) -> None:
        with _transaction() as conn:
            views = [_named_view(r) for r in fetch(conn, hierarchy_service.KIND_INFO[kind])]
        lines = [f"{v['id']}\t{v['idnumber']}\t{v['fullname']}" for v in views]
        _emit(as_json, views, "\n".join(lines) or f"No {kind} {what}s.")

    return command


for _group, _what in ((hierarchy_framework, "framework"), (hierarchy_type, "type")):
    _group.command("add", help=f"Add a position or organisation {_what}.")(
        kind_option(
            click.option("--idnumber", required=True)(
                click.option("--fullname", required=True)(
                    click.option("--shortname", default="")(json_option(_hierarchy_add(_what)))
                )
            )
        )
    )
    _group.command("list", help=f"List the {_what}s of a kind.")(
        kind_option(json_option(_hierarchy_list(_what)))
    )


# --- site settings -----------------------------------------------------------------------------
@cli.group()
def settings() -> None:
    """Show and change site settings."""


@settings.command("show")
@json_option
def settings_show(as_json: bool) -> None:
    with _transaction() as conn:
        current = site_settings.load_site_settings(conn)
    values = {name: getattr(current, name) for name in site_settings.SETTING_NAMES}
    _emit(as_json, values, "\n".join(f"{k} = {v}" for k, v in values.items()))


@settings.command("set")
@click.argument("name")
@click.argument("value")
def settings_set(name: str, value: str) -> None:
    """Change a setting; running servers apply it on their next request."""
    with _transaction() as conn:
        stored = site_settings.set_setting(conn, name, value)
    click.echo(f"{name} = {stored}")


cli.add_command(schema_commands)
cli.add_command(sync_command)


def main() -> None:
    cli()
