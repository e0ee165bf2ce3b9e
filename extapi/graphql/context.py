"""What resolvers see of the request: who is calling, the site settings, the connection."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

from extapi.access.principal import Grants, Principal, load_grants
from extapi.auth.tokens import ApiCaller
from extapi.limits.cost import ComplexityCounter
from extapi.people.user_changes import Actor
from extapi.settings.site import SiteSettings

__all__ = ["RequestContext"]

# Moodle's marker for "use the site timezone".
SITE_TIMEZONE = "99"


class RequestContext:
    """One per HTTP request (shared by the operations of a batch). The database connection is
    opened on first use, so operations that need none, like the status query, cost none.

    ``base_url`` is the site's address as resolvers should print it, or a function giving it:
    worked out on first use (only the few fields that print URLs ask for it)."""

    __slots__ = (
        "engine",
        "site",
        "caller",
        "loaders",
        "complexity",
        "_address",
        "_conn",
        "_principal",
        "__weakref__",
    )

    def __init__(
        self,
        engine: Engine,
        site: SiteSettings,
        caller: ApiCaller,
        base_url: str | Callable[[], str] = "http://localhost",
    ) -> None:
        self.engine = engine
        self.site = site
        self.caller = caller
        self.loaders: dict[str, Any] = {}
        # The request's complexity counter, so that list resolvers can bound what they read.
        self.complexity: ComplexityCounter | None = None
        self._address = base_url
        self._conn: Connection | None = None
        self._principal: Principal | None = None

    @property
    def base_url(self) -> str:
        address = self._address
        if not isinstance(address, str):
            address = self._address = address()
        return address

    @property
    def principal(self) -> Principal:
        """Who is calling; made on first use (the status query never asks)."""
        if self._principal is None:
            # The loader reaches this context through a weak reference: a strong one would
            # make a cycle (context, principal, loader), left for the garbage collector.
            this = weakref.ref(self)
            user_id = self.caller.user_id

            def load() -> Grants:
                context = this()
                return {} if context is None else load_grants(context.conn, user_id)

            self._principal = Principal(
                user_id=user_id, tenant_id=self.caller.user_tenant_id, loader=load
            )
        return self._principal

    @property
    def actor(self) -> Actor:
        return Actor(self.principal, self.site, self.timezone)

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    def close(self) -> None:
        """Close the connection and drop the batch loaders: their fetch functions hold this
        context, so a loader kept here is a cycle, and the page of rows it cached (2 MB for
        a page of 461 users) would wait for the garbage collector instead of going now."""
        self.loaders.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def timezone(self) -> str:
        own = self.caller.timezone
        return self.site.timezone if own in ("", SITE_TIMEZONE, None) else own

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Run a mutation's work atomically: everything or, on any error, nothing.

        Each mutation commits on its own, as in Totara, so an earlier mutation of the same
        document stays written when a later one fails. Rows cached by the batch loaders may
        be stale once anything is written, so every mutation starts with none.
        """
        self.loaders.clear()
        if self.conn.in_transaction():
            self.conn.commit()
        with self.conn.begin():
            yield self.conn
