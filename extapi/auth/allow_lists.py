"""Per-client IP allow-lists (a Totara 19.1 feature, TL-43487): whether a request may use a
client from where it comes, and what a refused request is told at each error level.

A client without a list may call from anywhere. Otherwise the request's address (see
:func:`extapi.addresses.client_address`) must match one of its entries. The check runs only
once the client is known, after its token or its credentials were accepted, so it never tells
a stranger whether a client exists. A refusal is answered 404 at the None level, so that the
API does not show itself, and 403 at Normal and Developer; only Developer names the address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extapi.addresses import Address, AddressList, client_address

__all__ = ["Refusal", "address_refusal", "NOT_FOUND", "FORBIDDEN"]

NOT_FOUND, FORBIDDEN = 404, 403
_NONE, _DEVELOPER = 0, 2  # Totara's error levels (extapi.graphql.errors)


@dataclass(frozen=True)
class Refusal:
    """A request refused for its address: its HTTP status, and the reason when the client's
    error level lets it be told."""

    status: int
    address: Address | None
    detail: str | None

    def label(self, what: str) -> str:
        """The request log's name for the refused request: what was asked, and from where."""
        where = "an unknown address" if self.address is None else self.address
        return f"({what} from {where}: not allowed)"


def address_refusal(
    allowed: AddressList | None, scope: Mapping[str, Any], trusted: AddressList, level: int
) -> Refusal | None:
    """None when the request may go on; else how to refuse it at error ``level``."""
    if allowed is None:
        return None
    address = client_address(scope, trusted)
    if address is not None and address in allowed:
        return None
    status = NOT_FOUND if level <= _NONE else FORBIDDEN
    return Refusal(status, address, _detail(address) if level >= _DEVELOPER else None)


def _detail(address: Address | None) -> str:
    if address is None:
        return (
            "The request's address is unknown (the connection has no IP address), and this "
            "client accepts requests only from the addresses in its IP allow-list."
        )
    return f"The address {address} is not in this client's IP allow-list."
