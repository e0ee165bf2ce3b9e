"""Reading the API client forms: text in, typed values and messages out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from extapi.settings.site import MAX_INT
from extapi.web.views.people_support import positive_int

__all__ = [
    "ClientForm",
    "SettingsForm",
    "parse_client_form",
    "parse_settings_form",
    "tenant_choice",
]

_WHOLE = re.compile(r"^-?\d{1,12}$")
ERROR_LEVELS = ("site", "none", "normal", "developer")


@dataclass
class ClientForm:
    name: str = ""
    description: str = ""
    user_id: int | None = None
    tenant_key: str = ""
    enabled: bool = True
    errors: list[str] = field(default_factory=list)


@dataclass
class SettingsForm:
    rate_limit: int | None = None
    token_expiry: int | None = None
    error_response: str = "site"
    raw: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, client: dict[str, Any]) -> SettingsForm:
        level = {None: "site", 0: "none", 1: "normal", 2: "developer"}[client["response_debug"]]
        raw = {
            "rate_limit": str(client["client_rate_limit"]),
            "token_expiry": str(client["default_token_expiry_time"]),
        }
        return cls(client["client_rate_limit"], client["default_token_expiry_time"], level, raw)


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def parse_client_form(form: FormData, editing: bool = False) -> ClientForm:
    parsed = ClientForm(
        name=_text(form, "name", 300),
        description=_text(form, "description", 5000),
        tenant_key=_text(form, "tenant", 100),
        enabled=editing or form.get("enabled") == "1",
    )
    parsed.user_id = positive_int(_text(form, "service_account", 20))
    if parsed.user_id is None:
        parsed.errors.append("Choose a service account.")
    return parsed


def _whole(raw: str, label: str, errors: list[str]) -> int | None:
    raw = raw.strip()
    if not _WHOLE.match(raw):
        errors.append(f"{label} must be a whole number.")
        return None
    value = int(raw)
    if value < 0:
        errors.append("Can not set it to negative")
        return None
    if value > MAX_INT:
        errors.append(f"{label} must be {MAX_INT} or less.")
        return None
    return value


def parse_settings_form(form: FormData) -> SettingsForm:
    errors: list[str] = []
    raw = {name: _text(form, name, 30) for name in ("rate_limit", "token_expiry")}
    level = _text(form, "error_response", 20)
    if level not in ERROR_LEVELS:
        errors.append("Choose an error response level.")
        level = "site"
    return SettingsForm(
        rate_limit=_whole(raw["rate_limit"], "Client rate limit", errors),
        token_expiry=_whole(raw["token_expiry"], "Token expiration", errors),
        error_response=level,
        raw=raw,
        errors=errors,
    )


def tenant_choice(tenants: list[dict[str, Any]], key: str) -> int | None:
    """The tenant id chosen by its idnumber, or None for a system client."""
    return next((int(t["id"]) for t in tenants if t["idnumber"] == key), None)
