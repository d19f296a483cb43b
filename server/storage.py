"""The sync engine's storage on SQL: one store, inside one transaction (sync.Backend)."""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import sync
from server.accounts import TOUCH_EVERY_MS, is_id, now_ms
from server.database import sqlite_writer
from server.guards import LOCK_BUDGET_S, Busy
from server.live import CHANNEL
from server.models import Client, Store

log = logging.getLogger("grapevine.storage")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_CHUNK = 900  # ids per IN (...): well under SQLite's limit on bound parameters
HISTORY_DAYS = 90


def _upsert_sql(table: str, keys: tuple[str, ...], others: tuple[str, ...]) -> str:
    """INSERT … ON CONFLICT DO UPDATE, the same on SQLite and PostgreSQL but for placeholders.

    The hot path of a push writes hundreds of rows: handing the driver plain tuples keeps
    the per-row cost at what the database itself needs.
    """
    columns = keys + others
    updates = ", ".join(f"{c} = excluded.{c}" for c in others)
    marks = ", ".join("{}" for _ in columns)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )


_UPSERT_RECORDS = _upsert_sql(
    "records",
    ("store_id", "id"),
    ("entity", "version", "seq", "deleted", "fields", "meta", "updated_ms"),
)
_UPSERT_HISTORY = _upsert_sql(
    "text_history",
    ("store_id", "record_id", "field", "version"),
    ("client_id", "value", "written", "created_ms"),
)


# Statements of the push path, written once for both databases ("{}" marks a parameter).
_LOCK_STORE = "SELECT seq FROM stores WHERE id = {}"
_LOCK_STORE_PG = _LOCK_STORE + " FOR UPDATE"
# On PostgreSQL the writers of a store first queue for it here, then take its row (FOR
# UPDATE): a lock's waiters are served first come, first served, and the row's are not.
# Each writer updates the row it locked (the store's seq), so a waiter woken at the COMMIT
# finds the version it waited for replaced, and chases the new one in a race with every
# other waiter and newcomer. Timed with 4 workers x 50 devices (`python -m bench`), one group
# of pushes in five was overtaken that way, some by 5 to 11 later ones, waiting up to 657 ms
# for the lock where a round of the others took ~150; queued here, none was, and the longest
# wait was 166-230 ms. (Two keys: 0x67726170 is this application's, the store's id hashed is
# the other; two stores that share a hash share a queue, which is harmless.)
_QUEUE_PG = "SELECT pg_advisory_xact_lock(1735549296, hashtext({}))"
_ROLE = "SELECT role FROM memberships WHERE store_id = {} AND user_id = {}"
# A push's device, by its token's hash (a revoked one is not found), with its role in the store.
_CALLER = (
    "SELECT d.id, d.user_id, d.last_seen_ms, m.role FROM devices d"
    " LEFT JOIN memberships m ON m.store_id = {} AND m.user_id = d.user_id"
    " WHERE d.token_hash = {} AND d.revoked_ms IS NULL"
)
_TOUCH = "UPDATE devices SET last_seen_ms = {} WHERE id = {}"
_CLIENT = "SELECT device_id, last_mutation_id FROM clients WHERE store_id = {} AND client_id = {}"
_LOAD_COLUMNS = "id, entity, version, deleted, fields, meta"


def _by_ids(columns: str, ids: str, store: str) -> str:
    """PostgreSQL: `columns` of `r`, the records of `store` whose ids are in `ids` (one text
    parameter, see _joined), each looked up by the primary key.

    PostgreSQL plans `id IN (500 parameters)` anew each time; one parameter it does not.
    Written `store_id = $1 AND id = ANY(...)`, a table not analyzed since it grew (a new
    store's first sync, an import: autovacuum comes a minute later) took 0.5% of its rows to
    be the store's, and read every row of the store through the (store_id, seq) index for
    each push: pushes of 100 new people into one store took 8 ms each at first, 148 at
    15,000 records (and flat at 8 since). One lookup per id (LATERAL, kept apart by its
    LIMIT) is planned on the unique key whatever the statistics say: ~0.4 ms for 100 ids at
    any size."""
    return (
        f"SELECT {columns} FROM unnest(string_to_array({ids}::text, chr(30))) AS w(id),"
        f" LATERAL (SELECT * FROM records WHERE store_id = {store} AND id = w.id LIMIT 1) AS r"
    )


_LOAD_PG = _by_ids("r.id, r.entity, r.version, r.deleted, r.fields, r.meta", "$2", "$1")
# Many values as one text parameter, split by PostgreSQL (string_to_array): asyncpg encodes
# an array parameter by asking of each element, in Python, whether it is itself an array
# (two isinstance checks against collections.abc), which cost more than the merge of the
# row itself. The separator, U+001E, is in no id, entity name or JSON text that msgspec
# writes (it escapes control characters); _joined checks that it is in none of the values.
_SEP = "\x1e"


def _joined(values: Sequence[str]) -> str:
    text = _SEP.join(values)
    if text.count(_SEP) != len(values) - 1 or not values:
        raise ValueError("a value to write holds U+001E or there is none")
    return text


def _numbers(values: Sequence[int]) -> str:
    """Integers (or booleans: PostgreSQL reads True and False) as one text, comma-separated."""
    return ",".join(map(str, values))


# Referrers through the record_refs index (never a scan of records' JSON under the lock).
_REFERRERS = "SELECT record_id FROM record_refs WHERE store_id = {} AND target_id = {}"
_ADD_REF = (
    "INSERT INTO record_refs (store_id, target_id, record_id) VALUES ({}, {}, {})"
    " ON CONFLICT DO NOTHING"
)
_DROP_REF = "DELETE FROM record_refs WHERE store_id = {} AND target_id = {} AND record_id = {}"
# Per entity, the fields that name another record (what record_refs indexes).
_REF_FIELDS = {name: tuple(entity.refs) for name, entity in sync.ENTITIES.items() if entity.refs}


_NONE: frozenset[str] = frozenset()


def _targets(entity: str, fields: dict[str, Any]) -> set[str]:
    return {v for f in _REF_FIELDS.get(entity, ()) if isinstance(v := fields.get(f), str)}


_TEXT_AT = (
    "SELECT version, value, written FROM text_history WHERE store_id = {} AND record_id = {}"
    " AND field = {} AND (version <= {} OR client_id = {}) ORDER BY version DESC LIMIT 1"
)
_SET_SEQ = "UPDATE stores SET seq = {} WHERE id = {}"
_CLIENT_PROGRESS = "UPDATE clients SET last_mutation_id = {} WHERE store_id = {} AND client_id = {}"
_NEW_CLIENT = (
    "INSERT INTO clients (store_id, client_id, device_id, last_mutation_id, created_ms)"
    " VALUES ({}, {}, {}, {}, {})"
)


@functools.lru_cache(maxsize=4096)
def _render(template: str, postgres: bool) -> str:
    count = template.count("{}")
    if postgres:
        return template.format(*(f"${n}" for n in range(1, count + 1)))
    return template.format(*("?" * count))


class _Driver:
    """Runs a statement: on a SQLAlchemy connection, or on a sqlite3 connection directly."""

    postgres = False

    async def rows(self, template: str, params: Sequence[Any]) -> list[Any]:
        raise NotImplementedError

    async def run(self, template: str, params: Sequence[Any]) -> None:
        raise NotImplementedError

    async def many(self, template: str, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError


class _AsyncDriver(_Driver):
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    async def rows(self, template: str, params: Sequence[Any]) -> list[Any]:
        result = await self.conn.exec_driver_sql(_render(template, self.postgres), tuple(params))
        return list(result.all())

    async def run(self, template: str, params: Sequence[Any]) -> None:
        await self.conn.exec_driver_sql(_render(template, self.postgres), tuple(params))

    async def many(self, template: str, rows: list[tuple[Any, ...]]) -> None:
        await self.conn.exec_driver_sql(_render(template, self.postgres), rows)


class _SqliteDriver(_Driver):
    """A sqlite3 connection used on the thread that owns it. Nothing here ever suspends, so a
    whole push (the engine's coroutine) runs to its end in one call on that thread."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    async def rows(self, template: str, params: Sequence[Any]) -> list[Any]:
        return self.db.execute(_render(template, False), params).fetchall()

    async def run(self, template: str, params: Sequence[Any]) -> None:
        self.db.execute(_render(template, False), params)

    async def many(self, template: str, rows: list[tuple[Any, ...]]) -> None:
        self.db.executemany(_render(template, False), rows)


class _PgDriver(_Driver):
    """An asyncpg connection used directly: its prepared statements, no layer between."""

    postgres = True

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def rows(self, template: str, params: Sequence[Any]) -> list[Any]:
        return await self.conn.fetch(_render(template, True), *params)

    async def run(self, template: str, params: Sequence[Any]) -> None:
        await self.conn.execute(_render(template, True), *params)

    async def many(self, template: str, rows: list[tuple[Any, ...]]) -> None:
        await self.conn.executemany(_render(template, True), rows)


def _record(row: Sequence[Any], stored_refs: dict[str, set[str]]) -> sync.Record:
    """A record from its row (_LOAD_COLUMNS first); notes its references as stored."""
    rid, entity, version, deleted, fields, meta = row[:6]
    values = _decode(fields)
    if entity in _REF_FIELDS:
        stored_refs[rid] = _targets(entity, values)
    return sync.Record(
        entity=entity,
        id=rid,
        version=version,
        deleted=bool(deleted),
        fields=values,
        meta=_decode(meta),
    )


class SqlBackend:
    """Holds the store's row lock from `lock()` until the transaction ends.

    `conn` is a SQLAlchemy connection inside a write transaction, or (the push route's fast
    path on SQLite, see `push_sqlite`) the sqlite3 connection beneath one, on its own thread.
    """

    def __init__(self, conn: AsyncConnection | sqlite3.Connection, store_id: str) -> None:
        self.db = (
            _SqliteDriver(conn) if isinstance(conn, sqlite3.Connection) else _AsyncDriver(conn)
        )
        self.store_id = store_id
        self.seq = 0
        self.known_clients: dict[str, bool] = {}
        # The references of each loaded record as stored: commit writes only what changed.
        self.stored_refs: dict[str, set[str]] = {}

    async def lock(self) -> None:
        # FOR UPDATE on PostgreSQL, in the store's queue; on SQLite the IMMEDIATE transaction
        # holds the lock already.
        if self.db.postgres:
            await self.db.run(_QUEUE_PG, (self.store_id,))
        statement = _LOCK_STORE_PG if self.db.postgres else _LOCK_STORE
        self.seq = (await self.db.rows(statement, (self.store_id,)))[0][0]

    async def client(self, client_id: str) -> tuple[str | None, int]:
        rows = await self.db.rows(_CLIENT, (self.store_id, client_id))
        self.known_clients[client_id] = bool(rows)
        return (rows[0][0], rows[0][1]) if rows else (None, 0)

    async def load(self, ids: Collection[str]) -> dict[str, sync.Record]:
        found: dict[str, sync.Record] = {}
        ids = list(ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            if self.db.postgres:
                ids_text = _SEP.join(chunk)
                if ids_text.count(_SEP) != len(chunk) - 1:  # such an id names no record
                    ids_text = _SEP.join([i for i in chunk if _SEP not in i])
                rows = await self.db.rows(_LOAD_PG, (self.store_id, ids_text))
            else:
                marks = ", ".join("{}" for _ in chunk)
                statement = f"SELECT {_LOAD_COLUMNS} FROM records WHERE store_id = {{}}"
                rows = await self.db.rows(
                    f"{statement} AND id IN ({marks})", (self.store_id, *chunk)
                )
            for row in rows:
                found[row[0]] = _record(row, self.stored_refs)
        return found

    async def referrers(self, refs: Sequence[tuple[str, str]], target: str) -> list[str]:
        """Through the record_refs index (the engine checks entity and field itself)."""
        del refs
        return [r[0] for r in await self.db.rows(_REFERRERS, (self.store_id, target))]

    async def text_at(self, record_id: str, field: str, version: int, client_id: str) -> Any:
        rows = await self.db.rows(_TEXT_AT, (self.store_id, record_id, field, version, client_id))
        if not rows:
            return ""
        found, value, written = rows[0]
        if value is None:
            return sync.UNKNOWN
        return written if found > version and written is not None else value

    async def commit(
        self,
        client_id: str,
        device_id: str,
        last_mutation_id: int,
        records: list[sync.Record],
        history: list[tuple[str, str, int, str, str, str | None]],
    ) -> None:
        now = now_ms()
        if records:
            store, first = self.store_id, self.seq + 1
            rows = [
                (
                    store,
                    record.id,
                    record.entity,
                    record.version,
                    seq,
                    record.deleted,
                    _encode(record.fields).decode(),
                    _encode(record.meta).decode(),
                    now,
                )
                for seq, record in enumerate(records, first)
            ]
            self.seq += len(records)
            await self.db.many(_UPSERT_RECORDS, rows)
            await self.db.run(_SET_SEQ, (self.seq, self.store_id))
            await self._write_refs(records)
        if history:
            rows = [
                (self.store_id, rid, field, version, client, value, written, now)
                for rid, field, version, client, value, written in history
            ]
            await self.db.many(_UPSERT_HISTORY, rows)
        if self.known_clients.get(client_id):
            await self.db.run(_CLIENT_PROGRESS, (last_mutation_id, self.store_id, client_id))
        else:
            await self.db.run(
                _NEW_CLIENT, (self.store_id, client_id, device_id, last_mutation_id, now)
            )

    def _ref_changes(
        self, records: list[sync.Record]
    ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
        """The record_refs rows to add and to drop for the references the records now hold."""
        added: list[tuple[str, str, str]] = []
        dropped: list[tuple[str, str, str]] = []
        stored = self.stored_refs
        for record in records:
            refs = _REF_FIELDS.get(record.entity)
            if refs is None:
                continue
            fields = record.fields
            now = {v for f in refs if isinstance(v := fields.get(f), str)}  # _targets, inline
            before = stored.get(record.id, _NONE)
            if now == before:
                continue
            added.extend((self.store_id, t, record.id) for t in now - before)
            dropped.extend((self.store_id, t, record.id) for t in before - now)
            stored[record.id] = now
        return added, dropped

    async def _write_refs(self, records: list[sync.Record]) -> None:
        """Keep record_refs in step with the references the records now hold."""
        added, dropped = self._ref_changes(records)
        if dropped:
            await self.db.many(_DROP_REF, dropped)
        if added:
            await self.db.many(_ADD_REF, added)


# The store locked, for a writer only (a reader's or a stranger's push never takes the lock),
# with the client's progress: one round trip. By the device's token, the same and the device.
_LOCK_BY_TOKEN = (
    "SELECT s.seq, c.device_id, c.last_mutation_id, d.id, d.last_seen_ms FROM devices d"
    " JOIN memberships m ON m.user_id = d.user_id AND m.store_id = {} AND m.role = ANY({})"
    " JOIN stores s ON s.id = m.store_id"
    " LEFT JOIN clients c ON c.store_id = s.id AND c.client_id = {}"
    " WHERE d.token_hash = {} AND d.revoked_ms IS NULL FOR UPDATE OF s"
)
_LOCK_AS_WRITER = (
    "SELECT s.seq, c.device_id, c.last_mutation_id FROM stores s"
    " JOIN memberships m ON m.store_id = s.id AND m.user_id = {} AND m.role = ANY({})"
    " LEFT JOIN clients c ON c.store_id = s.id AND c.client_id = {}"
    " WHERE s.id = {} FOR UPDATE OF s"
)
# The same, with the seq of each record a draft read (see _Draft; $5: their ids): only for a
# lock had already, a statement that waited for it reading as of before it waited.
_SEEN_SEQS = ", (" + _by_ids("json_object_agg(r.id, r.seq)::text", "$5", "s.id") + ")"
_RELOCK_BY_TOKEN = _render(_LOCK_BY_TOKEN, True).replace(
    " FROM devices d", _SEEN_SEQS + " FROM devices d", 1
)
_RELOCK_AS_WRITER = _render(_LOCK_AS_WRITER, True).replace(
    " FROM stores s", _SEEN_SEQS + " FROM stores s", 1
)
# What _RELOCK_BY_TOKEN reads, for the drafted pushes of a group at once, once the lock is
# had (see PgStoreWriter._check): per push (its place n), its device, the client's progress
# and the seqs of the records its draft read. A push whose caller may not write has no row.
_CHECK_DRAFTS = (
    "SELECT j.n, d.id, d.last_seen_ms, c.device_id, c.last_mutation_id, ("
    + _by_ids("json_object_agg(r.id, r.seq)::text", "j.seen", "$1")
    + ") FROM unnest(string_to_array($2::text, chr(30)), string_to_array($3::text, chr(30)),"
    " string_to_array($4::text, chr(31))) WITH ORDINALITY AS j(token, client, seen, n)"
    " JOIN devices d ON d.token_hash = j.token AND d.revoked_ms IS NULL"
    " JOIN memberships m ON m.user_id = d.user_id AND m.store_id = $1 AND m.role = ANY($5)"
    " LEFT JOIN clients c ON c.store_id = $1 AND c.client_id = j.client"
)
# Everything a push writes, in one statement (each part a data-modifying WITH: they all run,
# on different tables). Rows travel as one text per column (_joined): PostgreSQL splits them
# and inserts them in one pass instead of planning and running a statement per row. A record
# takes its seq from its place in the list (WITH ORDINALITY), after the store's seq before.
_PG_RECORDS = (
    "INSERT INTO records (store_id, id, entity, version, seq, deleted, fields, meta, updated_ms)"
    " SELECT {}::varchar, r.id, r.entity, r.version, {}::bigint + r.n, r.deleted, r.fields,"
    " r.meta, {}::bigint FROM unnest(string_to_array({}::text, chr(30)),"
    " string_to_array({}::text, chr(30)), string_to_array({}::text, ',')::bigint[],"
    " string_to_array({}::text, ',')::boolean[], string_to_array({}::text, chr(30)),"
    " string_to_array({}::text, chr(30))) WITH ORDINALITY"
    " AS r(id, entity, version, deleted, fields, meta, n)"
    " ON CONFLICT (store_id, id) DO UPDATE SET entity = excluded.entity,"
    " version = excluded.version, seq = excluded.seq, deleted = excluded.deleted,"
    " fields = excluded.fields, meta = excluded.meta, updated_ms = excluded.updated_ms"
)
# The same for records the push found absent (sync.Backend.load, under the lock or in a draft
# whose reads still hold): a plain INSERT, 100 new rows in ~25% less time than through ON
# CONFLICT's speculative insertion, which the store's lock waits for. (A wrong "absent" would
# fail the push loudly, never overwrite: the unique key still holds.)
_PG_NEW_RECORDS = _PG_RECORDS.split(" ON CONFLICT ")[0]
_PG_HISTORY = (
    "INSERT INTO text_history (store_id, record_id, field, version, client_id, value, written,"
    " created_ms) SELECT {}::varchar, h.r, h.f, h.v, h.c, h.value, h.written, {}::bigint"
    " FROM unnest({}::varchar[], {}::varchar[], {}::bigint[], {}::varchar[], {}::text[],"
    " {}::text[]) AS h(r, f, v, c, value, written)"
    " ON CONFLICT (store_id, record_id, field, version) DO UPDATE SET"
    " client_id = excluded.client_id, value = excluded.value, written = excluded.written,"
    " created_ms = excluded.created_ms"
)
_PG_ADD_REFS = (
    "INSERT INTO record_refs (store_id, target_id, record_id) SELECT {}::varchar, x.t, x.r"
    " FROM unnest(string_to_array({}::text, chr(30)), string_to_array({}::text, chr(30)))"
    " AS x(t, r) ON CONFLICT DO NOTHING"
)
_PG_DROP_REFS = (
    "DELETE FROM record_refs WHERE store_id = {}::varchar AND (target_id, record_id) IN"
    " (SELECT x.t, x.r FROM unnest(string_to_array({}::text, chr(30)),"
    " string_to_array({}::text, chr(30))) AS x(t, r))"
)


class PgBackend(SqlBackend):
    """A push on PostgreSQL over the asyncpg connection beneath SQLAlchemy's, in few round
    trips while it holds the store's lock: the lock (with the role check and the client's
    progress), the records the push names, one statement writing everything, the COMMIT.

    `notice(seq)` is the payload of the live poke sent on commit (NOTIFY), when the push
    changes the store; see server.live.Hub.notice.
    """

    def __init__(
        self, conn: asyncpg.Connection, store_id: str, notice: Callable[[int], str] | None
    ) -> None:
        self.db = _PgDriver(conn)
        self.conn = conn
        self.store_id = store_id
        self.seq = 0
        self.known_clients = {}
        self.stored_refs = {}
        self.notice = notice
        self.progress: dict[str, tuple[str | None, int]] = {}
        # Whether a statement that writes was sent (see PgStoreWriter._group).
        self.wrote = False
        # The seqs of a draft's records, read with the lock (see _push_pg).
        self.seen_seqs: dict[str, int] | None = None
        # Records looked for and not found: new ones (see _PG_NEW_RECORDS).
        self.absent: set[str] = set()
        self.written_ids: list[str] = []  # (see PgStoreWriter._check)

    async def load(self, ids: Collection[str]) -> dict[str, sync.Record]:
        found = await super().load(ids)
        self.absent.update(i for i in ids if i not in found)
        return found

    async def lock_as_writer(
        self, user_id: str, client_id: str, writers: Collection[str], seen: str | None = None
    ) -> None:
        """The store's lock, for a writer of it (else Refused). `seen`: the ids of the records
        a draft read, whose seqs are read with it (only for a lock had already)."""
        params: list[Any] = [user_id, list(writers), client_id, self.store_id]
        if seen is None:
            row = await self.conn.fetchrow(_render(_LOCK_AS_WRITER, True), *params)
        else:
            row = await self.conn.fetchrow(_RELOCK_AS_WRITER, *params, seen)
            self.seen_seqs = None if row is None else _seqs(row[3])
        if row is None:
            role = await self.conn.fetchval(_render(_ROLE, True), self.store_id, user_id)
            raise Refused(404 if role is None else 403, role)
        self.seq = row[0]
        self.progress[client_id] = (row[1], row[2] or 0)

    async def lock_by_token(
        self, token_hash: str, client_id: str, writers: Collection[str], seen: str | None = None
    ) -> str:
        """lock_as_writer for the device whose token this is (its id, returned). Refused 401
        for a token unknown or revoked (as of this transaction), 404 or 403 as there."""
        params: list[Any] = [self.store_id, list(writers), client_id, token_hash]
        if seen is None:
            row = await self.conn.fetchrow(_render(_LOCK_BY_TOKEN, True), *params)
        else:
            row = await self.conn.fetchrow(_RELOCK_BY_TOKEN, *params, seen)
            self.seen_seqs = None if row is None else _seqs(row[5])
        if row is None:
            found = await self.conn.fetchrow(_render(_CALLER, True), self.store_id, token_hash)
            if found is None:
                raise Refused(401, None)
            raise Refused(404 if found[3] is None else 403, found[3])
        self.seq = row[0]
        return await self.caller(client_id, row[3], row[4], row[1], row[2])

    async def caller(
        self,
        client_id: str,
        device_id: str,
        last_seen: int | None,
        owner: str | None,
        last_mutation_id: int | None,
    ) -> str:
        """The caller's device as read with the lock (see lock_by_token), and its client's
        progress; the device is marked seen (now and then)."""
        self.progress[client_id] = (owner, last_mutation_id or 0)
        now = now_ms()
        if last_seen is None or now - last_seen > TOUCH_EVERY_MS:
            self.wrote = True
            await self.conn.execute(_render(_TOUCH, True), now, device_id)
        return device_id

    async def holds(self, draft: _Draft, device_id: str, client_id: str) -> bool:
        """Whether what the draft read is what the store holds now (the lock is had)."""
        if draft.device_id != device_id or draft.progress != self.progress.get(client_id):
            return False
        if not draft.seen:
            return True
        now = self.seen_seqs  # read with the lock, if it was had already
        if now is None:
            now = dict(await self.conn.fetch(_SEQS_PG, self.store_id, _SEP.join(draft.seen)))
        return all(now.get(i) == seq for i, seq in draft.seen.items())

    async def client(self, client_id: str) -> tuple[str | None, int]:
        if client_id in self.progress:
            owner, last = self.progress[client_id]
            self.known_clients[client_id] = owner is not None
            return owner, last
        return await super().client(client_id)

    async def commit(
        self,
        client_id: str,
        device_id: str,
        last_mutation_id: int,
        records: list[sync.Record],
        history: list[tuple[str, str, int, str, str, str | None]],
    ) -> None:
        now = now_ms()
        store = self.store_id
        parts: list[str] = []
        params: list[Any] = []
        if records:
            self.written_ids = [r.id for r in records]
            absent = self.absent
            new = [r for r in records if r.id in absent]
            if new:
                parts.append(_PG_NEW_RECORDS)
                params += _record_params(store, self.seq, now, new)
                self.seq += len(new)
            if len(new) < len(records):
                old = [r for r in records if r.id not in absent] if new else records
                parts.append(_PG_RECORDS)
                params += _record_params(store, self.seq, now, old)
                self.seq += len(old)
            parts.append(_SET_SEQ)
            params += [self.seq, store]
            added, dropped = self._ref_changes(records)
            if dropped:
                parts.append(_PG_DROP_REFS)
                params += [store, _joined([t for _, t, _ in dropped])]
                params.append(_joined([r for _, _, r in dropped]))
            if added:
                parts.append(_PG_ADD_REFS)
                params += [store, _joined([t for _, t, _ in added])]
                params.append(_joined([r for _, _, r in added]))
        if history:
            # One row per key, the last written (as the rows upserted one by one would leave).
            latest = {(rid, field, version): entry for rid, field, version, *entry in history}
            parts.append(_PG_HISTORY)
            rows = [(*key, *entry) for key, entry in latest.items()]
            params += [store, now, *(list(column) for column in zip(*rows, strict=True))]
        if self.known_clients.get(client_id):
            parts.append(_CLIENT_PROGRESS)
            params += [last_mutation_id, store, client_id]
        else:
            parts.append(_NEW_CLIENT)
            params += [store, client_id, device_id, last_mutation_id, now]
        writes = ", ".join(f"w{n} AS ({part})" for n, part in enumerate(parts))
        self.wrote = True
        if records and self.notice is not None:
            params += [CHANNEL, self.notice(self.seq)]
            await self.db.run(f"WITH {writes} SELECT pg_notify({{}}, {{}})", params)
        else:
            await self.db.run(f"WITH {writes} SELECT 1", params)


def _record_params(store: str, before: int, now: int, records: list[sync.Record]) -> list[Any]:
    """The parameters of _PG_RECORDS (or _PG_NEW_RECORDS) for these records, which take the
    seqs after `before`, in order."""
    # The JSON texts are made and joined as bytes, decoded once. msgspec writes every control
    # character in a string as an escape, so none holds the separator (test_push_groups
    # checks it; counting it here cost 3% of a push).
    return [
        store,
        before,
        now,
        _joined([r.id for r in records]),
        _joined([r.entity for r in records]),
        _numbers([r.version for r in records]),
        _numbers([r.deleted for r in records]),
        b"\x1e".join([_encode(r.fields) for r in records]).decode(),
        b"\x1e".join([_encode(r.meta) for r in records]).decode(),
    ]


# The seq of each record a draft read, as the store has it now (see _Draft).
_SEQS_PG = _by_ids("r.id, r.seq", "$2", "$1")
_DRAFT_LOAD_PG = _by_ids(
    "r.id, r.entity, r.version, r.deleted, r.fields, r.meta, r.seq", "$2", "$1"
)
# A push's device by its token, its role in the store and its client's progress, read (not
# locked) for a draft.
_DRAFT_CALLER = (
    "SELECT d.id, m.role, c.device_id, c.last_mutation_id FROM devices d"
    " LEFT JOIN memberships m ON m.store_id = $1 AND m.user_id = d.user_id"
    " LEFT JOIN clients c ON c.store_id = $1 AND c.client_id = $2"
    " WHERE d.token_hash = $3 AND d.revoked_ms IS NULL"
)


def _seqs(found: str | None) -> dict[str, int]:
    """The seqs of _SEEN_SEQS (a JSON object as text, or NULL when no record was found)."""
    return {} if found is None else _decode(found)


class _Draft:
    """A push worked out by the merge engine before its store's lock was had: what it read
    (its client's progress, the seq of every record it loaded, None for one not there), its
    answer, and what it would write (sync.Backend.commit's arguments, or None).

    Under the lock (`_push_pg`) it is used only if all it read is as the store has it then:
    the engine, given the same records, progress and request, works out the same result
    (its clock only moves forward). Then the push holds the lock for one query of seqs and
    its write, instead of the load and the engine's Python. A draft that needed the text
    history or the referrers of a record (concurrent text edits, merges) is not made: those
    are read under the lock."""

    __slots__ = ("device_id", "known", "progress", "result", "seen", "stored_refs", "written")

    def __init__(self, device_id: str, backend: _DraftBackend, result: sync.PushResponse) -> None:
        self.device_id = device_id
        self.progress = backend.progress
        self.known = backend.known
        self.seen = backend.seen
        self.stored_refs = backend.stored_refs
        self.written = backend.written
        self.result = result


class _Unsafe(Exception):
    """A draft needed what the seqs of its records do not tell (see _Draft)."""


class _DraftBackend:
    """sync.Backend for a draft: reads the store as committed, locks nothing, writes nothing
    (commit keeps what it would write)."""

    def __init__(
        self, conn: asyncpg.Connection, store_id: str, progress: tuple[str | None, int]
    ) -> None:
        self.conn = conn
        self.store_id = store_id
        self.progress = progress
        self.known = False
        self.seen: dict[str, int | None] = {}
        self.stored_refs: dict[str, set[str]] = {}
        self.written: tuple[Any, ...] | None = None

    async def client(self, client_id: str) -> tuple[str | None, int]:
        del client_id  # the draft's own, read with its device
        self.known = self.progress[0] is not None
        return self.progress

    async def load(self, ids: Collection[str]) -> dict[str, sync.Record]:
        wanted = [i for i in ids if _SEP not in i]
        found: dict[str, sync.Record] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            for row in await self.conn.fetch(_DRAFT_LOAD_PG, self.store_id, _SEP.join(chunk)):
                found[row[0]] = _record(row, self.stored_refs)
                self.seen[row[0]] = row[6]
        for i in wanted:
            self.seen.setdefault(i, None)
        return found

    async def referrers(self, refs: Sequence[tuple[str, str]], target: str) -> list[str]:
        raise _Unsafe("referrers")

    async def text_at(self, record_id: str, field: str, version: int, client_id: str) -> Any:
        raise _Unsafe("text history")

    async def commit(self, *args: Any) -> None:
        self.written = args


async def _draft(conn: asyncpg.Connection, args: tuple[Any, ...]) -> _Draft | None:
    """A push's draft (see _Draft), or None when the push is one for the lock to decide (a
    caller refused, a request refused whole) or needs what a draft does not read."""
    user_id, device_id, store_id, request, clock, writers, _, token_hash, prepared = args
    del user_id
    if token_hash is None:
        row = await conn.fetchrow(_render(_CLIENT, True), store_id, request.client_id)
        progress = (row[0], row[1]) if row else (None, 0)
    else:
        row = await conn.fetchrow(_DRAFT_CALLER, store_id, request.client_id, token_hash)
        if row is None or row[1] not in writers:
            return None
        device_id, progress = row[0], (row[2], row[3] or 0)
    backend = _DraftBackend(conn, store_id, progress)
    try:
        result = await sync.push(backend, device_id, request, clock, prepared)  # type: ignore[arg-type]
    except (_Unsafe, sync.EnvelopeError):
        return None
    return _Draft(device_id, backend, result)  # type: ignore[arg-type]


async def _push_pg(
    backend: PgBackend,
    user_id: str | None,
    device_id: str | None,
    store_id: str,
    request: sync.PushRequest,
    clock: sync.HLC,
    writers: Collection[str],
    notice: Callable[[int], str] | None,
    token_hash: str | None,
    prepared: sync.Prepared | None,
    job: _Job | None = None,
    locked: bool = False,
    checked: tuple[int, Sequence[Any]] | None = None,
) -> tuple[sync.PushResponse, int | None]:
    """One push inside the open transaction: (its answer, the store's new position or None).
    With a draft (`job`'s) whose reads still hold, its answer and write; else the engine's,
    now. `locked`: this transaction holds the store's lock already. `checked`: the store's
    seq and what _CHECK_DRAFTS read for this push under the lock, still as it is."""
    del store_id, notice  # the backend's
    client_id = request.client_id
    draft = None if job is None else job.draft  # (one made while the lock is waited for too)
    seen = _SEP.join(draft.seen) if locked and draft is not None and draft.seen else None
    if checked is not None:
        backend.seq, (_, device_id, last_seen, owner, last_id, seqs) = checked
        device_id = await backend.caller(client_id, device_id, last_seen, owner, last_id)
        backend.seen_seqs = _seqs(seqs)
    elif token_hash is None:
        await backend.lock_as_writer(user_id, client_id, writers, seen)  # type: ignore[arg-type]
    else:
        device_id = await backend.lock_by_token(token_hash, client_id, writers, seen)
    if job is not None:
        job.taken = True
        if draft is None:
            draft = job.draft
    before = backend.seq
    if draft is not None and await backend.holds(draft, device_id, client_id):  # type: ignore[arg-type]
        result = draft.result
        if draft.written is not None:
            backend.known_clients[client_id] = draft.known
            backend.stored_refs = dict(draft.stored_refs)  # (commit updates it)
            backend.absent = {i for i, seq in draft.seen.items() if seq is None}
            await backend.commit(*draft.written)
    else:
        result = await sync.push(backend, device_id, request, clock, prepared)  # type: ignore[arg-type]
    return result, (backend.seq if backend.seq > before else None)


class _Job:
    """A push waiting for the writer: what to apply, and where its answer goes."""

    __slots__ = ("args", "asked", "deadline", "draft", "future", "size", "taken")

    def __init__(self, args: tuple[Any, ...], size: int, future: asyncio.Future[Any]) -> None:
        self.args = args
        self.size = size
        self.future = future
        self.deadline = time.monotonic() + LOCK_BUDGET_S
        self.draft: _Draft | None = None  # (PostgreSQL) worked out while it waited
        self.taken = False  # (PostgreSQL) being applied: too late for a draft
        self.asked = False  # (PostgreSQL) in line for a draft


class _GroupWriter:
    """What both databases' writers share: a queue of pushes, drained in groups by one task.

    A push waits in `queue`, in order, holding nothing; the first to arrive while no group is
    being written starts the drain. Subclasses write one group in `_group` and hand each
    push its outcome with `_settle`.
    """

    def __init__(self) -> None:
        self.queue: deque[_Job] = deque()
        self.draining = False

    async def push(self, *args: Any, size: int) -> tuple[sync.PushResponse, int | None]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        job = _Job(args, size, future)
        self.queue.append(job)
        if not self.draining:
            self.draining = True
            asyncio.get_running_loop().create_task(self._drain())
        else:
            self._waits(job)
        return await future

    def _waits(self, job: _Job) -> None:
        """Called for a push that waits behind a group being written."""

    async def _drain(self) -> None:
        try:
            while self.queue:
                await self._group()
        finally:
            self.draining = False
            self._drained()

    def _drained(self) -> None:
        """Called when the queue is empty and no group is being written."""

    async def _group(self) -> None:
        raise NotImplementedError

    @staticmethod
    def _fail(jobs: Iterable[_Job], error: BaseException) -> None:
        """Answers each push not answered yet with `error`."""
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(error)

    @staticmethod
    def _settle(jobs: list[_Job], outcomes: list[Any]) -> int:
        """Answers each push with its outcome (an answer or an exception); returns how many
        mutations the answered pushes carried."""
        written = 0
        for job, outcome in zip(jobs, outcomes, strict=True):
            if job.future.done():
                continue
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)
                written += len(outcome[0].results)
        return written


class PgStoreWriter(_GroupWriter):
    """The pushes of this process to one PostgreSQL store, applied in groups.

    Pushes that arrive while the store is being written wait here, in order, holding no
    connection and no transaction (only this writer waits for the store's lock: many
    waiting on the row lock itself were woken together at each COMMIT and raced for it, so
    some waited seconds while others went through at once; the writers of the processes
    queue in order, see _QUEUE_PG). When its turn comes it applies
    every waiting push (up to `_GROUP_MUTATIONS`) in one transaction, and those that arrive
    while it waits for the lock (see `_apply`). Nothing is answered
    before the COMMIT, so each push is still all or nothing, and durable once answered; under
    many devices the store's lock changes hands, and the WAL is flushed, once per group
    instead of per push. A push alone goes through at once. One that waited longer than the
    lock budget is answered Busy (503, nothing applied).

    A push that waits behind a group, or for the store's lock, is worked out meanwhile
    (`_waits`, `_Draft`): the merge engine runs on the store as committed, on another
    connection, and under the lock the
    push only checks that what it read is unchanged, then writes, instead of loading its
    records and merging while every other push to the store waits.

    One push that fails is rolled back alone, without a savepoint per push (two round trips
    each, while the store is locked): a push refused before it wrote anything (most failures:
    a refused caller, a gap in mutation ids) left nothing to undo, and the others go on; one
    that failed after it sent a write, or whose statement failed (the transaction is then
    aborted), has the whole transaction rolled back, and the group is applied again without
    it (rare: a bug or a broken row).
    """

    def __init__(self, engine: AsyncEngine, store_id: str, key: tuple[object, ...]) -> None:
        super().__init__()
        self.engine = engine
        self.store_id = store_id
        self.key = key
        self.to_draft: deque[_Job] = deque()

    def _drained(self) -> None:
        if _pg_writers.get(self.key) is self and not self.queue:
            del _pg_writers[self.key]

    # Drafting tasks running in this process, for all stores (see _waits).
    drafters = 0

    def _waits(self, job: _Job) -> None:
        """A push that waits has its draft worked out meanwhile (see _Draft), in order of
        arrival, by up to `_DRAFTERS` tasks in this process, each on a connection of its
        own: drafts are a head start, and never take the connections the writers need (a
        push not drafted in time is worked out under the lock)."""
        if job.asked:
            return
        job.asked = True
        queue = self.to_draft
        while queue and (queue[0].taken or queue[0].future.done()):
            queue.popleft()  # too late for those
        queue.append(job)
        if PgStoreWriter.drafters < _DRAFTERS:
            PgStoreWriter.drafters += 1
            asyncio.get_running_loop().create_task(self._drafter())

    async def _drafter(self) -> None:
        try:
            async with self.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                apg = raw.driver_connection
                while self.to_draft:
                    job = self.to_draft.popleft()
                    if job.taken or job.future.done() or job.draft is not None:
                        continue
                    try:
                        job.draft = await _draft(apg, job.args)
                    except Exception as exc:  # that push is worked out under the lock
                        log.warning("a push's draft failed: %s", exc)
        except Exception as exc:  # a draft is a head start only: the pushes go on without
            log.warning("no drafts for the waiting pushes: %s", exc)
            self.to_draft.clear()
        finally:
            PgStoreWriter.drafters -= 1

    async def _group(self) -> None:
        jobs = _take(self.queue)
        if not jobs:
            return
        failed: dict[int, BaseException] = {}  # by place in jobs: those taken out of the group
        while True:
            try:
                outcomes = await self._apply(jobs, failed)
            except _Redo as redo:
                failed[jobs.index(redo.job)] = redo.error
                continue
            except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError):
                self._fail(jobs, Busy("the store is busy: nothing was applied"))
                return
            except Exception as exc:
                self._fail(jobs, exc)
                return
            except BaseException:
                for job in jobs:
                    job.future.cancel()
                raise
            break
        self._settle(jobs, outcomes)

    async def _apply(self, jobs: list[_Job], failed: dict[int, BaseException]) -> list[Any]:
        """The pushes in one transaction: per push its (answer, position), or the exception it
        raised having written nothing, or (those in `failed`) the one it raised in an earlier
        try. _Redo when one failed after it wrote (all undone).

        Pushes that reached this process while the group waited for the store's lock join it
        once the lock is had (appended to `jobs`, up to `_GROUP_MUTATIONS`): left in the queue
        they would wait for this COMMIT, then for the lock again behind the other processes'
        groups. So a push that waits for the lock alone takes along the others of its devices
        that followed it meanwhile. (Those that arrive while the group is written wait for the
        next, as on SQLite: a group's first push is not held up by an endless stream.)"""
        outcomes: list[Any] = []
        # A push that came to an idle writer has no draft: if the store's lock is slow to
        # come (another process holds it), it is worked out while this group waits.
        later = asyncio.get_running_loop().call_later(_DRAFT_AFTER_S, self._draft_first, jobs)
        try:
            async with self.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                apg = raw.driver_connection
                async with apg.transaction():
                    await apg.execute(_render(_QUEUE_PG, True), self.store_id)  # (in order)
                    await self._apply_in(apg, jobs, failed, outcomes, later)
        finally:
            later.cancel()
        return outcomes

    def _draft_first(self, jobs: list[_Job]) -> None:
        for job in jobs:
            if not job.taken:
                self._waits(job)

    async def _apply_in(
        self,
        apg: asyncpg.Connection,
        jobs: list[_Job],
        failed: dict[int, BaseException],
        outcomes: list[Any],
        later: asyncio.TimerHandle,
    ) -> None:
        locked = joined = False
        seq: int | None = None  # the store's, once the lock is had
        checks: dict[int, Sequence[Any]] = {}  # by place in jobs (see _check)
        written: set[str] = set()  # the records the group's pushes wrote so far
        clients: set[str] = set()  # and their clients
        for n, job in enumerate(jobs):  # (jobs grows once, when the lock is had)
            if n in failed:
                outcomes.append(failed[n])
                continue
            if not locked and (outcomes or any(i not in failed for i in range(n + 1, len(jobs)))):
                # Pushes in company take the store's lock first, once (their own FOR
                # UPDATE then holds it); a push alone takes it with its own.
                seq = (await apg.fetch(_render(_LOCK_STORE_PG, True), self.store_id))[0][0]
                locked = True
            backend = _backend(apg, job)
            checked = checks.pop(n, None)
            client_id = job.args[3].client_id
            seen = () if job.draft is None else job.draft.seen
            if checked is not None and (
                seq is None or client_id in clients or not written.isdisjoint(seen)
            ):
                checked = None  # read before an earlier push of the group changed it
            try:
                outcome = await _push_pg(
                    backend, *job.args, job, locked, None if checked is None else (seq, checked)
                )
            except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError):
                raise
            except Exception as exc:
                if backend.wrote or isinstance(exc, asyncpg.PostgresError):
                    raise _Redo(job, exc) from exc  # rolls the transaction back
                outcome = exc  # handed to that push's caller: it wrote nothing
            else:
                locked = True  # (a push alone takes it with its own FOR UPDATE)
                seq = backend.seq
                written.update(backend.written_ids)
                clients.add(client_id)
            outcomes.append(outcome)
            if locked and not joined:
                joined = True
                later.cancel()
                self._join(jobs)
                checks = await self._check(apg, jobs, n + 1, failed)

    async def _check(
        self, apg: asyncpg.Connection, jobs: list[_Job], start: int, failed: dict[int, Any]
    ) -> dict[int, Sequence[Any]]:
        """For the drafted pushes (by token) of the group from `start` on, what each would
        read with the lock to check its draft (_RELOCK_BY_TOKEN), read for all at once as
        the lock is had: the group's pushes then go one round trip each (the write) instead
        of two, while every other push to the store waits. What a push of the group writes
        can make this stale for a later one (a record its draft read, its client's
        progress): that one reads it again itself (see _apply_in)."""
        writers = jobs[start].args[5] if start < len(jobs) else ()
        todo = [
            n
            for n in range(start, len(jobs))
            if n not in failed
            and jobs[n].draft is not None
            and jobs[n].args[7] is not None  # by token
            and jobs[n].args[5] == writers  # (the same roles may write: one query)
        ]
        if len(todo) < 2:
            return {}  # (one reads it with its own lock query, in one round trip too)
        args = [jobs[n].args for n in todo]
        rows = await apg.fetch(
            _CHECK_DRAFTS,
            self.store_id,
            _joined([a[7] for a in args]),
            _joined([a[3].client_id for a in args]),
            "\x1f".join(_SEP.join(jobs[n].draft.seen) for n in todo),  # type: ignore[union-attr]
            list(writers),
        )
        return {todo[row[0] - 1]: row for row in rows}

    def _join(self, jobs: list[_Job]) -> None:
        """Appends to `jobs` the pushes waiting in the queue that fit in the group."""
        if self.queue:
            jobs.extend(_take(self.queue, sum(job.size for job in jobs)))


def _backend(apg: asyncpg.Connection, job: _Job) -> PgBackend:
    store_id, notice = job.args[2], job.args[6]  # see push_postgres
    return PgBackend(apg, store_id, notice)


class _Redo(Exception):
    """A push of a group failed after it wrote: the group is applied again without it."""

    def __init__(self, job: _Job, error: BaseException) -> None:
        super().__init__(error)
        self.job = job
        self.error = error


_pg_writers: dict[tuple[object, ...], PgStoreWriter] = {}


async def push_postgres(
    engine: AsyncEngine,
    user_id: str | None,
    device_id: str | None,
    store_id: str,
    request: sync.PushRequest,
    clock: sync.HLC,
    writers: Collection[str],
    notice: Callable[[int], str] | None = None,
    token_hash: str | None = None,
) -> tuple[sync.PushResponse, int | None]:
    """A push on PostgreSQL (see PgBackend), through the store's PgStoreWriter (grouped with
    this process's other pushes to the store that arrive meanwhile): (answer, the store's new
    position or None).

    By `user_id` and `device_id`, or (both None) by the device whose token has `token_hash`,
    checked in the push's own transaction. Refused for a token unknown or revoked (401), a
    stranger or a reader; Busy when the store's lock is not had in time."""
    if not is_id(store_id):
        raise Refused(404, None)
    sync.validate_client_id(request.client_id)
    key = (engine.sync_engine, asyncio.get_running_loop(), store_id)
    writer = _pg_writers.get(key)
    if writer is None:
        writer = _pg_writers[key] = PgStoreWriter(engine, store_id, key)
    # What depends on nothing stored is done now, while other pushes hold the store's lock.
    prepared = sync.prepare(request)
    args = (user_id, device_id, store_id, request, clock, writers, notice, token_hash, prepared)
    return await writer.push(*args, size=len(request.mutations))


class Refused(Exception):
    """The caller may not write to this store: `status` 401 (a token unknown or revoked), 404
    (not a member) or 403 (a viewer)."""

    def __init__(self, status: int, role: str | None) -> None:
        super().__init__(status, role)
        self.status = status
        self.role = role


def _finish(coroutine: Any) -> Any:
    """Run a coroutine that never suspends (every await in it is synchronous) to its result."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a push on the SQLite fast path suspended")


def _push_on_thread(
    db: sqlite3.Connection,
    user_id: str | None,
    device_id: str | None,
    store_id: str,
    request: sync.PushRequest,
    clock: sync.HLC,
    writers: Collection[str],
    token_hash: str | None,
) -> tuple[sync.PushResponse, int | None]:
    """One push inside the open transaction: (its answer, the store's new position or None)."""
    if token_hash is None:
        rows = db.execute(_render(_ROLE, False), (store_id, user_id)).fetchall()
        role = rows[0][0] if rows else None
    else:  # the device by its token, as of this transaction (a revoked one is not found)
        rows = db.execute(_render(_CALLER, False), (store_id, token_hash)).fetchall()
        if not rows:
            raise Refused(401, None)
        device_id, user_id, seen, role = rows[0]
        now = now_ms()
        if role in writers and (seen is None or now - seen > TOUCH_EVERY_MS):
            db.execute(_render(_TOUCH, False), (now, device_id))
    if role not in writers:
        raise Refused(404 if role is None else 403, role)
    backend = SqlBackend(db, store_id)
    _finish(backend.lock())
    before = backend.seq
    with CLOCK_LOCK:
        result = _finish(sync.push(backend, device_id, request, clock))
    return result, (backend.seq if backend.seq > before else None)


def _group_on_thread(db: sqlite3.Connection, jobs: list[_Job]) -> list[Any]:
    """Several pushes in one transaction on the connection's own thread, each in a savepoint
    of its own: a push that fails is rolled back alone and the others go on. Returns, per
    push, (answer, position) or the exception it raised; nothing is acknowledged before the
    COMMIT, so each push is still all or nothing, and durable once answered."""
    outcomes: list[Any] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        if len(jobs) == 1:
            outcomes.append(_push_on_thread(db, *jobs[0].args))
        else:
            for job in jobs:
                db.execute("SAVEPOINT push")
                try:
                    outcome = _push_on_thread(db, *job.args)
                except Exception as exc:  # handed to that push's caller
                    db.execute("ROLLBACK TO push")
                    outcome = exc
                db.execute("RELEASE push")
                outcomes.append(outcome)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return outcomes


def _checkpoint(path: str) -> None:
    """Copy the WAL into the database file, on a connection of its own (see SqliteWriter)."""
    db = sqlite3.connect(path, timeout=LOCK_BUDGET_S, isolation_level=None)
    try:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        db.close()


# Records written between two checkpoints of the writer's: about SQLite's own 1,000 pages.
_CHECKPOINT_EVERY = 2_000
# Mutations one group takes at most (a push is never split; the first is always taken).
_GROUP_MUTATIONS = 5_000
# Tasks of one process working out drafts of waiting PostgreSQL pushes at once.
_DRAFTERS = 2
# How long a group waits for its store's lock before its pushes' drafts are begun.
_DRAFT_AFTER_S = 0.005


def _take(queue: deque[_Job], size: int = 0) -> list[_Job]:
    """The next group from a writer's queue (or more for a group of `size` mutations): the
    pushes waiting, in order, up to `_GROUP_MUTATIONS` (a new group's first always); one that
    waited past its deadline is answered Busy."""
    jobs: list[_Job] = []
    now = time.monotonic()
    while queue and ((not jobs and not size) or size + queue[0].size <= _GROUP_MUTATIONS):
        job = queue.popleft()
        if job.future.done():
            continue
        if now > job.deadline:
            job.future.set_exception(
                Busy("the database is busy with other writes: nothing was changed")
            )
            continue
        jobs.append(job)
        size += job.size
    return jobs


class SqliteWriter(_GroupWriter):
    """The pushes of one SQLite database in this process, applied in groups.

    Pushes that arrive while the writer is busy wait in a queue, in order, holding nothing;
    when it is free it applies all of them (up to `_GROUP_MUTATIONS`) in one transaction on
    the connection's thread and answers each after the COMMIT. Under many devices pushing
    at once this spends one BEGIN/COMMIT, one WAL sync and one thread hop per group instead
    of per push; a push alone goes through at once. A push that waited longer than the lock
    budget is answered 503 (nothing applied), like any writer that waits too long.

    WAL checkpoints (copying the log into the database file, with its fsyncs) are taken off
    the writers' path: every `_CHECKPOINT_EVERY` records the writer starts one on another
    thread and connection (PASSIVE: it never blocks a writer or a reader). SQLite's own
    automatic checkpoint stays on as the fallback. Durability is unchanged: a push is
    answered after its COMMIT, as before.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        self.engine = engine
        database = engine.url.database
        self.path = database if database and database != ":memory:" else None
        self.written = 0
        self.checkpointing = False

    def _take(self) -> list[_Job]:
        return _take(self.queue)

    async def _group(self) -> None:
        try:
            async with sqlite_writer(self.engine), self.engine.connect() as conn:
                jobs = self._take()
                if not jobs:
                    return
                try:
                    raw = await conn.get_raw_connection()
                    aio = raw.driver_connection
                    outcomes = await aio._execute(_group_on_thread, aio._conn, jobs)
                except Exception as exc:
                    self._fail(jobs, exc)
                    return
                except BaseException:
                    for job in jobs:
                        job.future.cancel()
                    raise
        except Exception as exc:  # the writer's lock or a connection: every waiting push
            self._fail(self.queue, exc)
            self.queue.clear()
            return
        self._maybe_checkpoint(self._settle(jobs, outcomes))

    def _maybe_checkpoint(self, written: int) -> None:
        self.written += written
        if self.path is None or self.checkpointing or self.written < _CHECKPOINT_EVERY:
            return
        self.written = 0
        self.checkpointing = True
        task = asyncio.get_running_loop().run_in_executor(None, _checkpoint, self.path)
        task.add_done_callback(self._checkpointed)

    def _checkpointed(self, task: asyncio.Future[None]) -> None:
        self.checkpointing = False
        if not task.cancelled() and task.exception() is not None:
            log.warning("background WAL checkpoint failed: %s", task.exception())


_sqlite_writers: dict[tuple[object, object], SqliteWriter] = {}


# The server's clock is shared by every connection's thread and the event loop's: whoever
# reads or moves it holds this.
CLOCK_LOCK = threading.Lock()


async def push_sqlite(
    engine: AsyncEngine,
    user_id: str | None,
    device_id: str | None,
    store_id: str,
    request: sync.PushRequest,
    clock: sync.HLC,
    writers: Collection[str],
    token_hash: str | None = None,
) -> tuple[sync.PushResponse, int | None]:
    """A push on SQLite, through the database's SqliteWriter (grouped with the pushes that
    arrive meanwhile, in one hop to the connection's thread: aiosqlite runs each statement
    on that thread, and a push would otherwise wait on it once per statement).

    By `user_id` and `device_id`, or (both None) by the device whose token has `token_hash`:
    its token is checked in the push's own transaction (Refused 401 if unknown or revoked).
    Returns the answer and the store's position after it (None if the push changed nothing).
    """
    key = (engine.sync_engine, asyncio.get_running_loop())
    writer = _sqlite_writers.get(key)
    if writer is None:
        writer = _sqlite_writers[key] = SqliteWriter(engine)
    args = (user_id, device_id, store_id, request, clock, writers, token_hash)
    return await writer.push(*args, size=len(request.mutations))


# One change of a pull, as JSON, built by the database: the stored `fields` text is spliced
# in as it is, so a page of 5,000 records costs Python a join, not 5,000 objects. Entity names
# and ids are checked on the way in (known names, canonical UUIDs): nothing to escape.
_CHANGE_JSON = (
    """'{"entity":"' || entity || '","id":"' || id || '","version":' || CAST(version AS TEXT)"""
    """ || ',"deleted":' || CASE WHEN deleted THEN 'true' ELSE 'false' END"""
    """ || ',"fields":' || fields || '}'"""
)
_PAGE = text(
    f"SELECT {_CHANGE_JSON} AS change, seq FROM records WHERE store_id = :store"
    " AND seq > :after AND seq <= :upto ORDER BY seq LIMIT :limit"
)
_PAGE_RAW = (
    f"SELECT {_CHANGE_JSON} AS change, seq FROM records WHERE store_id = %s"
    " AND seq > %s AND seq <= %s ORDER BY seq LIMIT %s"
)
_PAGE_SQLITE = _PAGE_RAW % ("?", "?", "?", "?")
_PAGE_PG = _PAGE_RAW % ("$1", "$2", "$3", "$4")


async def _page(
    conn: AsyncConnection, store_id: str, after: int, upto: int, limit: int
) -> list[Any]:
    """(change JSON, seq) rows of a pull page, read on the driver's connection beneath
    SQLAlchemy's (inside its transaction): a page of 5,000 rows skips 5,000 Row objects."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if conn.dialect.name == "postgresql":
        return await driver.fetch(_PAGE_PG, store_id, after, upto, limit)
    if conn.dialect.name == "sqlite":
        params = (store_id, after, upto, limit)
        return list(await driver.execute_fetchall(_PAGE_SQLITE, params))
    result = await conn.execute(
        _PAGE, {"store": store_id, "after": after, "upto": upto, "limit": limit}
    )
    return list(result.all())


_COUNT = text("SELECT count(*) FROM records WHERE store_id = :store AND seq <= :upto")
_STORE_POSITION = select(Store.seq, Store.epoch).where(Store.id == bindparam("store"))
_CLIENT_LAST = select(Client.last_mutation_id).where(
    Client.store_id == bindparam("store"), Client.client_id == bindparam("client")
)


class PulledPage(msgspec.Struct):
    """A pull answer whose changes are JSON texts already (see sync.PullResponse)."""

    cursor: str
    more: bool
    reset: bool
    last_mutation_id: int
    hlc: str
    rows: list[str]
    total: int | None = None

    def encode(self) -> bytes:
        head = _encode(
            sync.PullResponse(
                self.cursor, self.more, self.reset, self.last_mutation_id, self.hlc, [], self.total
            )
        )
        changes = b'"changes":[' + ",".join(self.rows).encode() + b"]"
        return head.replace(b'"changes":[]', changes, 1)

    def decoded(self) -> sync.PullResponse:
        return msgspec.json.decode(self.encode(), type=sync.PullResponse)


async def client_progress(conn: AsyncConnection, store_id: str, client_id: str) -> int:
    """The last mutation id of this client that the store has processed (0 if none)."""
    row = await conn.execute(_CLIENT_LAST, {"store": store_id, "client": client_id})
    return row.scalar_one_or_none() or 0


async def pull_changes(
    conn: AsyncConnection, store_id: str, client_id: str, cursor: str, limit: int, hlc: str
) -> PulledPage:
    """One page of changes after `cursor`: each record once, at its latest state."""
    limit = max(1, min(limit, sync.MAX_PULL_LIMIT))
    store = (await conn.execute(_STORE_POSITION, {"store": store_id})).one()
    last = await client_progress(conn, store_id, client_id)
    after = 0
    if cursor:
        decoded = sync.decode_cursor(cursor)
        if decoded is None or decoded[0] != store.epoch or decoded[1] > store.seq:
            return PulledPage("", False, True, last, hlc, [])
        after = decoded[1]
    # Bounded by the store's seq as read above: every write up to it has committed with it.
    rows = await _page(conn, store_id, after, store.seq, limit + 1)
    more = len(rows) > limit
    total = None
    if more:
        rows = rows[:limit]
        if not cursor:
            # A first sync: how many records it brings, for the client's progress bar.
            total = (
                await conn.execute(_COUNT, {"store": store_id, "upto": store.seq})
            ).scalar_one()
    elif not cursor:
        total = len(rows)
    next_seq = rows[-1][1] if more else store.seq
    cursor = sync.encode_cursor(store.epoch, next_seq)
    return PulledPage(cursor, more, False, last, hlc, [r[0] for r in rows], total)


async def prune_text_history(conn: AsyncConnection, older_than_ms: int) -> None:
    """Forget text versions written before `older_than_ms`, keeping what bases still need.

    Of each field's old rows the newest stays (it is the text of every base since), the
    oldest becomes a marker (value NULL: "unknown from here on") and the rest go. An edit
    whose base falls on the marker then becomes a conflict instead of a guess.
    """
    same_field = (
        "{a}.store_id = text_history.store_id AND {a}.record_id = text_history.record_id"
        " AND {a}.field = text_history.field AND {a}.created_ms < :cut"
    )
    newer = f"EXISTS (SELECT 1 FROM text_history n WHERE {same_field.format(a='n')}"
    newer += " AND n.version > text_history.version)"
    older = f"EXISTS (SELECT 1 FROM text_history o WHERE {same_field.format(a='o')}"
    older += " AND o.version < text_history.version)"
    await conn.execute(
        text(f"DELETE FROM text_history WHERE created_ms < :cut AND {newer} AND {older}"),
        {"cut": older_than_ms},
    )
    await conn.execute(
        text(
            "UPDATE text_history SET value = NULL, written = NULL"
            f" WHERE created_ms < :cut AND {newer}"
        ),
        {"cut": older_than_ms},
    )
