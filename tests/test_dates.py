"""Tests for core_date rendering and parsing.

Expected strings were computed by hand and cross-checked against GNU ``date`` with the
system tz database; they are deliberately hard-coded rather than derived from the code.
"""

from __future__ import annotations

import pytest

from extapi.dates import FORMATS, format_date, parse_date_input
from extapi.errors import CodingError

# 2022-09-01 10:06:53 UTC, a Thursday.
SEPT_FIRST = 1662026813
# 2022-03-05 09:05:07 UTC, a Saturday.
MARCH_FIFTH = 1646471107
# 2022-01-02 00:30:00 UTC, a Sunday.
JAN_SECOND_HALF_PAST_MIDNIGHT = 1641083400
# 2022-06-15 12:00:00 UTC, a Wednesday.
JUNE_NOON = 1655294400

BERLIN_SEPT_FIRST = {
    "TIMESTAMP": "1662026813",
    "ISO8601": "2022-09-01T12:06:53+0200",
    "DAYDATETIME": "Thursday, 1 September 2022, 12:06 PM",
    "TIME": "12:06 PM",
    "TIMESHORT": "12:06",
    "DATE": "1 September 2022",
    "DATESHORT": "1 September",
    "DATELONG": "1/09/2022",
    "DATETIME": "1 September 2022, 12:06 PM",
    "DATETIMESHORT": "1/09/22, 12:06",
    "DATETIMELONG": "1/09/2022, 12:06",
    "DATETIMESECONDS": "1 Sep 2022 at 12:06:53",
}

AUCKLAND_SEPT_FIRST = {
    "TIMESTAMP": "1662026813",
    "ISO8601": "2022-09-01T22:06:53+1200",
    "DAYDATETIME": "Thursday, 1 September 2022, 10:06 PM",
    "TIME": "10:06 PM",
    "TIMESHORT": "22:06",
    "DATE": "1 September 2022",
    "DATESHORT": "1 September",
    "DATELONG": "1/09/2022",
    "DATETIME": "1 September 2022, 10:06 PM",
    "DATETIMESHORT": "1/09/22, 22:06",
    "DATETIMELONG": "1/09/2022, 22:06",
    "DATETIMESECONDS": "1 Sep 2022 at 22:06:53",
}

# In New York this instant is still the previous day (and year), with a negative offset.
NEW_YORK_JAN_SECOND = {
    "TIMESTAMP": "1641083400",
    "ISO8601": "2022-01-01T19:30:00-0500",
    "DAYDATETIME": "Saturday, 1 January 2022, 7:30 PM",
    "TIME": "7:30 PM",
    "TIMESHORT": "19:30",
    "DATE": "1 January 2022",
    "DATESHORT": "1 January",
    "DATELONG": "1/01/2022",
    "DATETIME": "1 January 2022, 7:30 PM",
    "DATETIMESHORT": "1/01/22, 19:30",
    "DATETIMELONG": "1/01/2022, 19:30",
    "DATETIMESECONDS": "1 Jan 2022 at 19:30:00",
}

TABLES = [
    (SEPT_FIRST, "Europe/Berlin", BERLIN_SEPT_FIRST),
    (SEPT_FIRST, "Pacific/Auckland", AUCKLAND_SEPT_FIRST),
    (JAN_SECOND_HALF_PAST_MIDNIGHT, "America/New_York", NEW_YORK_JAN_SECOND),
]


def _table_cases() -> list[tuple[int, str, str, str]]:
    return [
        (timestamp, tz, fmt, expected)
        for timestamp, tz, table in TABLES
        for fmt, expected in table.items()
    ]


# --- FORMATS ---------------------------------------------------------------------------


def test_formats_lists_the_twelve_schema_enum_values_in_order() -> None:
    # given the core_date_format enum from the schema
    expected = (
        "TIMESTAMP",
        "ISO8601",
        "DAYDATETIME",
        "TIME",
        "TIMESHORT",
        "DATE",
        "DATESHORT",
        "DATELONG",
        "DATETIME",
        "DATETIMESHORT",
        "DATETIMELONG",
        "DATETIMESECONDS",
    )

    # when the module's list is read
    names = FORMATS

    # then it holds exactly those names
    assert names == expected


@pytest.mark.parametrize("table", [t for _, _, t in TABLES])
def test_every_expectation_table_covers_every_format(table: dict[str, str]) -> None:
    # given a table of expected renderings
    # then it exercises each format exactly once
    assert tuple(table) == FORMATS


# --- format_date: every format in several zones --------------------------------------------


@pytest.mark.parametrize(("timestamp", "tz", "fmt", "expected"), _table_cases())
def test_format_date_renders_every_format_in_the_viewer_timezone(
    timestamp: int, tz: str, fmt: str, expected: str
) -> None:
    # given a timestamp and a viewer timezone
    # when it is rendered in a format
    result = format_date(timestamp, fmt, tz)

    # then it matches the English language pack shape
    assert result == expected


@pytest.mark.parametrize("tz", ["UTC", "Pacific/Auckland", "America/New_York", "No/Such_Zone"])
def test_format_date_timestamp_ignores_timezone(tz: str) -> None:
    # given any timezone
    # when rendered as TIMESTAMP
    result = format_date(SEPT_FIRST, "TIMESTAMP", tz)

    # then the raw seconds come back as a decimal string
    assert result == "1662026813"


# --- format_date: empty values ---------------------------------------------------------


@pytest.mark.parametrize("empty", [None, 0])
@pytest.mark.parametrize("fmt", FORMATS)
def test_format_date_returns_none_for_missing_dates(empty: int | None, fmt: str) -> None:
    # given a missing date (Totara stores "no date" as 0)
    # when it is rendered
    result = format_date(empty, fmt, "Pacific/Auckland")

    # then there is nothing to show
    assert result is None


# --- format_date: leading zeros and the 12-hour clock ---------------------------------------


@pytest.mark.parametrize(
    ("tz", "fmt", "expected"),
    [
        ("UTC", "DAYDATETIME", "Saturday, 5 March 2022, 9:05 AM"),
        ("UTC", "TIME", "9:05 AM"),
        ("UTC", "TIMESHORT", "09:05"),
        ("UTC", "DATELONG", "5/03/2022"),
        ("UTC", "DATETIMESHORT", "5/03/22, 09:05"),
        ("UTC", "DATETIMESECONDS", "5 Mar 2022 at 09:05:07"),
        ("UTC", "ISO8601", "2022-03-05T09:05:07+0000"),
        ("America/New_York", "TIME", "4:05 AM"),
        ("America/New_York", "DATETIME", "5 March 2022, 4:05 AM"),
        ("America/New_York", "ISO8601", "2022-03-05T04:05:07-0500"),
        ("Pacific/Auckland", "ISO8601", "2022-03-05T22:05:07+1300"),
    ],
)
def test_format_date_strips_leading_zeros_from_day_and_12_hour_hour_only(
    tz: str, fmt: str, expected: str
) -> None:
    # given a single-digit day, hour and minute
    # when rendered
    result = format_date(MARCH_FIFTH, fmt, tz)

    # then day and 12-hour hour lose their zero; 24-hour hour, minutes, month keep theirs
    assert result == expected


@pytest.mark.parametrize(
    ("timestamp", "tz", "expected"),
    [
        (JAN_SECOND_HALF_PAST_MIDNIGHT, "UTC", "12:30 AM"),
        (JUNE_NOON, "UTC", "12:00 PM"),
        (JUNE_NOON, "Pacific/Auckland", "12:00 AM"),
        (SEPT_FIRST, "Europe/Berlin", "12:06 PM"),
        (JAN_SECOND_HALF_PAST_MIDNIGHT, "Europe/Berlin", "1:30 AM"),
        (JAN_SECOND_HALF_PAST_MIDNIGHT, "Pacific/Auckland", "1:30 PM"),
    ],
)
def test_format_date_12_hour_clock_around_midnight_and_noon(
    timestamp: int, tz: str, expected: str
) -> None:
    # given times in the 00 and 12 hours and just after them
    # when rendered on the 12-hour clock
    result = format_date(timestamp, "TIME", tz)

    # then hour 0 reads as 12 AM and hour 12 as 12 PM
    assert result == expected


def test_format_date_midnight_in_24_hour_formats_keeps_zero_hour() -> None:
    # given an instant that is exactly midnight in Auckland
    # when rendered in 24-hour formats
    short = format_date(JUNE_NOON, "DATETIMESHORT", "Pacific/Auckland")
    seconds = format_date(JUNE_NOON, "DATETIMESECONDS", "Pacific/Auckland")

    # then the hour stays "00" and the date is already the next day
    assert short == "16/06/22, 00:00"
    assert seconds == "16 Jun 2022 at 00:00:00"


def test_format_date_day_of_week_follows_local_date() -> None:
    # given an instant that is Wednesday in UTC but Thursday in Auckland
    # when rendered with the weekday
    utc = format_date(JUNE_NOON, "DAYDATETIME", "UTC")
    auckland = format_date(JUNE_NOON, "DAYDATETIME", "Pacific/Auckland")

    # then each viewer sees their own weekday
    assert utc == "Wednesday, 15 June 2022, 12:00 PM"
    assert auckland == "Thursday, 16 June 2022, 12:00 AM"


def test_format_date_two_digit_day_is_kept() -> None:
    # given a two-digit day of month
    # when rendered
    result = format_date(JUNE_NOON, "DATE", "UTC")

    # then nothing is stripped from it
    assert result == "15 June 2022"


# --- format_date: timezone fallback and bad formats ----------------------------------------


@pytest.mark.parametrize(
    "bad_tz", ["No/Such_Zone", "", "99", "../etc/passwd", "/etc/passwd", "Europe/", "Europe"]
)
def test_format_date_unknown_timezone_falls_back_to_utc(bad_tz: str) -> None:
    # given a timezone name the tz database does not know
    # when a date is rendered for it
    iso = format_date(SEPT_FIRST, "ISO8601", bad_tz)
    time = format_date(SEPT_FIRST, "TIME", bad_tz)

    # then UTC is used
    assert iso == "2022-09-01T10:06:53+0000"
    assert time == "10:06 AM"


@pytest.mark.parametrize("bad_fmt", ["", "iso8601", "Date", "UNKNOWN", "DATE ", None])
def test_format_date_unknown_format_raises(bad_fmt: str | None) -> None:
    # given a format that is not part of the enum (null included)
    # when rendering
    # then it is refused as Totara's formatter refuses it
    with pytest.raises(CodingError, match="Invalid format given"):
        format_date(SEPT_FIRST, bad_fmt, "UTC")


def test_format_date_unknown_format_raises_even_without_a_date() -> None:
    # given no date but a bogus format
    # when rendering
    # then the bogus format is still reported
    with pytest.raises(CodingError):
        format_date(None, "NOPE", "UTC")


# --- parse_date_input: accepted values ----------------------------------------------------


@pytest.mark.parametrize("empty", [None, 0, "0", "", "   "])
def test_parse_date_input_treats_empty_values_as_no_date(empty: object) -> None:
    # given a value meaning "no date"
    # when parsed
    result = parse_date_input(empty, "UTC")

    # then it yields None
    assert result is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1662026813, 1662026813),
        (1, 1),
        ("1662026813", 1662026813),
        ("  1662026813\n", 1662026813),
        ("007", 7),
        (1662026813.0, 1662026813),
    ],
)
def test_parse_date_input_accepts_unix_seconds(value: object, expected: int) -> None:
    # given unix seconds as a number or numeric string
    # when parsed in any timezone
    result = parse_date_input(value, "Pacific/Auckland")

    # then the seconds are returned unchanged
    assert result == expected


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        # date only: midnight in the given timezone
        ("2022-09-01", "UTC", 1661990400),
        ("2022-09-01", "Pacific/Auckland", 1661947200),
        ("2022-09-01", "America/New_York", 1662004800),
        # local date-time without offset: read in the given timezone
        ("2022-09-01T12:06:53", "UTC", 1662034013),
        ("2022-09-01T12:06:53", "Europe/Berlin", 1662026813),
        ("2022-09-01T12:06:53", "Pacific/Auckland", 1661990813),
        ("2022-09-01T12:06", "UTC", 1662033960),
        ("  2022-09-01T12:06:53  ", "UTC", 1662034013),
        # unknown timezone: UTC
        ("2022-09-01T12:06:53", "No/Such_Zone", 1662034013),
        # explicit offsets win over the given timezone
        ("2022-09-01T12:06:53Z", "Pacific/Auckland", 1662034013),
        ("2022-09-01T12:06:53+00:00", "Pacific/Auckland", 1662034013),
        ("2022-09-01T12:06:53+12:00", "UTC", 1661990813),
        ("2022-09-01T12:06:53+1200", "UTC", 1661990813),
        ("2022-09-01T12:06:53-05:00", "UTC", 1662052013),
        ("2022-09-01T12:06:53+05:30", "UTC", 1662014213),
        ("2022-09-01T12:06:53.999Z", "UTC", 1662034013),
    ],
)
def test_parse_date_input_accepts_iso8601(value: str, tz: str, expected: int) -> None:
    # given an ISO-8601 string
    # when parsed for a viewer in tz
    result = parse_date_input(value, tz)

    # then it becomes the matching unix seconds
    assert result == expected


def test_parse_date_input_round_trips_with_iso8601_rendering() -> None:
    # given a rendered ISO-8601 value
    rendered = format_date(SEPT_FIRST, "ISO8601", "Pacific/Auckland")

    # when it is parsed back in a different timezone
    result = parse_date_input(rendered, "America/New_York")

    # then the original instant is recovered
    assert result == SEPT_FIRST


def test_parse_date_input_midnight_follows_daylight_saving() -> None:
    # given the same calendar date in Auckland summer (+13) and winter (+12)
    summer = parse_date_input("2022-01-15", "Pacific/Auckland")
    winter = parse_date_input("2022-06-15", "Pacific/Auckland")

    # then each is local midnight with that season's offset
    assert summer == 1642204800 - 13 * 3600
    assert winter == 1655251200 - 12 * 3600


# --- parse_date_input: rejects ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        -1,
        "-1",
        "+5",
        "1_000",
        "12.5",
        "١٢٣",
        True,
        False,
        1.5,
        float("nan"),
        float("inf"),
        -3600.0,
        "garbage",
        "yesterday",
        "2022-13-01",
        "2022-02-30",
        "2022-09-01T24:00:00",
        "2022-09-01T12:60:00",
        "2022-09-01T12:06:53+24:00",
        "2022-09-01T12:06:53+12",
        "2022-9-1",
        "2022/09/01",
        "2022-W35-4",
        "0000-01-01",
        "1969-12-31",
        "1969-12-31T23:59:59Z",
        "10000-01-01",
        "9999-12-31T23:59:59-01:00",
        10**20,
        "99999999999999999999",
        [],
        {},
        object(),
        b"1662026813",
    ],
)
def test_parse_date_input_rejects_invalid_values(value: object) -> None:
    # given something that is not a usable date
    # when parsed
    # then it is refused with a short message
    with pytest.raises(ValueError, match="Invalid date format"):
        parse_date_input(value, "UTC")


def test_parse_date_input_accepts_latest_representable_instant() -> None:
    # given the last second of year 9999 in UTC
    # when parsed
    result = parse_date_input("9999-12-31T23:59:59Z", "UTC")

    # then it is accepted as the upper bound
    assert result == 253402300799
