"""Migrations and models agree, on both engines; migrating is idempotent; SQLite runs in WAL."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from server import accounts
from server.database import (
    create_engine,
    current_revision,
    head_revision,
    migrate,
    write_transaction,
)
from server.models import Base, User


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new SQLite file, or the session's PostgreSQL database (shared, migrations only)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def fresh(fresh_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _differences(sync_connection) -> list:  # type: ignore[no-untyped-def]
    context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_migrations_create_exactly_the_models(fresh):
    await migrate(fresh)
    async with fresh.connect() as conn:
        differences = await conn.run_sync(_differences)
    assert differences == []


async def test_the_migrated_database_is_at_head(fresh):
    await migrate(fresh)
    head = head_revision()
    assert head is not None
    assert await current_revision(fresh) == head


async def test_a_fresh_sqlite_file_has_no_revision_before_migrate(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        assert await current_revision(engine) is None
        await migrate(engine)
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_migrating_again_is_harmless_and_keeps_data(fresh, fresh_url):
    await migrate(fresh)
    async with write_transaction(fresh) as conn:
        user_id, _ = await accounts.create_user(conn, f"keep-{uuid.uuid4().hex[:12]}@example.com")
    await migrate(fresh)
    second = create_engine(fresh_url)  # as a second process would open it
    try:
        await migrate(second)
        assert await current_revision(second) == head_revision()
        async with second.connect() as conn:
            count = (
                await conn.execute(select(func.count()).select_from(User).where(User.id == user_id))
            ).scalar_one()
    finally:
        await second.dispose()
    assert count == 1


async def test_sqlite_runs_in_wal_mode(tmp_path):
    path = tmp_path / "wal.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
    finally:
        await engine.dispose()
    assert mode.lower() == "wal"
    # WAL is a property of the file: any other connection, ours or not, sees it too.
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"


async def test_a_plain_path_and_a_sqlite_url_name_the_same_file(tmp_path):
    path = tmp_path / "same.db"
    engine = create_engine(str(path))
    try:
        await migrate(engine)
        assert make_url(str(engine.url)).database == str(path.resolve())
    finally:
        await engine.dispose()
    assert path.is_file()
