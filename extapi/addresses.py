"""IP addresses: lists of addresses and CIDR ranges, and the address a request came from.

One module for the three things every address check needs: reading an admin's list of entries
(``10.0.0.0/8, 2001:db8::/32, 192.0.2.7``) into a :class:`AddressList`, matching an address
against it, and finding the client's address, which is the peer's unless the peer is a
trusted proxy, in which case ``X-Forwarded-For`` is read from the right.

IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``, what a dual-stack socket reports for an IPv4
peer) are read as the IPv4 address they carry, and so are ranges inside ``::ffff:0:0/96``, so an
IPv4 entry matches such a peer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from extapi.errors import ValidationError

__all__ = [
    "Address",
    "Network",
    "AddressList",
    "MAX_ENTRIES",
    "parse_address",
    "parse_network",
    "address_list",
    "stored_address_list",
    "client_address",
    "forwarded_for",
]

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

MAX_ENTRIES = 256
# X-Forwarded-For is read from the right for at most this many hops: no real chain of proxies
# is longer, and a header of thousands of entries then costs no more than a short one.
MAX_HOPS = 16
_SHOWN = 60  # characters of a bad entry quoted back in an error
_LONGEST = 64  # characters of the longest text read as an address
_SEPARATORS = str.maketrans({",": " ", ";": " "})
_MAPPED = IPv6Network("::ffff:0:0/96")


class AddressList:
    """Parsed entries, in the form they are stored and shown, and ready for matching."""

    __slots__ = ("entries", "_ranges")

    def __init__(self, networks: Iterable[Network]) -> None:
        kept: dict[Network, None] = dict.fromkeys(networks)  # de-duplicated, in order
        self.entries = tuple(_text(network) for network in kept)
        # Per IP version and per prefix length: the mask, and the set of networks of that
        # length (as ints). A lookup costs one AND and one set probe per distinct length, so a
        # list of 200 single addresses costs what a list of one does.
        by_mask: dict[int, dict[int, set[int]]] = {4: {}, 6: {}}
        for n in kept:
            by_mask[n.version].setdefault(int(n.netmask), set()).add(int(n.network_address))
        self._ranges: dict[int, tuple[tuple[int, frozenset[int]], ...]] = {
            version: tuple((mask, frozenset(nets)) for mask, nets in masks.items())
            for version, masks in by_mask.items()
        }

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, IPv4Address | IPv6Address):
            return False
        value = int(address)
        return any(value & mask in nets for mask, nets in self._ranges[address.version])

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __repr__(self) -> str:
        return f"AddressList({', '.join(self.entries)})"


def _text(network: Network) -> str:
    """A single address without its prefix, a range in CIDR form; both canonical."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def _unmapped(network: Network) -> Network:
    if isinstance(network, IPv6Network) and network.subnet_of(_MAPPED):
        mapped = network.network_address.ipv4_mapped
        assert mapped is not None  # inside ::ffff:0:0/96
        return IPv4Network((mapped, network.prefixlen - 96))
    return network


def parse_network(entry: str) -> Network:
    """One entry: an address or a CIDR range; a range with host bits set is refused."""
    shown = entry if len(entry) <= _SHOWN else entry[:_SHOWN] + "…"
    if "%" in entry:  # scoped (link-local) addresses name an interface, not a network
        raise ValidationError(f"'{shown}' is not an IP address or a CIDR range.")
    try:
        return _unmapped(ip_network(entry))
    except ValueError:
        pass
    try:
        loose = ip_network(entry, strict=False)
    except ValueError:
        raise ValidationError(f"'{shown}' is not an IP address or a CIDR range.") from None
    raise ValidationError(f"'{shown}' has host bits set: write the range as {loose}.")


def address_list(entries: str | Iterable[str]) -> AddressList:
    """Entries separated by commas, semicolons, spaces or new lines (or given as items),
    validated; the first bad one is named in a :class:`ValidationError`."""
    text = entries if isinstance(entries, str) else " ".join(entries)
    items = text.translate(_SEPARATORS).split()
    if len(items) > MAX_ENTRIES:
        raise ValidationError(f"An IP allow-list holds at most {MAX_ENTRIES} entries.")
    return AddressList(parse_network(item) for item in items)


@lru_cache(maxsize=1024)
def stored_address_list(stored: str) -> AddressList | None:
    """The list kept in the database (normalised, comma-separated), parsed once per process;
    None when there is none."""
    return address_list(stored) if stored else None


def parse_address(text: str) -> Address | None:
    """An address as the socket or a proxy reports it; None when it is not one."""
    # No address is this long, even with an interface name; so no long text is ever cached.
    return None if len(text) > _LONGEST else _parse_address(text)


@lru_cache(maxsize=4096)  # the same few peers call again and again; parsing costs microseconds
def _parse_address(text: str) -> Address | None:
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_for(scope: Mapping[str, Any]) -> str | None:
    """Every ``X-Forwarded-For`` line of the request, joined in order; None when absent."""
    lines = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
    return ",".join(lines) if lines else None


def client_address(scope: Mapping[str, Any], trusted: AddressList) -> Address | None:
    """The address of the client behind the request: the peer's, or, when the peer is a
    trusted proxy, the right-most ``X-Forwarded-For`` hop that is not a trusted proxy itself.

    The header is read only from a trusted peer, so a client can not choose its address by
    sending one. A hop that is not an address makes the whole header unusable: the peer's
    address is used. Hops left of the client are never read, so garbage a client puts
    there changes nothing. None when the peer has no IP address (a Unix socket)."""
    peer = scope.get("client")
    address = parse_address(peer[0]) if peer else None
    if address is None or not trusted or address not in trusted:
        return address
    header = forwarded_for(scope)
    if header is None:
        return address
    hops = header.rsplit(",", MAX_HOPS)[-MAX_HOPS:]
    nearest = address
    for raw in reversed(hops):
        hop = parse_address(raw.strip())
        if hop is None:
            return address
        if hop not in trusted:
            return hop
        nearest = hop
    return nearest  # every hop read is a trusted proxy: the farthest one
