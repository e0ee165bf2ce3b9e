"""Plausible sample values for example requests and responses, chosen by type and name.

An HR integration recognises its own data more easily than ``"string"``: a user is keyed by an
employee number, an organisation by a short code, and so on. ``owner`` is the name of the type
that holds the value; it tells a user's ``idnumber`` from an organisation's.
"""

from __future__ import annotations

from typing import Any

__all__ = ["sample_input_scalar", "sample_output_scalar", "SAMPLE_ID", "SAMPLE_DATE"]

SAMPLE_ID = "42"
SAMPLE_DATE = "2025-07-01"
SAMPLE_TIMESTAMP = "1751328000"

# What a value describes, from the name of the type that holds it (first match wins).
_SUBJECTS = (
    ("custom_field", "custom_field"),
    ("framework", "framework"),
    ("_type", "type"),
    ("job", "job"),
    ("organisation", "organisation"),
    ("position", "position"),
    ("tenant", "tenant"),
    ("user", "user"),
)
_BY_SUBJECT: dict[str, dict[str, str]] = {
    "idnumber": {
        "framework": "FW-MAIN",
        "type": "TYPE-TEAM",
        "job": "EMP-0042-1",
        "organisation": "ORG-FIN",
        "position": "POS-PAYROLL",
        "tenant": "ACME",
        "user": "EMP-0042",
    },
    "fullname": {
        "framework": "Main structure",
        "type": "Team",
        "job": "Payroll officer, Wellington",
        "organisation": "Finance",
        "position": "Payroll officer",
        "user": "Jane Smith",
    },
    "shortname": {
        "custom_field": "employeetype",
        "framework": "main",
        "type": "team",
        "job": "payroll-wgtn",
        "organisation": "FIN",
        "position": "PAYROLL",
    },
}
_TEXTS = {
    "username": "jsmith",
    "email": "jsmith@example.com",
    "firstname": "Jane",
    "lastname": "Smith",
    "middlename": "Anne",
    "alternatename": "Janie",
    "firstnamephonetic": "Jane",
    "lastnamephonetic": "Smith",
    "password": "Sample-passw0rd!",
    "city": "Wellington",
    "country": "NZ",
    "timezone": "Pacific/Auckland",
    "lang": "en",
    "auth": "manual",
    "calendartype": "gregorian",
    "theme": "ventura",
    "url": "https://example.com/jsmith",
    "department": "Finance",
    "institution": "Acme Ltd",
    "address": "1 Example Street",
    "phone1": "+64 4 123 4567",
    "phone2": "+64 21 123 456",
    "description": "<p>Example description.</p>",
    "column": "id",
    "order_by": "fullname",
    "order_dir": "ASC",
    "name": "Finance",
    "data": "1",
    "data_type": "checkbox",
}
_OUTPUT_TEXTS = {
    **_TEXTS,
    "country": "New Zealand",
    "status": "ok",
    "next_cursor": "",
    "path": "/42",
    "description": "<p>Example description.</p>",
}
_NUMBERS = {"limit": 20, "page": 1, "total": 1, "data_format": 1, "staffcount": 0}
_BOOLEANS = {"suspended": False, "emailstop": False, "delete": False, "is_custom": False}
_BY_TYPE: dict[str, Any] = {
    "core_id": SAMPLE_ID,
    "core_date": SAMPLE_DATE,
    "param_email": "jsmith@example.com",
    "param_username": "jsmith",
    "param_text": "Example text",
    "Float": 1.5,
    "ID": SAMPLE_ID,
}


def _subject(owner: str) -> str | None:
    return next((subject for part, subject in _SUBJECTS if part in owner), None)


def _number_or_flag(type_name: str, name: str) -> Any:
    if type_name == "Boolean":
        return _BOOLEANS.get(name, True)
    if type_name in ("Int", "param_integer"):
        return _NUMBERS.get(name, 1)
    return None


def _text(name: str, owner: str, texts: dict[str, str]) -> str | None:
    by_subject = _BY_SUBJECT.get(name)
    if by_subject is not None:
        return by_subject.get(_subject(owner) or "", "Example")
    return texts.get(name)


def _or(value: str | None, type_name: str, fallback: str) -> Any:
    return value if value is not None else _BY_TYPE.get(type_name, fallback)


def sample_input_scalar(type_name: str, name: str, owner: str) -> Any:
    """A value a scalar input of this type and name accepts."""
    value = _number_or_flag(type_name, name)
    if value is not None:
        return value
    if type_name in ("core_id", "core_date"):
        return _BY_TYPE[type_name]
    return _or(_text(name, owner, _TEXTS), type_name, "example")


def sample_output_scalar(type_name: str, name: str, owner: str) -> Any:
    """A value the server could return for a scalar field of this type and name."""
    value = _number_or_flag(type_name, name)
    if value is not None:
        return value
    if type_name == "core_date":
        return SAMPLE_TIMESTAMP
    if type_name in ("core_id", "ID"):
        return SAMPLE_ID
    return _or(_text(name, owner, _OUTPUT_TEXTS), type_name, "Example")
