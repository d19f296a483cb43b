"""Test helpers for the sync engine: simulated devices and stores on each kind of storage."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Collection, Sequence
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import sync
from server.storage import pull_changes, push_postgres, push_sqlite
from server.stores import WRITERS


def uid() -> str:
    return str(uuid.uuid4())


class Device:
    """A simulated app install: numbers its mutations and stamps them with its own clock."""

    def __init__(self, client_id: str, start_ms: int | None = None) -> None:
        self.client_id = client_id
        self.next_id = 1
        self._ms = start_ms
        self.clock = sync.HLC(client_id, now=self._now) if start_ms else sync.HLC(client_id)

    def _now(self) -> int:
        return self._ms

    def advance(self, ms: int) -> None:
        self._ms += ms

    def mutation(self, name: str, **args: Any) -> sync.Mutation:
        m = sync.Mutation(
            id=self.next_id,
            hlc=self.clock.tick(),
            name=name,
            args=msgspec.Raw(msgspec.json.encode(args)),
        )
        self.next_id += 1
        return m

    def set(self, entity: str, record_id: str, base: int, **fields: Any) -> sync.Mutation:
        return self.mutation("set", entity=entity, id=record_id, base=base, fields=fields)

    def delete(self, entity: str, record_id: str, base: int) -> sync.Mutation:
        return self.mutation("delete", entity=entity, id=record_id, base=base)

    def add(self, entity: str, record_id: str, field: str, value: str) -> sync.Mutation:
        return self.mutation("add", entity=entity, id=record_id, field=field, value=value)

    def remove(self, entity: str, record_id: str, field: str, value: str) -> sync.Mutation:
        return self.mutation("remove", entity=entity, id=record_id, field=field, value=value)

    def merge(self, entity: str, record_id: str, into: str) -> sync.Mutation:
        return self.mutation("merge", entity=entity, id=record_id, into=into)

    def resolve(self, conflict: str, choose: str, **value: Any) -> sync.Mutation:
        return self.mutation("resolve", conflict=conflict, choose=choose, **value)


class MemoryBackend:
    """sync.Backend over dicts: the engine's rules without a database, for fast properties."""

    def __init__(self) -> None:
        self.records: dict[str, sync.Record] = {}
        self.clients: dict[str, tuple[str, int]] = {}
        self.history: dict[tuple[str, str], list[tuple[int, str, str, str | None]]] = {}
        self.seq = 0
        self.seqs: dict[str, int] = {}

    async def client(self, client_id: str) -> tuple[str | None, int]:
        return self.clients.get(client_id, (None, 0))

    async def load(self, ids: Collection[str]) -> dict[str, sync.Record]:
        return {i: copy.deepcopy(self.records[i]) for i in ids if i in self.records}

    async def referrers(self, refs: Sequence[tuple[str, str]], target: str) -> list[str]:
        return [
            r.id
            for r in self.records.values()
            if any(r.entity == e and r.fields.get(f) == target for e, f in refs)
        ]

    async def text_at(self, record_id: str, field: str, version: int, client_id: str) -> Any:
        best = ""
        for v, client, value, written in self.history.get((record_id, field), []):
            if v <= version or client == client_id:
                best = written if v > version and written is not None else value
        return best

    async def commit(self, client_id, device_id, last_mutation_id, records, history) -> None:
        for r in records:
            r.dirty = False
            self.records[r.id] = copy.deepcopy(r)
            self.seq += 1
            self.seqs[r.id] = self.seq
        for rid, field, version, client, value, written in history:
            entries = self.history.setdefault((rid, field), [])
            entry = (version, client, value, written)
            entries[:] = [e for e in entries if e[0] != version] + [entry]
            entries.sort()
        self.clients[client_id] = (device_id, last_mutation_id)


class Store:
    """One store on one kind of storage, pushed to directly through the engine."""

    kind: str

    async def push(self, device: Device, mutations: list[sync.Mutation]) -> sync.PushResponse:
        raise NotImplementedError

    async def state(self) -> dict[str, dict[str, Any]]:
        """{id: {entity, version, deleted, fields}} of every record, as a pull shows it."""
        raise NotImplementedError

    async def one(self, record_id: str) -> dict[str, Any]:
        return (await self.state())[record_id]

    async def conflicts(self, status: str = "open") -> list[dict[str, Any]]:
        return [
            {"id": rid, **r["fields"]}
            for rid, r in (await self.state()).items()
            if r["entity"] == "conflict" and r["fields"]["status"] == status
        ]

    async def apply(self, device: Device, *mutations: sync.Mutation) -> list[sync.MutationResult]:
        """Push and insist nothing was refused; returns the results."""
        response = await self.push(device, list(mutations))
        return response.results


class MemoryStore(Store):
    kind = "memory"

    def __init__(self) -> None:
        self.backend = MemoryBackend()
        self.clock = sync.HLC("server")

    async def push(self, device: Device, mutations: list[sync.Mutation]) -> sync.PushResponse:
        request = sync.PushRequest(client_id=device.client_id, mutations=mutations)
        return await sync.push(self.backend, f"device-{device.client_id}", request, self.clock)

    async def state(self) -> dict[str, dict[str, Any]]:
        return {
            r.id: {
                "entity": r.entity,
                "version": r.version,
                "deleted": r.deleted,
                "fields": copy.deepcopy(r.fields),
            }
            for r in self.backend.records.values()
        }


class SqlStore(Store):
    def __init__(self, engine: AsyncEngine, store_id: str, device_id: str) -> None:
        self.engine = engine
        self.store_id = store_id
        self.device_id = device_id
        self.kind = engine.dialect.name
        self.clock = sync.HLC("server")
        self.user_id: str | None = None

    async def push(self, device: Device, mutations: list[sync.Mutation]) -> sync.PushResponse:
        """Through the server's own push path on this engine (as the push route calls it)."""
        request = sync.PushRequest(client_id=device.client_id, mutations=mutations)
        if self.user_id is None:
            async with self.engine.connect() as conn:
                found = await conn.execute(
                    text("SELECT user_id FROM devices WHERE id = :d"), {"d": self.device_id}
                )
                self.user_id = found.scalar_one()
        push = push_sqlite if self.kind == "sqlite" else push_postgres
        args = (self.user_id, self.device_id, self.store_id, request, self.clock, WRITERS)
        result, _ = await push(self.engine, *args)
        return result

    async def pull_all(self, client_id: str = "reader", limit: int = 500) -> list[sync.Change]:
        changes: list[sync.Change] = []
        cursor = ""
        while True:
            async with self.engine.connect() as conn:
                page = (
                    await pull_changes(conn, self.store_id, client_id, cursor, limit, "h")
                ).decoded()
            assert not page.reset
            changes.extend(page.changes)
            cursor = page.cursor
            if not page.more:
                return changes

    async def state(self) -> dict[str, dict[str, Any]]:
        return {
            c.id: {
                "entity": c.entity,
                "version": c.version,
                "deleted": c.deleted,
                "fields": msgspec.json.decode(c.fields),
            }
            for c in await self.pull_all()
        }
