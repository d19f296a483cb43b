"""Migrations and models agree, on both engines; migrating is idempotent; SQLite runs in WAL."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server import accounts
from server.database import (
    _alembic_config,
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


# records.store_id is kept by triggers, not a foreign key (migration 0005): the same guarantee.
_RECORD = (
    "INSERT INTO records (store_id, id, entity, version, seq, deleted, fields, meta, updated_ms)"
    " VALUES (:store, :id, 'person', 1, :seq, false, '{}', '{}', 0)"
)


async def _store_with_a_record(engine: AsyncEngine) -> tuple[str, str]:
    async with write_transaction(engine) as conn:
        _, store_id = await accounts.create_user(conn, f"fk-{uuid.uuid4().hex[:12]}@example.com")
        record_id = str(uuid.uuid4())
        await conn.execute(text(_RECORD), {"store": store_id, "id": record_id, "seq": 1})
    return store_id, record_id


async def _records(engine: AsyncEngine, store_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id FROM records WHERE store_id = :s ORDER BY seq"), {"s": store_id}
        )
        return [r[0] for r in rows]


async def test_a_record_must_name_a_store_that_exists(fresh):
    await migrate(fresh)
    store_id, record_id = await _store_with_a_record(fresh)
    nowhere = str(uuid.uuid4())
    with pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"):
        async with write_transaction(fresh) as conn:
            await conn.execute(text(_RECORD), {"store": nowhere, "id": str(uuid.uuid4()), "seq": 1})
    # Many rows in one statement, one of them naming no store: none is written.
    many = (
        "INSERT INTO records (store_id, id, entity, version, seq, deleted, fields, meta,"
        " updated_ms) VALUES (:a, :x, 'person', 1, 2, false, '{}', '{}', 0),"
        " (:b, :y, 'person', 1, 3, false, '{}', '{}', 0)"
    )
    with pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"):
        async with write_transaction(fresh) as conn:
            ids = {"x": str(uuid.uuid4()), "y": str(uuid.uuid4())}
            await conn.execute(text(many), {"a": store_id, "b": nowhere, **ids})
    assert await _records(fresh, store_id) == [record_id]
    assert await _records(fresh, nowhere) == []


async def test_a_record_cannot_move_to_another_store(fresh):
    await migrate(fresh)
    store_id, record_id = await _store_with_a_record(fresh)
    other, _ = await _store_with_a_record(fresh)
    for target in (other, str(uuid.uuid4())):
        with pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"):
            async with write_transaction(fresh) as conn:
                await conn.execute(
                    text("UPDATE records SET store_id = :t WHERE id = :r"),
                    {"t": target, "r": record_id},
                )
    assert await _records(fresh, store_id) == [record_id]
    # An update that keeps the store is fine (a push's upsert).
    async with write_transaction(fresh) as conn:
        await conn.execute(
            text("UPDATE records SET version = 2, store_id = :s WHERE id = :r"),
            {"s": store_id, "r": record_id},
        )


async def test_deleting_a_store_deletes_its_records_and_its_id_is_fixed_while_it_has_any(fresh):
    await migrate(fresh)
    store_id, record_id = await _store_with_a_record(fresh)
    other, other_record = await _store_with_a_record(fresh)
    with pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"):
        async with write_transaction(fresh) as conn:
            await conn.execute(
                text("UPDATE stores SET id = :n WHERE id = :s"),
                {"n": str(uuid.uuid4()), "s": store_id},
            )
    assert await _records(fresh, store_id) == [record_id]
    async with write_transaction(fresh) as conn:
        await conn.execute(text("DELETE FROM stores WHERE id = :s"), {"s": store_id})
    assert await _records(fresh, store_id) == []
    assert await _records(fresh, other) == [other_record]


async def test_records_written_before_migration_0005_are_kept(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        async with engine.connect() as conn:
            await conn.run_sync(lambda c: command.upgrade(_alembic_config(c), "0004"))
            await conn.commit()
        store_id, record_id = await _store_with_a_record(engine)
        await migrate(engine)
        assert await _records(engine, store_id) == [record_id]
        with pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"):
            async with write_transaction(engine) as conn:
                params = {"store": str(uuid.uuid4()), "id": str(uuid.uuid4()), "seq": 1}
                await conn.execute(text(_RECORD), params)
    finally:
        await engine.dispose()
