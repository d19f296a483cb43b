"""HTTP routes for getting people in and out: import (preview, then apply with progress),
restore of a backup into a new store, and the calendar feed with its secret URL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import anyio
import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, RawBody
from litestar.response import Stream

from server import calendar_feed, exporters, importers
from server.database import write_transaction
from server.deps import CallerDep, EngineDep
from server.live import LiveDep
from server.openapi import BEARER, errors
from server.stores import StoreInfo, require_role

log = logging.getLogger(__name__)
_MAX_IMPORT_BODY = 2 * importers.MAX_FILE_BYTES + 1024


class ImportRequest(msgspec.Struct, forbid_unknown_fields=True):
    format: str
    content: str


class ImportCounts(msgspec.Struct):
    created: int
    updated: int
    skipped: int


class OrganizationCounts(msgspec.Struct):
    created: int
    matched: int


class RefusedRow(msgspec.Struct):
    row: str
    reason: str


class ImportPreview(msgspec.Struct):
    people: ImportCounts
    organizations: OrganizationCounts
    refused: list[RefusedRow]
    mutations: int


class CalendarFeedInfo(msgspec.Struct):
    active: bool
    created_ms: int | None = None
    path: str | None = None  # only when just made: the token is never stored


def _plan_error(exc: importers.ImportFileError) -> HTTPException:
    return HTTPException(status_code=400, detail=str(exc))


class ImportController(Controller):
    path = "/api/stores/{store_id:str}/import"
    tags = ["import"]
    request_max_body_size = _MAX_IMPORT_BODY
    security = BEARER

    @post("/preview", status_code=200, responses=errors(400, 401, 403, 404, 413, 503))
    async def preview(
        self,
        store_id: FromPath[str],
        data: JSONBody[ImportRequest],
        caller: CallerDep,
        engine: EngineDep,
    ) -> ImportPreview:
        """What importing this file would do: people and organizations created, updated and
        left unchanged, and the rows refused with the reason. Nothing is written."""
        async with engine.connect() as conn:
            await require_role(conn, caller, store_id, write=True)
            try:
                plan = await importers.preview(conn, store_id, data.format, data.content)
            except importers.ImportFileError as exc:
                raise _plan_error(exc) from None
        return msgspec.convert(plan.summary(), ImportPreview)

    @post("/", status_code=200, responses=errors(400, 401, 403, 404, 413, 503))
    async def apply(
        self,
        store_id: FromPath[str],
        data: JSONBody[ImportRequest],
        caller: CallerDep,
        engine: EngineDep,
        live: LiveDep,
    ) -> Stream:
        """Import a file through the sync engine. The answer is NDJSON: `{"done": n, "total":
        t}` lines as batches commit, then one `{"summary": …}` line, or `{"error": …,
        "status": …}` when it stopped (busy, 503; the batches before it are imported, and
        importing the file again finishes it)."""
        async with engine.connect() as conn:
            await require_role(conn, caller, store_id, write=True)
            try:
                plan = await importers.preview(conn, store_id, data.format, data.content)
            except importers.ImportFileError as exc:
                raise _plan_error(exc) from None
        send, receive = anyio.create_memory_object_stream[bytes](100)

        async def run() -> None:
            async with send:

                async def progress(done: int, total: int) -> None:
                    await send.send(msgspec.json.encode({"done": done, "total": total}) + b"\n")

                await send.send(
                    msgspec.json.encode({"done": 0, "total": len(plan.mutations)}) + b"\n"
                )
                try:
                    summary = await importers.apply(
                        engine, store_id, caller.user_id, plan, progress, live
                    )
                except HTTPException as exc:  # busy: the batches before it stay imported
                    line = {"error": exc.detail, "status": exc.status_code}
                except Exception:
                    log.exception("import into %s failed", store_id)
                    line = {"error": "the import stopped on a server error", "status": 500}
                else:
                    line = {"summary": summary}
                await send.send(msgspec.json.encode(line) + b"\n")

        async def lines() -> AsyncIterator[bytes]:
            async with anyio.create_task_group() as group:
                group.start_soon(run)
                async with receive:
                    async for line in receive:
                        yield line

        return Stream(lines(), media_type="application/x-ndjson")


class ExchangeController(Controller):
    path = "/api"
    tags = ["export"]
    security = BEARER

    @post(
        "/restore",
        status_code=201,
        request_max_body_size=_MAX_IMPORT_BODY,
        responses=errors(400, 401, 413, 503),
    )
    async def restore(
        self,
        body: RawBody,
        caller: CallerDep,
        engine: EngineDep,
        name: FromQuery[str | None] = None,
    ) -> StoreInfo:
        """Load a JSON backup (docs/backup.md) into a new store owned by the caller, named
        `name` (a query parameter) or as in the backup."""
        try:
            result = await exporters.restore(engine, caller.user_id, body, name)
        except exporters.BackupError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return StoreInfo(id=result["store_id"], name=result["name"], role="owner")

    @get("/calendar", responses=errors(401))
    async def calendar_info(self, caller: CallerDep, engine: EngineDep) -> CalendarFeedInfo:
        """Whether the caller has a calendar feed (its URL was shown when it was made)."""
        async with engine.connect() as conn:
            created = await calendar_feed.feed_info(conn, caller.user_id)
        return CalendarFeedInfo(active=created is not None, created_ms=created)

    @post("/calendar", status_code=201, responses=errors(401, 503))
    async def calendar_create(self, caller: CallerDep, engine: EngineDep) -> CalendarFeedInfo:
        """A new secret feed URL (path); the previous one, if any, stops working."""
        async with write_transaction(engine) as conn:
            token = await calendar_feed.create_feed(conn, caller.user_id)
            created = await calendar_feed.feed_info(conn, caller.user_id)
        return CalendarFeedInfo(True, created, calendar_feed.feed_path(token))

    @delete("/calendar", status_code=204, responses=errors(401, 503))
    async def calendar_revoke(self, caller: CallerDep, engine: EngineDep) -> None:
        """Revoke the feed: its URL answers 404 from now on."""
        async with write_transaction(engine) as conn:
            await calendar_feed.revoke_feed(conn, caller.user_id)


@get("/calendar/{token:str}", tags=["calendar"], security=[], responses=errors(404))
async def calendar_ics(token: FromPath[str], request: Request, engine: EngineDep) -> Response:
    """The iCalendar feed behind a secret URL (no device token: calendar apps cannot send one)."""
    token = token.removesuffix(".ics")
    async with engine.connect() as conn:
        user_id = await calendar_feed.user_for_token(conn, token) if token else None
        if user_id is None:
            raise NotFoundException("no such calendar")
        base = str(request.base_url).rstrip("/")
        body = await calendar_feed.build_feed(conn, user_id, base)
    return Response(
        body,
        media_type="text/calendar",  # Litestar adds "; charset=utf-8"
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": 'inline; filename="grapevine.ics"',
        },
    )


ROUTES = [ImportController, ExchangeController, calendar_ics]
