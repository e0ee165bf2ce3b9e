"""``extapi profile-field``: custom profile field definitions."""

from __future__ import annotations

import click
from sqlalchemy import Connection

from extapi.cli.base import ExtapiGroup, emit, transaction
from extapi.cli.views import profile_field_view
from extapi.errors import NotFoundError
from extapi.people import profile_fields

__all__ = ["profile_field"]


@click.group("profile-field", cls=ExtapiGroup)
def profile_field() -> None:
    """Manage custom profile field definitions."""


def _view(conn: Connection, shortname: str) -> dict[str, object]:
    found = profile_fields.fields_by_shortname(conn).get(shortname)
    if found is None:
        raise NotFoundError(
            f"No custom profile field {shortname!r}. 'extapi profile-field list' shows them."
        )
    return profile_field_view(found)


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
def profile_field_add(
    shortname: str, name: str, datatype: str, options: str, visible: str, locked: bool
) -> None:
    """Add a custom profile field."""
    levels = {"none": 0, "user": 1, "all": 2}
    choices = options.split(",") if options else []
    with transaction() as conn:
        new_id = profile_fields.add_field(
            conn, shortname, name, datatype, choices, levels[visible], locked
        )
        view = next(
            profile_field_view(f) for f in profile_fields.list_fields(conn) if f.id == new_id
        )
    emit(view, f"Custom profile field {view['shortname']} ({datatype}) added (id {new_id}).")


@profile_field.command("list")
def profile_field_list() -> None:
    """List the custom profile fields."""
    with transaction() as conn:
        rows = [profile_field_view(f) for f in profile_fields.list_fields(conn)]
    lines = [f"{r['shortname']}\t{r['type']}\t{r['name']}" for r in rows]
    emit(rows, "\n".join(lines) or "No custom profile fields.")


@profile_field.command("delete")
@click.argument("shortname")
def profile_field_delete(shortname: str) -> None:
    """Delete a definition and every user's value of it."""
    with transaction() as conn:
        view = _view(conn, shortname)
        profile_fields.delete_field(conn, shortname)
    emit(view, f"Custom profile field {shortname} deleted.")
