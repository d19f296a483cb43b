"""The sync engine's storage on SQL: one store, inside one transaction (sync.Backend)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import msgspec
from sqlalchemy import insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

import sync
from server.accounts import now_ms
from server.models import Client, Record, Store, TextHistory

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_CHUNK = 900  # ids per IN (...): well under SQLite's limit on bound parameters
HISTORY_DAYS = 90


def _upsert(conn: AsyncConnection, table: Any, keys: list[str], update_cols: list[str]) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    if not update_cols:
        return stmt.on_conflict_do_nothing(index_elements=keys)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={c: stmt.excluded[c] for c in update_cols}
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
        row = (
            await self.conn.execute(
                select(Store.seq).where(Store.id == self.store_id).with_for_update()
            )
        ).one()
        self.seq = row.seq

    async def client(self, client_id: str) -> tuple[str | None, int]:
        row = (
            await self.conn.execute(
                select(Client.device_id, Client.last_mutation_id).where(
                    Client.store_id == self.store_id, Client.client_id == client_id
                )
            )
        ).one_or_none()
        self.known_clients[client_id] = row is not None
        return (row.device_id, row.last_mutation_id) if row else (None, 0)

    async def load(self, ids: Collection[str]) -> dict[str, sync.Record]:
        found: dict[str, sync.Record] = {}
        ids = list(ids)
        for start in range(0, len(ids), _CHUNK):
            rows = await self.conn.execute(
                select(
                    Record.id,
                    Record.entity,
                    Record.version,
                    Record.deleted,
                    Record.fields,
                    Record.meta,
                ).where(
                    Record.store_id == self.store_id, Record.id.in_(ids[start : start + _CHUNK])
                )
            )
            for r in rows:
                found[r.id] = sync.Record(
                    entity=r.entity,
                    id=r.id,
                    version=r.version,
                    deleted=bool(r.deleted),
                    fields=_decode(r.fields),
                    meta=_decode(r.meta),
                    stored=True,
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
                    {
                        "store_id": self.store_id,
                        "id": record.id,
                        "entity": record.entity,
                        "version": record.version,
                        "seq": self.seq,
                        "deleted": record.deleted,
                        "fields": _encode(record.fields).decode(),
                        "meta": _encode(record.meta).decode(),
                        "updated_ms": now,
                    }
                )
            await conn.execute(
                _upsert(
                    conn,
                    Record.__table__,
                    ["store_id", "id"],
                    ["entity", "version", "seq", "deleted", "fields", "meta", "updated_ms"],
                ),
                rows,
            )
            await conn.execute(update(Store).where(Store.id == self.store_id).values(seq=self.seq))
        if history:
            await conn.execute(
                _upsert(
                    conn,
                    TextHistory.__table__,
                    ["store_id", "record_id", "field", "version"],
                    ["client_id", "value", "written", "created_ms"],
                ),
                [
                    {
                        "store_id": self.store_id,
                        "record_id": rid,
                        "field": field,
                        "version": version,
                        "client_id": client,
                        "value": value,
                        "written": written,
                        "created_ms": now,
                    }
                    for rid, field, version, client, value, written in history
                ],
            )
        if self.known_clients.get(client_id):
            await conn.execute(
                update(Client)
                .where(Client.store_id == self.store_id, Client.client_id == client_id)
                .values(last_mutation_id=last_mutation_id)
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


async def pull_changes(
    conn: AsyncConnection, store_id: str, client_id: str, cursor: str, limit: int, hlc: str
) -> sync.PullResponse:
    """One page of changes after `cursor`: each record once, at its latest state."""
    limit = max(1, min(limit, sync.MAX_PULL_LIMIT))
    store = (await conn.execute(select(Store.seq, Store.epoch).where(Store.id == store_id))).one()
    last = (
        await conn.execute(
            select(Client.last_mutation_id).where(
                Client.store_id == store_id, Client.client_id == client_id
            )
        )
    ).scalar_one_or_none() or 0
    after = 0
    if cursor:
        decoded = sync.decode_cursor(cursor)
        if decoded is None or decoded[0] != store.epoch or decoded[1] > store.seq:
            return sync.PullResponse(
                cursor="", more=False, reset=True, last_mutation_id=last, hlc=hlc, changes=[]
            )
        after = decoded[1]
    # Bounded by the store's seq as read above: every write up to it has committed with it.
    rows = (
        await conn.execute(
            select(
                Record.entity, Record.id, Record.version, Record.deleted, Record.fields, Record.seq
            )
            .where(Record.store_id == store_id, Record.seq > after, Record.seq <= store.seq)
            .order_by(Record.seq)
            .limit(limit + 1)
        )
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        sync.Change(
            entity=r.entity,
            id=r.id,
            version=r.version,
            deleted=bool(r.deleted),
            fields=msgspec.Raw(r.fields.encode()),
        )
        for r in rows
    ]
    next_seq = rows[-1].seq if more else store.seq
    return sync.PullResponse(
        cursor=sync.encode_cursor(store.epoch, next_seq),
        more=more,
        reset=False,
        last_mutation_id=last,
        hlc=hlc,
        changes=changes,
    )


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
