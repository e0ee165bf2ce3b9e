"""The schema changelog as a documentation page: a small, safe Markdown renderer."""

from __future__ import annotations

from extapi.apidocs.changelog import changelog_document
from extapi.apidocs.markdown import parse, render
from extapi.schema_versions import CHANGELOG_PATH

SAMPLE = """# Schema changelog

Intro with `code` and <b>markup</b> & an ampersand.

## 1.1.0 (2027-01-02)

### Breaking changes

- `core_user.nickname was removed.` Read `core_user.alternatename`
  instead (continued on a second line).
* A star item.

```
<script>alert(1)</script>
- not a list item
```

## 1.0.0 (2026-12-05)

Plain paragraph,
over two lines.
"""


def test_headings_lists_paragraphs_code_and_fences():
    html = str(render(parse(SAMPLE)))
    assert '<h1 id="schema-changelog">Schema changelog</h1>' in html
    assert '<h2 id="1-1-0-2027-01-02">1.1.0 (2027-01-02)</h2>' in html
    assert '<h3 id="breaking-changes">Breaking changes</h3>' in html
    assert (
        "<li><code>core_user.nickname was removed.</code> Read "
        "<code>core_user.alternatename</code> instead (continued on a second line).</li>"
    ) in html
    assert "<li>A star item.</li>" in html
    assert "<p>Plain paragraph, over two lines.</p>" in html
    fenced = "&lt;script&gt;alert(1)&lt;/script&gt;\n- not a list item"
    assert f'<pre tabindex="0"><code>{fenced}</code></pre>' in html


def test_every_piece_of_text_is_escaped():
    html = str(render(parse(SAMPLE)))
    assert "<b>" not in html and "<script>" not in html
    assert "&lt;b&gt;markup&lt;/b&gt; &amp; an ampersand." in html


def test_hostile_text_cannot_break_out_of_attributes_or_code():
    text = '# "><img src=x onerror=alert(1)>\n\n- `</code><script>x</script>`\n'
    html = str(render(parse(text)))
    assert "<img" not in html and "<script" not in html
    assert 'id="img-src-x-onerror-alert-1"' in html


def test_repeated_headings_get_distinct_anchors():
    html = str(render(parse("## Added\n\n## Added\n\n## Added\n")))
    assert 'id="added"' in html and 'id="added-2"' in html and 'id="added-3"' in html


def test_an_unclosed_fence_runs_to_the_end():
    html = str(render(parse("```\n<x>\n")))
    assert html == '<pre tabindex="0"><code>&lt;x&gt;</code></pre>'


def test_the_committed_changelog_becomes_a_page_and_search_entries():
    # given the changelog shipped with the package
    document = changelog_document(CHANGELOG_PATH)
    # then it renders with one level-1 heading and a section per version
    html = str(document.html)
    assert html.count("<h1") == 1
    assert '<h2 id="0-1-0-2026-12-05">' in html
    # and each version is a search entry linking to its section of the page
    entry = next(e for e in document.entries if e.name == "0.1.0 (2026-12-05)")
    assert entry.label == "Schema changelog"
    assert entry.href == "/totara/api/documentation/changelog#0-1-0-2026-12-05"
    assert "totara 17.3" in entry.text.lower()


def test_a_missing_changelog_renders_a_notice(tmp_path):
    document = changelog_document(tmp_path / "none.md")
    assert "No schema changelog" in str(document.html)
    assert document.entries == ()
