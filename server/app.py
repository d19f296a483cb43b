"""The Litestar application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from server import accounts
from server.auth import AuthController, account_error_handler, provide_caller
from server.database import create_engine, is_busy, migrate, warm
from server.deps import EngineDep
from server.guards import (
    Busy,
    Guards,
    bad_body_handler,
    log_exception,
    security_headers_hook,
)
from server.live import Hub, LiveController, redact_tickets_in_access_log
from server.openapi import PUBLIC, errors
from server.settings import Settings
from server.stores import StoreController
from server.web import SECURITY_HEADERS, serve_root, serve_web

MAX_BODY = 6 * 1024 * 1024  # a push may be 5 MB; the limit itself answers with a clear 413


class Health(msgspec.Struct):
    status: str
    database: str


@get("/api/health", tags=["health"], security=PUBLIC, responses=errors(503))
async def health(engine: EngineDep) -> Health:
    """200 when the server can reach its database."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return Health(status="ok", database=engine.dialect.name)


def _database_error(request: Request, error: Exception) -> Response:
    """A lock or the pool busy past its budget is 503 with Retry-After; anything else a 500."""
    if is_busy(error):
        busy = Busy("the server is busy: nothing was changed, try again shortly")
        return Response(
            {"status_code": 503, "detail": busy.detail}, status_code=503, headers=busy.headers
        )
    return Response({"status_code": 500, "detail": "Internal Server Error"}, status_code=500)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        if settings.migrate:
            await migrate(engine)
        if settings.demo:
            from server.demo import ensure_demo

            await ensure_demo(engine)
        await warm(engine)
        app.state.engine = engine
        app.state.guards = Guards()
        live = Hub(
            engine,
            heartbeat_s=settings.live_heartbeat_s,
            watch_s=settings.live_watch_s,
            audit_s=settings.live_audit_s,
        )
        await live.start()
        app.state.live = live
        redact_tickets_in_access_log()
        _tune_garbage_collector()
        try:
            yield
        finally:
            await live.stop()
            await engine.dispose()

    def provide_engine(request: Request) -> AsyncEngine:
        return request.app.state.engine

    def provide_live(request: Request) -> Hub:
        return request.app.state.live

    return Litestar(
        route_handlers=[
            health,
            AuthController,
            StoreController,
            *_sync_routes(),
            *_exchange_routes(),
            LiveController,
            serve_root,
            serve_web,
        ],
        dependencies={
            "engine": Provide(provide_engine, sync_to_thread=False),
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "live": Provide(provide_live, sync_to_thread=False),
            "caller": Provide(provide_caller),
        },
        lifespan=[lifespan],
        exception_handlers={
            accounts.AccountError: account_error_handler,
            RecursionError: bad_body_handler,
            UnicodeDecodeError: bad_body_handler,
            exc.DBAPIError: _database_error,
            exc.TimeoutError: _database_error,
        },
        # Every answer, errors and 404s included, carries the security headers.
        before_send=[security_headers_hook(SECURITY_HEADERS)],
        after_exception=[log_exception(lambda scope: scope["litestar_app"].logger)],
        request_max_body_size=MAX_BODY,
        openapi_config=OpenAPIConfig(
            title="Grapevine",
            version="1",
            path="/schema",
            # JSON only: the bundled viewers load scripts from CDNs our CSP rightly refuses.
            render_plugins=[JsonRenderPlugin()],
            description="Sync server for Grapevine, an offline-first informational networking app.",
            components=Components(
                security_schemes={"device_token": SecurityScheme(type="http", scheme="bearer")}
            ),
            # No default: each route that needs the token says so (security=BEARER), so the
            # public ones (health, login, pair, the calendar feed) declare none.
        ),
        # A 500 is always a bug: its traceback is logged (log_exception), never shown. A
        # client's mistake (4xx) is one line at info, so hostile traffic cannot flood the log.
        logging_config=LoggingConfig(log_exceptions="never"),
        debug=False,
    )


def _tune_garbage_collector() -> None:
    """Keep the cycle collector off the hot path of a push.

    A push builds thousands of small dicts and lists; with the default thresholds the
    collector runs every 700 allocations and rescans the whole long-lived heap (the app,
    SQLAlchemy's metadata), which measured at over half the engine's time. Objects alive
    after start-up are frozen out of its scans, and young ones are collected less often.
    """
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def _sync_routes() -> list:
    try:
        from server.sync_routes import SyncController
    except ImportError:
        return []
    return [SyncController]


def _exchange_routes() -> list:
    from server.exchange import ROUTES

    return ROUTES


app_factory = create_app
