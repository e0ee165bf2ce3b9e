"""Cursor pagination: the cursor format, Totara's error messages, the limit rules, and walks
through every page of a real ``users`` table on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from extapi.db.tables import users
from extapi.errors import CODING_ERROR_PREFIX, ValidationError
from extapi.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    PageRequest,
    fetch_limit,
    finish_page,
    keyset_condition,
    order_by,
    page_request,
)

DOCS_CURSOR = "eyJsaW1pdCI6MSwiY29sdW1ucyI6eyJpZCI6M319"
NOT_BASE64 = CODING_ERROR_PREFIX + "Invalid cursor given, expected base64 encoded string"
NOT_JSON = CODING_ERROR_PREFIX + "Invalid cursor given, expected array encoded as json and base64."
NO_LIMIT = CODING_ERROR_PREFIX + "You must provide a limit within your cursor."
NO_COLUMNS = CODING_ERROR_PREFIX + "You must provide columns within your cursor."
WRONG_ORDER = CODING_ERROR_PREFIX + "Order of query does not match given cursor"
ABOVE_MAX = "Cursor limit has been set above maximum allowed"

COLUMNS = {"id": users.c.id, "lastname": users.c.lastname, "timemodified": users.c.timemodified}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def cursor_for(columns: dict[str, Any], limit: int = 5) -> str:
    return Cursor(limit=limit, columns=columns).encode()


# --- the cursor format -----------------------------------------------------------------------


def test_documented_cursor_round_trips_exactly():
    # given the cursor from Totara's documentation
    # when it is decoded and encoded again
    cursor = Cursor.decode(DOCS_CURSOR)
    # then it holds limit 1 after id 3 and encodes to the same text
    assert cursor == Cursor(limit=1, columns={"id": 3})
    assert cursor.encode() == DOCS_CURSOR


def test_encoding_is_compact_json_with_limit_first():
    # given a cursor over two columns
    cursor = Cursor(limit=7, columns={"lastname": "Smith", "id": 42})
    # when it is encoded
    raw = base64.b64decode(cursor.encode(), validate=True)
    # then the payload is compact JSON, keys in Totara's order
    assert raw == b'{"limit":7,"columns":{"lastname":"Smith","id":42}}'


def test_encoding_escapes_like_php_and_round_trips():
    # given string values with a slash and a non-ASCII letter
    cursor = Cursor(limit=2, columns={"path": "a/b", "name": "Zo\u00eb", "id": 1})
    # when it is encoded and decoded
    text = cursor.encode()
    # then it reads like PHP's json_encode output and decodes to the same cursor
    assert (
        base64.b64decode(text)
        == b'{"limit":2,"columns":{"path":"a\\/b","name":"Zo\\u00eb","id":1}}'
    )
    assert Cursor.decode(text) == cursor


def test_encoding_uses_padded_standard_base64():
    # given a cursor whose payload length is not a multiple of three
    text = Cursor(limit=10, columns={"id": 3}).encode()
    # then the text is padded standard base64
    assert text.endswith("=")
    assert base64.b64decode(text, validate=True)


@pytest.mark.parametrize(
    "text",
    [
        "not base64!",
        "YQ==YQ==",
        "a",
        "ey_-",
        "\u00e9\u00e9\u00e9\u00e9",
    ],
)
def test_decoding_rejects_text_that_is_not_base64(text: str):
    # given text that is not valid standard base64
    # when it is decoded, then Totara's base64 message is raised
    with pytest.raises(ValidationError) as caught:
        Cursor.decode(text)
    assert caught.value.message == NOT_BASE64


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not json", NOT_JSON),
        ("[1, 2]", NO_LIMIT),
        ('"text"', NOT_JSON),
        ("42", NOT_JSON),
        ("null", NOT_JSON),
        ('{"columns": {"id": 3}}', NO_LIMIT),
        ('{"limit": 1}', NO_COLUMNS),
        ('{"limit": 1, "columns": 3}', NO_COLUMNS),
        ('{"limit": "1", "columns": {"id": 3}}', NOT_JSON),
        ('{"limit": 1.0, "columns": {"id": 3}}', NOT_JSON),
        ('{"limit": true, "columns": {"id": 3}}', NOT_JSON),
        ('{"limit": 2147483648, "columns": {"id": 3}}', NOT_JSON),
    ],
)
def test_decoding_rejects_base64_that_is_not_a_cursor_object(payload: str, message: str):
    # given valid base64 of something other than {"limit": int, "columns": object}
    # when it is decoded, then the text of the first check it fails is raised
    with pytest.raises(ValidationError) as caught:
        Cursor.decode(b64(payload))
    assert caught.value.message == message


def test_decoding_rejects_base64_of_bytes_that_are_not_utf8():
    # given valid base64 of bytes that are not text
    text = base64.b64encode(b"\xff\xfe\x00").decode()
    # when it is decoded, then the JSON message is raised
    with pytest.raises(ValidationError) as caught:
        Cursor.decode(text)
    assert caught.value.message == NOT_JSON


def test_decoding_rejects_an_empty_cursor_text():
    # given an empty string (valid base64 of nothing)
    # when it is decoded, then the JSON message is raised
    with pytest.raises(ValidationError) as caught:
        Cursor.decode("")
    assert caught.value.message == NOT_JSON


# --- page requests and the limit rules ---------------------------------------------------------


@pytest.mark.parametrize("pagination", [None, {}, {"limit": None}, {"cursor": None}, {"page": 3}])
def test_default_limit_is_twenty_from_the_start(pagination: Mapping[str, Any] | None):
    # given no limit and no cursor
    # when the request is built
    request = page_request(pagination, ["lastname"], descending=False)
    # then it asks for the first twenty rows, sorted by lastname then id
    assert DEFAULT_LIMIT == 20
    assert request == PageRequest(limit=20, after=None, sort=("lastname", "id"), descending=False)


def test_given_limit_is_used():
    # given a positive limit
    request = page_request({"limit": 5, "page": 9}, ["id"], descending=True)
    # then it is the page size and the sort has no second id
    assert request == PageRequest(limit=5, after=None, sort=("id",), descending=True)


@pytest.mark.parametrize("limit", [0, -1, -100])
def test_zero_or_negative_limit_means_everything(limit: int):
    # given a limit of zero or less
    request = page_request({"limit": limit}, ["id"], descending=False)
    # then the request has no limit and fetches without one
    assert request.limit is None
    assert fetch_limit(request) is None


def test_fetch_limit_is_one_more_than_the_page():
    # given a page of 7
    request = page_request({"limit": 7}, ["id"], descending=False)
    # then 8 rows are fetched
    assert fetch_limit(request) == 8


def test_cursor_limit_wins_over_the_given_limit():
    # given a cursor made with limit 3 and a request asking for 50
    cursor = cursor_for({"lastname": "Smith", "id": 42}, limit=3)
    # when the request is built
    request = page_request({"cursor": cursor, "limit": 50}, ["lastname"], descending=False)
    # then the cursor's limit and position are used
    assert request.limit == 3
    assert request.after == {"lastname": "Smith", "id": 42}


def test_cursor_with_zero_limit_means_everything():
    # given a cursor carrying limit 0
    request = page_request({"cursor": cursor_for({"id": 4}, limit=0)}, ["id"], descending=False)
    # then the rest is returned unlimited
    assert request.limit is None


def test_empty_cursor_text_starts_at_the_beginning():
    # given the "" a last page hands back, passed in as the cursor
    request = page_request({"cursor": "", "limit": 4}, ["id"], descending=False)
    # then the request starts from the first row with the given limit
    assert request == PageRequest(limit=4, after=None, sort=("id",), descending=False)


@pytest.mark.parametrize(
    "pagination",
    [{"limit": 11}, {"limit": 1000}, {"cursor": Cursor(limit=11, columns={"id": 1}).encode()}],
)
def test_limit_above_maximum_is_refused(pagination: Mapping[str, Any]):
    # given a maximum of 10 and a limit above it (given or from a cursor)
    # when the request is built, then Totara's maximum message is raised
    with pytest.raises(ValidationError) as caught:
        page_request(pagination, ["id"], descending=False, max_limit=10)
    assert caught.value.message == ABOVE_MAX


def test_limit_at_maximum_is_accepted():
    # given a maximum of 10 and a limit of 10
    request = page_request({"limit": 10}, ["id"], descending=False, max_limit=10)
    # then it is used as is
    assert request.limit == 10


def test_zero_limit_is_not_above_the_maximum():
    # given a maximum of 10 and limit 0 (Totara compares the number itself)
    request = page_request({"limit": 0}, ["id"], descending=False, max_limit=10)
    # then it still means no limit
    assert request.limit is None


def test_no_maximum_by_default():
    # given a very large limit and no maximum
    request = page_request({"limit": 10**9}, ["id"], descending=False)
    # then it is accepted
    assert request.limit == 10**9


@pytest.mark.parametrize(
    "columns",
    [
        {"id": 42},  # tiebreaker only
        {"lastname": "Smith"},  # tiebreaker missing
        {"id": 42, "lastname": "Smith"},  # wrong order
        {"firstname": "Ann", "id": 42},  # other column
        {"lastname": "Smith", "firstname": "Ann", "id": 42},  # extra column
        {},
    ],
)
def test_cursor_from_another_sort_is_refused(columns: dict[str, Any]):
    # given a cursor whose columns are not (lastname, id)
    pagination = {"cursor": cursor_for(columns)}
    # when a lastname-sorted request uses it, then Totara's order message is raised
    with pytest.raises(ValidationError) as caught:
        page_request(pagination, ["lastname"], descending=False)
    assert caught.value.message == WRONG_ORDER


def test_custom_tiebreaker_is_appended():
    # given a table whose unique key is "code"
    request = page_request(None, ["name"], descending=False, tiebreaker="code")
    # then the key ends in that column
    assert request.sort == ("name", "code")


@pytest.mark.parametrize("cursor", ["%%%", b64("[]")])
def test_malformed_cursor_in_a_request_is_refused(cursor: str):
    # given a malformed cursor in the pagination argument
    # when the request is built, then a validation error is raised
    with pytest.raises(ValidationError):
        page_request({"cursor": cursor}, ["id"], descending=False)


# --- SQL pieces and page finishing -----------------------------------------------------------


def compiled(clause: Any) -> str:
    return str(clause.compile(compile_kwargs={"literal_binds": True}))


def test_no_condition_without_a_cursor():
    # given a first-page request
    request = page_request({"limit": 2}, ["lastname"], descending=False)
    # then there is no keyset condition
    assert keyset_condition(COLUMNS, request) is None


def test_condition_for_a_single_column_key():
    # given a cursor after id 3 ascending
    request = page_request({"cursor": DOCS_CURSOR}, ["id"], descending=False)
    # then the condition is a plain comparison
    assert compiled(keyset_condition(COLUMNS, request)) == "users.id > 3"


def test_condition_for_a_three_column_key_descending():
    # given a cursor over (lastname, timemodified, id) descending
    after = {"lastname": "Smith", "timemodified": 100, "id": 42}
    request = PageRequest(
        limit=2, after=after, sort=("lastname", "timemodified", "id"), descending=True
    )
    # when the condition is built
    sql = compiled(keyset_condition(COLUMNS, request))
    # then it is the expanded OR form with "<", led by an index-friendly bound
    assert sql == (
        "users.lastname <= 'Smith' AND (users.lastname < 'Smith'"
        " OR users.lastname = 'Smith' AND users.timemodified < 100"
        " OR users.lastname = 'Smith' AND users.timemodified = 100 AND users.id < 42)"
    )


@pytest.mark.parametrize(
    "after",
    [
        {"lastname": 5, "id": 1},
        {"lastname": "Smith", "id": "1"},
        {"lastname": "Smith", "id": True},
        {"lastname": "Smith", "id": 1.5},
        {"lastname": None, "id": 1},
        {"lastname": ["Smith"], "id": 1},
        {"lastname": "Smith", "id": 2**31},
        {"lastname": "Smith", "id": -(2**31) - 1},
    ],
)
def test_cursor_value_of_the_wrong_type_is_refused(after: dict[str, Any]):
    # given a tampered cursor whose values do not fit the columns
    request = page_request({"cursor": cursor_for(after)}, ["lastname"], descending=False)
    # when the condition is built, then Totara's JSON message is raised before any SQL runs
    with pytest.raises(ValidationError) as caught:
        keyset_condition(COLUMNS, request)
    assert caught.value.message == NOT_JSON


def test_cursor_value_outside_a_bigint_is_refused():
    # given a forged timemodified (a BIGINT column) beyond 64 bits
    after = {"timemodified": 2**63, "id": 1}
    request = page_request({"cursor": cursor_for(after)}, ["timemodified"], descending=True)
    # when the condition is built, then the JSON message is raised
    with pytest.raises(ValidationError) as caught:
        keyset_condition(COLUMNS, request)
    assert caught.value.message == NOT_JSON


def test_order_by_applies_the_direction_to_every_column():
    # given a descending lastname sort
    request = page_request(None, ["lastname"], descending=True)
    # then both lastname and the tiebreaker are descending
    clauses = [compiled(c) for c in order_by(COLUMNS, request)]
    assert clauses == ["users.lastname DESC", "users.id DESC"]


def test_finish_page_with_an_extra_row_builds_the_next_cursor():
    # given limit 2 and three fetched rows
    request = page_request({"limit": 2}, ["lastname"], descending=False)
    rows = [{"id": 5, "lastname": "A"}, {"id": 2, "lastname": "B"}, {"id": 9, "lastname": "C"}]
    # when the page is finished
    page, next_cursor = finish_page(rows, request)
    # then two rows are kept and the cursor points after the second, with the same limit
    assert page == rows[:2]
    assert Cursor.decode(next_cursor) == Cursor(limit=2, columns={"lastname": "B", "id": 2})


@pytest.mark.parametrize("count", [0, 1, 2])
def test_finish_page_without_an_extra_row_is_the_last_page(count: int):
    # given limit 2 and no more than two fetched rows
    request = page_request({"limit": 2}, ["id"], descending=False)
    rows = [{"id": i} for i in range(count)]
    # then every row is kept and there is no next cursor
    assert finish_page(rows, request) == (rows, "")


def test_finish_page_without_a_limit_never_has_a_next_page():
    # given an unlimited request
    request = page_request({"limit": 0}, ["id"], descending=False)
    rows = [{"id": i} for i in range(100)]
    # then all rows come back and the cursor is empty
    assert finish_page(rows, request) == (rows, "")


# --- walking a real table --------------------------------------------------------------------

LASTNAMES = ["Adams", "Baker", "Clark", "Davis", "Evans", "Fisher", "Green"]
USER_COUNT = 50


def insert_users(engine: Engine) -> None:
    # Lastnames repeat and share one capitalisation, so SQLite's byte order and any
    # PostgreSQL collation agree; timemodified repeats too, so the id tiebreaker matters.
    rows = [
        {
            "username": f"user{i:02d}",
            "firstname": f"First{i:02d}",
            "lastname": LASTNAMES[(i * 3) % len(LASTNAMES)],
            "timecreated": 1_700_000_000,
            "timemodified": 1_700_000_000 + (i * 7) % 9,
        }
        for i in range(USER_COUNT)
    ]
    with engine.begin() as conn:
        conn.execute(insert(users), rows)


def fetch_page(engine: Engine, request: PageRequest) -> tuple[list[Mapping[str, Any]], str]:
    query = select(users.c.id, users.c.lastname, users.c.timemodified)
    condition = keyset_condition(COLUMNS, request)
    if condition is not None:
        query = query.where(condition)
    query = query.order_by(*order_by(COLUMNS, request)).limit(fetch_limit(request))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return finish_page(rows, request)


def walk(
    engine: Engine, sort: list[str], descending: bool, limit: int
) -> list[list[Mapping[str, Any]]]:
    pages: list[list[Mapping[str, Any]]] = []
    pagination: dict[str, Any] = {"limit": limit}
    while True:
        request = page_request(pagination, sort, descending)
        page, next_cursor = fetch_page(engine, request)
        pages.append(page)
        if next_cursor == "":
            return pages
        assert len(pages) <= USER_COUNT + 1, "pagination does not end"
        # a follow-up sends only the cursor, plus a limit the cursor must override
        pagination = {"cursor": next_cursor, "limit": 999}


def expected_order(engine: Engine, sort: list[str], descending: bool) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(select(users)).mappings().all()
    key = [*sort, "id"] if "id" not in sort else sort
    ordered = sorted(rows, key=lambda row: tuple(row[name] for name in key), reverse=descending)
    return [row["id"] for row in ordered]


SORTS = [
    pytest.param(["id"], False, id="id-asc"),
    pytest.param(["id"], True, id="id-desc"),
    pytest.param(["lastname"], False, id="lastname-asc"),
    pytest.param(["timemodified"], True, id="timemodified-desc"),
    pytest.param(["lastname", "timemodified"], True, id="lastname-timemodified-desc"),
]


@pytest.mark.parametrize("limit", [1, 7, 20, 0])
@pytest.mark.parametrize(("sort", "descending"), SORTS)
def test_walking_all_pages_returns_every_row_once_in_order(
    engine: Engine, sort: list[str], descending: bool, limit: int
):
    # given 50 users with repeated lastnames and modification times
    insert_users(engine)
    expected = expected_order(engine, sort, descending)
    assert len(expected) == USER_COUNT
    # when every page is fetched by following next_cursor
    pages = walk(engine, sort, descending, limit)
    # then the rows arrive once each in the sorted order
    assert [row["id"] for page in pages for row in page] == expected
    # and every page but the last is full, the last is non-empty and ends the walk
    size = limit if limit > 0 else USER_COUNT
    assert [len(page) for page in pages[:-1]] == [size] * (len(pages) - 1)
    assert 0 < len(pages[-1]) <= size
    assert len(pages) == -(-USER_COUNT // size)


def test_empty_table_gives_one_empty_last_page(engine: Engine):
    # given no users at all
    # when the first page is fetched
    page, next_cursor = fetch_page(engine, page_request({"limit": 5}, ["id"], descending=False))
    # then it is empty and final
    assert page == []
    assert next_cursor == ""


def test_cursor_past_the_end_gives_an_empty_last_page(engine: Engine):
    # given users and a cursor beyond the largest id (as large as a client could forge)
    insert_users(engine)
    cursor = cursor_for({"id": 2**31 - 1}, limit=5)
    # when the page after it is fetched
    page, next_cursor = fetch_page(engine, page_request({"cursor": cursor}, ["id"], False))
    # then nothing comes back and the walk ends
    assert page == []
    assert next_cursor == ""
