"""Random credentials and the keyed hash under which they are stored.

Only HMAC-SHA256 digests of client secrets and access tokens reach the database, so a copy
of the database alone is not enough to call the API. The key comes from EXTAPI_SECRET_KEY,
or is generated once and kept in the database when that variable is not set.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from sqlalchemy import Connection, insert, select

from extapi.db.tables import site_keys

__all__ = [
    "ALNUM",
    "random_string",
    "new_client_id",
    "new_client_secret",
    "new_access_token",
    "SecretHasher",
    "load_hasher",
]

ALNUM = string.ascii_letters + string.digits
CLIENT_ID_LENGTH = 16
CLIENT_SECRET_LENGTH = 40
_KEY_NAME = "credential_hmac"


def random_string(length: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_client_id() -> str:
    return random_string(CLIENT_ID_LENGTH)


def new_client_secret() -> str:
    """40 letters and digits: about 238 bits, and never in need of URL encoding."""
    return random_string(CLIENT_SECRET_LENGTH)


def new_access_token() -> str:
    """256 random bits, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


class SecretHasher:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, value: str) -> str:
        return hmac.new(
            self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()

    def derive(self, purpose: str) -> bytes:
        """A separate key for another use (web sessions ...), so the credential key itself
        never signs anything a browser holds."""
        return hmac.new(self._key, f"extapi:{purpose}".encode(), hashlib.sha256).digest()

    def matches(self, value: str, stored: str) -> bool:
        return hmac.compare_digest(self.digest(value), stored)


def load_hasher(conn: Connection, configured_key: str | None) -> SecretHasher:
    if configured_key:
        return SecretHasher(configured_key.encode())
    stored = conn.execute(select(site_keys.c.value).where(site_keys.c.name == _KEY_NAME)).scalar()
    if stored is None:
        stored = secrets.token_hex(32)
        conn.execute(insert(site_keys).values(name=_KEY_NAME, value=stored))
    return SecretHasher(bytes.fromhex(stored))
