"""``AsyncClient``: the asyncio shell around :mod:`extapi.client.protocol`, on
``httpx.AsyncClient``. Same API as :class:`~extapi.client.Client`, awaited."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import httpx

from extapi.client import operations as ops
from extapi.client.models import JobAssignment, Organisation, Position, User
from extapi.client.protocol import (
    Effect,
    Flow,
    HttpFailure,
    HttpResponse,
    NeedToken,
    Operation,
    Result,
    Send,
    Settings,
    Sleep,
    batch_flow,
    execute_flow,
    token_flow,
)
from extapi.client.tokens import Token, reusable

__all__ = ["AsyncClient"]

T = TypeVar("T")
DEFAULT_TIMEOUT = 30.0


class AsyncClient:
    """An asyncio client for a Totara-compatible External API (extapi or Totara itself).

    ``http`` reuses an ``httpx.Client`` of yours (it is then not closed by :meth:`close`).
    ``max_retries`` bounds the retries after a 429 (and, for queries only, after a failed
    connection or a 502/503/504); ``max_wait`` is the longest single wait the client accepts:
    a ``Retry-After`` beyond it raises :class:`RateLimitedError` at once. Tokens are renewed
    ``renew_before`` seconds before they expire (at most a fifth of their lifetime before),
    and once more when the server refuses one. ``report_complexity`` asks extapi for the
    client's remaining budget on every answer (:attr:`Result.rate_limit`). ``clock`` and
    ``sleep`` may be replaced (tests); ``clock`` must be monotonic.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        max_wait: float = 60.0,
        auth_method: Literal["basic", "post"] = "basic",
        renew_before: float = 30.0,
        report_complexity: bool = False,
        auto_renew: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = Settings(
            base_url,
            client_id,
            client_secret,
            auth_method,
            max_retries,
            max_wait,
            renew_before,
            report_complexity,
            auto_renew,
        )
        self._own_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self._clock = clock
        self._sleep = sleep
        self._rng = random.Random()
        self._lock = asyncio.Lock()
        self._token: Token | None = None
        self.tokens_obtained = 0

    # --- plumbing ---------------------------------------------------------------------------
    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def token(self, stale: str | None = None) -> Token:
        """A usable access token: the cached one, or a new one (one renewal at a time)."""
        async with self._lock:
            if not reusable(self._token, self._clock(), self.settings.renew_before, stale):
                if self._token is not None and not self.settings.auto_renew and stale is None:
                    return self._token
                self._token = await self._run(token_flow(self.settings, self._clock()))
                self.tokens_obtained += 1
            assert self._token is not None
            return self._token

    async def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Send):
            request = effect.request
            try:
                response = await self._http.post(
                    request.url, content=request.content, headers=request.headers
                )
            except httpx.HTTPError as exc:
                return HttpFailure(f"{type(exc).__name__}: {exc}")
            headers = {k.lower(): v for k, v in response.headers.items()}
            return HttpResponse(response.status_code, headers, response.content, self._clock())
        if isinstance(effect, Sleep):
            await self._sleep(effect.seconds)
            return None
        if isinstance(effect, NeedToken):
            return await self.token(effect.stale)
        raise TypeError(effect)

    async def _run(self, flow: Flow) -> Any:
        """Run ``flow`` to its end, performing each effect it yields."""
        try:
            effect = next(flow)
            while True:
                effect = flow.send(await self._perform(effect))
        except StopIteration as stop:
            return stop.value

    async def _call(self, call: ops.Call[T]) -> T:
        return call.pick((await self.execute(call.query, call.variables)).data or {})

    async def _iterate(self, listing: ops.Listing[T]) -> AsyncIterator[T]:
        pager = listing.pager()
        while not pager.done:
            result = await self.execute(listing.query, pager.variables())
            for item in pager.absorb(result.data):
                yield item

    # --- GraphQL ----------------------------------------------------------------------------
    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        raise_errors: bool = True,
    ) -> Result:
        """Run one operation. Errors in the answer raise (see :mod:`extapi.client.errors`)
        unless ``raise_errors`` is False; then they are in :attr:`Result.errors`."""
        operation = Operation(query, variables, operation_name)
        result: Result = await self._run(
            execute_flow(self.settings, operation, raise_errors, self._rng)
        )
        return result

    async def batch(
        self, operations: Sequence[Operation | str], *, raise_errors: bool = True
    ) -> list[Result]:
        """Run several operations in one request (at most the server's batch size)."""
        chosen = [op if isinstance(op, Operation) else Operation(op) for op in operations]
        results: list[Result] = await self._run(
            batch_flow(self.settings, chosen, raise_errors, self._rng)
        )
        return results

    # --- typed helpers ----------------------------------------------------------------------
    async def status(self) -> dict[str, Any]:
        return await self._call(ops.status())

    def users(
        self,
        fields: Sequence[str] = ops.DEFAULT_USER_FIELDS,
        page_size: int | None = None,
        filters: Mapping[str, Any] | None = None,
        sort: Sequence[Mapping[str, Any]] | None = None,
    ) -> AsyncIterator[User]:
        """Every user (``core_user_users``), page after page; fields are checked first."""
        return self._iterate(ops.users_listing(fields, page_size, filters, sort))

    async def create_user(
        self, fields: Sequence[str] = ops.DEFAULT_USER_FIELDS, **input: Any
    ) -> User:
        return await self._call(ops.create_user(input, fields))

    async def update_user(
        self,
        target: Mapping[str, Any],
        fields: Sequence[str] = ops.DEFAULT_USER_FIELDS,
        **input: Any,
    ) -> User:
        return await self._call(ops.update_user(target, input, fields))

    async def delete_user(self, target: Mapping[str, Any]) -> str:
        return await self._call(ops.delete_user(target))

    def job_assignments(
        self,
        fields: Sequence[str] = ops.DEFAULT_JOB_FIELDS,
        page_size: int | None = None,
        filters: Mapping[str, Any] | None = None,
        sort: Sequence[Mapping[str, Any]] | None = None,
    ) -> AsyncIterator[JobAssignment]:
        return self._iterate(ops.job_assignments_listing(fields, page_size, filters, sort))

    async def job_assignment(
        self, target: Mapping[str, Any], fields: Sequence[str] = ops.DEFAULT_JOB_FIELDS
    ) -> JobAssignment | None:
        return await self._call(ops.job_assignment(target, fields))

    async def create_job_assignment(
        self, fields: Sequence[str] = ops.DEFAULT_JOB_FIELDS, **input: Any
    ) -> JobAssignment:
        return await self._call(ops.create_job_assignment(input, fields))

    async def update_job_assignment(
        self,
        target: Mapping[str, Any],
        fields: Sequence[str] = ops.DEFAULT_JOB_FIELDS,
        **input: Any,
    ) -> JobAssignment:
        return await self._call(ops.update_job_assignment(target, input, fields))

    async def delete_job_assignment(self, target: Mapping[str, Any]) -> str:
        return await self._call(ops.delete_job_assignment(target))

    def organisations(
        self,
        fields: Sequence[str] = ops.DEFAULT_HIERARCHY_FIELDS,
        page_size: int | None = None,
        filters: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        order_dir: str | None = None,
    ) -> AsyncIterator[Organisation]:
        listing = ops.organisations_listing(fields, page_size, filters, order_by, order_dir)
        return self._iterate(listing)

    def positions(
        self,
        fields: Sequence[str] = ops.DEFAULT_HIERARCHY_FIELDS,
        page_size: int | None = None,
        filters: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        order_dir: str | None = None,
    ) -> AsyncIterator[Position]:
        listing = ops.positions_listing(fields, page_size, filters, order_by, order_dir)
        return self._iterate(listing)
