"""A budget of points per window, and the verdict of an operation on several budgets."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Budget", "Verdict"]


@dataclass(frozen=True)
class Budget:
    """A named allowance of points per window, such as ``Budget("client:42", 250000)``."""

    key: str
    limit: int


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check or charge over several budgets.

    ``rates`` holds each budget's rate after the operation, in the order the budgets were
    given. ``retry_after`` is 0 when allowed, else the whole seconds until the first budget
    that blocked would have room for what was asked (one point for a check, the refused
    points for a charge). ``reset_after`` is the seconds until the first budget's current
    window rotates. ``known`` is False when the store could not be asked and allowed the
    operation blind: the rates are then zeros that mean nothing. ``blocked`` is the index
    of the first blocking budget (-1 when allowed).
    """

    allowed: bool
    rates: tuple[int, ...]
    retry_after: int
    reset_after: int
    known: bool = True
    blocked: int = field(default=-1, compare=False)

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
