"""Searching the documentation by name and description."""

from __future__ import annotations

from extapi.apidocs import build_index, build_reference, search
from extapi.apidocs.guide import guide_entries
from extapi.apidocs.search import MAX_QUERY_CHARS
from extapi.graphql.schema import build_schema

INDEX = build_index(build_reference(build_schema()))


def test_an_exact_name_comes_first():
    results = search(INDEX, "core_user")
    assert results.entries[0].name == "core_user"
    assert results.entries[0].anchor == "type-core_user"
    assert results.entries[0].label == "Object type"


def test_a_field_name_finds_the_field_and_links_to_its_type():
    results = search(INDEX, "since_timemodified")
    names = [e.name for e in results.entries]
    assert "core_user_users_filters.since_timemodified" in names
    entry = next(e for e in results.entries if e.name.startswith("core_user_users_filters."))
    assert entry.anchor == "type-core_user_users_filters"
    assert entry.label == "Field of core_user_users_filters"


def test_every_term_must_match_in_the_name_or_the_description():
    # given a search of two words
    results = search(INDEX, "organisation delete")
    # then only items mentioning both are found
    assert results.total > 0
    for entry in results.entries:
        text = f"{entry.name} {entry.text}".lower()
        assert "organisation" in text and "delete" in text
    assert "hierarchy_organisation_delete_organisation" in [e.name for e in results.entries]


def test_description_words_find_operations():
    results = search(INDEX, "DELTA extracts")  # any case
    assert "core_user_users" in [e.name for e in results.entries]


def test_name_matches_rank_above_description_matches():
    results = search(INDEX, "email")
    ranks = [("email" in e.name.lower()) for e in results.entries]
    assert ranks == sorted(ranks, reverse=True)


def test_hidden_items_cannot_be_found():
    assert search(INDEX, "card_display").total == 0


def test_blank_queries_find_nothing():
    assert search(INDEX, "").total == 0
    assert search(INDEX, "   \t ").entries == ()


def test_long_queries_are_cut_and_results_limited():
    # when a search is far longer than allowed
    results = search(INDEX, "user " * 1000)
    # then it is cut to the limit and still answers
    assert len(results.query) <= MAX_QUERY_CHARS
    assert results.total > 0
    # and the list holds at most the requested number of entries, while the total counts all
    limited = search(INDEX, "user", limit=3)
    assert len(limited.entries) == 3
    assert limited.total > 3


def test_markup_in_a_query_is_only_text():
    results = search(INDEX, "<script>alert(1)</script>")
    assert results.total == 0
    assert results.query == "<script>alert(1)</script>"


GUIDE_HTML = """
<ul data-doc-intro><li>not a section</li></ul>
<section id="limits" data-doc-intro><h2 id="limits-title">Rate &amp; limits</h2>
<p>A spent budget gives <strong>429</strong>.</p></section>
<section id="plain"><h2>Not the guide</h2><p>429 here is not indexed</p></section>
<section id="auth" data-doc-intro><h2>Authentication</h2><p>Use a token.</p></section>
"""


def test_each_guide_section_becomes_one_entry_named_by_its_heading():
    entries = guide_entries(GUIDE_HTML)
    assert [(e.label, e.name, e.anchor) for e in entries] == [
        ("Guide", "Rate & limits", "limits"),
        ("Guide", "Authentication", "auth"),
    ]
    assert entries[0].text == "A spent budget gives 429."


def test_guide_entries_are_found_by_their_text():
    index = guide_entries(GUIDE_HTML) + INDEX
    results = search(index, "429")
    assert [e.anchor for e in results.entries] == ["limits"]
    assert search(index, "authentication").entries[0].href == "#auth"
