"""The per-worker document cache is bounded by an estimate of its bytes, evicting the least
recently used documents first."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from extapi.config import ConfigError, load_config
from extapi.graphql.documents import DocumentCache
from extapi.graphql.schema import build_schema

SCHEMA = build_schema()
MIB = 1024 * 1024


def status_query(n: int, padding: int = 0) -> str:
    """A distinct valid document, ``padding`` characters longer through a comment."""
    return f"# {n} {'x' * padding}\n{{ totara_webapi_status {{ status }} }}"


def dense_query(n: int) -> str:
    """A distinct document of about 1,000 tokens in 10 KB: its tree is far bigger than its text."""
    fields = " ".join("__typename" for _ in range(950))
    return f"# {n}\n{{ totara_webapi_status {{ status }} {fields} }}"


def test_a_hit_returns_the_cached_verdict() -> None:
    cache = DocumentCache(SCHEMA, max_bytes=MIB)
    first = cache.get(status_query(1), False, 15)
    assert cache.get(status_query(1), False, 15) is first
    assert first.document is not None


def test_many_large_documents_keep_the_cache_under_its_cap() -> None:
    # given a cache of 4 MiB
    cache = DocumentCache(SCHEMA, max_bytes=4 * MIB)
    # when 40 distinct documents of 300 KB each arrive (12 MB in all)
    for n in range(40):
        checked = cache.get(status_query(n, 300_000), False, 15)
        assert checked.document is not None  # each still runs
    # then the cache holds at most its cap, and the most recent ones
    assert 0 < cache.bytes <= 4 * MIB
    assert len(cache) < 40
    assert status_query(39, 300_000) in cache.queries()
    assert status_query(0, 300_000) not in cache.queries()


def test_token_dense_documents_are_counted_by_their_tree() -> None:
    # given a cache of 8 MiB and documents whose parsed tree dwarfs their 10 KB of text
    cache = DocumentCache(SCHEMA, max_bytes=8 * MIB)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        # when 25 of them arrive (about 15 MiB of trees)
        for n in range(25):
            cache.get(dense_query(n), False, 15)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # then some were kept, the estimate stays under the cap and the memory held near it
    assert 1 < len(cache) < 25
    assert cache.bytes <= 8 * MIB
    assert held < 12 * MIB, f"{held / MIB:.1f} MiB held for an 8 MiB cache"


def test_eviction_takes_the_least_recently_used_first() -> None:
    # given a cache that holds nine of these documents
    probe = DocumentCache(SCHEMA)
    probe.get(status_query(1, 10_000), False, 15)
    cache = DocumentCache(SCHEMA, max_bytes=int(9.5 * probe.bytes))
    for n in range(1, 10):
        cache.get(status_query(n, 10_000), False, 15)
    # when the first is used again and a tenth arrives
    cache.get(status_query(1, 10_000), False, 15)
    cache.get(status_query(10, 10_000), False, 15)
    # then the second (least recently used) is gone, the others stay in use order
    order = [*range(3, 10), 1, 10]
    assert cache.queries() == [status_query(n, 10_000) for n in order]


def test_a_document_bigger_than_its_share_runs_without_being_cached() -> None:
    # given a cache of 1 MiB: no document over an eighth of it is kept
    cache = DocumentCache(SCHEMA, max_bytes=MIB)
    cache.get(status_query(1), False, 15)
    # when a 200 KB document arrives
    big = status_query(2, 200_000)
    checked = cache.get(big, False, 15)
    # then it is checked and can run, but the small one is not evicted for it
    assert checked.document is not None
    assert cache.queries() == [status_query(1)]


def test_the_cap_comes_from_the_environment() -> None:
    assert load_config({}).document_cache_bytes == 32 * MIB
    assert load_config({"EXTAPI_DOCUMENT_CACHE_BYTES": "1048576"}).document_cache_bytes == MIB
    with pytest.raises(ConfigError):
        load_config({"EXTAPI_DOCUMENT_CACHE_BYTES": "lots"})
