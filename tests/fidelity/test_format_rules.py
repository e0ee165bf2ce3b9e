"""Totara's string and text formatters, output for output.

The expected values are what Totara 17.3's formatters return on a default site (no string
filters, ``filterall`` off), worked out from its weblib, html2text and HTMLPurifier code.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import insert, update

from extapi.access import roles
from extapi.db.tables import hierarchy_frameworks, hierarchy_items, job_assignments
from extapi.errors import CodingError
from extapi.graphql.formats import PLAIN_CODE, format_cleaned, format_string_field, format_text
from extapi.graphql.html_text import html_to_text
from extapi.runtime import Runtime
from tests.factories import fetch_token, graphql, make_api_client, make_user

SCRIPTED = "<p>Hello <b>World</b></p><script>alert(1)</script>"
LIST = "<ul><li>one</li><li>two</li></ul>"
QUOTE = "<blockquote><p>quoted</p><blockquote>inner</blockquote>after</blockquote>tail"
MULTILANG = (
    '<span lang="en" class="multilang">Hi</span><span lang="fr" class="multilang">Salut</span>'
)

PREFIX = "Coding error detected, it must be fixed by a programmer: "

# (stored value, string formatter HTML, string formatter PLAIN)
STRING_CASES = [
    ("<b>Lead</b> & Co", "Lead &#38; Co", "Lead & Co"),
    ("Lead &amp; Co", "Lead &#38; Co", "Lead & Co"),
    ("a &amp; b &lt; c", "a &#38; b &#60; c", "a & b < c"),
    ("O'Brien \"q\"", "O&#39;Brien &#34;q&#34;", "O'Brien \"q\""),
    ("Tom & Jerry's", "Tom &#38; Jerry&#39;s", "Tom & Jerry's"),
    (MULTILANG, "HiSalut", "HiSalut"),
    ("line1\nline2", "line1\nline2", "line1 line2"),
    ("a\tb\r\nc", "a\tb\r\nc", "a b c"),
    ("  padded  ", "  padded  ", "padded"),
    ("a  b   c", "a  b   c", "a b c"),
    ("Zoë — 東京", "Zoë — 東京", "Zoë — 東京"),
    ("", "", ""),
    ("1<2 and 3 > 2", "1 2", "1 2"),
    ("a < b", "a &#60; b", "a < b"),
    ("{x}", "&#123;x&#125;", "{x}"),
    ("&nbsp;x&bogus;", "&nbsp;x&bogus;", "\u00a0x"),
    ("&#39;quoted&#39;", "&#39;quoted&#39;", "'quoted'"),
    (SCRIPTED, "Hello Worldalert(1)", "Hello Worldalert(1)"),
    ('<a href="http://x.com">link</a>', "link", "link"),
    ("<!-- note -->x", "x", "x"),
]  # fmt: skip

# (stored value, text formatter HTML, text formatter PLAIN) for text stored as HTML
TEXT_CASES = [
    ("<b>Lead</b> & Co", "<b>Lead</b> &amp; Co", "LEAD & Co"),
    ("Lead &amp; Co", "Lead &amp; Co", "Lead & Co"),
    ("O'Brien \"q\"", "O'Brien \"q\"", "O'Brien \"q\""),
    (MULTILANG, MULTILANG, "HiSalut"),
    ("line1\nline2", "line1\nline2", "line1 line2"),
    ("  padded  ", "  padded  ", "padded"),
    ("Zoë — 東京", "Zoë — 東京", "Zoë — 東京"),
    ("", "", ""),
    ("1<2 and 3 > 2", "1&lt;2 and 3 &gt; 2", "1<2 and 3 > 2"),
    ("&nbsp;x&bogus;", "\u00a0x&amp;bogus;", "\u00a0x&bogus;"),
    (SCRIPTED, "<p>Hello <b>World</b></p>", "Hello WORLD\n"),
    ('<a href="http://x.com">link</a>', '<a href="http://x.com">link</a>', "link [http://x.com]"),
    ('<a href="javascript:alert(1)">bad</a>', "<a>bad</a>", "bad"),
    ("<p>One</p><p>Two</p>", "<p>One</p><p>Two</p>", "One\n\nTwo\n"),
    (LIST, LIST, "\t* one\n\t* two\n\n"),
    ('<span style="color: red; position: absolute">R</span>',
     '<span style="color:#FF0000;">R</span>', "R"),
    ('<a href="http://x.com" target="_blank">l</a>',
     '<a href="http://x.com" target="_blank" rel="noreferrer noopener">l</a>', "l [http://x.com]"),
    ('<img src="http://h/pic.png">', '<img src="http://h/pic.png" alt="pic.png" />', "[pic.png]"),
    ("<p>x &copy y &hellip; &#128;</p>", "<p>x &amp;copy y … \x80</p>", "x &copy y … \x80\n"),
    ("<i>a\x01b</i>", "<i>ab</i>", "_ab_"),
    ("<h3>Head<p>para</p>", "<h3>Head</h3><p>para</p>", "HEAD\n\npara\n"),
    ("<li>orphan</li>", "orphan", "orphan"),
    ('<a name="n">anchor</a>', "<a>anchor</a>", "anchor"),
    ('<img src="data:image/png;base64,xx">after', "after", "after"),
    ("<object>o</object>x", "ox", "ox"),
    ("<b>caf&eacute;&nbsp;bar</b>", "<b>café\u00a0bar</b>", "CAFÉ\u00a0BAR"),
    (QUOTE, QUOTE, ">\u00a0quoted\n>\u00a0\n>>\u00a0\u00a0inner\n>\u00a0after\ntail"),
    ("<pre>a  b\n\tc</pre>", "<pre>a  b\n\tc</pre>", "a\u00a0\u00a0b\n" + "\u00a0" * 4 + "c\n"),
    ("<h2>Title</h2>text", "<h2>Title</h2>text", "TITLE\n\ntext"),
    ("<em>it</em> and <i>x</i>", "<em>it</em> and <i>x</i>", "_it_ and _x_"),
    ("<p>a<br />b</p>", "<p>a<br />b</p>", "a\nb\n"),
    ("<b>unclosed", "<b>unclosed</b>", "UNCLOSED"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "html", "plain"), STRING_CASES)
def test_string_formatter_matches_totara(value: str, html: str, plain: str) -> None:
    # given a stored name, when it is rendered in each format, then Totara's text comes out
    assert format_string_field(value, "RAW") == value
    assert format_string_field(value, "HTML") == html
    assert format_string_field(value, "PLAIN") == plain


@pytest.mark.parametrize(("value", "html", "plain"), TEXT_CASES)
def test_text_formatter_matches_totara(value: str, html: str, plain: str) -> None:
    # given a stored HTML description, when it is rendered, then Totara's text comes out
    assert format_text(value, "RAW") == value
    assert format_text(value, "HTML") == html
    assert format_text(value, "PLAIN") == plain
    assert format_text(value, "MOBILE") == plain


def test_text_formatter_renders_stored_plain_text_as_escaped_html() -> None:
    # given text stored as plain text: HTML escapes quotes too and keeps breaks and spaces
    value = "O'Brien <b>\n  two"
    assert format_text(value, "HTML", PLAIN_CODE) == "O&#039;Brien &lt;b&gt;<br />\n&nbsp; two"
    # and PLAIN then loses the apostrophe, as Totara does (&#039; is not decoded, then dropped)
    assert format_text(value, "PLAIN", PLAIN_CODE) == "OBrien <b>\n\u00a0 two"


def test_bold_text_loses_its_entities_in_plain_text() -> None:
    # Totara upper-cases bold text with its entities, which then no longer decode
    assert html_to_text("<b>a&nbsp;b &amp; c</b>") == "AB & C"


def test_cleaned_user_names_keep_tags_as_text() -> None:
    # the rendering Totara's user type gives a full name: no tag stripping, no refused format
    assert format_cleaned("Bold O'Brien & Co", "HTML") == "Bold O&#39;Brien &#38; Co"
    assert format_cleaned("Bold O'Brien & Co", "PLAIN") == "Bold O'Brien & Co"
    assert format_cleaned("<b>x</b>  y", "PLAIN") == "<b>x</b> y"
    assert format_cleaned("<b>x</b>", "MARKDOWN") == "&#60;b&#62;x&#60;/b&#62;"


def test_null_stays_null_in_every_supported_format() -> None:
    for fmt in ("RAW", "HTML", "PLAIN"):
        assert format_string_field(None, fmt) is None
    for fmt in ("RAW", "HTML", "PLAIN", "MOBILE"):
        assert format_text(None, fmt) is None


@pytest.mark.parametrize("fmt", ["MARKDOWN", "JSON_EDITOR", "MOBILE"])
def test_string_formatter_refuses_other_formats_with_a_coding_error(fmt: str) -> None:
    # when a name is asked for in a format the string formatter has no rendering for
    with pytest.raises(CodingError) as refused:
        format_string_field("Lead", fmt)
    # then Totara's coding error names it (checked before the value, so null too)
    expected = f"{fmt} format is currently not supported by the string formatter."
    assert (
        refused.value.message
        == "Coding error detected, it must be fixed by a programmer: " + expected
    )
    with pytest.raises(CodingError):
        format_string_field(None, fmt)


@pytest.mark.parametrize("fmt", ["MARKDOWN", "JSON_EDITOR"])
def test_text_formatter_refuses_markdown_and_json_editor(fmt: str) -> None:
    with pytest.raises(CodingError) as refused:
        format_text("<p>x</p>", fmt)
    assert refused.value.hint == f"{fmt} format is currently not supported by the text formatter."


def test_mobile_returns_a_json_editor_document_as_it_is() -> None:
    document = '{"type":"doc","content":[]}'
    assert format_text(document, "MOBILE") == document


# --- end to end ---------------------------------------------------------------------------------
CREATE_JOB = """
mutation ($input: totara_job_create_job_assignment_input!) {
  totara_job_create_job_assignment(input: $input) { job_assignment { id } }
}
"""
JOB_TEXTS = """
{ totara_job_job_assignments { items {
    fullname html: fullname(format: HTML) raw: fullname(format: RAW)
    shortname short_html: shortname(format: HTML)
    description plain_description: description(format: PLAIN)
} } }
"""
JOB_IN = """
{ totara_job_job_assignments { items { fullname(format: FORMAT) } } }
"""


def _client(runtime: Runtime, http: Any) -> Any:
    token = fetch_token(http, make_api_client(runtime))
    return lambda document, **variables: graphql(
        http, token, {"query": document, "variables": variables}
    ).json()


def test_job_assignment_names_use_the_string_formatter(runtime: Runtime, http: Any) -> None:
    # given a job assignment whose names and description carry markup
    call = _client(runtime, http)
    names = {"fullname": "<b>Lead</b> & Co", "shortname": "O'Brien"}
    body = call(CREATE_JOB, input={"user": {"id": make_user(runtime)}, "idnumber": "F1", **names})
    assert "errors" not in body, body
    with runtime.engine.begin() as conn:
        conn.execute(update(job_assignments).values(description="<b>Hi</b> & bye"))
    # when it is read in several formats
    items = call(JOB_TEXTS)["data"]["totara_job_job_assignments"]["items"]
    # then the names render as Totara's string formatter renders them, the description as
    # its text formatter does
    assert items == [
        {
            "fullname": "Lead & Co",
            "html": "Lead &#38; Co",
            "raw": "<b>Lead</b> & Co",
            "shortname": "O'Brien",
            "short_html": "O&#39;Brien",
            "description": "<b>Hi</b> &amp; bye",
            "plain_description": "HI & bye",
        }
    ]


@pytest.mark.parametrize("fmt", ["MARKDOWN", "JSON_EDITOR", "MOBILE"])
def test_job_assignment_name_in_other_formats_is_an_internal_coding_error(
    runtime: Runtime, http: Any, fmt: str
) -> None:
    # given a job assignment
    call = _client(runtime, http)
    call(CREATE_JOB, input={"user": {"id": make_user(runtime)}, "idnumber": "F2"})
    # when its fullname is asked for in a format the string formatter refuses
    body = call(JOB_IN.replace("FORMAT", fmt))
    # then the field fails with Totara's coding error, masked as internal
    error = body["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["debugMessage"] == (
        "Coding error detected, it must be fixed by a programmer: "
        f"{fmt} format is currently not supported by the string formatter."
    )


def _organisation(runtime: Runtime, fullname: str, shortname: str) -> None:
    now = int(time.time())
    with runtime.engine.begin() as conn:
        framework = conn.execute(
            insert(hierarchy_frameworks),
            {"kind": "organisation", "idnumber": "OFW", "fullname": "Org <i>fw</i>",
             "timecreated": now, "timemodified": now},
        ).inserted_primary_key[0]  # fmt: skip
        conn.execute(
            insert(hierarchy_items),
            {"kind": "organisation", "framework_id": framework, "idnumber": "O1",
             "fullname": fullname, "shortname": shortname, "description": "<p>Desc & more</p>",
             "path": "", "visible": True, "timecreated": now, "timemodified": now},
        )  # fmt: skip


ORGANISATION = """
{ hierarchy_organisation_organisation(reference: {idnumber: "O1"}) { organisation {
    fullname html: fullname(format: HTML) shortname(format: HTML)
    description plain: description(format: PLAIN)
    framework { fullname fw_html: fullname(format: HTML) }
} } }
"""


def test_hierarchy_names_use_the_string_formatter(runtime: Runtime, http: Any) -> None:
    # given an organisation (and framework) with markup in its names
    _organisation(runtime, "<b>Sales</b> & Marketing", "S&M")
    # when it is read in several formats
    body = _client(runtime, http)(ORGANISATION)
    # then names follow the string formatter and the description the text formatter
    assert body["data"]["hierarchy_organisation_organisation"]["organisation"] == {
        "fullname": "Sales & Marketing",
        "html": "Sales &#38; Marketing",
        "shortname": "S&#38;M",
        "description": "<p>Desc &amp; more</p>",
        "plain": "Desc & more\n",
        "framework": {"fullname": "Org fw", "fw_html": "Org fw"},
    }


def test_hierarchy_name_in_markdown_is_an_internal_coding_error(
    runtime: Runtime, http: Any
) -> None:
    _organisation(runtime, "Sales", "S")
    body = _client(runtime, http)(
        '{ hierarchy_organisation_organisation(reference: {idnumber: "O1"}) '
        "{ organisation { fullname(format: MARKDOWN) } } }"
    )
    assert body["errors"][0]["debugMessage"].endswith(
        "MARKDOWN format is currently not supported by the string formatter."
    )


RAW_ORGANISATION = """
{ hierarchy_organisation_organisation(reference: {idnumber: "O1"}) { organisation {
    shortname(format: RAW) description(format: RAW) plain: shortname
    framework { fullname(format: RAW) }
} } }
"""


def test_raw_item_texts_need_the_right_to_update_such_items(runtime: Runtime, http: Any) -> None:
    # given an organisation with markup in its short name
    _organisation(runtime, "Sales", "S&M")
    call = _client(runtime, http)
    answer = call(RAW_ORGANISATION)["data"]["hierarchy_organisation_organisation"]
    # then RAW shows its texts as stored to a client that may update organisations
    assert answer["organisation"] == {
        "shortname": "S&M",
        "description": "<p>Desc & more</p>",
        "plain": "S&M",
        "framework": {"fullname": "Org <i>fw</i>"},
    }
    # but not to one that may not
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "totara/hierarchy:updateorganisation", -1)
    answer = call(RAW_ORGANISATION)["data"]["hierarchy_organisation_organisation"]
    assert answer["organisation"]["shortname"] is None
    assert answer["organisation"]["description"] is None
    assert answer["organisation"]["plain"] == "S&M"
