"""Checking a document and serving a request leave no reference cycles: what they made is
freed as soon as it is dropped, never left for a full garbage collection (which stops every
thread, the event loop included, while it scans)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from graphql import parse, specified_rules, validate

from extapi.auth.tokens import ApiCaller
from extapi.graphql.context import RequestContext
from extapi.graphql.documents import DocumentCache
from extapi.graphql.loaders import BatchLoader
from extapi.graphql.schema import build_schema
from extapi.graphql.validation import validate_document
from extapi.settings.site import SiteSettings

WITH_VARIABLES = (
    "query q($f: core_date_format) { "
    + " ".join(f"a{i}: totara_webapi_status {{ ...f timestamp(format: $f) }}" for i in range(30))
    + " } fragment f on totara_webapi_status { status }"
)


@contextmanager
def collector_off() -> Iterator[Callable[[], int]]:
    """Turn automatic collection off; yield a function that counts what a collection finds."""
    gc.collect()
    gc.disable()
    try:
        yield gc.collect
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "query",
    [
        "{ totara_webapi_status { status } }",
        WITH_VARIABLES,
        "{ nope totara_webapi_status { nope } }",
        "{ " + "x " * 4000 + "}",
    ],
    ids=["valid", "variables and fragments", "invalid", "large"],
)
def test_checking_a_document_leaves_nothing_for_the_garbage_collector(query):
    cache = DocumentCache(build_schema())
    with collector_off() as collect:
        # when a document is checked, and its verdict dropped
        checked = cache._check(query, False, 15)
        del checked
        # then a collection finds nothing left over
        assert collect() == 0


def test_a_request_context_is_freed_as_soon_as_it_is_dropped(engine):
    caller = ApiCaller(1, "client", None, 2, None, "99", None, 100)
    with collector_off():
        # given a request context whose grants were loaded
        context = RequestContext(engine, SiteSettings(), caller)
        assert context.principal.grants == {}
        context.close()
        gone = weakref.ref(context)
        # when it is dropped, then it is gone at once
        del context
        assert gone() is None


class Rows(list[int]):
    """A page of rows (a list that can be referred to weakly)."""


def _rows_cached_by_a_loader(engine, closed: bool) -> weakref.ref[Rows]:
    """A request's context with a batch loader whose fetch function needs the context (as
    every resolver's loader does), dropped at the end of the request, closed or not; returns
    a reference to the rows the loader cached."""
    caller = ApiCaller(1, "client", None, 2, None, "99", None, 100)
    context = RequestContext(engine, SiteSettings(), caller)
    rows = Rows(range(1000))

    def fetch(ids: list[int]) -> dict[int, Rows]:
        assert context.caller is caller
        return dict.fromkeys(ids, rows)

    context.loaders["rows"] = loader = BatchLoader(fetch, Rows())
    loader.load(1)
    if closed:
        context.close()
    return weakref.ref(rows)


def test_closing_a_request_context_frees_what_its_loaders_cached_at_once(engine):
    with collector_off() as collect:
        # given a request whose loader cached rows, when its context is closed and dropped
        # (as the endpoint does), then the rows are freed at once.
        assert _rows_cached_by_a_loader(engine, closed=True)() is None
        # The control: without closing, the context and its loader's fetch function refer to
        # each other, so the rows wait for a collection.
        kept = _rows_cached_by_a_loader(engine, closed=False)
        assert kept() is not None
        collect()
        assert kept() is None


@pytest.mark.parametrize(
    "query",
    [
        "{ totara_webapi_status { status } }",
        WITH_VARIABLES,
        "query ($x: Int) { totara_webapi_status { status(x: $y) } nope }",
        "{ " + " ".join(f"f{i}: nope{i}" for i in range(150)) + " }",
    ],
    ids=["valid", "variables and fragments", "several errors", "over 100 errors"],
)
def test_validation_finds_what_graphql_core_finds(query):
    schema = build_schema()
    document = parse(query)
    ours = validate_document(schema, document, specified_rules)
    theirs = validate(schema, document, specified_rules)
    assert [e.formatted for e in ours] == [e.formatted for e in theirs]
