"""Reading the API client forms: text in, typed values and messages out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from extapi.addresses import address_list
from extapi.errors import ValidationError
from extapi.settings.site import MAX_INT
from extapi.web.views.people_support import positive_int

__all__ = [
    "ClientForm",
    "SettingsForm",
    "parse_client_form",
    "parse_settings_form",
    "tenant_choice",
    "SYSTEM_KEY",
]

_WHOLE = re.compile(r"^-?\d{1,12}$")
ERROR_LEVELS = ("site", "none", "normal", "developer")
ALLOWED_IPS_MAX_CHARS = 16_000  # room for the longest list the service accepts


SYSTEM_KEY = "system"  # the tenant field's value for a system client


@dataclass
class ClientForm:
    name: str = ""
    description: str = ""
    user_id: int | None = None
    # The tenant field as sent: "" (not chosen yet), SYSTEM_KEY, or a tenant's id.
    tenant_key: str = ""
    enabled: bool = True
    errors: list[str] = field(default_factory=list)
    # True when the admin only asked to see the chosen tenant's accounts (the form without
    # JavaScript); nothing is created then.
    showing_accounts: bool = False


@dataclass
class SettingsForm:
    rate_limit: int | None = None
    token_expiry: int | None = None
    error_response: str = "site"
    raw: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # The IP allow-list as typed; None when the form did not send the field (left unchanged).
    allowed_ips: str | None = None
    field_errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, client: dict[str, Any]) -> SettingsForm:
        level = {None: "site", 0: "none", 1: "normal", 2: "developer"}[client["response_debug"]]
        raw = {
            "rate_limit": str(client["client_rate_limit"]),
            "token_expiry": str(client["default_token_expiry_time"]),
        }
        return cls(
            rate_limit=client["client_rate_limit"],
            token_expiry=client["default_token_expiry_time"],
            error_response=level,
            raw=raw,
            allowed_ips="\n".join(client["allowed_ips"]),
        )


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def parse_client_form(form: FormData, editing: bool = False) -> ClientForm:
    parsed = ClientForm(
        name=_text(form, "name", 300),
        description=_text(form, "description", 5000),
        tenant_key=_text(form, "tenant", 20),
        enabled=editing or form.get("enabled") == "1",
        showing_accounts=not editing and form.get("show_accounts") == "1",
    )
    parsed.user_id = positive_int(_text(form, "service_account", 20))
    if parsed.showing_accounts:
        return parsed
    if not editing and not parsed.tenant_key:
        parsed.errors.append("Choose System or a tenant.")
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


def _allowed_ips(form: FormData, field_errors: dict[str, str]) -> str | None:
    """The allow-list as typed, checked as the service will check it; the first bad entry
    is named in ``field_errors``."""
    value = form.get("allowed_ips")
    if not isinstance(value, str):
        return None
    if len(value) > ALLOWED_IPS_MAX_CHARS:
        field_errors["allowed_ips"] = "The list of allowed IP addresses is too long."
        return value[:ALLOWED_IPS_MAX_CHARS]
    try:
        address_list(value)
    except ValidationError as exc:
        field_errors["allowed_ips"] = exc.message
    return value


def parse_settings_form(form: FormData) -> SettingsForm:
    errors: list[str] = []
    field_errors: dict[str, str] = {}
    raw = {name: _text(form, name, 30) for name in ("rate_limit", "token_expiry")}
    level = _text(form, "error_response", 20)
    if level not in ERROR_LEVELS:
        errors.append("Choose an error response level.")
        level = "site"
    settings = SettingsForm(
        rate_limit=_whole(raw["rate_limit"], "Client rate limit", errors),
        token_expiry=_whole(raw["token_expiry"], "Token expiration", errors),
        error_response=level,
        raw=raw,
        errors=errors,
        allowed_ips=_allowed_ips(form, field_errors),
        field_errors=field_errors,
    )
    errors.extend(f"Allowed IP addresses: {e}" for e in field_errors.values())
    return settings


def tenant_choice(tenants: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The tenant chosen by its id, or None (the system, nothing chosen, or no such tenant)."""
    wanted = positive_int(key)
    return next((t for t in tenants if t["id"] == wanted), None)
