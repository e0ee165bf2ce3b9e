"""Reading feeds through the mapping: line numbers, bad rows left out whole, both formats."""

from __future__ import annotations

import pytest

from extapi.hrsync.config import SyncConfigError, load_config, parse_config
from extapi.hrsync.feed import FeedError, parse_feed, read_feed
from tests.hrsync.feeds import MAPPING, as_csv, people

CONFIG = load_config(MAPPING)
USER = {"idnumber": "i", "username": "u", "email": "e", "firstname": "f", "lastname": "l"}


def test_a_generated_feed_reads_as_people_with_their_jobs():
    feed = parse_feed(as_csv(people(3)), "csv", CONFIG)
    assert feed.errors == [] and feed.rows == 3
    first, second = feed.people[0], feed.people[1]
    assert first.key == "E00000" and first.line == 2 and first.username == "person00000"
    assert first.custom["department"] == "Engineering"
    assert first.job is not None and first.job.manager == ""
    assert second.job is not None and second.job.manager == "E00000"
    assert second.job.fields["position"] == "POS3"


def test_bad_rows_are_reported_with_their_line_and_left_out():
    # given a feed whose rows 2 and 4 (lines 3 and 5) break different rules
    rows = people(5)
    rows[1]["email"] = "not-an-email"
    rows[3]["login"] = "Has Space"
    rows[4]["job_start"] = "2024-13-01"
    feed = parse_feed(as_csv(rows), "csv", CONFIG)
    # then the good rows are read and each bad one is reported by line and key
    assert [p.key for p in feed.people] == ["E00000", "E00002"]
    assert [(e.line, e.key) for e in feed.errors] == [
        (3, "E00001"),
        (5, "E00003"),
        (6, "E00004"),
    ]
    assert "email" in feed.errors[0].message
    assert "lower case" in feed.errors[1].message
    assert "start_date" in feed.errors[2].message


def test_a_duplicate_key_or_username_names_the_first_line():
    rows = people(3)
    rows[2].update(employee_id=rows[0]["employee_id"], manager_id="")
    rows.append(dict(people(4)[3], login=rows[1]["login"]))
    feed = parse_feed(as_csv(rows), "csv", CONFIG)
    assert [(e.line, e.message) for e in feed.errors] == [
        (4, "duplicate key 'E00000' (first on line 2)"),
        (5, "duplicate username 'person00001' (first on line 3)"),
    ]


def test_line_numbers_count_physical_lines_of_multi_line_fields():
    rows = people(2)
    rows[0]["job_title"] = "Two\nlines"
    rows[1]["email"] = "bad"
    feed = parse_feed(as_csv(rows), "csv", CONFIG)
    assert feed.errors[0].line == 4  # header, two lines of row 1, then row 2


def test_missing_values_and_a_self_manager_are_bad_rows():
    rows = people(3)
    rows[0]["first_name"] = " "
    rows[1]["manager_id"] = rows[1]["employee_id"]
    rows[2]["job_id"] = ""
    feed = parse_feed(as_csv(rows), "csv", CONFIG)
    assert [e.message for e in feed.errors] == [
        "firstname ('first_name') is empty",
        "a person can not be their own manager",
        "job values given without a job idnumber ('job_id')",
    ]


def test_a_ragged_csv_row_is_a_bad_row():
    text = as_csv(people(2)) + "E9,only,three\n"
    feed = parse_feed(text, "csv", CONFIG)
    assert [(e.line, e.key) for e in feed.errors] == [(4, None)]


def test_json_lines_with_numbers_and_broken_lines():
    # given JSON lines with a number for a value, a blank line, broken JSON and a non-object
    good = {**people(1)[0], "city": 42}
    import orjson

    text = "\n".join(
        [orjson.dumps(good).decode(), "", "{broken", "[1, 2]", orjson.dumps(people(2)[1]).decode()]
    )
    feed = parse_feed(text, "jsonl", CONFIG)
    assert [p.line for p in feed.people] == [1, 5]
    assert feed.people[0].user["city"] == "42"
    assert [(e.line, e.message.split(":")[0]) for e in feed.errors] == [
        (3, "not valid JSON"),
        (4, "each line must be a JSON object"),
    ]


def test_a_json_value_of_the_wrong_shape_is_a_bad_row():
    import orjson

    text = orjson.dumps({**people(1)[0], "city": {"nested": 1}}).decode()
    feed = parse_feed(text, "jsonl", CONFIG)
    assert feed.people == [] and feed.errors[0].key == "E00000"


def test_a_column_the_mapping_names_must_be_in_the_header():
    text = as_csv(people(1)).replace("manager_id", "boss", 1)
    with pytest.raises(FeedError, match="no column 'manager_id'"):
        parse_feed(text, "csv", CONFIG)


def test_a_feed_file_that_is_not_utf8_or_missing_is_refused(tmp_path):
    with pytest.raises(FeedError, match="Can not read"):
        read_feed(tmp_path / "absent.csv", CONFIG)
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("employee_id\nJos\xe9\n".encode("latin-1"))
    with pytest.raises(FeedError, match="not UTF-8"):
        read_feed(bad, CONFIG)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"key": "email"}, "key must be one of"),
        ({"user": {"username": "u"}}, "must map idnumber"),
        (
            {"key": "username", "user": {"username": "u", "email": "e", "firstname": "f"}},
            "lastname",
        ),
        ({"user": {"password": "p"}}, "not a field the sync can set"),
        ({"user": USER, "job": {"position": "p"}}, "must map idnumber"),
        ({"user": USER, "leavers": {"protect": "admin"}}, "list of usernames"),
        ({"user": USER, "leavers": {"suspend": "yes"}}, "true or false"),
        ({"user": USER, "extra": 1}, "Unknown setting 'extra'"),
        ({"user": USER, "jobs": {"delete": True}}, "no setting 'delete'"),
        ({"user": {**USER, "email": ""}}, "must name a feed column"),
    ],
)
def test_mapping_mistakes_are_named(data, message):
    with pytest.raises(SyncConfigError, match=message):
        parse_config(data)


def test_a_mapping_file_that_is_not_toml_is_refused(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text("key = ")
    with pytest.raises(SyncConfigError, match="not valid TOML"):
        load_config(path)


def test_hostile_csv_rows_are_bad_rows_and_reading_goes_on():
    # given a row with a field larger than the csv module allows, and one with a NUL byte
    rows = as_csv(people(4)).splitlines()
    rows[2] = rows[2].replace("Auckland", "x" * 200_000)
    rows[3] = rows[3].replace("person00002@", "person\0@")
    feed = parse_feed("\n".join(rows) + "\n", "csv", CONFIG)
    # then both are reported by line, and the rows around them are read
    assert [p.line for p in feed.people] == [2, 5]
    assert [(e.line, e.message[:20]) for e in feed.errors] == [
        (3, "unreadable CSV: fiel"),
        (4, "'email' holds a cont"),
    ]
