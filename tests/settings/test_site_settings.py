"""Site settings: Totara's names, defaults and validation."""

from __future__ import annotations

import pytest

from extapi.errors import NotFoundError, ValidationError
from extapi.settings.site import SiteSettings, load_site_settings, parse_setting, set_setting


def test_defaults_are_totaras():
    s = SiteSettings()
    assert (s.site_rate_limit, s.client_rate_limit) == (500000, 250000)
    assert (s.max_query_complexity, s.max_query_depth) == (6000, 15)
    assert s.default_token_expiration == 86400
    assert (s.enable_introspection, s.response_debug) == (0, 1)
    assert (s.perfdebug, s.api_enabled, s.timezone) == (0, 1, "UTC")
    assert (s.tenantsisolated, s.defaultpreference_maildisplay) == (0, 2)


def test_set_and_load_round_trip(runtime):
    with runtime.engine.begin() as conn:
        set_setting(conn, "site_rate_limit", "1000")
        set_setting(conn, "response_debug", "developer")
        set_setting(conn, "timezone", "Pacific/Auckland")
    with runtime.engine.connect() as conn:
        loaded = load_site_settings(conn)
    assert (loaded.site_rate_limit, loaded.response_debug) == (1000, 2)
    assert loaded.timezone == "Pacific/Auckland"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("site_rate_limit", "0", "site_rate_limit must be a whole number from 1 to 2147483647."),
        ("max_query_depth", "-1", "max_query_depth must be a whole number from 1 to 2147483647."),
        ("max_query_complexity", "2147483648", "from 1 to 2147483647"),
        ("client_rate_limit", "12abc", "from 1 to 2147483647"),
        ("default_token_expiration", "0", "Duration must be 1 second or more"),
        ("default_token_expiration", "2147483648", "Duration must be 2147483647 seconds or less"),
        ("enable_introspection", "maybe", "enable_introspection must be one of"),
        ("response_debug", "3", "response_debug must be one of"),
        ("timezone", "Mars/Olympus", "Unknown timezone 'Mars/Olympus'"),
        ("country", "nz", "country must be a two-letter ISO 3166 code"),
        ("country", "ZZ", "country must be an ISO 3166 country code: ZZ is not one"),
        ("defaultpreference_maildisplay", "5", "defaultpreference_maildisplay must be one of"),
    ],
)
def test_invalid_values_are_refused(name, value, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_setting(name, value)


def test_unknown_setting_names_the_known_ones():
    with pytest.raises(NotFoundError, match="Known settings: site_rate_limit"):
        parse_setting("nope", "1")


@pytest.mark.parametrize(("raw", "value"), [("none", 0), ("NORMAL", 1), ("2", 2)])
def test_response_debug_accepts_names_and_numbers(raw, value):
    assert parse_setting("response_debug", raw) == value
