"""The user field rules: accepted values and Totara's exact refusal messages."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extapi.errors import ValidationError
from extapi.people.rules import (
    AUTH_PLUGINS,
    MAX_LENGTHS,
    AuthPlugin,
    PasswordPolicy,
    auth_plugin,
    check_length,
    check_password,
    clean_calendartype,
    clean_country,
    clean_email,
    clean_lang,
    clean_theme,
    clean_timezone,
    clean_url,
    clean_username,
    country_name,
    generate_password,
    is_valid_email,
    password_errors,
    require_not_blank,
)

LENGTH = "Passwords must be at least 8 characters long."
DIGIT = "Passwords must have at least 1 digit(s)."
LOWER = "Passwords must have at least 1 lower case letter(s)."
UPPER = "Passwords must have at least 1 upper case letter(s)."
NONALNUM = "Passwords must have at least 1 non-alphanumeric character(s) such as as *, -, or #."


def refused(message: str) -> pytest.RaisesExc[ValidationError]:
    """Expect a ValidationError whose message is exactly `message`."""
    return pytest.raises(ValidationError, match=f"^{re.escape(message)}$")


# --- Countries ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("NZ", "New Zealand"),
        ("GB", "United Kingdom"),
        ("US", "United States"),
        ("KR", "South Korea"),
        ("TW", "Taiwan"),
        ("nz", "New Zealand"),
        ("XX", None),
        ("", None),
        ("NZL", None),
    ],
)
def test_country_name_prefers_the_common_name(code, name):
    # given an ISO 3166-1 alpha-2 code
    # when its name is looked up
    # then the common English name comes back, or None for an unknown code
    assert country_name(code) == name


@pytest.mark.parametrize("value", ["NZ", "GB"])
def test_clean_country_accepts_exact_codes(value):
    # given a known upper-case code
    # when it is cleaned
    # then it comes back unchanged
    assert clean_country(value) == value


@pytest.mark.parametrize("value", ["XX", "zz", "New Zealand", "NZL", " qq ", "nz", " NZ ", "", " "])
def test_clean_country_refuses_unknown_codes(value):
    # given a value that is no ISO country code
    # when it is cleaned
    # then the message quotes the value as given
    with refused(f"Country does not exist: {value}"):
        clean_country(value)


# --- Timezones ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["Pacific/Auckland", "Europe/London", "America/New_York", "UTC", "99"]
)
def test_clean_timezone_accepts_iana_names_utc_and_site_default(value):
    # given an IANA zone, UTC or Moodle's site-default marker
    # when it is cleaned
    # then it is accepted unchanged
    assert clean_timezone(value) == value


@pytest.mark.parametrize("value", ["Mars/Olympus", "", "pacific/auckland", "98", "GMT+13"])
def test_clean_timezone_refuses_unknown_zones(value):
    # given something that is not a known zone
    # when it is cleaned
    # then Totara's message names it
    with refused(f"Timezone does not exist: {value}"):
        clean_timezone(value)


# --- Languages, themes and calendars -----------------------------------------------------


def test_clean_lang_accepts_installed_languages():
    # given an installed language's exact code
    # when it is cleaned, then it comes back unchanged
    assert clean_lang("en") == "en"


@pytest.mark.parametrize("value", ["fr", "", "en_us", "english", "EN", " en "])
def test_clean_lang_refuses_other_languages(value):
    # given a language pack that is not installed
    # when it is cleaned
    # then the message names it
    with refused(f"Language does not exist: {value}"):
        clean_lang(value)


@pytest.mark.parametrize("value", ["ventura", "inspire", "legacy", "basis", "roots"])
def test_clean_theme_accepts_known_themes(value):
    # given a known theme
    # when it is cleaned
    # then it is accepted unchanged
    assert clean_theme(value) == value


@pytest.mark.parametrize("value", ["boost", "Ventura", "classic", ""])
def test_clean_theme_refuses_unknown_themes(value):
    # given a theme the site does not have
    # when it is cleaned
    # then the message names it
    with refused(f"Theme does not exist: {value}"):
        clean_theme(value)


def test_clean_calendartype_accepts_gregorian():
    # given the one supported calendar type
    # when it is cleaned
    # then it is accepted
    assert clean_calendartype("gregorian") == "gregorian"


@pytest.mark.parametrize("value", ["hijri", "", "Gregorian"])
def test_clean_calendartype_refuses_others(value):
    # given an unsupported calendar type
    # when it is cleaned
    # then Totara's capitalised message names it
    with refused(f"Calendartype does not exist: {value}"):
        clean_calendartype(value)


# --- Authentication plugins --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "create", "change", "edit"),
    [
        ("manual", True, True, True),
        ("email", True, True, True),
        ("nologin", False, False, True),
        ("ldap", False, False, True),
        ("oauth2", False, False, True),
        ("saml2", False, False, True),
        ("cas", False, False, True),
    ],
)
def test_auth_plugin_describes_each_plugin(name, create, change, edit):
    # given a known plugin name
    # when it is looked up
    # then its abilities are Totara's
    assert auth_plugin(name) == AuthPlugin(name, create, change, edit)


def test_auth_plugins_lists_exactly_the_known_plugins():
    # given the plugin table
    # when its names are read
    # then they are the seven supported plugins
    assert set(AUTH_PLUGINS) == {"manual", "email", "nologin", "ldap", "oauth2", "saml2", "cas"}


@pytest.mark.parametrize("name", ["shibboleth", "", "Manual"])
def test_auth_plugin_refuses_unknown_names(name):
    # given a plugin that does not exist
    # when it is looked up
    # then the message names it
    with refused(f"Auth plugin does not exist: {name}"):
        auth_plugin(name)


# --- Email -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "jo@example.com",
        "jo.smith@example.co.nz",
        "jo+tag@sub.example.org",
        "o'neil@example.ie",
        "a!#$%&'*+/=?^_`{|}~-b@example.com",
        "x@my-host.example.museum",
        "J0@EXAMPLE.COM",
        # the WHATWG pattern Totara uses: no dot needed in the domain, dots anywhere before "@"
        "jo@example",
        "jo@example.c",
        "jo@example.c0m",
        ".jo@example.com",
        "jo.@example.com",
        "jo..smith@example.com",
        # PHP's "$" matches before one final newline
        "jo@example.com\n",
    ],
)
def test_is_valid_email_accepts_practical_addresses(value):
    # given a well-formed address
    # when it is checked
    # then it passes
    assert is_valid_email(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plain",
        "@example.com",
        "jo@",
        "jo smith@example.com",
        "jo@exa mple.com",
        "jo@@example.com",
        "jo@example..com",
        "jo@.example.com",
        "jo@example.com.",
        "jo@exam_ple.com",
        "jo(at)@example.com",
        "jö@example.com",
        "jo@example.com\n\n",
        "jo@-example.com",
    ],
)
def test_is_valid_email_refuses_malformed_addresses(value):
    # given a malformed address
    # when it is checked
    # then it fails
    assert not is_valid_email(value)


def test_clean_email_keeps_the_address_as_given():
    # given a valid address in mixed case
    # when it is cleaned, then it comes back unchanged
    assert clean_email("Jo.Smith@Example.COM") == "Jo.Smith@Example.COM"


@pytest.mark.parametrize("value", ["jo@example.", "not an email", "", "  jo@example.com\t"])
def test_clean_email_refuses_malformed_addresses(value):
    # given a malformed address
    # when it is cleaned
    # then the message quotes it
    with refused(f"Invalid email format: {value}"):
        clean_email(value)


# --- URL ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "",
        "https://example.com",
        "http://example.com/",
        "HTTPS://Example.COM/Path",
        "ftp://files.example.org/pub/file.tar.gz",
        "example.com/path",
        "www.example.co.nz",
        "https://example.com:8443/a/b?x=1&y=2#top",
        "http://192.168.0.1/admin",
        "https://example.com/a%20b;param?q=a:b/c@d",
        "https://my-site.example.com/~jo/(notes)",
    ],
)
def test_clean_url_accepts_web_addresses(value):
    # given a web address, with or without a scheme, or nothing
    # when it is cleaned
    # then it is accepted unchanged
    assert clean_url(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "mailto:jo@example.com",
        "gopher://example.com",
        "https://exa mple.com",
        "https://example.com/a b",
        " https://example.com",
        "https://example.com/\x00",
        "https://example.com/\x7f",
        "https://example.com\n",
        "https://jo:secret@example.com",
        "https://localhost",
        "https://example",
        "https://-example.com",
        "https://example.com:99999",
        "https://example.com:port",
        "https://256.1.1.1",
        "https://example.com/<script>",
        "https://example.com/%zz",
        "https://bücher.de",
        "//example.com",
        "not a url",
    ],
)
def test_clean_url_refuses_everything_else(value):
    # given something that is not a safe web address
    # when it is cleaned
    # then the message quotes it
    with refused(f"Invalid url format: {value}"):
        clean_url(value)


# --- Lengths -----------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "limit"), sorted(MAX_LENGTHS.items()))
def test_check_length_allows_exactly_the_limit(field, limit):
    # given a value exactly as long as the field allows
    # when its length is checked
    # then nothing is raised
    check_length(field, "x" * limit)


@pytest.mark.parametrize(("field", "limit"), sorted(MAX_LENGTHS.items()))
def test_check_length_refuses_one_more_naming_the_value(field, limit):
    # given a value one character over the limit
    # when its length is checked
    # then Totara's message quotes the value, not the field
    value = "x" * (limit + 1)
    with refused(f"Field {value} should be less than {limit} characters"):
        check_length(field, value)


def test_check_length_counts_characters_not_bytes():
    # given 20 multi-byte characters in a 20-character field
    # when the length is checked
    # then it passes, though it is 40 bytes in UTF-8
    check_length("phone1", "é" * 20)


@pytest.mark.parametrize(
    ("field", "limit"), [("username", 100), ("lastname", 200), ("skype", 50), ("city", 120)]
)
def test_max_lengths_are_totaras(field, limit):
    # given a field with a column limit
    # when the limit is read
    # then it is Totara's
    assert MAX_LENGTHS[field] == limit


# --- Blanks ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Jo", "  Jo Smith \n"])
def test_require_not_blank_returns_the_value_as_given(value):
    # given a value with content
    # when it is required
    # then it comes back unchanged (Totara stores names untrimmed)
    assert require_not_blank("firstname", value) == value


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("firstname", "Firstname can not be blank"),
        ("lastname", "Lastname can not be blank"),
        ("username", "Username can not be blank"),
        ("email", "Email can not be blank"),
    ],
)
@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_require_not_blank_refuses_missing_values(field, message, value):
    # given a missing or whitespace-only value
    # when it is required
    # then the message names the field, capitalised
    with refused(message):
        require_not_blank(field, value)


# --- Usernames ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [
        ("jo", "jo"),
        ("jo.smith", "jo.smith"),
        ("jo_smith-2", "jo_smith-2"),
        ("jo@example.com", "jo@example.com"),
    ],
)
def test_clean_username_accepts_lowercase_names(value, cleaned):
    # given a lower-case name of allowed characters
    # when it is cleaned
    # then it comes back unchanged
    assert clean_username(value) == cleaned


@pytest.mark.parametrize("value", ["Jo", "JO", "jO smith"])
def test_clean_username_refuses_upper_case(value):
    # given a name with upper-case letters
    # when it is cleaned, then Totara's lower-case message is raised
    with refused("The username must be in lower case"):
        clean_username(value)


@pytest.mark.parametrize("value", ["jo smith", "jo+tag", "jö", "jo#1", "jo/x", "  jo  "])
def test_clean_username_refuses_other_characters(value):
    # given a lower-case name with characters cleaning would remove
    # when it is cleaned, then Totara's invalid-characters message is raised
    with refused("The given username contains invalid characters"):
        clean_username(value)


# --- Password policy ---------------------------------------------------------------------


@pytest.mark.parametrize("password", ["Passw0rd!", "Abcdef1#", "ÉTÉé1234-", "aB3*aB3*aB3*"])
def test_password_errors_accepts_policy_compliant_passwords(password):
    # given a password meeting the default policy
    # when it is checked
    # then there are no errors
    assert password_errors(password) == []
    assert check_password(password) == password


@pytest.mark.parametrize(
    ("password", "errors"),
    [
        ("Pa0!", [LENGTH]),
        ("Password!", [DIGIT]),
        ("PASSW0RD!", [LOWER]),
        ("passw0rd!", [UPPER]),
        ("Passw0rd1", [NONALNUM]),
        ("Passw٣rd!", [DIGIT]),
        ("Passwörd1", [NONALNUM]),
        ("ab", [LENGTH, DIGIT, UPPER, NONALNUM]),
        ("        ", [DIGIT, LOWER, UPPER]),
        ("x", [LENGTH, DIGIT, UPPER, NONALNUM]),
        ("ПАРОЛЬ12!", [LOWER]),
    ],
)
def test_password_errors_lists_each_shortfall_in_order(password, errors):
    # given a password missing some requirements
    # when it is checked
    # then each shortfall is reported once, in Totara's order
    assert password_errors(password) == errors


def test_password_errors_reports_every_rule_in_order():
    # given a demanding policy and a password failing all of it
    policy = PasswordPolicy(
        min_length=20,
        min_digits=3,
        min_lower=4,
        min_upper=5,
        min_nonalnum=6,
        max_consecutive_identical=2,
    )
    # when it is checked
    errors = password_errors("aaa", policy)
    # then each message carries the policy's numbers
    assert errors == [
        "Passwords must be at least 20 characters long.",
        "Passwords must have at least 3 digit(s).",
        "Passwords must have at least 4 lower case letter(s).",
        "Passwords must have at least 5 upper case letter(s).",
        "Passwords must have at least 6 non-alphanumeric character(s) such as as *, -, or #.",
        "Passwords must have at most 2 consecutive identical characters.",
    ]


@pytest.mark.parametrize(
    ("password", "limit", "ok"),
    [
        ("Paa0!xyz", 2, True),
        ("Paaa0!xyz", 2, False),
        ("Paaa0!xyz", 3, True),
        ("Pa0!!!!xyz", 3, False),
        ("Paaaaaa0!", 0, True),
        ("Pa0!bcdef", 1, True),
        ("Pa0!bccdef", 1, False),
    ],
)
def test_consecutive_identical_limit(password, limit, ok):
    # given a policy limiting runs of the same character
    policy = PasswordPolicy(max_consecutive_identical=limit)
    # when a password is checked
    errors = password_errors(password, policy)
    # then only a run longer than the limit is refused (0 switches the rule off)
    message = f"Passwords must have at most {limit} consecutive identical characters."
    assert errors == ([] if ok else [message])


def test_password_policy_defaults_are_totaras():
    # given the default policy
    policy = PasswordPolicy()
    # when its settings are read
    # then they are Totara's defaults
    assert (policy.min_length, policy.min_digits, policy.min_lower) == (8, 1, 1)
    assert (policy.min_upper, policy.min_nonalnum, policy.max_consecutive_identical) == (1, 1, 0)


@pytest.mark.parametrize("password", [None, ""])
def test_check_password_refuses_blank(password):
    # given no password
    # when it is checked
    # then Totara's blank message is raised
    with refused("Password cannot be blank"):
        check_password(password)


def test_check_password_joins_all_errors():
    # given a password failing several rules
    # when it is checked
    # then one error carries every message, space-separated
    with refused(f"{LENGTH} {DIGIT} {UPPER} {NONALNUM}"):
        check_password("ab")


def test_check_password_uses_the_given_policy():
    # given a lenient policy
    policy = PasswordPolicy(min_length=2, min_digits=0, min_upper=0, min_nonalnum=0)
    # when a short lower-case password is checked
    # then it passes
    assert check_password("ab", policy) == "ab"


# --- Generated passwords -----------------------------------------------------------------

policies = st.just(PasswordPolicy()) | st.builds(
    PasswordPolicy,
    min_length=st.integers(0, 40),
    min_digits=st.integers(0, 8),
    min_lower=st.integers(0, 8),
    min_upper=st.integers(0, 8),
    min_nonalnum=st.integers(0, 8),
    max_consecutive_identical=st.integers(0, 4),
)


def test_generate_password_meets_the_default_policy():
    # given the default policy
    # when many passwords are generated
    passwords = [generate_password() for _ in range(500)]
    # then every one meets the policy and is at least 12 characters
    assert all(password_errors(password) == [] for password in passwords)
    assert min(map(len, passwords)) >= 12


@given(policies)
def test_generate_password_meets_any_policy(policy):
    # given any policy
    # when a password is generated for it
    password = generate_password(policy)
    # then it meets that policy and is at least 12 characters
    assert password_errors(password, policy) == []
    assert len(password) >= max(12, policy.min_length)
    assert check_password(password, policy) == password


def test_generate_password_is_random():
    # given repeated generation
    # when several passwords are made
    passwords = {generate_password() for _ in range(20)}
    # then they differ
    assert len(passwords) == 20


def test_every_length_limit_fits_its_column():
    # given the users table's column sizes
    from extapi.db.tables import users

    # then no rule lets through a value its column can not hold (PostgreSQL would refuse it)
    for field, limit in MAX_LENGTHS.items():
        assert limit <= users.c[field].type.length, field
