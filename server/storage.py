"""The sync engine's storage on SQL: one store, inside one transaction (sync.Backend)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import msgspec
from sqlalchemy import ARRAY, String, bindparam, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

import sync
from server.accounts import now_ms
from server.models import Client, Record, Store, TextHistory

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


def _sql(conn: AsyncConnection, template: str) -> str:
    if conn.dialect.name == "postgresql":
        count = template.count("{}")
        return template.format(*(f"${n}" for n in range(1, count + 1)))
    return template.format(*("?" * template.count("{}")))


# Statements of the push path, built once (SQLAlchemy then reuses their compiled form).
_LOCK_STORE = select(Store.seq).where(Store.id == bindparam("store")).with_for_update()
_CLIENT = select(Client.device_id, Client.last_mutation_id).where(
    Client.store_id == bindparam("store"), Client.client_id == bindparam("client")
)
_LOAD_COLUMNS = (
    Record.id,
    Record.entity,
    Record.version,
    Record.deleted,
    Record.fields,
    Record.meta,
)
_LOAD = select(*_LOAD_COLUMNS).where(
    Record.store_id == bindparam("store"), Record.id.in_(bindparam("ids", expanding=True))
)
# PostgreSQL plans `id IN (500 parameters)` anew each time; one array parameter it does not.
_LOAD_PG = select(*_LOAD_COLUMNS).where(
    Record.store_id == bindparam("store"),
    Record.id == func.any(bindparam("ids", type_=ARRAY(String))),
)
_SET_SEQ = update(Store).where(Store.id == bindparam("store")).values(seq=bindparam("seq"))
_CLIENT_PROGRESS = (
    update(Client)
    .where(Client.store_id == bindparam("store"), Client.client_id == bindparam("client"))
    .values(last_mutation_id=bindparam("last"))
)


class SqlBackend:
    """Holds the store's row lock from `lock()` until the transaction ends."""

    def __init__(self, conn: AsyncConnection, store_id: str) -> None:
        self.conn = conn
        self.store_id = store_id
        self.seq = 0
        self.known_clients: dict[str, bool] = {}

    async def lock(self) -> None:
        # FOR UPDATE on PostgreSQL; on SQLite the IMMEDIATE transaction holds the lock already.
        self.seq = (await self.conn.execute(_LOCK_STORE, {"store": self.store_id})).scalar_one()

    async def client(self, client_id: str) -> tuple[str | None, int]:
        row = (
            await self.conn.execute(_CLIENT, {"store": self.store_id, "client": client_id})
        ).one_or_none()
        self.known_clients[client_id] = row is not None
        return (row.device_id, row.last_mutation_id) if row else (None, 0)

    async def load(self, ids: Collection[str]) -> dict[str, sync.Record]:
        found: dict[str, sync.Record] = {}
        ids = list(ids)
        for start in range(0, len(ids), _CHUNK):
            statement = _LOAD_PG if self.conn.dialect.name == "postgresql" else _LOAD
            rows = await self.conn.execute(
                statement, {"store": self.store_id, "ids": ids[start : start + _CHUNK]}
            )
            for r in rows:
                found[r.id] = sync.Record(
                    entity=r.entity,
                    id=r.id,
                    version=r.version,
                    deleted=bool(r.deleted),
                    fields=_decode(r.fields),
                    meta=_decode(r.meta),
                )
        return found

    async def referrers(self, refs: Sequence[tuple[str, str]], target: str) -> list[str]:
        if self.conn.dialect.name == "postgresql":
            value = "CAST(fields AS jsonb) ->> :field"
        else:
            value = "json_extract(fields, '$.' || :field)"
        ids: list[str] = []
        for entity, field in refs:
            rows = await self.conn.execute(
                text(
                    f"SELECT id FROM records WHERE store_id = :store AND entity = :entity "
                    f"AND {value} = :target"
                ),
                {"store": self.store_id, "entity": entity, "field": field, "target": target},
            )
            ids.extend(r.id for r in rows)
        return ids

    async def text_at(self, record_id: str, field: str, version: int, client_id: str) -> Any:
        row = (
            await self.conn.execute(
                select(TextHistory.version, TextHistory.value, TextHistory.written)
                .where(
                    TextHistory.store_id == self.store_id,
                    TextHistory.record_id == record_id,
                    TextHistory.field == field,
                    or_(TextHistory.version <= version, TextHistory.client_id == client_id),
                )
                .order_by(TextHistory.version.desc())
                .limit(1)
            )
        ).one_or_none()
        if row is None:
            return ""
        if row.value is None:
            return sync.UNKNOWN
        return row.written if row.version > version and row.written is not None else row.value

    async def commit(
        self,
        client_id: str,
        device_id: str,
        last_mutation_id: int,
        records: list[sync.Record],
        history: list[tuple[str, str, int, str, str, str | None]],
    ) -> None:
        now = now_ms()
        conn = self.conn
        if records:
            rows = []
            for record in records:
                self.seq += 1
                rows.append(
                    (
                        self.store_id,
                        record.id,
                        record.entity,
                        record.version,
                        self.seq,
                        record.deleted,
                        _encode(record.fields).decode(),
                        _encode(record.meta).decode(),
                        now,
                    )
                )
            await conn.exec_driver_sql(_sql(conn, _UPSERT_RECORDS), rows)
            await conn.execute(_SET_SEQ, {"store": self.store_id, "seq": self.seq})
        if history:
            rows = [
                (self.store_id, rid, field, version, client, value, written, now)
                for rid, field, version, client, value, written in history
            ]
            await conn.exec_driver_sql(_sql(conn, _UPSERT_HISTORY), rows)
        if self.known_clients.get(client_id):
            await conn.execute(
                _CLIENT_PROGRESS,
                {"store": self.store_id, "client": client_id, "last": last_mutation_id},
            )
        else:
            await conn.execute(
                insert(Client).values(
                    store_id=self.store_id,
                    client_id=client_id,
                    device_id=device_id,
                    last_mutation_id=last_mutation_id,
                    created_ms=now,
                )
            )


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
    result = await conn.execute(
        _PAGE, {"store": store_id, "after": after, "upto": store.seq, "limit": limit + 1}
    )
    rows = result.all()
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
