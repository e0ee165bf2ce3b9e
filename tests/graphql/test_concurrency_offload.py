"""No request holds the others up: cheap requests run on the event loop, everything else in a
worker thread, and a request held in a thread leaves the others answered meanwhile."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from graphql import parse
from sqlalchemy import select
from starlette.testclient import TestClient

from extapi.app import GRAPHQL_PATH, ExtapiApp
from extapi.auth.metadata import TOKEN_PATH
from extapi.db.tables import site_keys
from extapi.graphql.documents import INLINE_MAX_FIELDS, DocumentCache, runs_inline
from extapi.graphql.endpoint import INLINE_FIELDS, INLINE_MAX_BODY
from extapi.graphql.schema import RESOLVERS, assemble_schema, build_schema, schema_sdl
from extapi.ops.request_id import REQUEST_ID
from extapi.runtime import Runtime
from extapi.settings.site import set_setting
from extapi.threads import THREAD_NAME_PREFIX
from tests.factories import fetch_token, graphql, make_api_client
from tests.support.server import serve_in_thread

STATUS = "{ totara_webapi_status { status } }"
OK = {"data": {"totara_webapi_status": {"status": "ok"}}}
# Long enough for any machine, however busy: the tests never wait this long when they pass.
PATIENCE_S = 60.0

PROBE_SDL = """
extend type Query {
  probe_held: String
}
extend type Mutation {
  probe_write(tag: String!): String
}
"""


class Gate:
    """A resolver's rendezvous with the test: ``entered`` once it runs, then it waits for
    ``release``; ``finished`` once its work is done."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def hold(self) -> None:
        self.entered.set()
        assert self.release.wait(PATIENCE_S), "the test never released the resolver"


def _probe_schema(gate: Gate) -> Any:
    def held(_root: Any, _info: Any) -> str:
        gate.hold()
        gate.finished.set()
        return "released"

    def write(_root: Any, info: Any, tag: str) -> str:
        # Two rows in one transaction, the client gone between them.
        with info.context.transaction() as conn:
            conn.execute(site_keys.insert().values(name=f"{tag}-first", value="1"))
            gate.hold()
            conn.execute(site_keys.insert().values(name=f"{tag}-second", value="2"))
        gate.finished.set()
        return tag

    resolvers = {**RESOLVERS, "Query.probe_held": held, "Mutation.probe_write": write}
    return assemble_schema(schema_sdl() + PROBE_SDL, resolvers)


def _record_threads(handle: Callable[..., Any], seen: list[str]) -> Callable[..., Any]:
    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.current_thread().name)
        return handle(*args, **kwargs)

    return recording


def _in_worker(name: str) -> bool:
    return name.startswith(THREAD_NAME_PREFIX)


# --- where each request runs ----------------------------------------------------------------
@pytest.fixture
def recorded(runtime: Runtime) -> Iterator[tuple[TestClient, list[str], list[str]]]:
    """A test client whose GraphQL and token endpoints note the thread each request ran in."""
    app = ExtapiApp(runtime)
    graphql_threads: list[str] = []
    token_threads: list[str] = []
    endpoint: Any = app.fast[GRAPHQL_PATH]
    endpoint._handle = _record_threads(endpoint._handle, graphql_threads)
    tokens: Any = app.fast[TOKEN_PATH]
    tokens.handle = _record_threads(tokens.handle, token_threads)
    with TestClient(app) as client:
        yield client, graphql_threads, token_threads


def test_the_status_query_runs_on_the_event_loop_once_its_document_and_token_are_cached(
    runtime, recorded
):
    http, threads, _ = recorded
    # given a token, and the status query answered once (its document is new: a worker thread)
    token = fetch_token(http, make_api_client(runtime))
    assert graphql(http, token, {"query": STATUS}).json() == OK
    assert _in_worker(threads[-1])
    # when it is sent again
    answer = graphql(http, token, {"query": STATUS}).json()
    # then it is answered the same, on the event loop's thread
    assert answer == OK
    assert not _in_worker(threads[-1]), threads


def test_a_token_not_seen_yet_is_checked_in_a_worker_thread(runtime, recorded):
    http, threads, _ = recorded
    # given the status document cached through one client
    first = fetch_token(http, make_api_client(runtime))
    graphql(http, first, {"query": STATUS})
    # when another client's token, new to the worker, sends it
    second = fetch_token(http, make_api_client(runtime))
    answer = graphql(http, second, {"query": STATUS}).json()
    # then the lookup of that token runs in a worker thread
    assert answer == OK
    assert _in_worker(threads[-1]), threads


USERS = "{ core_user_users { items { id } } }"
INTROSPECTION = "{ __schema { queryType { name } } }"
MUTATION = 'mutation { core_user_delete_user(target_user: {username: "nobody"}) { user_id } }'
MANY_FIELDS = "{ " + " ".join(f"s{i}: totara_webapi_status {{ status }}" for i in range(9)) + " }"
WITH_FRAGMENT = "{ totara_webapi_status { ...s } } fragment s on totara_webapi_status { status }"
OFFLOADED = {
    "a query that reads the database": {"query": USERS},
    "introspection": {"query": INTROSPECTION},
    "a mutation": {"query": MUTATION},
    "a batch of status queries": [{"query": STATUS}, {"query": STATUS}],
    "a status query selecting many fields": {"query": MANY_FIELDS},
    "a status query with a fragment": {"query": WITH_FRAGMENT},
    "a status query in a large body": {"query": STATUS + " " * INLINE_MAX_BODY},
}


@pytest.mark.parametrize("body", list(OFFLOADED.values()), ids=list(OFFLOADED))
def test_other_requests_run_in_a_worker_thread_even_when_cached(runtime, recorded, body):
    http, threads, _ = recorded
    # given introspection allowed, a cached token and the request already answered once
    with runtime.engine.begin() as conn:
        set_setting(conn, "enable_introspection", "1")
    token = fetch_token(http, make_api_client(runtime))
    graphql(http, token, {"query": STATUS})
    first = graphql(http, token, body)
    # when it is sent again
    again = graphql(http, token, body)
    # then it is answered as before, from a worker thread
    assert again.status_code == first.status_code
    assert _in_worker(threads[-1]), threads


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'"just a string"', orjson.dumps({"query": 42}), b""],
    ids=["malformed", "not an object", "query not a string", "empty"],
)
def test_malformed_bodies_are_answered_from_a_worker_thread(runtime, recorded, content):
    http, threads, _ = recorded
    # given a cached token
    token = fetch_token(http, make_api_client(runtime))
    graphql(http, token, {"query": STATUS})
    # when a body the peek cannot read is sent
    response = http.post(
        GRAPHQL_PATH,
        content=content,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    # then Totara's error comes back, worked out in a worker thread
    assert response.json()["errors"]
    assert _in_worker(threads[-1]), threads


def test_an_oversized_body_is_refused_before_any_thread_is_used(runtime, recorded):
    http, threads, _ = recorded
    # when a body over the size limit arrives
    body = b'{"query": "' + b" " * (runtime.config.max_body_bytes + 1) + b'"}'
    response = http.post(GRAPHQL_PATH, content=body)
    # then it is refused with 413 without being handled at all
    assert response.status_code == 413
    assert threads == []


def test_unauthenticated_status_queries_stay_cheap(runtime, recorded):
    http, threads, _ = recorded
    # given the status document cached
    token = fetch_token(http, make_api_client(runtime))
    graphql(http, token, {"query": STATUS})
    # when it comes without any token, then with a token nobody issued
    missing = graphql(http, None, {"query": STATUS}).json()
    unknown = graphql(http, "not-a-token", {"query": STATUS}).json()
    # then both are refused; without a token there is nothing to look up (the event loop),
    # an unknown token is looked up in a worker thread
    assert missing["errors"] and unknown["errors"]
    assert not _in_worker(threads[-2]) and _in_worker(threads[-1]), threads


def test_the_token_endpoint_runs_in_a_worker_thread(runtime, recorded):
    http, _, token_threads = recorded
    # when a client asks for a token
    fetch_token(http, make_api_client(runtime))
    # then its secret is checked and the token stored in a worker thread
    assert token_threads and all(_in_worker(name) for name in token_threads)


def test_work_in_a_worker_thread_knows_its_request_id(runtime):
    # given a resolver that notes its thread and the id of the request it serves
    seen: list[tuple[str, str | None]] = []

    def probe(_root: Any, _info: Any) -> str:
        seen.append((threading.current_thread().name, REQUEST_ID.get()))
        return "ok"

    sdl = schema_sdl() + "extend type Query { probe_id: String }"
    schema = assemble_schema(sdl, {**RESOLVERS, "Query.probe_id": probe})
    with TestClient(ExtapiApp(runtime, schema)) as http:
        token = fetch_token(http, make_api_client(runtime))
        # when a request with its own id runs it
        answer = graphql(http, token, {"query": "{ probe_id }"}, {"X-Request-Id": "thread-1"})
    # then it ran in a worker thread that saw the request's id (its log records carry it)
    assert answer.json() == {"data": {"probe_id": "ok"}}
    assert _in_worker(seen[0][0]) and seen[0][1] == "thread-1"


# --- the inline rule --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "inline"),
    [
        (STATUS, True),
        ("query status { totara_webapi_status { status timestamp } }", True),
        ("{ __typename }", True),
        ("{ a: totara_webapi_status { status } b: totara_webapi_status { status } }", True),
        ("query a { __typename } query b { totara_webapi_status { status } }", True),
        (USERS, False),
        (INTROSPECTION, False),
        (MUTATION, False),
        (WITH_FRAGMENT, False),
        ("{ totara_webapi_status { status } core_user_users { total } }", False),
        (MANY_FIELDS, False),
    ],
)
def test_which_documents_may_run_on_the_event_loop(query, inline):
    assert runs_inline(parse(query), INLINE_FIELDS) is inline


def test_the_field_count_for_the_event_loop_includes_nested_fields():
    # given a document of exactly the most fields allowed (an alias and its nested field count
    # two), and one with one field more
    pairs = " ".join(
        f"s{i}: totara_webapi_status {{ status }}" for i in range(INLINE_MAX_FIELDS // 2)
    )
    odd = "__typename" if INLINE_MAX_FIELDS % 2 else ""
    fits = f"{{ {pairs} {odd} }}"
    over = f"{{ {pairs} {odd} t: __typename }}"
    # then only the first may run on the event loop
    assert runs_inline(parse(fits), INLINE_FIELDS)
    assert not runs_inline(parse(over), INLINE_FIELDS)


def test_peeking_at_the_cache_changes_nothing():
    # given a cache holding two documents, the first the least recently used
    cache = DocumentCache(build_schema(), inline_fields=INLINE_FIELDS)
    cache.get(STATUS, False, 15)
    cache.get(USERS, False, 15)
    # when the first is peeked at
    peeked = cache.peek(STATUS, False, 15)
    # then the peek saw it (cheap), yet did not make it recent; asking for it does
    assert peeked is not None and peeked.inline
    assert cache.queries() == [STATUS, USERS]
    cache.get(STATUS, False, 15)
    assert cache.queries() == [USERS, STATUS]
    assert cache.peek("{ nonsense", False, 15) is None


def test_documents_are_checked_from_many_threads_at_once():
    # given a small cache shared by several threads asking for more documents than it holds
    cache = DocumentCache(build_schema(), max_bytes=200_000, inline_fields=INLINE_FIELDS)
    queries = [f"query q{i} {{ totara_webapi_status {{ status }} }}" for i in range(40)]
    failures: list[BaseException] = []

    def ask(offset: int) -> None:
        try:
            for n in range(200):
                checked = cache.get(queries[(offset + n) % len(queries)], False, 15)
                assert checked.document is not None and checked.inline
        except BaseException as exc:  # reported below, from the test's own thread
            failures.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every answer was right and the bound held
    assert failures == []
    assert 0 < len(cache) < len(queries)
    assert cache.bytes <= cache.max_bytes
    assert cache.bytes == sum(cache._sizes.values())


# --- a held request leaves the others answered ------------------------------------------------
@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def probe_server(runtime: Runtime, gate: Gate) -> Iterator[str]:
    app = ExtapiApp(runtime, _probe_schema(gate))
    try:
        with serve_in_thread(app) as url:
            yield url
    finally:
        gate.release.set()  # never leave a worker thread waiting


def _token(url: str, runtime: Runtime) -> str:
    client = make_api_client(runtime)
    response = httpx.post(
        url + TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.secret,
        },
        timeout=PATIENCE_S,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _post(url: str, token: str, body: Any) -> httpx.Response:
    return httpx.post(
        url + GRAPHQL_PATH,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=PATIENCE_S,
    )


def test_a_request_held_in_a_resolver_does_not_hold_up_the_others(runtime, probe_server, gate):
    # given a token, and a request whose resolver is held until the test releases it
    token = _token(probe_server, runtime)
    held: list[httpx.Response] = []
    sender = threading.Thread(
        target=lambda: held.append(_post(probe_server, token, {"query": "{ probe_held }"}))
    )
    sender.start()
    assert gate.entered.wait(PATIENCE_S), "the held request never reached its resolver"
    try:
        # when a status query, a query that reads the database and a token request come
        # while it is held
        status = _post(probe_server, token, {"query": STATUS})
        users = _post(probe_server, token, {"query": USERS})
        other_token = _token(probe_server, runtime)
        # then all are answered, and the held request is still waiting
        assert status.json() == OK
        assert users.json()["data"]["core_user_users"]["items"]
        assert other_token
        assert not gate.finished.is_set() and sender.is_alive()
    finally:
        gate.release.set()
        sender.join(PATIENCE_S)
    # and once released, the held request is answered too
    assert held[0].json() == {"data": {"probe_held": "released"}}


def test_a_slow_token_request_does_not_hold_up_the_graphql_endpoint(runtime, probe_server, gate):
    # given a token, and a token request held while its client's secret is checked
    token = _token(probe_server, runtime)
    client = make_api_client(runtime)
    hasher = runtime.hasher
    matches = hasher.matches

    def slow_matches(value: str, stored: str) -> bool:
        gate.hold()
        return matches(value, stored)

    hasher.matches = slow_matches  # type: ignore[method-assign]
    form = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.secret,
    }
    answers: list[httpx.Response] = []
    sender = threading.Thread(
        target=lambda: answers.append(
            httpx.post(probe_server + TOKEN_PATH, data=form, timeout=PATIENCE_S)
        )
    )
    sender.start()
    try:
        assert gate.entered.wait(PATIENCE_S), "the token request never checked the secret"
        # when a status query comes meanwhile
        status = _post(probe_server, token, {"query": STATUS})
        # then it is answered while the token request is still held
        assert status.json() == OK
        assert sender.is_alive()
    finally:
        gate.release.set()
        sender.join(PATIENCE_S)
        hasher.matches = matches  # type: ignore[method-assign]
    assert answers[0].status_code == 200, answers[0].text


def _send_and_hang_up(url: str, token: str, body: bytes) -> socket.socket:
    """Open a connection and send a whole POST on it, without reading the answer."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=PATIENCE_S)
    head = (
        f"POST {GRAPHQL_PATH} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def _stored(runtime: Runtime, tag: str) -> list[str]:
    with runtime.engine.connect() as conn:
        names = conn.execute(select(site_keys.c.name).where(site_keys.c.name.like(f"{tag}-%")))
        return sorted(names.scalars())


def test_a_mutation_whose_client_hangs_up_is_applied_whole(runtime, probe_server, gate):
    # given a mutation that writes two rows, held between them
    token = _token(probe_server, runtime)
    body = orjson.dumps({"query": 'mutation { probe_write(tag: "hangup") }'})
    sock = _send_and_hang_up(probe_server, token, body)
    assert gate.entered.wait(PATIENCE_S), "the mutation never started"
    # when its client goes away before the answer, and the resolver then goes on
    sock.close()
    assert _stored(runtime, "hangup") == []  # nothing is visible before the commit
    gate.release.set()
    assert gate.finished.wait(PATIENCE_S), "the mutation never finished"
    # then both rows are stored (the answer was dropped), and the server still answers
    assert _stored(runtime, "hangup") == ["hangup-first", "hangup-second"]
    assert _post(probe_server, token, {"query": STATUS}).json() == OK
