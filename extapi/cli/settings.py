"""``extapi settings``: the site settings running servers read."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import Connection

from extapi.cli.base import ExtapiGroup, emit, transaction
from extapi.settings import site as site_settings

__all__ = ["settings"]


@click.group(cls=ExtapiGroup)
def settings() -> None:
    """Show and change site settings."""


def _values(conn: Connection) -> dict[str, Any]:
    current = site_settings.load_site_settings(conn)
    return {name: getattr(current, name) for name in site_settings.SETTING_NAMES}


@settings.command("show")
def settings_show() -> None:
    """Show every site setting."""
    with transaction() as conn:
        values = _values(conn)
    emit(values, "\n".join(f"{k} = {v}" for k, v in values.items()))


@settings.command("set")
@click.argument("name")
@click.argument("value")
def settings_set(name: str, value: str) -> None:
    """Change a setting; running servers apply it on their next request. --json prints every
    setting, as 'settings show --json' does."""
    with transaction() as conn:
        stored = site_settings.set_setting(conn, name, value)
        values = _values(conn)
    emit(values, f"{name} = {stored}")
