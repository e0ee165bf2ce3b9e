"""Validation rules for user fields, with the wording Totara and Moodle use.

Every rule is pure: it takes a value, returns the cleaned value (or nothing) and raises
:class:`~extapi.errors.ValidationError` with the exact client-facing text when the value breaks
the rule. The texts are a compatibility contract with Totara clients, odd wording included.
"""

from __future__ import annotations

import re
import secrets
import string
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

import pycountry

from extapi.errors import ValidationError

__all__ = [
    "AUTH_PLUGINS",
    "CALENDAR_TYPES",
    "INSTALLED_LANGUAGES",
    "MAX_LENGTHS",
    "SITE_DEFAULT_TIMEZONE",
    "THEMES",
    "AuthPlugin",
    "PasswordPolicy",
    "auth_plugin",
    "signs_in_with_stored_password",
    "check_length",
    "check_password",
    "clean_calendartype",
    "clean_country",
    "clean_email",
    "clean_lang",
    "clean_theme",
    "clean_timezone",
    "clean_url",
    "clean_username",
    "clean_notags",
    "clean_text",
    "strip_tags",
    "username_cleaned",
    "country_name",
    "generate_password",
    "is_valid_email",
    "password_errors",
    "require_not_blank",
]

# --- Countries -------------------------------------------------------------------------------

_ALPHA_2 = re.compile(r"[A-Z]{2}")


@cache
def country_name(code: str) -> str | None:
    """The English short name of an ISO 3166-1 alpha-2 country code, or None if unknown."""
    code = code.upper()
    if not _ALPHA_2.fullmatch(code):
        return None
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return None
    # The official names read "Korea, Republic of"; people know these places by the common name.
    name: str = getattr(country, "common_name", None) or country.name
    return name


def clean_country(value: str) -> str:
    """Require an exact upper-case ISO 3166-1 alpha-2 code; nothing is folded first."""
    if not _ALPHA_2.fullmatch(value) or country_name(value) is None:
        raise ValidationError(f"Country does not exist: {value}")
    return value


# --- Timezones -------------------------------------------------------------------------------

SITE_DEFAULT_TIMEZONE = "99"
"""Moodle's stored value for "use the site's timezone"."""


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC", SITE_DEFAULT_TIMEZONE}


def clean_timezone(value: str) -> str:
    """Accept an IANA zone name, ``UTC`` or the site-default marker ``99``."""
    if value not in _timezones():
        raise ValidationError(f"Timezone does not exist: {value}")
    return value


# --- Languages, themes and calendars ---------------------------------------------------------

INSTALLED_LANGUAGES = frozenset({"en"})
THEMES = frozenset({"ventura", "inspire", "legacy", "basis", "roots"})
CALENDAR_TYPES = frozenset({"gregorian"})


def clean_lang(value: str) -> str:
    """Require the exact code of an installed language pack."""
    if value not in INSTALLED_LANGUAGES:
        raise ValidationError(f"Language does not exist: {value}")
    return value


def clean_theme(value: str) -> str:
    """Require the exact name of an installed theme."""
    if value not in THEMES:
        raise ValidationError(f"Theme does not exist: {value}")
    return value


def clean_calendartype(value: str) -> str:
    """Require a calendar type the site supports."""
    if value not in CALENDAR_TYPES:
        raise ValidationError(f"Calendartype does not exist: {value}")
    return value


# --- Authentication plugins ------------------------------------------------------------------


@dataclass(frozen=True)
class AuthPlugin:
    """What an authentication method lets a user (or an API client) do with an account."""

    name: str
    can_create_password: bool
    can_change_password: bool
    can_edit_profile: bool

    @property
    def signs_in_with_stored_password(self) -> bool:
        """Whether the password stored with the account is what signs it in: so for manual
        and e-mail accounts; never for "No login", and the other methods check theirs
        elsewhere (a directory or identity provider extapi does not talk to)."""
        return self.can_change_password


def _plugins(*plugins: AuthPlugin) -> Mapping[str, AuthPlugin]:
    return MappingProxyType({plugin.name: plugin for plugin in plugins})


AUTH_PLUGINS: Mapping[str, AuthPlugin] = _plugins(
    AuthPlugin("manual", True, True, True),
    AuthPlugin("email", True, True, True),
    AuthPlugin("nologin", False, False, True),
    AuthPlugin("ldap", False, False, True),
    AuthPlugin("oauth2", False, False, True),
    AuthPlugin("saml2", False, False, True),
    AuthPlugin("cas", False, False, True),
)


def signs_in_with_stored_password(auth: str) -> bool:
    """The rule of :attr:`AuthPlugin.signs_in_with_stored_password` for a stored ``auth``
    value; an unknown method never signs in."""
    plugin = AUTH_PLUGINS.get(auth)
    return plugin is not None and plugin.signs_in_with_stored_password


def auth_plugin(name: str) -> AuthPlugin:
    """Look up an authentication plugin by its name."""
    plugin = AUTH_PLUGINS.get(name)
    if plugin is None:
        raise ValidationError(f"Auth plugin does not exist: {name}")
    return plugin


# --- Email and URL ---------------------------------------------------------------------------

# The WHATWG "valid e-mail address" pattern, which Totara's validate_email uses: any run of the
# allowed local-part characters (dots anywhere), and a domain of one or more labels, so no dot is
# needed. PHP's "$" also matches before one final newline, hence the optional "\n".
_EMAIL_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+"
    rf"@{_EMAIL_LABEL}(?:\.{_EMAIL_LABEL})*\n?"
)


def is_valid_email(value: str) -> bool:
    """Whether the value is an e-mail address as Totara's validate_email sees it (length is
    checked elsewhere)."""
    return _EMAIL.fullmatch(value) is not None


def clean_email(value: str) -> str:
    """Require a well-formed email address; it is kept exactly as given."""
    if not is_valid_email(value):
        raise ValidationError(f"Invalid email format: {value}")
    return value


# Built from the pieces of Moodle's validateUrlSyntax: only ASCII, no user info, a dotted host
# name or an IPv4 address, and RFC 2396 characters in the path, query and fragment.
_UNRESERVED = r"[A-Za-z0-9_.!~*'()-]"
_ESCAPED = r"%[0-9A-Fa-f]{2}"
_PATH_CHAR = rf"(?:{_UNRESERVED}|{_ESCAPED}|[;:@&=+$,/])"
_QUERY_CHAR = rf"(?:{_UNRESERVED}|{_ESCAPED}|[;/?:@&=+$,])"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_URL = re.compile(
    r"(?:(?:https?|ftp)://)?"
    rf"(?:{_OCTET}(?:\.{_OCTET}){{3}}|(?:{_LABEL}\.)+{_TOP_LABEL})"
    r"(?::(?P<port>[0-9]{1,5}))?"
    rf"(?:/{_PATH_CHAR}*)?"
    rf"(?:\?{_QUERY_CHAR}*)?"
    rf"(?:#{_QUERY_CHAR}*)?",
    re.IGNORECASE,
)
_MAX_PORT = 65535


def _is_url(value: str) -> bool:
    match = _URL.fullmatch(value)
    if match is None:
        return False
    port = match.group("port")
    return port is None or int(port) <= _MAX_PORT


def clean_url(value: str) -> str:
    """Require a web address; the scheme may be left out and an empty value is allowed."""
    if value and not _is_url(value):
        raise ValidationError(f"Invalid url format: {value}")
    return value


# --- Lengths, blanks and usernames -----------------------------------------------------------

MAX_LENGTHS: Mapping[str, int] = MappingProxyType(
    {
        "username": 100,
        "idnumber": 255,
        "firstname": 100,
        "lastname": 200,
        "email": 100,
        "skype": 50,
        "phone1": 20,
        "phone2": 20,
        "institution": 255,
        "department": 255,
        "address": 255,
        "city": 120,
        "url": 255,
        "lastnamephonetic": 255,
        "firstnamephonetic": 255,
        "middlename": 255,
        "alternatename": 255,
    }
)


def check_length(field: str, value: str) -> None:
    """Refuse a value with more characters than the field's column holds."""
    limit = MAX_LENGTHS[field]
    if len(value) > limit:
        # Totara names the offending value, not the field, in this message.
        raise ValidationError(f"Field {value} should be less than {limit} characters")


def require_not_blank(field: str, value: str | None) -> str:
    """Return the value as given, refusing a missing or whitespace-only one."""
    if not (value or "").strip():
        raise ValidationError(f"{field.capitalize()} can not be blank")
    return value or ""


_USERNAME_OTHER = re.compile(r"[^a-z0-9_\-.@]")


def username_cleaned(value: str) -> str:
    """A username as Moodle's PARAM_USERNAME cleaning leaves it: trimmed, lower case, spaces
    and anything but ASCII letters, digits and ``_ - . @`` removed."""
    return _USERNAME_OTHER.sub("", value.strip().lower().replace(" ", ""))


def clean_username(value: str) -> str:
    """Accept a username only if cleaning would not change it, with Totara's two messages."""
    if value != value.lower():
        raise ValidationError("The username must be in lower case")
    if value != username_cleaned(value):
        raise ValidationError("The given username contains invalid characters")
    return value


# --- Tags ------------------------------------------------------------------------------------

# A tag as PHP's strip_tags sees one: "<" followed by something other than white space, up
# to the next ">" outside quotes (or to the end of the text when it is never closed).
_TAG = re.compile(r"""<(?:(?=[^\s])(?:"[^"]*"?|'[^']*'?|[^'">])*>?|$)""")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z0-9]+)")
_ANY_TAG = re.compile(r"<.*?>", re.DOTALL)
_MULTILANG = {
    "lang": ("</lang>", re.compile(r'<lang lang="[a-zA-Z0-9_-]+"\s*>')),
    "span": ("</span>", re.compile(r'<span(\s+lang="[a-zA-Z0-9_-]+"|\s+class="multilang"){2}\s*>')),
}


def strip_tags(value: str, keep: str | None = None) -> str:
    """Remove HTML tags as PHP's ``strip_tags`` does, keeping tags named ``keep``."""

    def replace(match: re.Match[str]) -> str:
        name = _TAG_NAME.match(match.group(0))
        return match.group(0) if keep and name and name.group(1).lower() == keep else ""

    return _TAG.sub(replace, value)


def _balanced_multilang(value: str, closing: str, opening: re.Pattern[str]) -> bool:
    """Whether every tag left is a well-formed multilang opening or closing, none nested."""
    open_tag = False
    for tag in _ANY_TAG.findall(value):
        if tag == closing:
            if not open_tag:
                return False
            open_tag = False
        elif not opening.fullmatch(tag) or open_tag:
            return False
        else:
            open_tag = True
    return not open_tag


def clean_notags(value: str) -> str:
    """Moodle's PARAM_NOTAGS: every tag removed, entities and ``&`` left alone."""
    return strip_tags(value)


def clean_text(value: str) -> str:
    """Moodle's PARAM_TEXT: tags removed, except well-formed multilang ``lang``/``span`` tags."""
    for name, (closing, opening) in _MULTILANG.items():
        if closing in value:
            kept = strip_tags(value, keep=name)
            if _balanced_multilang(kept, closing, opening):
                return kept
            break
    return strip_tags(value)


# --- Passwords -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PasswordPolicy:
    """Totara's password policy settings; the defaults are Totara's out-of-the-box values."""

    min_length: int = 8
    min_digits: int = 1
    min_lower: int = 1
    min_upper: int = 1
    min_nonalnum: int = 1
    max_consecutive_identical: int = 0  # 0 switches the check off


_DEFAULT_POLICY = PasswordPolicy()


def _is_ascii_digit(char: str) -> bool:
    return "0" <= char <= "9"


def _is_nonalnum(char: str) -> bool:
    return not (char.isalpha() or _is_ascii_digit(char))


def _longest_run(text: str) -> int:
    longest = run = 0
    previous = ""
    for char in text:
        run = run + 1 if char == previous else 1
        longest = max(longest, run)
        previous = char
    return longest


def password_errors(password: str, policy: PasswordPolicy = _DEFAULT_POLICY) -> list[str]:
    """Every way the password falls short of the policy, in Totara's order."""
    errors: list[str] = []
    if len(password) < policy.min_length:
        errors.append(f"Passwords must be at least {policy.min_length} characters long.")
    if sum(map(_is_ascii_digit, password)) < policy.min_digits:
        errors.append(f"Passwords must have at least {policy.min_digits} digit(s).")
    if sum(char.islower() for char in password) < policy.min_lower:
        errors.append(f"Passwords must have at least {policy.min_lower} lower case letter(s).")
    if sum(char.isupper() for char in password) < policy.min_upper:
        errors.append(f"Passwords must have at least {policy.min_upper} upper case letter(s).")
    if sum(map(_is_nonalnum, password)) < policy.min_nonalnum:
        # "such as as" is Moodle's typo, kept because clients match on this text.
        errors.append(
            f"Passwords must have at least {policy.min_nonalnum} non-alphanumeric "
            "character(s) such as as *, -, or #."
        )
    limit = policy.max_consecutive_identical
    if limit and _longest_run(password) > limit:
        errors.append(f"Passwords must have at most {limit} consecutive identical characters.")
    return errors


def check_password(password: str | None, policy: PasswordPolicy = _DEFAULT_POLICY) -> str:
    """Return the password unchanged if it is present and meets the policy."""
    if not password:
        raise ValidationError("Password cannot be blank")
    errors = password_errors(password, policy)
    if errors:
        raise ValidationError(" ".join(errors))
    return password


_GENERATED_MIN_LENGTH = 12
_SYMBOLS = "!#$%&*+-=?@^_~"
_ANY_CHAR = string.ascii_letters + string.digits + _SYMBOLS


def _pick(pool: str, chosen: list[str], limit: int) -> str:
    # Leave out the previous character when one more would make its run too long.
    if limit and len(chosen) >= limit and len(set(chosen[-limit:])) == 1:
        pool = pool.replace(chosen[-1], "")
    return secrets.choice(pool)


def generate_password(policy: PasswordPolicy = _DEFAULT_POLICY) -> str:
    """A random password of at least 12 characters that meets the policy."""
    pools = (
        [string.digits] * policy.min_digits
        + [string.ascii_lowercase] * policy.min_lower
        + [string.ascii_uppercase] * policy.min_upper
        + [_SYMBOLS] * policy.min_nonalnum
    )
    length = max(_GENERATED_MIN_LENGTH, policy.min_length, len(pools))
    pools += [_ANY_CHAR] * (length - len(pools))
    secrets.SystemRandom().shuffle(pools)
    chosen: list[str] = []
    for pool in pools:
        chosen.append(_pick(pool, chosen, policy.max_consecutive_identical))
    return "".join(chosen)
