"""Search the documentation: every term must appear in an item's name or description.

Items are operations, types, and the fields, arguments and values inside them. Name matches
rank above description matches, and an exact name ranks first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from extapi.apidocs.model import Operation, Reference, TypeDoc
from extapi.apidocs.text import plain

__all__ = ["Entry", "Results", "build_index", "search", "MAX_QUERY_CHARS", "MAX_TERMS"]

MAX_QUERY_CHARS = 100
MAX_TERMS = 8
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class Entry:
    label: str  # what the item is, e.g. "Query" or "Field of core_user"
    name: str
    anchor: str
    text: str  # the description as plain text
    page: str = ""  # the page the anchor is on, when not the reference page itself

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower()

    @property
    def href(self) -> str:
        return f"{self.page}#{self.anchor}"


@dataclass(frozen=True)
class Results:
    query: str  # the query as searched (trimmed and cut to MAX_QUERY_CHARS)
    entries: tuple[Entry, ...]  # the best matches, at most the limit
    total: int  # how many items matched


def build_index(reference: Reference) -> tuple[Entry, ...]:
    entries: list[Entry] = []
    for operation in (*reference.queries, *reference.mutations):
        entries.extend(_operation_entries(operation))
    for type_doc in reference.types:
        entries.extend(_type_entries(type_doc))
    return tuple(entries)


def _operation_entries(op: Operation) -> Iterator[Entry]:
    yield Entry(op.kind.capitalize(), op.name, op.anchor, plain(op.field.description))
    for arg in op.field.args:
        yield Entry(
            f"Argument of {op.name}", f"{op.name}.{arg.name}", op.anchor, plain(arg.description)
        )


def _type_entries(doc: TypeDoc) -> Iterator[Entry]:
    yield Entry(doc.label, doc.name, doc.anchor, plain(doc.description))
    members = [
        *(("Field", f.name, f.description) for f in doc.fields),
        *(("Field", f.name, f.description) for f in doc.input_fields),
        *(("Value", v.name, v.description) for v in doc.values),
    ]
    for label, name, text in members:
        yield Entry(f"{label} of {doc.name}", f"{doc.name}.{name}", doc.anchor, plain(text))


def terms_of(query: str) -> list[str]:
    return query[:MAX_QUERY_CHARS].lower().split()[:MAX_TERMS]


def search(index: tuple[Entry, ...], query: str, limit: int = DEFAULT_LIMIT) -> Results:
    cleaned = " ".join(query[:MAX_QUERY_CHARS].split())
    terms = terms_of(cleaned)
    if not terms:
        return Results(cleaned, (), 0)
    scored = [(score, n) for n, e in enumerate(index) if (score := _score(e, terms)) is not None]
    scored.sort()
    return Results(cleaned, tuple(index[n] for _, n in scored[:limit]), len(scored))


def _score(entry: Entry, terms: list[str]) -> int | None:
    name = entry.name.lower()
    text = entry.text.lower()
    if not all(term in name or term in text for term in terms):
        return None
    whole = " ".join(terms)
    if whole in (name, entry.short_name):
        return 0
    if entry.short_name.startswith(whole) or name.startswith(whole):
        return 1
    if all(term in name for term in terms):
        return 2
    return 3
