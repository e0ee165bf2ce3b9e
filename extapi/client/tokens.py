"""Access tokens as the client sees them: when one was obtained, when to renew it.

Pure logic; the two clients keep one :class:`Token` each behind their own lock (a thread lock
for :class:`~extapi.client.Client`, an asyncio lock for :class:`~extapi.client.AsyncClient`),
so that only one renewal runs at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from extapi.client.errors import EXPIRY_ALLOWANCE_SECONDS

__all__ = ["Token", "renewal_margin", "reusable"]

# For short lifetimes the margin is this share of the lifetime instead: a 5 s token is
# renewed after 4 s rather than never being used at all.
SHORT_LIFETIME_SHARE = 0.2


@dataclass(frozen=True)
class Token:
    """An access token; times are readings of the client's clock. ``obtained`` is taken
    before the token request was sent, so the expiry the client assumes is never later than
    the server's."""

    value: str
    obtained: float
    lifetime: float

    @property
    def expires(self) -> float:
        return self.obtained + self.lifetime

    def expired_at(self, now: float) -> bool:
        """Whether the server will have treated the token as expired by ``now``."""
        return now >= self.expires - EXPIRY_ALLOWANCE_SECONDS

    def renew_at(self, renew_before: float) -> float:
        return self.expires - renewal_margin(self.lifetime, renew_before)


def renewal_margin(lifetime: float, renew_before: float) -> float:
    """How long before expiry to renew: ``renew_before``, but at most a fifth of the
    lifetime."""
    return max(0.0, min(renew_before, lifetime * SHORT_LIFETIME_SHARE))


def reusable(token: Token | None, now: float, renew_before: float, stale: str | None) -> bool:
    """Whether ``token`` may serve a request at ``now``. ``stale`` names a token the server
    just refused: it is never reused, but a different one (renewed meanwhile by another
    thread or task) is."""
    if token is None or token.value == stale:
        return False
    return now < token.renew_at(renew_before)
