"""Process configuration, read once from the environment.

Site settings that admins change at run time (rate limits, error levels ...) live in the
database instead; see :mod:`extapi.settings.site`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from extapi.addresses import address_list
from extapi.errors import ConfigError, ValidationError

__all__ = ["Config", "load_config", "check_database_url", "Network", "LOG_FORMATS"]

DEFAULT_DATABASE_URL = "sqlite:///extapi.db"
LOG_FORMATS = ("json", "text")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret_key: str | None = None
    max_body_bytes: int = 1024 * 1024
    max_batch_size: int = 50
    public_url: str | None = None
    # "memory" (per process), "redis" (shared; the default when EXTAPI_REDIS_URL is set) or
    # "off" (no rate limiting: for benchmarks and tests only)
    rate_limit_backend: str = "memory"
    # Key prefix in Redis, so that several deployments (or test runs) can share one server.
    redis_prefix: str = "extapi:rl:"
    max_execution_seconds: float = 30.0
    # The API request log (extapi.requestlog): on or off, and how long its rows are kept.
    request_log: bool = True
    request_log_hours: int = 168
    # Addresses and CIDR ranges of reverse proxies whose X-Forwarded-For is believed, for the
    # IP allow-lists (extapi.addresses.client_address); empty: the header is never read.
    trusted_proxies: tuple[str, ...] = ()
    # Estimated bytes of parsed documents each worker keeps (extapi.graphql.documents).
    document_cache_bytes: int = 32 * 1024 * 1024
    # Who may read /metrics: None (EXTAPI_METRICS=off: no such page, nothing is counted) or
    # the networks whose direct peers may scrape it.
    metrics: tuple[Network, ...] | None = None
    # How `extapi serve` writes its log on stderr: "json" (one object a line) or "text".
    log_format: str = "json"
    # Threads per worker process that run the requests which may block (database work,
    # password hashing, large or new documents), so that the event loop keeps answering cheap
    # requests meanwhile. Each thread holds at most one database connection at a time: the
    # default leaves one of PostgreSQL's five pooled connections to the token check.
    worker_threads: int = 4
    # When a document runs through a compiled plan instead of graphql-core's executor
    # (extapi.graphql.compiled): "hot" (once it is sent again), "always" or "off".
    compiled_execution: str = "hot"
    # How long a worker trusts the site revision its listener last confirmed, on PostgreSQL
    # (extapi.db.lease): the bound within which a change made elsewhere applies everywhere.
    # 0 reads the revision on every request, as on SQLite.
    revision_lease_ms: int = 75


def check_database_url(url: str, name: str = "EXTAPI_DATABASE_URL") -> str:
    """The URL, if it names a database extapi can use (SQLite or PostgreSQL)."""
    if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
        raise ConfigError(f"{name} must be a sqlite:/// or postgresql:// URL, got {url!r}")
    return url


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
    url = check_database_url(env.get("EXTAPI_DATABASE_URL") or DEFAULT_DATABASE_URL)
    return Config(
        database_url=url,
        redis_url=env.get("EXTAPI_REDIS_URL") or None,
        secret_key=env.get("EXTAPI_SECRET_KEY") or None,
        max_body_bytes=_int(env, "EXTAPI_MAX_BODY_BYTES", Config.max_body_bytes),
        max_batch_size=_int(env, "EXTAPI_MAX_BATCH_SIZE", Config.max_batch_size),
        public_url=(env.get("EXTAPI_PUBLIC_URL") or "").rstrip("/") or None,
        rate_limit_backend=_backend(env),
        redis_prefix=env.get("EXTAPI_REDIS_PREFIX") or Config.redis_prefix,
        max_execution_seconds=float(
            _int(env, "EXTAPI_MAX_EXECUTION_SECONDS", int(Config.max_execution_seconds))
        ),
        request_log=_switch(env, "EXTAPI_REQUEST_LOG", Config.request_log),
        request_log_hours=_int(env, "EXTAPI_REQUEST_LOG_HOURS", Config.request_log_hours),
        trusted_proxies=_proxies(env),
        document_cache_bytes=_int(
            env, "EXTAPI_DOCUMENT_CACHE_BYTES", Config.document_cache_bytes, minimum=0
        ),
        metrics=_metrics(env),
        log_format=_log_format(env),
        worker_threads=_int(env, "EXTAPI_WORKER_THREADS", Config.worker_threads),
        compiled_execution=compiled_mode(env.get("EXTAPI_COMPILED_EXECUTION")),
        revision_lease_ms=_int(
            env, "EXTAPI_REVISION_LEASE_MS", Config.revision_lease_ms, minimum=0
        ),
    )


COMPILED_MODES = ("hot", "off", "always")


def compiled_mode(raw: str | None) -> str:
    """``EXTAPI_COMPILED_EXECUTION``: hot (the default), off or always."""
    mode = (raw or "hot").strip().lower()
    if mode not in COMPILED_MODES:
        raise ConfigError(f"EXTAPI_COMPILED_EXECUTION must be hot, off or always, got {raw!r}")
    return mode


def _proxies(env: Mapping[str, str]) -> tuple[str, ...]:
    try:
        return address_list(env.get("EXTAPI_TRUSTED_PROXIES") or "").entries
    except ValidationError as exc:
        raise ConfigError(f"EXTAPI_TRUSTED_PROXIES: {exc.message}") from None


_ON = ("on", "true", "yes", "1")
_OFF = ("off", "false", "no", "0")


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in _ON or raw in _OFF:
        return raw in _ON
    raise ConfigError(f"{name} must be on or off, got {env.get(name)!r}")


def _backend(env: Mapping[str, str]) -> str:
    default = "redis" if env.get("EXTAPI_REDIS_URL") else "memory"
    backend = (env.get("EXTAPI_RATE_LIMIT_BACKEND") or default).lower()
    if backend not in ("memory", "redis", "off"):
        raise ConfigError(
            f"EXTAPI_RATE_LIMIT_BACKEND must be memory, redis or off, got {backend!r}"
        )
    if backend == "redis" and not env.get("EXTAPI_REDIS_URL"):
        raise ConfigError("EXTAPI_RATE_LIMIT_BACKEND=redis needs EXTAPI_REDIS_URL")
    return backend


def _metrics(env: Mapping[str, str]) -> tuple[Network, ...] | None:
    """``off`` (or unset), else a comma-separated list of addresses and CIDR networks."""
    raw = (env.get("EXTAPI_METRICS") or "").strip()
    if raw == "" or raw.lower() == "off":
        return None
    networks = []
    for item in raw.split(","):
        item = item.strip()
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                "EXTAPI_METRICS must be off or a comma-separated list of IP addresses and "
                f"networks (such as 127.0.0.1, 10.0.0.0/8, ::1), got {item!r}"
            ) from None
    return tuple(networks)


def _log_format(env: Mapping[str, str]) -> str:
    raw = (env.get("EXTAPI_LOG_FORMAT") or "json").strip().lower()
    if raw not in LOG_FORMATS:
        raise ConfigError(
            f"EXTAPI_LOG_FORMAT must be json or text, got {env.get('EXTAPI_LOG_FORMAT')!r}"
        )
    return raw
