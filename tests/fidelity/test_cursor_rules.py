"""Rule E2 (cursor decoding) and the E1 prefix on cursor errors, as Totara 17.3 answers them."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from extapi.errors import CODING_ERROR_PREFIX, CodingError
from extapi.pagination import Cursor, decode_cursor, page_request
from tests.factories import fetch_token, graphql, make_api_client, make_user

NOT_BASE64 = "Invalid cursor given, expected base64 encoded string"
NOT_JSON = "Invalid cursor given, expected array encoded as json and base64."
EMPTY = "Empty cursor given, please provide a cursor with at least one value."
NO_LIMIT = "You must provide a limit within your cursor."
NO_COLUMNS = "You must provide columns within your cursor."
WRONG_ORDER = "Order of query does not match given cursor"

LIST = """
query list($query: core_user_users_query) {
  core_user_users(query: $query) { items { username } total next_cursor }
}
"""


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def list_users(runtime, http) -> Callable[..., dict[str, Any]]:
    """Runs the users list as a system client with five users beside its service account."""
    for name in ("amy", "bob", "cat", "dan", "eve"):
        make_user(runtime, name)
    token = fetch_token(http, make_api_client(runtime))

    def run(**query: Any) -> dict[str, Any]:
        body = {"query": LIST, "variables": {"query": query}}
        return dict(graphql(http, token, body).json())

    return run


def _reason(body: dict[str, Any]) -> str:
    assert "errors" in body, body
    return str(body["errors"][0]["debugMessage"])


# --- E2 worked examples ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cursor", "hint"),
    [
        ("garbage", NOT_JSON),  # valid unpadded base64, not JSON
        ("%%%", NOT_BASE64),
        ("e30=", EMPTY),  # {}
        ("WzFd", NO_LIMIT),  # [1]
        ("eyJsaW1pdCI6Mn0=", NO_COLUMNS),  # {"limit":2}
    ],
)
def test_e2_cursor_decoding_steps_worked_examples(cursor: str, hint: str):
    # given one of the rule's example cursors
    # when it is decoded, then the step it fails names it, with the coding-error prefix
    with pytest.raises(CodingError) as caught:
        Cursor.decode(cursor)
    assert caught.value.hint == hint
    assert caught.value.message == CODING_ERROR_PREFIX + hint


@pytest.mark.parametrize(
    ("cursor", "hint"),
    [
        ("garbage", NOT_JSON),
        ("%%%", NOT_BASE64),
        ("e30=", EMPTY),
        ("WzFd", NO_LIMIT),
        ("eyJsaW1pdCI6Mn0=", NO_COLUMNS),
        (Cursor(limit=2, columns={"lastname": "Zed", "id": 3}).encode(), WRONG_ORDER),
    ],
)
def test_e2_cursor_errors_reach_the_client_as_internal_coding_errors(list_users, cursor, hint):
    # given a users list call with a malformed cursor
    body = list_users(pagination={"cursor": cursor})
    # then it is an internal error whose reason carries Totara's coding-error prefix
    assert body["errors"][0]["message"] == "Internal server error"
    assert body["errors"][0]["extensions"]["category"] == "internal"
    assert _reason(body) == CODING_ERROR_PREFIX + hint


@pytest.mark.parametrize(
    "text",
    [
        "eyJsaW1pdCI6MSwiY29sdW1ucyI6eyJpZCI6M319",  # padding left out is fine
        "eyJsaW1pdCI6MSwi Y29sdW1ucyI6eyJp\nZCI6M319",  # white space is skipped
        "eyJsaW1pdCI6MSwiY29sdW1ucyI6eyJpZCI6M30=",  # {"limit":1,"columns":{"id":3}
    ],
)
def test_e2_base64_is_read_with_php_strict_rules_accepting(text: str):
    # given base64 PHP's strict decoder accepts
    # when it is decoded, then the base64 step passes (a later step may still fail)
    try:
        Cursor.decode(text)
    except CodingError as exc:
        assert exc.hint != NOT_BASE64


@pytest.mark.parametrize(
    "text",
    [
        "eyJsaW1pdCI6MX0-",  # URL-safe alphabet
        "eyJsaW1pdCI6MX0_",
        "YQ==YQ==",  # data after padding
        "YQ===",  # more than two "="
        "YWJjZ",  # a last group of one character
        "YWI=a",
        "YQ=",  # padding that does not complete a group of four
    ],
)
def test_e2_base64_is_read_with_php_strict_rules_refusing(text: str):
    # given text PHP's strict base64 decoder refuses
    # when it is decoded, then the base64 step fails
    with pytest.raises(CodingError) as caught:
        Cursor.decode(text)
    assert caught.value.hint == NOT_BASE64


@pytest.mark.parametrize(
    ("payload", "hint"),
    [
        ("[]", EMPTY),
        ('["limit"]', NO_LIMIT),
        ('{"columns":{"id":3}}', NO_LIMIT),
        ('{"limit":2,"columns":"id"}', NO_COLUMNS),
        ('{"limit":2,"columns":5}', NO_COLUMNS),
        ('"cursor"', NOT_JSON),
        ("7", NOT_JSON),
        # what PHP's json_decode refuses is not JSON, whatever the later steps would say
        ('{"limit":1,"columns":NaN}', NOT_JSON),
        ("[Infinity]", NOT_JSON),
        ('{"limit":1,"columns":{"\\ud800":1}}', NOT_JSON),
        pytest.param("[" * 512 + "]" * 512, NOT_JSON, id="512-nested"),
        pytest.param("[" * 511 + "{}" + "]" * 511, NOT_JSON, id="511-nested-and-object"),
        pytest.param("[" * 100000 + "]" * 100000, NOT_JSON, id="100000-nested"),
        # a surrogate pair and 511 levels are fine
        ('{"limit":1,"\\ud83d\\ude00":1}', NO_COLUMNS),
        pytest.param("[" * 511 + "]" * 511, NO_LIMIT, id="511-nested"),
    ],
)
def test_e2_json_steps_in_order(payload: str, hint: str):
    # given base64 of JSON failing one of the later steps
    with pytest.raises(CodingError) as caught:
        Cursor.decode(b64(payload))
    # then the first failing step names it
    assert caught.value.hint == hint


def test_e2_columns_null_starts_at_the_first_row_with_the_cursors_limit():
    # given a cursor whose columns are null (Totara skips the order check for it)
    text = b64('{"limit":2,"columns":null}')
    # when a request is built from it
    request = page_request({"cursor": text}, ["lastname"], descending=False)
    # then it starts at the first row, two to a page
    assert request.after is None
    assert request.limit == 2


def test_e2_columns_as_a_list_never_match_the_order():
    # given a cursor whose columns are a JSON list: valid, but naming no column
    text = b64('{"limit":2,"columns":[3]}')
    # when a request sorted by id uses it, then the order check fails
    with pytest.raises(CodingError) as caught:
        page_request({"cursor": text}, ["id"], descending=False)
    assert caught.value.hint == WRONG_ORDER


@pytest.mark.parametrize("text", [None, "", "0"])
def test_e2_php_empty_cursor_means_the_first_page(text: str | None):
    # given a cursor Totara's resolver treats as absent
    # then no cursor is read
    assert decode_cursor({"cursor": text}) is None


def test_e2_users_walk_with_cursors_still_works(list_users):
    # given the users list, two to a page
    seen: list[str] = []
    body = list_users(pagination={"limit": 2})
    while True:
        page = body["data"]["core_user_users"]
        seen += [u["username"] for u in page["items"]]
        if not page["next_cursor"]:
            break
        body = list_users(pagination={"cursor": page["next_cursor"]})
    # then every user comes once
    assert len(seen) == len(set(seen)) == 6
