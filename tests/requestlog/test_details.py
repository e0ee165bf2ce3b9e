"""What the log keeps of a request's variables and errors: secrets masked, sizes capped."""

from __future__ import annotations

import orjson

from extapi.requestlog.details import (
    DETAIL_MAX,
    ERRORS_MAX,
    MASK,
    TRUNCATED,
    errors_of,
    errors_text,
    masked,
    variables_text,
)


def test_values_under_secret_looking_keys_are_masked_at_any_depth():
    # given variables holding secrets under several spellings, nested in objects and lists
    variables = {
        "username": "alice",
        "Password": "hunter2",
        "input": {
            "clientSecret": "s3",
            "api_key": "k",
            "profile": [{"refresh-token": "t", "city": "Wellington"}],
            "AUTHORIZATION": "Bearer x",
            "credentials": {"user": "u", "pass": "p"},
        },
        "author": "Ann",
    }
    # when they are masked
    shown = masked(variables)
    # then every secret is replaced, a whole object included, and the rest is kept
    assert shown["username"] == "alice"
    assert shown["Password"] == MASK
    assert shown["input"]["clientSecret"] == MASK
    assert shown["input"]["api_key"] == MASK
    assert shown["input"]["profile"] == [{"refresh-token": MASK, "city": "Wellington"}]
    assert shown["input"]["AUTHORIZATION"] == MASK
    assert shown["input"]["credentials"] == MASK
    assert shown["author"] == "Ann"
    # and the original is left as it was
    assert variables["Password"] == "hunter2"


def test_variables_are_json_for_one_operation_and_a_list_for_a_batch():
    assert orjson.loads(variables_text([{"id": 1, "token": "x"}]) or "") == {
        "id": 1,
        "token": MASK,
    }
    assert orjson.loads(variables_text([{"a": 1}, None]) or "") == [{"a": 1}, None]
    assert variables_text([None]) is None
    assert variables_text([{}, None]) is None


def test_long_variables_are_cut_with_a_mark():
    # given variables far over the cap
    text = variables_text([{"note": "x" * 10_000}]) or ""
    # then the text is cut to the cap and says so
    assert len(text) == DETAIL_MAX
    assert text.endswith(TRUNCATED)


def test_errors_keep_messages_and_debug_messages_capped():
    # given a response with a debug message in each place Totara puts one, and many errors
    payload = {
        "errors": [
            {"message": "Internal server error", "debugMessage": "Table missing"},
            {"message": "Bad", "extensions": {"debugMessage": "Deep reason"}},
            *({"message": f"e{i}"} for i in range(30)),
        ]
    }
    # when the errors are kept
    kept = orjson.loads(errors_text(errors_of(payload)) or "")
    # then each has its message and debug message, and the rest are counted
    assert kept[0] == {"message": "Internal server error", "debugMessage": "Table missing"}
    assert kept[1] == {"message": "Bad", "debugMessage": "Deep reason"}
    assert len(kept) == ERRORS_MAX + 1
    assert kept[-1]["message"] == "… and 12 more errors"


def test_errors_of_a_batch_and_of_a_bare_refusal():
    assert [e["message"] for e in errors_of([{"errors": [{"message": "a"}]}, {"data": {}}])] == [
        "a"
    ]
    assert errors_of(b"Not Found") == [{"message": "Not Found"}]
    assert errors_text(errors_of({"data": {}})) is None
