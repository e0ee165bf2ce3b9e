"""The in-product API documentation, generated from the live schema.

:func:`reference_for` turns a schema into a documentation model (cached per schema object);
:mod:`.examples` writes an example request for each operation; :mod:`.search` finds items by
name or description; :func:`describe` renders a description as safe HTML.
"""

from extapi.apidocs.hidden import DEFAULT_HIDDEN, Hidden
from extapi.apidocs.model import Reference
from extapi.apidocs.reference import build_reference, reference_for
from extapi.apidocs.search import Results, build_index, search
from extapi.apidocs.text import describe

__all__ = [
    "DEFAULT_HIDDEN",
    "Hidden",
    "Reference",
    "Results",
    "build_index",
    "build_reference",
    "describe",
    "reference_for",
    "search",
]
