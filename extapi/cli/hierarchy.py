"""``extapi hierarchy``: position and organisation frameworks and types."""

from __future__ import annotations

from collections.abc import Callable

import click

from extapi.cli.base import ExtapiGroup, emit, transaction
from extapi.cli.views import hierarchy_view
from extapi.org import hierarchy as hierarchy_service

__all__ = ["hierarchy"]


@click.group(cls=ExtapiGroup)
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


def _lister(what: str) -> Callable[..., list[dict[str, object]]]:
    if what == "framework":
        return hierarchy_service.list_frameworks
    return hierarchy_service.list_types


def _hierarchy_add(what: str) -> Callable[..., None]:
    add = hierarchy_service.add_framework if what == "framework" else hierarchy_service.add_type

    def command(kind: str, idnumber: str, fullname: str, shortname: str) -> None:
        info = hierarchy_service.KIND_INFO[kind]
        with transaction() as conn:
            new_id = add(conn, info, idnumber, fullname, shortname)
            view = next(hierarchy_view(r) for r in _lister(what)(conn, info) if r["id"] == new_id)
        emit(view, f"{kind.capitalize()} {what} {view['idnumber']} added (id {new_id}).")

    return command


def _hierarchy_list(what: str) -> Callable[..., None]:
    def command(kind: str) -> None:
        with transaction() as conn:
            views = [
                hierarchy_view(r) for r in _lister(what)(conn, hierarchy_service.KIND_INFO[kind])
            ]
        lines = [f"{v['id']}\t{v['idnumber']}\t{v['fullname']}" for v in views]
        emit(views, "\n".join(lines) or f"No {kind} {what}s.")

    return command


for _group, _what in ((hierarchy_framework, "framework"), (hierarchy_type, "type")):
    _group.command("add", help=f"Add a position or organisation {_what}.")(
        kind_option(
            click.option("--idnumber", required=True)(
                click.option("--fullname", required=True)(
                    click.option("--shortname", default="")(_hierarchy_add(_what))
                )
            )
        )
    )
    _group.command("list", help=f"List the {_what}s of a kind.")(
        kind_option(_hierarchy_list(_what))
    )
