"""Admin web sessions held entirely in a signed cookie.

The cookie carries the user id, when the session started and was last seen, the CSRF token
and a fingerprint of the user's password hash, all signed with HMAC-SHA256 under a key derived
from the site key. Changing a password therefore ends every session of that user; nothing is
stored server-side, so any worker (or host) can serve any admin request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, field, replace

import orjson

__all__ = ["Session", "SessionCodec", "COOKIE_NAME", "ABSOLUTE_SECONDS", "IDLE_SECONDS"]

COOKIE_NAME = "extapi_session"
ABSOLUTE_SECONDS = 8 * 3600
IDLE_SECONDS = 2 * 3600
# A cookie is re-signed with a fresh "seen" time at most this often.
REFRESH_SECONDS = 300
MAX_COOKIE_CHARS = 3800
FLASH_CHARS = 160
FLASH_COUNT = 3


@dataclass(frozen=True)
class Session:
    user_id: int
    started: int
    seen: int
    csrf: str
    fingerprint: str
    flash: list[str] = field(default_factory=list)

    def touched(self, now: int) -> Session:
        return replace(self, seen=now)

    def with_flash(self, message: str) -> Session:
        """Add a message; messages are cut short and few, so the cookie stays small (names
        in them come from users, and a cookie over ``MAX_COOKIE_CHARS`` is refused)."""
        if len(message) > FLASH_CHARS:
            message = message[: FLASH_CHARS - 1] + "\u2026"
        return replace(self, flash=[*self.flash[-(FLASH_COUNT - 1) :], message])

    def without_flash(self) -> Session:
        return replace(self, flash=[])


class SessionCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def fingerprint(self, password_hash: str) -> str:
        digest = hmac.new(self._key, password_hash.encode(), hashlib.sha256).hexdigest()
        return digest[:24]

    def start(self, user_id: int, password_hash: str, now: int) -> Session:
        return Session(
            user_id, now, now, secrets.token_urlsafe(24), self.fingerprint(password_hash)
        )

    def encode(self, session: Session) -> str:
        body = base64.urlsafe_b64encode(orjson.dumps(asdict(session))).rstrip(b"=")
        return f"{body.decode()}.{self._sign(body)}"

    def decode(self, cookie: str | None, now: int) -> Session | None:
        """The session in ``cookie``, or None when it is missing, forged or expired."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS or "." not in cookie:
            return None
        body, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(self._sign(body.encode()), signature):
            return None
        try:
            data = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            session = Session(**data)
        except (ValueError, TypeError):
            return None
        if now - session.started > ABSOLUTE_SECONDS or now - session.seen > IDLE_SECONDS:
            return None
        return session

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._key, body, hashlib.sha256).hexdigest()
