"""How much of a page a list query can use, so that its service reads no more.

A list result (``core_user_users_result`` and the like) is read from the selection the
client made on it:

* no ``items`` and no ``next_cursor``: the count alone is run, no row is read;
* no ``total``: the count is not run (a full extract asks for it once, on its first page;
  counting every matching row again for each page would make the extract quadratic);
* ``next_cursor`` without ``items``: only the keys of the page's last row and of the row
  after it are read;
* ``items``: at most as many rows as the complexity budget could ever pay for, plus one to
  learn whether the page holds more. Every item costs at least one point (each field
  selected on an entity type costs one, as :mod:`extapi.limits.cost` counts them), so with
  ``R`` points left when the list resolves no request can be answered more than ``R``
  items without going over its limit. A page holding more fails at once with Totara's
  complexity error, ``Query complexity exceeded maximum allowed complexity of N.``, on the
  list field, and the rest is never read. Totara would read every row, resolve items until
  one went over, then fail each later field with the same message; for a page of at most
  ``R`` items extapi answers exactly that (data and errors alike), since it reads them all.

So Totara's answers for ``limit`` 0 and below (every row) stand for every list of at most
``R`` rows, and a ``total``-only request never reads a row. Where Totara would list more than
``R`` items that its selection does not charge for (only ``__typename``), extapi refuses.
"""

from __future__ import annotations

from collections.abc import Callable

from graphql import GraphQLObjectType, GraphQLResolveInfo, get_named_type
from graphql.execution.collect_fields import collect_sub_fields

from extapi.limits.cost import ComplexityCounter
from extapi.pagination import Page, Wanted

__all__ = ["read_list", "wanted_of"]


def wanted_of(info: GraphQLResolveInfo) -> Wanted:
    """What the selection on this list field can use."""
    result_type = get_named_type(info.return_type)
    assert isinstance(result_type, GraphQLObjectType)
    selected = collect_sub_fields(
        info.schema, info.fragments, info.variable_values, result_type, info.field_nodes
    )
    names = {nodes[0].name.value for nodes in selected.values()}
    counter = _counter(info)
    return Wanted(
        items="items" in names,
        next_cursor="next_cursor" in names,
        max_items=None if counter is None else counter.remaining,
        total="total" in names,
    )


def read_list(info: GraphQLResolveInfo, read: Callable[[Wanted], Page]) -> Page:
    """``read`` the page this list field can use (see the module docstring); a page with
    more items than the budget could pay for fails with the complexity error."""
    page = read(wanted_of(info))
    counter = _counter(info)
    if page.cut and counter is not None:
        raise counter.exceeded()
    return page


def _counter(info: GraphQLResolveInfo) -> ComplexityCounter | None:
    counter = getattr(info.context, "complexity", None)
    return counter if isinstance(counter, ComplexityCounter) else None
