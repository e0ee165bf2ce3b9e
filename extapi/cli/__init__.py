"""The ``extapi`` command: serve the API and manage its data (PRODUCT.md section 4).

Each group of commands lives in a module named after what it manages; :mod:`extapi.cli.base`
holds what they share (``--database``, ``--json``, errors and exit statuses)."""

from __future__ import annotations

import click

from extapi.cli.base import ExtapiGroup, common_params
from extapi.cli.clients import client
from extapi.cli.hierarchy import hierarchy
from extapi.cli.profile_fields import profile_field
from extapi.cli.roles import role
from extapi.cli.server import migrate, serve
from extapi.cli.settings import settings
from extapi.cli.tenants import tenant
from extapi.cli.users import admin, user
from extapi.schema_cli import schema as schema_commands
from extapi.sync_cli import sync as sync_command

__all__ = ["main", "cli"]


@click.group(cls=ExtapiGroup, params=common_params())
@click.version_option(package_name="extapi", message="extapi %(version)s")
def cli() -> None:
    """extapi: a fast, Totara-compatible external GraphQL API server.

    Every command takes --database URL (else EXTAPI_DATABASE_URL, else sqlite:///extapi.db)
    and --json. Exit status: 0 done, 1 refused (the message says why and what to do), 2 usage
    error."""


for _command in (
    serve,
    migrate,
    tenant,
    user,
    role,
    admin,
    client,
    profile_field,
    hierarchy,
    settings,
    schema_commands,
    sync_command,
):
    cli.add_command(_command)


def main() -> None:
    cli()
