"""The badge that names a logged request's outcome, built once per outcome (a page of the log
shows fifty of them)."""

from __future__ import annotations

from markupsafe import Markup

__all__ = ["outcome_badge"]

_BADGES = {
    "success": Markup('<span class="badge badge-on">Success</span>'),
    "rate_limited": Markup('<span class="badge badge-warn">Rate limited</span>'),
    "ip_not_allowed": Markup('<span class="badge badge-off">IP not allowed</span>'),
    "refused": Markup('<span class="badge badge-off">Refused</span>'),
}
_ERROR = Markup('<span class="badge badge-off">Error</span>')


def outcome_badge(outcome: str) -> Markup:
    return _BADGES.get(outcome, _ERROR)
