"""Logs as JSON lines (or text): one line per request with its id, and every other record with
the id of the request it belongs to."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Callable, Iterator

import pytest

from extapi.ops.logs import (
    JsonFormatter,
    TextFormatter,
    _fields_of,
    flush_request_lines,
    logging_config,
)
from extapi.ops.request_id import REQUEST_ID
from tests.factories import TOKEN_PATH, fetch_token, graphql, make_api_client

STATUS = {"query": "query Ping { totara_webapi_status { status } }"}


@pytest.fixture
def configure_logs() -> Iterator[Callable[[str], io.StringIO]]:
    """Apply `extapi serve`'s logging configuration, writing to a buffer; restore after."""
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "extapi", "extapi.access"]
    loggers = [logging.getLogger(name) if name else logging.getLogger() for name in names]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate, lg.disabled) for lg in loggers]

    def apply(log_format: str) -> io.StringIO:
        stream = io.StringIO()
        logging.config.dictConfig(logging_config(log_format, stream=stream))
        return stream

    yield apply
    for logger, handlers, level, propagate, disabled in saved:
        logger.handlers[:] = handlers
        logger.propagate, logger.disabled = propagate, disabled
        logger.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict]:
    """The server's lines (the test client's own httpx lines left out)."""
    flush_request_lines()  # the server writes them once its loop has served the request
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line["logger"] != "httpx"]


def _text_lines(stream: io.StringIO) -> list[str]:
    flush_request_lines()
    lines = stream.getvalue().splitlines()
    return [line for line in lines if " httpx: " not in line and '"logger":"httpx"' not in line]


def _access(stream: io.StringIO) -> list[dict]:
    return [line for line in _lines(stream) if line["logger"] == "extapi.access"]


def test_each_api_request_is_one_json_line(runtime, http, configure_logs):
    # given JSON logs and a client with a token
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    stream = configure_logs("json")
    # when it runs a named query
    response = graphql(http, token, STATUS, headers={"X-Request-Id": "req-1"})
    # then exactly one line describes it, under the id the response names
    (line,) = _access(stream)
    assert response.headers["x-request-id"] == "req-1"
    assert line["request_id"] == "req-1"
    assert line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"]) == ("POST", "/api/graphql.php", 200)
    assert line["client_id"] == client.client_id
    assert line["operations"] == "Ping"
    assert line["outcome"] == "success"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]


def test_token_grants_and_failures_are_logged_with_their_outcome(runtime, http, configure_logs):
    client = make_api_client(runtime)
    stream = configure_logs("json")
    fetch_token(http, client)
    http.post(TOKEN_PATH, data={"grant_type": "client_credentials", "client_id": "forged"})
    granted, refused = _access(stream)
    assert granted["client_id"] == client.client_id
    assert granted["outcome"] == "success"
    assert (refused["status"], refused["outcome"], refused["error"]) == (
        401,
        "error",
        "invalid_client",
    )
    assert "client_id" not in refused  # a claimed id is not a known client


def test_unauthenticated_and_rate_limited_requests_are_logged(http, configure_logs):
    stream = configure_logs("json")
    graphql(http, "not-a-token", STATUS)
    (line,) = _access(stream)
    assert line["outcome"] == "error"
    assert "client_id" not in line


def test_pages_and_health_are_logged_too(http, configure_logs):
    stream = configure_logs("json")
    http.get("/healthz")
    http.get("/no/such/page")
    health, missing = _access(stream)
    assert (health["path"], health["status"], health["outcome"]) == ("/healthz", 200, "success")
    assert (missing["status"], missing["outcome"]) == (404, "error")


def test_a_hostile_path_stays_on_one_line(http, configure_logs):
    for log_format in ("json", "text"):
        stream = configure_logs(log_format)
        # when the path holds a line break and quotes
        http.get('/x%0A{"level":"ERROR"}%0D%22')
        # then the log still has one line, and JSON keeps the path as data
        lines = _text_lines(stream)
        assert len(lines) == 1, lines
        if log_format == "json":
            assert json.loads(lines[0])["path"] == '/x\n{"level":"ERROR"}\r"'


def test_records_during_a_request_carry_its_id():
    # given a record logged while a request is handled
    token = REQUEST_ID.set("abc")
    try:
        record = logging.LogRecord(
            "extapi.web", logging.ERROR, __file__, 1, "failed %s", ("x",), None
        )
        json_line = JsonFormatter().format(record)
        text_line = TextFormatter().format(record)
    finally:
        REQUEST_ID.reset(token)
    # then both formats name the request
    assert json.loads(json_line)["request_id"] == "abc"
    assert json.loads(json_line)["message"] == "failed x"
    assert "request_id=abc" in text_line


def test_an_exception_is_one_json_line_with_its_trace():
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        record = logging.LogRecord(
            "extapi",
            logging.ERROR,
            __file__,
            1,
            "it broke",
            (),
            exc_info=__import__("sys").exc_info(),
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "ERROR"
    assert "ValueError: bad" in parsed["exception"]
    assert "request_id" not in parsed


def test_text_lines_name_the_request(http, configure_logs):
    stream = configure_logs("text")
    http.get("/healthz", headers={"X-Request-Id": "txt-1"})
    (line,) = _text_lines(stream)
    assert "request_id=txt-1" in line
    assert "GET /healthz 200" in line


def test_uvicorn_access_lines_are_off_and_its_own_lines_are_json(configure_logs):
    stream = configure_logs("json")
    logging.getLogger("uvicorn.access").info("GET / 200")
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 1)
    (line,) = _lines(stream)
    assert line["logger"] == "uvicorn.error"
    assert line["message"] == "Started server process [1]"


def test_nothing_is_written_when_logging_is_not_set_up(http, capfd):
    # given no logging configuration (as in an embedding application or these tests)
    # when a request is served
    http.get("/healthz")
    # then no access line is produced
    assert "extapi.access" not in capfd.readouterr().err


def test_an_embedding_applications_own_handler_gets_records(http):
    # given an application that sends extapi's request lines to a handler of its own
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("extapi.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        # when a request is served
        http.get("/healthz", headers={"X-Request-Id": "own-1"})
        flush_request_lines()
    finally:
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)
    # then the handler got an ordinary record carrying the request's fields
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert (line["request_id"], line["path"], line["status"]) == ("own-1", "/healthz", 200)
    assert line["message"] == "GET /healthz 200"


@pytest.mark.parametrize(
    "entry",
    [
        (
            1_765_000_000.25,
            "a" * 32,
            "POST",
            "/api/graphql.php",
            0.000123,
            200,
            "success",
            "client-1",
            "(anonymous)",
            None,
        ),
        (
            1_765_000_000.999,
            "b" * 32,
            "GET",
            "/x" * 900,
            0.5,
            404,
            "error",
            None,
            None,
            "invalid_client",
        ),
    ],
)
def test_a_queued_request_line_is_the_line_its_fields_make(entry):
    # given a request queued for the access log, with and without the optional fields
    formatter = JsonFormatter()
    # when its line is written the quick way
    line = formatter.entry_line(entry)
    # then it is exactly the line the general formatting gives
    assert line == formatter.request_line(entry[0], _fields_of(entry))
    assert json.loads(line)["message"].startswith(entry[2] + " /")
