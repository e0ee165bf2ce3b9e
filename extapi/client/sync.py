"""``Client``: the blocking shell around :mod:`extapi.client.protocol`, on ``httpx.Client``."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    drive_sync,
    execute_flow,
    token_flow,
)
from extapi.client.tokens import Token, reusable

__all__ = ["Client"]

T = TypeVar("T")
DEFAULT_TIMEOUT = 30.0


class Client:
    """A blocking client for a Totara-compatible External API (extapi or Totara itself).

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
        http: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        max_wait: float = 60.0,
        auth_method: Literal["basic", "post"] = "basic",
        renew_before: float = 30.0,
        report_complexity: bool = False,
        auto_renew: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
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
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._clock = clock
        self._sleep = sleep
        self._rng = random.Random()
        self._lock = threading.Lock()
        self._token: Token | None = None
        self.tokens_obtained = 0

    # --- plumbing ---------------------------------------------------------------------------
    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def token(self, stale: str | None = None) -> Token:
        """A usable access token: the cached one, or a new one (one renewal at a time)."""
        with self._lock:
            if not reusable(self._token, self._clock(), self.settings.renew_before, stale):
                if self._token is not None and not self.settings.auto_renew and stale is None:
                    return self._token
                self._token = self._run(token_flow(self.settings, self._clock()))
                self.tokens_obtained += 1
            assert self._token is not None
            return self._token

    def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Send):
            request = effect.request
            try:
                response = self._http.post(
                    request.url, content=request.content, headers=request.headers
                )
            except httpx.HTTPError as exc:
                return HttpFailure(f"{type(exc).__name__}: {exc}")
            headers = {k.lower(): v for k, v in response.headers.items()}
            return HttpResponse(response.status_code, headers, response.content, self._clock())
        if isinstance(effect, Sleep):
            self._sleep(effect.seconds)
            return None
        if isinstance(effect, NeedToken):
            return self.token(effect.stale)
        raise TypeError(effect)

    def _run(self, flow: Flow) -> Any:
        return drive_sync(flow, self._perform)

    def _call(self, call: ops.Call[T]) -> T:
        return call.pick(self.execute(call.query, call.variables).data or {})

    def _iterate(self, listing: ops.Listing[T]) -> Iterator[T]:
        pager = listing.pager()
        while not pager.done:
            yield from pager.absorb(self.execute(listing.query, pager.variables()).data)

    # --- GraphQL ----------------------------------------------------------------------------
    def execute(
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
        result: Result = self._run(execute_flow(self.settings, operation, raise_errors, self._rng))
        return result

    def batch(
        self, operations: Sequence[Operation | str], *, raise_errors: bool = True
    ) -> list[Result]:
        """Run several operations in one request (at most the server's batch size)."""
        chosen = [op if isinstance(op, Operation) else Operation(op) for op in operations]
        results: list[Result] = self._run(
            batch_flow(self.settings, chosen, raise_errors, self._rng)
        )
        return results

    # --- typed helpers ----------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return self._call(ops.status())

    def users(
        self,
        fields: Sequence[str] = ops.DEFAULT_USER_FIELDS,
        page_size: int | None = None,
        filters: Mapping[str, Any] | None = None,
        sort: Sequence[Mapping[str, Any]] | None = None,
    ) -> Iterator[User]:
        """Every user (``core_user_users``), page after page; fields are checked first."""
        return self._iterate(ops.users_listing(fields, page_size, filters, sort))

    def create_user(self, fields: Sequence[str] = ops.DEFAULT_USER_FIELDS, **input: Any) -> User:
        return self._call(ops.create_user(input, fields))

    def update_user(
        self,
        target: Mapping[str, Any],
        fields: Sequence[str] = ops.DEFAULT_USER_FIELDS,
        **input: Any,
    ) -> User:
        return self._call(ops.update_user(target, input, fields))

    def delete_user(self, target: Mapping[str, Any]) -> str:
        return self._call(ops.delete_user(target))

    def job_assignments(
        self,
        fields: Sequence[str] = ops.DEFAULT_JOB_FIELDS,
        page_size: int | None = None,
        filters: Mapping[str, Any] | None = None,
        sort: Sequence[Mapping[str, Any]] | None = None,
    ) -> Iterator[JobAssignment]:
        return self._iterate(ops.job_assignments_listing(fields, page_size, filters, sort))

    def job_assignment(
        self, target: Mapping[str, Any], fields: Sequence[str] = ops.DEFAULT_JOB_FIELDS
    ) -> JobAssignment | None:
        return self._call(ops.job_assignment(target, fields))

    def create_job_assignment(
        self, fields: Sequence[str] = ops.DEFAULT_JOB_FIELDS, **input: Any
    ) -> JobAssignment:
        return self._call(ops.create_job_assignment(input, fields))

    def update_job_assignment(
        self,
        target: Mapping[str, Any],
        fields: Sequence[str] = ops.DEFAULT_JOB_FIELDS,
        **input: Any,
    ) -> JobAssignment:
        return self._call(ops.update_job_assignment(target, input, fields))

    def delete_job_assignment(self, target: Mapping[str, Any]) -> str:
        return self._call(ops.delete_job_assignment(target))

    def organisations(
        self,
        fields: Sequence[str] = ops.DEFAULT_HIERARCHY_FIELDS,
        page_size: int | None = None,
        filters: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        order_dir: str | None = None,
    ) -> Iterator[Organisation]:
        listing = ops.organisations_listing(fields, page_size, filters, order_by, order_dir)
        return self._iterate(listing)

    def positions(
        self,
        fields: Sequence[str] = ops.DEFAULT_HIERARCHY_FIELDS,
        page_size: int | None = None,
        filters: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        order_dir: str | None = None,
    ) -> Iterator[Position]:
        listing = ops.positions_listing(fields, page_size, filters, order_by, order_dir)
        return self._iterate(listing)
