"""A budget of points per window, and the verdict of an operation on several budgets."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Budget", "Verdict"]


@dataclass(frozen=True)
class Budget:
    """A named allowance of points per window, such as ``Budget("client:42", 250000)``."""

    key: str
    limit: int


class Verdict:
    """The outcome of a check or charge over several budgets; never changed once made.

    ``rates`` holds each budget's rate after the operation, in the order the budgets were
    given. ``retry_after`` is 0 when allowed, else the whole seconds until the first budget
    that blocked would have room for what was asked (one point for a check, the refused
    points for a charge). ``reset_after`` is the seconds until the first budget's current
    window rotates. ``known`` is False when the store could not be asked and allowed the
    operation blind: the rates are then zeros that mean nothing. ``blocked`` is the index
    of the first blocking budget (-1 when allowed); it takes no part in comparisons.

    A plain class rather than a frozen dataclass: one is made for every request, and the
    dataclass's checked attribute setting tripled the cost.
    """

    __slots__ = ("allowed", "rates", "retry_after", "reset_after", "known", "blocked")

    def __init__(
        self,
        allowed: bool,
        rates: tuple[int, ...],
        retry_after: int,
        reset_after: int,
        known: bool = True,
        blocked: int = -1,
    ) -> None:
        self.allowed = allowed
        self.rates = rates
        self.retry_after = retry_after
        self.reset_after = reset_after
        self.known = known
        self.blocked = blocked

    def _compared(self) -> tuple[bool, tuple[int, ...], int, int, bool]:
        return (self.allowed, self.rates, self.retry_after, self.reset_after, self.known)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        return (
            f"Verdict(allowed={self.allowed!r}, rates={self.rates!r}, "
            f"retry_after={self.retry_after!r}, reset_after={self.reset_after!r}, "
            f"known={self.known!r}, blocked={self.blocked!r})"
        )

    def remaining(self, i: int, limit: int) -> int:
        """Points left under ``limit`` for the ``i``-th budget (never negative)."""
        return max(0, limit - self.rates[i])

    def plus(self, points: int) -> Verdict:
        """This verdict with ``points`` more spent from every budget: what a charge that is
        not waited for leaves (a budget whose clock runs ahead is not charged, so its figure
        is then pessimistic). An unknown verdict stays unknown."""
        if not self.known or points == 0:
            return self
        return Verdict(
            allowed=self.allowed,
            rates=tuple(rate + points for rate in self.rates),
            retry_after=self.retry_after,
            reset_after=self.reset_after,
            blocked=self.blocked,
        )
