"""How each site setting is shown on the settings page: label, help text and control."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import available_timezones

import pycountry

__all__ = ["SettingField", "FIELDS", "CHECKBOXES"]


@dataclass(frozen=True)
class SettingField:
    name: str
    label: str
    hint: str
    control: str  # "number", "checkbox", "select" or "text"
    group: str
    choices: tuple[tuple[str, str], ...] = ()


@cache
def _timezones() -> tuple[tuple[str, str], ...]:
    return tuple((z, z) for z in sorted(available_timezones() | {"UTC"}))


@cache
def _countries() -> tuple[tuple[str, str], ...]:
    names = sorted((c.name, c.alpha_2) for c in pycountry.countries)
    return (("", "None"), *((code, name) for name, code in names))


_LIMITS = "Rate limits and complexity"
_API = "API behaviour"
_PEOPLE = "Defaults for people"

FIELDS: tuple[SettingField, ...] = (
    SettingField(
        "api_enabled",
        "Enable API",
        "When off, the token endpoint refuses every "
        "client and the GraphQL endpoint answers 'Feature api is not available.'.",
        "checkbox",
        _API,
    ),
    SettingField(
        "site_rate_limit",
        "Site rate limit",
        "Complexity points all clients together may spend per minute.",
        "number",
        _LIMITS,
    ),
    SettingField(
        "client_rate_limit",
        "Client rate limit",
        "The most points any one client may "
        "spend per minute; a client's own lower limit applies first. New clients start "
        "with this value.",
        "number",
        _LIMITS,
    ),
    SettingField(
        "max_query_complexity",
        "Maximum query complexity",
        "Requests costing more points than this are refused before they run.",
        "number",
        _LIMITS,
    ),
    SettingField(
        "max_query_depth",
        "Maximum query depth",
        "How deeply selections may nest.",
        "number",
        _LIMITS,
    ),
    SettingField(
        "default_token_expiration",
        "Default token expiration",
        "Lifetime of new "
        "access tokens in seconds, for clients without their own (86400 = 24 hours).",
        "number",
        _API,
    ),
    SettingField(
        "enable_introspection",
        "Enable GraphQL introspection",
        "Lets clients query __schema and __type. The documentation page works either way.",
        "checkbox",
        _API,
    ),
    SettingField(
        "response_debug",
        "Default error response",
        "How much detail error messages give clients that have no level of their own.",
        "select",
        _API,
        (("0", "None"), ("1", "Normal"), ("2", "Developer")),
    ),
    SettingField(
        "perfdebug",
        "Performance data in responses",
        "Adds extensions.complexity_data (the points a request cost) to every response.",
        "checkbox",
        _API,
    ),
    SettingField(
        "timezone",
        "Site timezone",
        "Used for users without their own timezone and for dates given without an offset.",
        "select",
        _PEOPLE,
        (),
    ),
    SettingField(
        "country", "Default country", "Given to new users who have none.", "select", _PEOPLE, ()
    ),
    SettingField(
        "lang", "Default language", "Language code of new users, such as en.", "text", _PEOPLE
    ),
    SettingField(
        "tenantsisolated",
        "Tenant isolation",
        "When on, system clients list only users outside every tenant.",
        "checkbox",
        _PEOPLE,
    ),
    SettingField(
        "defaultpreference_maildisplay",
        "Default email visibility",
        "Who may see the email address of new users.",
        "select",
        _PEOPLE,
        (
            ("0", "Hidden from everyone"),
            ("1", "Visible to everyone"),
            ("2", "Visible to course members"),
        ),
    ),
)

CHECKBOXES = frozenset(f.name for f in FIELDS if f.control == "checkbox")


def choices_for(field: SettingField) -> tuple[tuple[str, str], ...]:
    if field.name == "timezone":
        return _timezones()
    if field.name == "country":
        return _countries()
    return field.choices
