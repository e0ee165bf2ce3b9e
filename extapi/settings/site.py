"""Site settings: Totara's names and defaults, validated, stored as overrides in the database."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import Connection, delete, insert, select, update

from extapi.db import revision
from extapi.db.tables import site_settings
from extapi.errors import NotFoundError, ValidationError
from extapi.people.rules import country_name

__all__ = [
    "SiteSettings",
    "SETTING_NAMES",
    "RESPONSE_DEBUG_NAMES",
    "load_site_settings",
    "set_setting",
    "parse_setting",
    "MAX_INT",
    "update_settings",
    "THEME_REVISION",
    "ensure_theme_revision",
]

MAX_INT = 2147483647
RESPONSE_DEBUG_NAMES = {"none": 0, "normal": 1, "developer": 2}
_POSITIVE = re.compile(r"^[1-9]\d*$")
_LANG = re.compile(r"^[a-z]{2,3}(_[a-z0-9]{2,8})*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class SiteSettings:
    site_rate_limit: int = 500000
    client_rate_limit: int = 250000
    max_query_complexity: int = 6000
    max_query_depth: int = 15
    default_token_expiration: int = 86400
    enable_introspection: int = 0
    response_debug: int = 1
    perfdebug: int = 0
    api_enabled: int = 1
    timezone: str = "UTC"
    country: str = ""
    lang: str = "en"
    tenantsisolated: int = 0
    defaultpreference_maildisplay: int = 2
    # Totara's theme revision (``themerev``): part of every theme image address, recorded when
    # the database is first opened. Not an admin setting: not in SETTING_NAMES, and two
    # settings objects compare equal whatever their revisions.
    themerev: int = field(default=0, compare=False)


THEME_REVISION = "themerev"
SETTING_NAMES: tuple[str, ...] = tuple(
    f.name for f in fields(SiteSettings) if f.name != THEME_REVISION
)


def _positive(name: str) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not _POSITIVE.match(raw) or int(raw) > MAX_INT:
            raise ValidationError(f"{name} must be a whole number from 1 to {MAX_INT}.")
        return int(raw)

    return parse


def _duration(raw: str) -> int:
    if not re.fullmatch(r"-?\d+", raw):
        raise ValidationError("Duration must be a whole number of seconds.")
    value = int(raw)
    if value < 1:
        raise ValidationError("Duration must be 1 second or more")
    if value > MAX_INT:
        raise ValidationError(f"Duration must be {MAX_INT} seconds or less")
    return value


def _choice(name: str, allowed: dict[str, int]) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        key = raw.strip().lower()
        if key in allowed:
            return allowed[key]
        raise ValidationError(f"{name} must be one of: {', '.join(allowed)}.")

    return parse


_FLAG = {"0": 0, "1": 1, "off": 0, "on": 1, "false": 0, "true": 1, "no": 0, "yes": 1}


def _flag(name: str) -> Callable[[str], int]:
    return _choice(name, _FLAG)


def _timezone(raw: str) -> str:
    if raw not in available_timezones() and raw != "UTC":
        raise ValidationError(f"Unknown timezone '{raw}': use an IANA name such as Europe/Paris.")
    return raw


def _country(raw: str) -> str:
    """Empty (no default), or a code the API itself accepts for a user's country."""
    if raw and not _COUNTRY.match(raw):
        raise ValidationError("country must be a two-letter ISO 3166 code such as NZ, or empty.")
    if raw and country_name(raw) is None:
        raise ValidationError(f"country must be an ISO 3166 country code: {raw} is not one.")
    return raw


def _pattern(name: str, pattern: re.Pattern[str], hint: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw and not pattern.match(raw):
            raise ValidationError(f"{name} must be {hint}.")
        return raw

    return parse


_PARSERS: dict[str, Callable[[str], Any]] = {
    "site_rate_limit": _positive("site_rate_limit"),
    "client_rate_limit": _positive("client_rate_limit"),
    "max_query_complexity": _positive("max_query_complexity"),
    "max_query_depth": _positive("max_query_depth"),
    "default_token_expiration": _duration,
    "enable_introspection": _flag("enable_introspection"),
    "response_debug": _choice("response_debug", {**RESPONSE_DEBUG_NAMES, "0": 0, "1": 1, "2": 2}),
    "perfdebug": _flag("perfdebug"),
    "api_enabled": _flag("api_enabled"),
    "timezone": _timezone,
    "country": _country,
    "lang": _pattern("lang", _LANG, "a language code such as en or en_us"),
    "tenantsisolated": _flag("tenantsisolated"),
    "defaultpreference_maildisplay": _choice(
        "defaultpreference_maildisplay", {"0": 0, "1": 1, "2": 2}
    ),
}


def parse_setting(name: str, raw: str) -> Any:
    """Validate one setting's text value and return it typed."""
    parser = _PARSERS.get(name)
    if parser is None:
        raise NotFoundError(
            f"Unknown setting '{name}'. Known settings: {', '.join(SETTING_NAMES)}."
        )
    return parser(str(raw).strip())


def load_site_settings(conn: Connection) -> SiteSettings:
    rows = conn.execute(select(site_settings.c.name, site_settings.c.value)).all()
    stored: dict[str, str] = {name: value for name, value in rows}
    values: dict[str, Any] = {}
    revision_text = stored.get(THEME_REVISION, "")
    if _POSITIVE.match(revision_text) and int(revision_text) <= MAX_INT:
        values[THEME_REVISION] = int(revision_text)
    for name, raw in stored.items():
        if name in _PARSERS:
            try:
                values[name] = parse_setting(name, raw)
            except ValidationError:
                continue  # a hand-edited bad row falls back to the default
    return replace(SiteSettings(), **values)


def set_setting(conn: Connection, name: str, raw: str) -> Any:
    """Validate and store a setting; every worker sees it on its next request."""
    value = parse_setting(name, raw)
    text = str(value)
    where = site_settings.c.name == name
    if conn.execute(select(site_settings.c.name).where(where)).first():
        conn.execute(update(site_settings).where(where).values(value=text))
    else:
        conn.execute(insert(site_settings).values(name=name, value=text))
    revision.bump(conn)
    return value


def ensure_theme_revision(conn: Connection) -> None:
    """Record the theme revision (the current Unix time) if the site has none yet."""
    where = site_settings.c.name == THEME_REVISION
    if conn.execute(select(site_settings.c.name).where(where)).first() is None:
        conn.execute(insert(site_settings).values(name=THEME_REVISION, value=str(int(time.time()))))
        revision.bump(conn)


def update_settings(conn: Connection, changes: Mapping[str, str]) -> dict[str, str]:
    """Validate every change first, then store all of them or none.

    Returns the error message per setting name; empty when the changes were stored."""
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, raw in changes.items():
        try:
            parsed[name] = parse_setting(name, raw)
        except (ValidationError, NotFoundError) as exc:
            errors[name] = exc.message
    if errors:
        return errors
    current = load_site_settings(conn)
    for name, value in parsed.items():
        if getattr(current, name) != value:
            set_setting(conn, name, str(value))
    return {}


def reset_setting(conn: Connection, name: str) -> None:
    parse_setting(name, str(getattr(SiteSettings(), name)))
    conn.execute(delete(site_settings).where(site_settings.c.name == name))
    revision.bump(conn)
