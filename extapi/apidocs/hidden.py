"""Schema items the documentation leaves out.

They stay in the schema (and in the SDL download) for clients that already use them, but they
serve Totara's own pages rather than integrations, so the reference does not invite new use.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Hidden", "DEFAULT_HIDDEN"]


@dataclass(frozen=True)
class Hidden:
    types: frozenset[str] = frozenset()
    fields: frozenset[tuple[str, str]] = frozenset()  # (owner type, field name)

    def hides_type(self, name: str) -> bool:
        return name in self.types

    def hides_field(self, owner: str, name: str, type_name: str) -> bool:
        """A field is hidden when listed, or when its type is hidden."""
        return (owner, name) in self.fields or type_name in self.types


DEFAULT_HIDDEN = Hidden(
    types=frozenset({"core_user_card_display", "core_user_card_display_field"}),
    fields=frozenset(
        {
            ("core_user", "card_display"),
            # Totara's reserved root fields: they exist only to fail.
            ("Query", "placeholder_query"),
            ("Mutation", "placeholder_mutation"),
        }
    ),
)
