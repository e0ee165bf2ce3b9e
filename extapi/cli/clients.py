"""``extapi client``: API clients, their secrets and their settings."""

from __future__ import annotations

from collections.abc import Callable

import click

from extapi.auth import clients as clients_service
from extapi.auth.secrets import load_hasher
from extapi.cli.base import ExtapiGroup, config, emit, transaction, warn
from extapi.cli.lookups import client_row, tenant_id, user_row
from extapi.cli.views import client_line, client_view
from extapi.errors import ValidationError
from extapi.people import tenants as tenants_service
from extapi.settings import site as site_settings

__all__ = ["client"]


@click.group(cls=ExtapiGroup)
def client() -> None:
    """Manage API clients."""


def _with_fix(exc: ValidationError, account_tenant: str | None, tenant: str | None) -> str:
    """The service's refusal of a service account, and what to type instead."""
    if tenant is None and account_tenant is not None:
        return (
            f"{exc.message}: the user is a member of tenant {account_tenant}; "
            f"add --tenant {account_tenant}."
        )
    if tenant is not None and account_tenant != tenant:
        other = "no tenant" if account_tenant is None else f"tenant {account_tenant}"
        return (
            f"{exc.message} (the user is in {other}): choose a member of {tenant} "
            f"('extapi user list --tenant {tenant}') or leave out --tenant."
        )
    return exc.message


@client.command("add")
@click.option("--name", required=True)
@click.option("--service-account", "service_account", required=True, help="Username.")
@click.option("--tenant", "tenant_idnumber", default=None)
@click.option("--description", default="")
@click.option("--disabled", is_flag=True)
def client_add(
    name: str,
    service_account: str,
    tenant_idnumber: str | None,
    description: str,
    disabled: bool,
) -> None:
    """Register a client; its secret is printed once and never again."""
    settings = config()
    with transaction() as conn:
        site = site_settings.load_site_settings(conn)
        account = user_row(conn, service_account)
        new = clients_service.NewClient(
            name, int(account["id"]), tenant_id(conn, tenant_idnumber), description, not disabled
        )
        namesakes = [
            c["client_id"] for c in clients_service.list_clients(conn) if c["name"] == name
        ]
        try:
            row, secret = clients_service.add_client(
                conn, load_hasher(conn, settings.secret_key), site, new
            )
        except ValidationError as exc:
            account_tenant = None
            if account["tenant_id"] is not None:
                tenants = {t["id"]: t["idnumber"] for t in tenants_service.list_tenants(conn)}
                account_tenant = tenants.get(account["tenant_id"])
            fixed = _with_fix(exc, account_tenant, tenant_idnumber)
            if fixed == exc.message:
                raise
            raise ValidationError(fixed) from None
    if namesakes:
        warn(
            f"another client is already named {name!r} ({', '.join(namesakes)}); "
            "give each client its own name so they can be told apart."
        )
    view = {**client_view(row), "client_secret": secret}
    emit(
        view,
        f"client_id: {row['client_id']}\nclient_secret: {secret}\n"
        "Keep the secret safe: it is not shown again "
        "(rotate it with 'extapi client rotate-secret').",
    )


@client.command("list")
def client_list() -> None:
    """List clients (never their secrets)."""
    with transaction() as conn:
        views = [client_view(r) for r in clients_service.list_clients(conn)]
    emit(views, "\n".join(client_line(v) for v in views) or "No API clients.")


def _client_action(action: str) -> Callable[[str], None]:
    def command(client_id: str) -> None:
        with transaction() as conn:
            client_row(conn, client_id)
            if action == "delete":
                row = clients_service.delete_client(conn, client_id)
            else:
                row = clients_service.set_client_status(conn, client_id, action == "enable")
        emit(client_view(row), f"Client {client_id}: {action}d.")

    return command


for _action, _help in (
    ("enable", "Enable a client."),
    ("disable", "Disable a client: its tokens stop working until it is enabled."),
    ("delete", "Delete a client and revoke its tokens."),
):
    client.command(_action, help=_help)(click.argument("client_id")(_client_action(_action)))


@client.command("rotate-secret")
@click.argument("client_id")
def client_rotate(client_id: str) -> None:
    """Issue a new secret; every token of the client stops working."""
    settings = config()
    with transaction() as conn:
        client_row(conn, client_id)
        row, secret = clients_service.rotate_secret(
            conn, load_hasher(conn, settings.secret_key), client_id
        )
    view = {**client_view(row), "client_secret": secret}
    emit(view, f"client_id: {client_id}\nclient_secret: {secret}\nEarlier tokens are revoked.")


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
@click.pass_context
def client_set(
    ctx: click.Context,
    client_id: str,
    rate_limit: int | None,
    token_expiry: int | None,
    error_response: str | None,
    allowed_ips: str | None,
) -> None:
    """Change a client's rate limit, token lifetime, error response level or IP allow-list."""
    if (rate_limit, token_expiry, error_response, allowed_ips) == (None, None, None, None):
        raise click.UsageError(
            "Nothing to change: give at least one of --rate-limit, --token-expiry, "
            "--error-response, --allowed-ips.",
            ctx,
        )
    change = clients_service.ClientSettingsChange(
        rate_limit, token_expiry, error_response, allowed_ips
    )
    with transaction() as conn:
        client_row(conn, client_id)
        row = clients_service.update_client_settings(conn, client_id, change)
        site = site_settings.load_site_settings(conn)
    view = client_view(row)
    emit(view, client_line(view))
    if clients_service.exceeds_site_limit(row, site):
        warn(clients_service.RATE_LIMIT_WARNING)
