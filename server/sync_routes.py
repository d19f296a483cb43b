"""Push and pull: thin handlers over the sync engine (sync.push) and its SQL storage."""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Awaitable

import msgspec
from litestar import Controller, MediaType, Request, Response, post
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.params import FromPath, RawBody
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

import sync
from server import accounts
from server.auth import bearer_token, provide_caller, unknown_token
from server.database import is_busy, is_sqlite, write_transaction
from server.deps import CallerDep, EngineDep
from server.guards import Busy
from server.live import LiveDep
from server.openapi import BEARER, errors, pull_operation, push_errors, push_operation
from server.storage import (
    CLOCK_LOCK,
    HISTORY_DAYS,
    Refused,
    client_progress,
    prune_text_history,
    pull_changes,
    push_postgres,
    push_sqlite,
)
from server.stores import WRITERS, require_role
from sync._protocol import excerpt

# One clock per server process: it stamps pull answers and clamps clients' fast clocks.
CLOCK = sync.HLC("server")
_PRUNE_EVERY_S = 3600
_last_prune = 0.0


# A body over this is refused before it is read whole; up to it, a too-large push is still
# answered with its client's last_mutation_id.
_READ_LIMIT = 4 * sync.MAX_BODY_BYTES
_Pushed = tuple[sync.PushResponse, int | None]


class _ClientOnly(msgspec.Struct):
    client_id: str


def _envelope_error(status: int, detail: str, last_mutation_id: int | None) -> Response:
    body = sync.PushError(status_code=status, detail=detail, last_mutation_id=last_mutation_id)
    return Response(body, status_code=status)


def _http_error_as_envelope(_: Request, exc: HTTPException) -> Response:
    """Auth, membership, size and busy errors on push answer in the push envelope too."""
    response = _envelope_error(exc.status_code, exc.detail, None)
    response.headers.update(exc.headers or {})
    return response


def _busy_as_envelope(request: Request, exc: Exception) -> Response:
    """A lock or the pool busy beyond the budget: 503, nothing applied, retry later."""
    if not is_busy(exc):
        raise exc
    return _http_error_as_envelope(request, Busy("the store is busy: nothing was applied"))


async def _last_mutation_id(engine, caller, store_id: str, body: bytes) -> int | None:  # type: ignore[no-untyped-def]
    """The client's progress for an envelope error, when the body names a client we know."""
    try:
        client_id = msgspec.json.decode(body, type=_ClientOnly).client_id
    except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError):
        return None
    async with engine.connect() as conn:
        await require_role(conn, caller, store_id, write=True)
        return await client_progress(conn, store_id, client_id)


class SyncController(Controller):
    path = "/api/stores/{store_id:str}"
    tags = ["sync"]

    @post(
        "/push",
        status_code=200,
        request_max_body_size=_READ_LIMIT,
        exception_handlers={
            HTTPException: _http_error_as_envelope,
            DBAPIError: _busy_as_envelope,
            PoolTimeout: _busy_as_envelope,
            sqlite3.OperationalError: _busy_as_envelope,
        },
        security=BEARER,
        responses=push_errors(400, 401, 403, 404, 409, 413, 503),
        operation_class=push_operation,
    )
    async def push(
        self,
        request: Request,
        store_id: FromPath[str],
        engine: EngineDep,
        live: LiveDep,
        body: RawBody,
    ) -> Response[sync.PushResponse | sync.PushError]:
        """Apply a batch of mutations in one transaction (protocol v1, docs/protocol.md).

        Envelope errors (malformed JSON, over 1,000 mutations or 5 MB, a gap in mutation ids)
        refuse the whole batch and apply nothing; content errors reject one mutation.
        """
        # The device token is checked inside the push's own transaction (one statement with
        # the role check, no connection of its own): a revoked device is refused from the
        # revoking COMMIT on, as on every route. Whatever answer is not the push's own is
        # given only to a valid token: those paths authenticate first (`provide_caller`), so a
        # bad token is answered 401 before anything else, as it always was. Except "busy"
        # (503, nothing applied, retry later): it tells nothing of the store, and checking
        # the token then would wait for the very pool or writer that is busy.
        token_hash = accounts.hash_token(bearer_token(request))
        try:
            return await self._push(request, store_id, engine, live, body, token_hash)
        except NotAuthorizedException:
            raise
        except Exception as exc:
            if not (isinstance(exc, Busy) or is_busy(exc)):
                await provide_caller(request, engine)  # 401 first, if that is what it is
            raise

    async def _push(
        self,
        request: Request,
        store_id: str,
        engine: EngineDep,
        live: LiveDep,
        body: bytes,
        token_hash: str,
    ) -> Response[sync.PushResponse | sync.PushError]:
        if len(body) > sync.MAX_BODY_BYTES:
            caller = await provide_caller(request, engine)
            detail = f"push body is {len(body):,} bytes; the limit is {sync.MAX_BODY_BYTES:,}"
            last = await _last_mutation_id(engine, caller, store_id, body)
            return _envelope_error(413, detail, last)
        try:
            push = msgspec.json.decode(body, type=sync.PushRequest)
        except msgspec.ValidationError as exc:
            caller = await provide_caller(request, engine)
            last = await _last_mutation_id(engine, caller, store_id, body)
            return _envelope_error(400, f"invalid push: {exc}", last)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            await provide_caller(request, engine)
            if isinstance(exc, UnicodeDecodeError):
                return _envelope_error(400, "malformed JSON: the body is not valid UTF-8", None)
            if isinstance(exc, RecursionError):
                return _envelope_error(400, "malformed JSON: nested too deeply", None)
            return _envelope_error(400, f"malformed JSON: {exc}", None)
        try:
            if is_sqlite(engine):
                # One process, or others that re-read positions: no message to send with it.
                result, seq = await _refused_as_http(
                    store_id,
                    push_sqlite(
                        engine, None, None, store_id, push, CLOCK, WRITERS, token_hash=token_hash
                    ),
                )
            else:  # other processes hear of it on commit only (NOTIFY, live.notice)
                result, seq = await _refused_as_http(
                    store_id,
                    push_postgres(
                        engine,
                        None,
                        None,
                        store_id,
                        push,
                        CLOCK,
                        WRITERS,
                        functools.partial(live.notice, store_id, client_id=push.client_id),
                        token_hash=token_hash,
                    ),
                )
        except sync.EnvelopeError as exc:
            await provide_caller(request, engine)
            return _envelope_error(exc.status, exc.detail, exc.last_mutation_id)
        if seq is not None:  # committed: poke this process's other streams of the store
            live.publish(store_id, seq, push.client_id)
        await _maybe_prune(engine)
        return Response(result)

    @post(
        "/pull",
        status_code=200,
        security=BEARER,
        responses=errors(400, 401, 404, 413, 503),
        operation_class=pull_operation,
    )
    async def pull(
        self,
        store_id: FromPath[str],
        body: RawBody,
        caller: CallerDep,
        engine: EngineDep,
    ) -> Response[sync.PullResponse]:
        """Changes after a cursor, each record once at its latest state, paged by `limit`.

        `reset: true` means the cursor cannot be served: drop the local copy and pull from "".
        """
        try:  # strictly, like push: `"limit": "5"` is a client bug, not a number
            data = msgspec.json.decode(body, type=sync.PullRequest)
        except msgspec.ValidationError as exc:
            raise HTTPException(status_code=400, detail=f"invalid pull: {exc}") from None
        except msgspec.DecodeError as exc:
            raise HTTPException(status_code=400, detail=f"malformed JSON: {exc}") from None
        try:
            sync.validate_client_id(data.client_id)
        except sync.EnvelopeError as exc:
            raise HTTPException(status_code=400, detail=exc.detail) from None
        if data.limit < 1:
            raise HTTPException(status_code=400, detail="limit must be at least 1")
        async with engine.connect() as conn:
            await require_role(conn, caller, store_id)
            with CLOCK_LOCK:
                hlc = CLOCK.tick()
            page = await pull_changes(conn, store_id, data.client_id, data.cursor, data.limit, hlc)
        return Response(page.encode(), media_type=MediaType.JSON)


async def _refused_as_http(store_id: str, push: Awaitable[_Pushed]) -> _Pushed:
    """A push's answer and the store's new position; 404 or 403 when the caller may not."""
    try:
        return await push
    except Refused as refused:
        if refused.status == 401:
            raise unknown_token() from None
        if refused.status == 404:
            raise NotFoundException(f"no store {excerpt(store_id)}") from None
        raise PermissionDeniedException(
            f"a {refused.role} of this store cannot write to it"
        ) from None


async def _maybe_prune(engine: EngineDep) -> None:
    global _last_prune
    if time.monotonic() - _last_prune < _PRUNE_EVERY_S:
        return
    _last_prune = time.monotonic()
    cut = int(time.time() * 1000) - HISTORY_DAYS * 86_400_000
    async with write_transaction(engine) as conn:
        await prune_text_history(conn, cut)
