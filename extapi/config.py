"""Process configuration, read once from the environment.

Site settings that admins change at run time (rate limits, error levels ...) live in the
database instead; see :mod:`extapi.settings.site`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from extapi.errors import ConfigError

__all__ = ["Config", "load_config"]

DEFAULT_DATABASE_URL = "sqlite:///extapi.db"


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret_key: str | None = None
    max_body_bytes: int = 1024 * 1024
    max_batch_size: int = 50
    max_json_depth: int = 64
    public_url: str | None = None


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Build the configuration from ``EXTAPI_*`` variables, failing fast on bad values."""
    env = os.environ if env is None else env
    url = env.get("EXTAPI_DATABASE_URL") or DEFAULT_DATABASE_URL
    if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
        raise ConfigError(
            f"EXTAPI_DATABASE_URL must be a sqlite:/// or postgresql:// URL, got {url!r}"
        )
    return Config(
        database_url=url,
        redis_url=env.get("EXTAPI_REDIS_URL") or None,
        secret_key=env.get("EXTAPI_SECRET_KEY") or None,
        max_body_bytes=_int(env, "EXTAPI_MAX_BODY_BYTES", Config.max_body_bytes),
        max_batch_size=_int(env, "EXTAPI_MAX_BATCH_SIZE", Config.max_batch_size),
        max_json_depth=_int(env, "EXTAPI_MAX_JSON_DEPTH", Config.max_json_depth),
        public_url=(env.get("EXTAPI_PUBLIC_URL") or "").rstrip("/") or None,
    )
