"""Engines, connections and migrations for SQLite (embedded) and PostgreSQL (scale-out)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from server.guards import LOCK_BUDGET_S, Busy

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

log = logging.getLogger("grapevine.database")

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed 64-bit number: PostgreSQL workers starting together migrate one at a time.
_MIGRATION_LOCK = 0x67726170


def default_database_url() -> str:
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite+aiosqlite:///{data / 'grapevine' / 'grapevine.db'}"


def normalize_url(url: str | None) -> str:
    """Accept a SQLAlchemy URL, a plain postgresql:// URL or a path to a SQLite file."""
    url = url or os.environ.get("GRAPEVINE_DATABASE_URL") or default_database_url()
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if "://" not in url:
        return f"sqlite+aiosqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine: AsyncEngine | AsyncConnection) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str | None = None) -> AsyncEngine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, connect_args={"timeout": LOCK_BUDGET_S}, pool_timeout=LOCK_BUDGET_S
        )
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_async_engine(
            url,
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,
            pool_timeout=LOCK_BUDGET_S,
            # A writer waiting for a store's row lock longer than this gives up (503).
            connect_args={"server_settings": {"lock_timeout": str(int(LOCK_BUDGET_S * 1000))}},
        )
    raise ValueError(
        f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
    )


async def warm(engine: AsyncEngine, connections: int = 4) -> None:
    """Opens `connections` of a PostgreSQL engine's pool at once, at start, and keeps them.

    A connection is a process forked by PostgreSQL and a session set up (~20-40 ms on a busy
    2-core machine): opened on demand, the first pushes after a start (a deploy, a restart)
    waited for them, one per writer and per draft (see server.storage.PgStoreWriter), every
    worker at once. Best effort: a database not reachable now is met by the requests."""
    if is_sqlite(engine):
        return
    async with contextlib.AsyncExitStack() as stack:
        # (every attempt ends before the stack closes what was opened: none is left out)
        opened = await asyncio.gather(
            *(stack.enter_async_context(engine.connect()) for _ in range(connections)),
            return_exceptions=True,
        )
        errors = [e for e in opened if isinstance(e, BaseException)]
        if errors:
            if not all(isinstance(e, (OSError, exc.SQLAlchemyError)) for e in errors):
                raise errors[0]
            log.warning("the pool was not warmed: %s", errors[0])


# Pages in the WAL before a COMMIT checkpoints it itself (about 40 MB of log).
_AUTOCHECKPOINT_PAGES = 10_000
_CACHE_KIB = 64 * 1024  # per connection, an upper bound: pages are cached as they are read


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, and transactions we begin ourselves (IMMEDIATE for writers)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # pysqlite must not BEGIN on its own
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL checkpoints run on a thread of their own (server.storage.SqliteWriter); a COMMIT
        # checkpoints itself only if those fall this far behind (SQLite's default, 1,000
        # pages, made every few pushes' COMMIT copy the log and fsync the file, inline).
        cursor.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}")
        # Writers of this process queue in sqlite_writer; this is for other processes.
        cursor.execute(f"PRAGMA busy_timeout={int(LOCK_BUDGET_S * 1000)}")
        # A store of 100,000 records outgrows SQLite's default page cache (2 MB): each push
        # then re-read index pages at random (record ids are random UUIDs) from the OS. 50
        # devices pushing to one store went from 13,000 to 22,000 mutations/s with 64 MB.
        cursor.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        # A writer takes the write lock up front: upgrading a read transaction later can
        # fail with SQLITE_BUSY instead of waiting.
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


_writers: dict[tuple[object, object], asyncio.Lock] = {}


@asynccontextmanager
async def sqlite_writer(engine: AsyncEngine, budget_s: float | None = None) -> AsyncIterator[None]:
    """Writers of one SQLite database in this process take turns here, first come first
    served, instead of in SQLite's busy handler (which sleeps up to 100 ms between tries: under
    many concurrent pushes that, not the work, made the slowest ones slow).

    They wait holding no pooled connection, and one that waits longer than `budget_s` (the
    lock budget by default) is refused with Busy (503 + Retry-After), never a 500."""
    key = (engine.sync_engine, asyncio.get_running_loop())
    lock = _writers.get(key)
    if lock is None:
        lock = _writers[key] = asyncio.Lock()
    try:
        await asyncio.wait_for(lock.acquire(), LOCK_BUDGET_S if budget_s is None else budget_s)
    except TimeoutError:
        raise Busy("the database is busy with other writes: nothing was changed") from None
    try:
        yield
    finally:
        lock.release()


@asynccontextmanager
async def write_transaction(
    engine: AsyncEngine, budget_s: float | None = None
) -> AsyncIterator[AsyncConnection]:
    """One transaction that will write; on SQLite it holds the write lock from the start."""
    if is_sqlite(engine):
        async with sqlite_writer(engine, budget_s), engine.connect() as conn:
            conn = await conn.execution_options(sqlite_begin="IMMEDIATE")
            async with conn.begin():
                yield conn
        return
    async with engine.connect() as conn, conn.begin():
        yield conn


def is_busy(error: BaseException) -> bool:
    """Whether a database error means "busy right now" (a lock or the pool), not a bug."""
    if isinstance(error, exc.TimeoutError):  # no pooled connection within the budget
        return True
    if isinstance(error, exc.DBAPIError):
        text_ = str(error.orig).lower()
        return (
            "database is locked" in text_
            or "lock timeout" in text_
            or (type(error.orig).__name__ in ("LockNotAvailableError", "DeadlockDetectedError"))
        )
    return isinstance(error, sqlite3.OperationalError) and "database is locked" in str(error)


def _alembic_config(connection=None) -> Config:  # type: ignore[no-untyped-def]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(sync_connection) -> None:  # type: ignore[no-untyped-def]
    command.upgrade(_alembic_config(sync_connection), "head")


def _current_revision(sync_connection) -> str | None:  # type: ignore[no-untyped-def]
    return MigrationContext.configure(sync_connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


async def migrate(engine: AsyncEngine) -> None:
    """Apply pending migrations; concurrent callers on PostgreSQL take turns."""
    async with engine.connect() as conn:
        if await conn.run_sync(_current_revision) == head_revision():
            return
    async with engine.connect() as conn:
        if not is_sqlite(conn):
            # Workers starting together wait for each other's migrations however long.
            await conn.execute(text("SET lock_timeout = 0"))
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
        try:
            await conn.run_sync(_upgrade)
            await conn.commit()
        finally:
            if not is_sqlite(conn):
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                await conn.execute(text("RESET lock_timeout"))
                await conn.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current_revision)
