"""Pushes that arrive together are applied in one transaction (storage.SqliteWriter on SQLite,
storage.PgStoreWriter per store on PostgreSQL), each still all or nothing: one that fails leaves
nothing behind, the others are applied and answered as if alone."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import msgspec
import pytest
from sqlalchemy import text

import sync
from server import accounts, storage
from server.database import create_engine, migrate, write_transaction
from server.storage import Refused, push_postgres, push_sqlite
from server.stores import WRITERS
from tests.synckit import uid


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'groups.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def engine(url):
    eng = create_engine(url)
    await migrate(eng)
    yield eng
    await eng.dispose()


def person_sets(client_id: str, ids: list[str], first: int = 1) -> sync.PushRequest:
    mutations = [
        sync.Mutation(
            id=first + n,
            hlc=f"1764174724123-{n:04x}-{client_id}",
            name="set",
            args=msgspec.Raw(
                msgspec.json.encode(
                    {"entity": "person", "id": rid, "base": 0, "fields": {"name": f"P {n}"}}
                )
            ),
        )
        for n, rid in enumerate(ids)
    ]
    return sync.PushRequest(client_id=client_id, mutations=mutations)


async def test_pushes_arriving_together_are_each_all_or_nothing(engine, monkeypatch):
    groups: list[int] = []
    take = storage._take

    def recorded(queue, size=0):  # type: ignore[no-untyped-def]
        jobs = take(queue, size)
        groups.append(len(jobs))
        return jobs

    monkeypatch.setattr(storage, "_take", recorded)
    async with write_transaction(engine) as conn:
        owner, store = await accounts.create_user(conn, f"o{uid()[:8]}@example.com")
        device, _ = await accounts.create_device(conn, owner, "phone")
        viewer, _ = await accounts.create_user(conn, f"v{uid()[:8]}@example.com")
    async with write_transaction(engine) as conn:
        await conn.execute(
            text("INSERT INTO memberships (store_id, user_id, role) VALUES (:s, :u, 'viewer')"),
            {"s": store, "u": viewer},
        )
    clock = sync.HLC("server")
    first, broken, last, refused = ([uid() for _ in range(3)] for _ in range(4))
    gap = person_sets("c-gap", [uid()], first=5)  # ids must start at 1: an envelope error

    def push(user: str, dev: str, request: sync.PushRequest):  # type: ignore[no-untyped-def]
        if engine.dialect.name == "sqlite":
            return push_sqlite(engine, user, dev, store, request, clock, WRITERS)
        return push_postgres(engine, user, dev, store, request, clock, WRITERS)

    # Started together, they queue while the first takes the writer: one group.
    outcomes = await asyncio.gather(
        push(owner, device, person_sets("c-first", first)),
        # Its records are written, then its new client names no device: the database refuses
        # the client's row (a foreign key), after the records went in.
        push(owner, "no-such-device", person_sets("c-broken", broken)),
        push(viewer, device, person_sets("c-viewer", refused)),
        push(owner, device, gap),
        push(owner, device, person_sets("c-last", last)),
        return_exceptions=True,
    )
    assert groups == [5]  # one transaction for the five
    applied_first, failed, viewer_refused, envelope, applied_last = outcomes
    assert [r.status for r in applied_first[0].results] == ["applied"] * 3
    assert [r.status for r in applied_last[0].results] == ["applied"] * 3
    assert applied_last[1] == applied_first[1] + 3  # the store's position after each
    assert isinstance(failed, (sqlite3.IntegrityError, asyncpg.ForeignKeyViolationError))
    assert isinstance(viewer_refused, Refused) and viewer_refused.status == 403
    assert isinstance(envelope, sync.EnvelopeError) and envelope.status == 409

    async with engine.connect() as conn:
        stored = set(
            (await conn.execute(text("SELECT id FROM records WHERE store_id = :s"), {"s": store}))
            .scalars()
            .all()
        )
        clients = set(
            (
                await conn.execute(
                    text("SELECT client_id FROM clients WHERE store_id = :s"), {"s": store}
                )
            )
            .scalars()
            .all()
        )
        seq = (
            await conn.execute(text("SELECT seq FROM stores WHERE id = :s"), {"s": store})
        ).scalar_one()
    assert stored == set(first) | set(last)  # nothing of the broken push stayed
    assert clients == {"c-first", "c-last"}
    assert seq == 6

    # Replayed, the applied ones are duplicates; the broken one is new work still.
    again = await push(owner, device, person_sets("c-first", first))
    assert [r.status for r in again[0].results] == ["duplicate"] * 3
    assert again[1] is None  # nothing changed: no position to announce


async def test_a_push_that_fails_after_writing_is_undone_alone_on_postgres(
    postgres_url, monkeypatch
):
    """A group on PostgreSQL has no savepoint per push: one that fails after its write went
    out takes the whole transaction back, and the group is applied again without it."""
    engine = create_engine(postgres_url)
    await migrate(engine)
    applied: list[int] = []
    apply = storage.PgStoreWriter._apply

    async def counted(self, jobs, failed):  # type: ignore[no-untyped-def]
        applied.append(len(jobs) - len(failed))
        return await apply(self, jobs, failed)

    commit = storage.PgBackend.commit

    async def failing(self, client_id, *args):  # type: ignore[no-untyped-def]
        await commit(self, client_id, *args)
        if client_id == "c-bad":
            raise RuntimeError("after the write")

    monkeypatch.setattr(storage.PgStoreWriter, "_apply", counted)
    monkeypatch.setattr(storage.PgBackend, "commit", failing)
    try:
        async with write_transaction(engine) as conn:
            owner, store = await accounts.create_user(conn, f"o{uid()[:8]}@example.com")
            device, _ = await accounts.create_device(conn, owner, "phone")
        clock = sync.HLC("server")
        first, bad, last = ([uid() for _ in range(2)] for _ in range(3))

        def push(request: sync.PushRequest):  # type: ignore[no-untyped-def]
            return push_postgres(engine, owner, device, store, request, clock, WRITERS)

        outcomes = await asyncio.gather(
            push(person_sets("c-first", first)),
            push(person_sets("c-bad", bad)),
            push(person_sets("c-gap", [uid()], first=3)),  # refused before writing: no redo
            push(person_sets("c-last", last)),
            return_exceptions=True,
        )
        assert applied == [4, 3]  # once with all four, again without the one that failed
        done_first, failed, gap, done_last = outcomes
        assert [r.status for r in done_first[0].results] == ["applied"] * 2
        assert [r.status for r in done_last[0].results] == ["applied"] * 2
        assert done_last[1] == done_first[1] + 2 == 4
        assert isinstance(failed, RuntimeError)
        assert isinstance(gap, sync.EnvelopeError) and gap.status == 409
        async with engine.connect() as conn:
            stored = set(
                (
                    await conn.execute(
                        text("SELECT id FROM records WHERE store_id = :s"), {"s": store}
                    )
                )
                .scalars()
                .all()
            )
            clients = set(
                (
                    await conn.execute(
                        text("SELECT client_id FROM clients WHERE store_id = :s"), {"s": store}
                    )
                )
                .scalars()
                .all()
            )
            seq = (
                await conn.execute(text("SELECT seq FROM stores WHERE id = :s"), {"s": store})
            ).scalar_one()
        assert stored == set(first) | set(last)
        assert clients == {"c-first", "c-last"}
        assert seq == 4
    finally:
        await engine.dispose()


async def test_pushes_arriving_while_a_push_waits_for_the_stores_lock_join_it(
    postgres_url, monkeypatch
):
    """On PostgreSQL a push alone starts its transaction at once and waits there for the
    store's lock (held by another process's group). The pushes that reach this process
    meanwhile join it when the lock comes: one transaction for the three, not the first alone
    and then the others waiting for the lock again (with 4 workers that split every round of
    a device's pushes in two)."""
    engine = create_engine(postgres_url)
    await migrate(engine)
    applied: list[int] = []
    apply = storage.PgStoreWriter._apply

    async def counted(self, jobs, failed):  # type: ignore[no-untyped-def]
        outcomes = await apply(self, jobs, failed)
        applied.append(len(jobs))
        return outcomes

    monkeypatch.setattr(storage.PgStoreWriter, "_apply", counted)
    other = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        async with write_transaction(engine) as conn:
            owner, store = await accounts.create_user(conn, f"o{uid()[:8]}@example.com")
            device, _ = await accounts.create_device(conn, owner, "phone")
        clock = sync.HLC("server")

        def push(client: str, ids: list[str]):  # type: ignore[no-untyped-def]
            request = person_sets(client, ids)
            return push_postgres(engine, owner, device, store, request, clock, WRITERS)

        holder = other.transaction()
        await holder.start()
        await other.fetch("SELECT seq FROM stores WHERE id = $1 FOR UPDATE", store)
        first = asyncio.ensure_future(push("c-1", [uid(), uid()]))
        for _ in range(200):  # until the first push waits for the lock
            waiting = await other.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
            if waiting:
                break
            await asyncio.sleep(0.02)
        assert waiting == 1
        later = [asyncio.ensure_future(push(f"c-{n}", [uid()])) for n in (2, 3)]
        await asyncio.sleep(0.1)
        assert not first.done() and not any(t.done() for t in later)
        await holder.commit()
        answers = [await first, *[await t for t in later]]
        assert applied == [3]  # one transaction took the three
        assert [r.status for a, _ in answers for r in a.results] == ["applied"] * 4
        assert [position for _, position in answers] == [2, 3, 4]
    finally:
        await other.close()
        await engine.dispose()


async def test_the_writers_of_a_store_take_it_in_the_order_they_came_on_postgres(postgres_url):
    """The processes' writers of a store (here three engines, one per process) queue for it
    in the order they came (storage._QUEUE_PG), and so does any other writer of the store
    (SqlBackend.lock, as an import takes it). On the store's row lock alone the order was a
    race at each COMMIT (see _QUEUE_PG)."""
    engines = [create_engine(postgres_url) for _ in range(3)]
    await migrate(engines[0])
    plain = postgres_url.replace("postgresql+asyncpg", "postgresql")
    other = await asyncpg.connect(plain)
    watch = await asyncpg.connect(plain)  # (a transaction sees one snapshot of the activity)
    try:
        async with write_transaction(engines[0]) as conn:
            owner, store = await accounts.create_user(conn, f"o{uid()[:8]}@example.com")
            device, _ = await accounts.create_device(conn, owner, "phone")
        clock = sync.HLC("server")

        async def queued() -> int:
            return await watch.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
                " AND datname = current_database()"
            )

        async def until_queued(count: int) -> None:
            for _ in range(200):
                if await queued() == count:
                    return
                await asyncio.sleep(0.02)
            raise AssertionError(f"{await queued()} writers queued, not {count}")

        holder = other.transaction()
        await holder.start()
        await other.execute(storage._render(storage._QUEUE_PG, True), store)
        pushes = []
        for n, engine in enumerate(engines):
            request = person_sets(f"c-{n}", [uid()])
            pushes.append(
                asyncio.ensure_future(
                    push_postgres(engine, owner, device, store, request, clock, WRITERS)
                )
            )
            await until_queued(n + 1)  # each waits in the queue, behind the one before
        await asyncio.sleep(0.1)
        assert not any(p.done() for p in pushes)
        await holder.commit()
        assert [(await p)[1] for p in pushes] == [1, 2, 3]  # their positions: in order

        holder = other.transaction()
        await holder.start()
        await other.execute(storage._render(storage._QUEUE_PG, True), store)

        async def import_lock() -> int:
            async with write_transaction(engines[1]) as conn:
                backend = storage.SqlBackend(conn, store)
                await backend.lock()
                return backend.seq

        locking = asyncio.ensure_future(import_lock())
        await until_queued(1)
        assert not locking.done()
        await holder.rollback()
        assert await locking == 3
    finally:
        await other.close()
        await watch.close()
        for engine in engines:
            await engine.dispose()


def title_set(client_id: str, record_id: str, title: str, base: int) -> sync.PushRequest:
    args = {"entity": "person", "id": record_id, "base": base, "fields": {"title": title}}
    mutation = sync.Mutation(
        id=1,
        hlc=f"1764174724123-0000-{client_id}",
        name="set",
        args=msgspec.Raw(msgspec.json.encode(args)),
    )
    return sync.PushRequest(client_id=client_id, mutations=[mutation])


@pytest.mark.parametrize("caller", ["user", "token"])
async def test_a_draft_is_used_only_while_what_it_read_is_unchanged(
    postgres_url, monkeypatch, caller
):
    """On PostgreSQL a push waiting for the store's lock, or behind a group that does, is
    worked out beforehand (a draft); under the lock its draft is used only if the records it
    read are as it read them. Here another
    process edits the same person's title (concurrently: both saw version 1) between the
    draft and the lock: the draft is dropped and the edit merged with the other, which is
    kept as a conflict, never overwritten by a write worked out from version 1. A draft of
    a push whose records nobody touched is used."""
    engine = create_engine(postgres_url)
    await migrate(engine)
    drafts: list[storage._Draft | None] = []
    held: list[bool] = []
    draft, holds = storage._draft, storage.PgBackend.holds

    async def recorded_draft(conn, args):  # type: ignore[no-untyped-def]
        made = await draft(conn, args)
        drafts.append(made)
        return made

    async def recorded_holds(self, made, device_id, client_id):  # type: ignore[no-untyped-def]
        held.append(await holds(self, made, device_id, client_id))
        return held[-1]

    monkeypatch.setattr(storage, "_draft", recorded_draft)
    monkeypatch.setattr(storage.PgBackend, "holds", recorded_holds)
    other = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        async with write_transaction(engine) as conn:
            owner, store = await accounts.create_user(conn, f"o{uid()[:8]}@example.com")
            device, token = await accounts.create_device(conn, owner, "phone")
            laptop, _ = await accounts.create_device(conn, owner, "laptop")
        clock = sync.HLC("server")
        rosa, dana, mira = uid(), uid(), uid()

        def push(dev: str, request: sync.PushRequest):  # type: ignore[no-untyped-def]
            if caller == "token":  # as the push route does: the device by its token's hash
                hashed = accounts.hash_token(token)
                return push_postgres(
                    engine, None, None, store, request, clock, WRITERS, token_hash=hashed
                )
            return push_postgres(engine, owner, dev, store, request, clock, WRITERS)

        await push(device, person_sets("c-seed", [rosa, mira]))  # Rosa and Mira, version 1
        holder = other.transaction()
        await holder.start()
        await other.fetch("SELECT seq FROM stores WHERE id = $1 FOR UPDATE", store)
        first = asyncio.ensure_future(push(device, person_sets("c-0", [uid()])))
        await asyncio.sleep(0.1)  # the first waits for the lock; the next two wait behind it
        edit = asyncio.ensure_future(push(device, title_set("c-phone", rosa, "Manager", 1)))
        new = asyncio.ensure_future(push(device, person_sets("c-new", [dana])))
        kept = asyncio.ensure_future(push(device, title_set("c-mira", mira, "Lead", 1)))
        for _ in range(200):
            if len(drafts) == 4:
                break
            await asyncio.sleep(0.02)
        # The first was drafted as it waited for the lock, the other three behind it.
        assert len(drafts) == 4 and all(d is not None for d in drafts)
        # Another process (this connection, holding the lock) edits Rosa's title meanwhile.
        backend = storage.PgBackend(other, store, None)
        request = title_set("c-laptop", rosa, "Director", 1)
        await storage._push_pg(
            backend, owner, laptop, store, request, clock, WRITERS, None, None, None
        )
        await holder.commit()
        answers = [await first, await edit, await new, await kept]
        assert [r.status for a, _ in answers for r in a.results] == ["applied"] * 4
        # The edit's draft read Rosa at version 1; Mira's, at version 1 still.
        assert held == [True, False, True, True]
        rows = await other.fetch(
            "SELECT id, entity, version, fields FROM records WHERE store_id = $1", store
        )
        by_id = {r["id"]: r for r in rows}
        assert by_id[rosa]["version"] == 3  # the seed, the laptop's edit, the phone's
        assert msgspec.json.decode(by_id[dana]["fields"])["name"] == "P 0"
        assert by_id[mira]["version"] == 2
        assert msgspec.json.decode(by_id[mira]["fields"])["title"] == "Lead"
        conflicts = [msgspec.json.decode(r["fields"]) for r in rows if r["entity"] == "conflict"]
        assert len(conflicts) == 1  # neither title is lost
        titles = {conflicts[0]["kept"], conflicts[0]["lost"]}
        assert titles == {"Manager", "Director"}
        assert msgspec.json.decode(by_id[rosa]["fields"])["title"] == conflicts[0]["kept"]
    finally:
        await other.close()
        await engine.dispose()


async def phone_of_a_new_user(engine):  # type: ignore[no-untyped-def]
    """A new user's store, and how their phone pushes to it: by its token, as the route does."""
    async with write_transaction(engine) as conn:
        owner, store = await accounts.create_user(conn, f"o{uid()[:8]}@example.com")
        _, token = await accounts.create_device(conn, owner, "phone")
    clock = sync.HLC("server")
    hashed = accounts.hash_token(token)

    def push(request: sync.PushRequest):  # type: ignore[no-untyped-def]
        return push_postgres(engine, None, None, store, request, clock, WRITERS, token_hash=hashed)

    return store, push


async def test_drafts_checked_together_are_read_again_after_a_push_of_the_group_wrote(
    postgres_url, monkeypatch
):
    """Once a group has the store's lock, what its drafted pushes read is checked for all at
    once (PgStoreWriter._check), a round trip each saved while the store is locked. A push of
    the group that writes a record a later one's draft read makes that check stale: the
    later push reads it again, finds its draft outdated and is merged, its edit and the
    earlier one both kept (one as a conflict), never written over from the version its
    draft read. The others use the check read together."""
    engine = create_engine(postgres_url)
    await migrate(engine)
    held: list[bool] = []
    together: list[bool] = []
    holds, push_pg = storage.PgBackend.holds, storage._push_pg

    async def recorded_holds(self, made, device_id, client_id):  # type: ignore[no-untyped-def]
        held.append(await holds(self, made, device_id, client_id))
        return held[-1]

    async def recorded_push(backend, *args):  # type: ignore[no-untyped-def]
        together.append(len(args) > 11 and args[11] is not None)
        return await push_pg(backend, *args)

    monkeypatch.setattr(storage.PgBackend, "holds", recorded_holds)
    monkeypatch.setattr(storage, "_push_pg", recorded_push)
    other = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        store, push = await phone_of_a_new_user(engine)
        rosa, dana, mira = uid(), uid(), uid()

        await push(person_sets("c-seed", [rosa, mira]))
        held.clear()
        together.clear()
        holder = other.transaction()
        await holder.start()
        await other.fetch("SELECT seq FROM stores WHERE id = $1 FOR UPDATE", store)
        pushes = [asyncio.ensure_future(push(person_sets("c-0", [uid()])))]
        await asyncio.sleep(0.1)  # the first waits for the lock; the others behind it
        for request in (
            title_set("c-a", rosa, "Manager", 1),
            title_set("c-b", rosa, "Director", 1),  # read Rosa as the one before it did
            person_sets("c-new", [dana]),
            title_set("c-mira", mira, "Lead", 1),
        ):
            pushes.append(asyncio.ensure_future(push(request)))
        await asyncio.sleep(0.3)  # all drafted meanwhile
        await holder.commit()
        answers = [await p for p in pushes]
        assert [r.status for a, _ in answers for r in a.results] == ["applied"] * 5
        # The first read with the lock, the others' checks together; c-b's was stale (c-a
        # wrote Rosa): read again, its draft is outdated; the last two as checked.
        assert together == [False, True, False, True, True]
        assert held == [True, True, False, True, True]
        rows = await other.fetch(
            "SELECT id, entity, version, fields FROM records WHERE store_id = $1", store
        )
        by_id = {r["id"]: r for r in rows}
        assert by_id[rosa]["version"] == 3
        conflicts = [msgspec.json.decode(r["fields"]) for r in rows if r["entity"] == "conflict"]
        assert len(conflicts) == 1
        assert {conflicts[0]["kept"], conflicts[0]["lost"]} == {"Manager", "Director"}
        assert msgspec.json.decode(by_id[mira]["fields"])["title"] == "Lead"
        assert msgspec.json.decode(by_id[dana]["fields"])["name"] == "P 0"
    finally:
        await other.close()
        await engine.dispose()


async def test_a_push_sent_twice_into_one_group_is_applied_once(postgres_url):
    """A device that sends its push again (its answer lost) while the first is still waiting
    for the store: both are drafted from the same progress and join one group. The second's
    check, read for the group as the lock came, is stale once the first wrote (the same
    records, the same client): it reads it again and answers the mutations as applied
    already, not twice."""
    engine = create_engine(postgres_url)
    await migrate(engine)
    other = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        store, push = await phone_of_a_new_user(engine)

        holder = other.transaction()
        await holder.start()
        await other.fetch("SELECT seq FROM stores WHERE id = $1 FOR UPDATE", store)
        first = asyncio.ensure_future(push(person_sets("c-0", [uid()])))
        await asyncio.sleep(0.1)
        twice = person_sets("c-twice", [uid(), uid()])
        pushes = [asyncio.ensure_future(push(twice)) for _ in range(2)]
        await asyncio.sleep(0.3)  # drafted meanwhile
        await holder.commit()
        await first
        (once, at), (again, _) = [await p for p in pushes]
        assert [r.status for r in once.results] == ["applied"] * 2
        assert at == 3
        assert [r.status for r in again.results] != ["applied"] * 2  # not applied twice
        count = await other.fetchval("SELECT count(*) FROM records WHERE store_id = $1", store)
        assert count == 3
        progress = await other.fetchval(
            "SELECT last_mutation_id FROM clients WHERE store_id = $1 AND client_id = $2",
            store,
            "c-twice",
        )
        assert progress == 2
    finally:
        await other.close()
        await engine.dispose()


async def test_values_holding_control_characters_are_stored_as_sent(engine):
    """PostgreSQL's rows travel joined by U+001E (storage._SEP): a value holding it, or any
    other control character, is stored and read back as it was sent, its record and the
    others of the push intact."""
    async with write_transaction(engine) as conn:
        owner, store = await accounts.create_user(conn, f"o{uid()[:8]}@example.com")
        device, _ = await accounts.create_device(conn, owner, "phone")
    names = ["a\x1eb", "\x1e", "c\x1fd\x1e", "tab\tand\nnewline", "plain"]
    ids = [uid() for _ in names]
    mutations = [
        sync.Mutation(
            id=n + 1,
            hlc=f"1764174724123-{n:04x}-c-ctl",
            name="set",
            args=msgspec.Raw(
                msgspec.json.encode(
                    {"entity": "person", "id": rid, "base": 0, "fields": {"name": name}}
                )
            ),
        )
        for n, (rid, name) in enumerate(zip(ids, names, strict=True))
    ]
    request = sync.PushRequest(client_id="c-ctl", mutations=mutations)
    clock = sync.HLC("server")
    if engine.dialect.name == "sqlite":
        answer, _ = await push_sqlite(engine, owner, device, store, request, clock, WRITERS)
    else:
        answer, _ = await push_postgres(engine, owner, device, store, request, clock, WRITERS)
    assert [r.status for r in answer.results] == ["applied"] * len(names)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id, fields FROM records WHERE store_id = :s"), {"s": store}
        )
        stored = {rid: msgspec.json.decode(fields)["name"] for rid, fields in rows}
    assert stored == dict(zip(ids, names, strict=True))


async def test_records_are_looked_up_by_their_key_in_a_store_not_analyzed_since_it_grew(
    postgres_url,
):
    """The statements that read records by id (the load, a draft's load, the seqs a draft
    read, with the lock or without) look each id up in the primary key, also before
    autovacuum has analyzed a table that just grew: planned as `store_id = $1 AND id =
    ANY(...)`, they read every record of the store through the (store_id, seq) index, and a
    push took 8 ms at first and 148 ms at 15,000 records (see storage._by_ids)."""
    engine = create_engine(postgres_url)
    await migrate(engine)
    try:
        async with write_transaction(engine) as conn:
            owner, store = await accounts.create_user(conn, f"o{uid()[:8]}@example.com")
            await conn.execute(
                text(
                    "INSERT INTO records (store_id, id, entity, version, seq, deleted, fields,"
                    " meta, updated_ms) SELECT :s, gen_random_uuid()::text, 'person', 1, g,"
                    " false, '{}', '{}', 0 FROM generate_series(1, 20000) AS g"
                ),
                {"s": store},
            )
        raw = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            rows = await raw.fetch("SELECT id FROM records WHERE store_id = $1 LIMIT 100", store)
            ids = [r[0] for r in rows]
            wanted = storage._SEP.join([*ids, uid()])
            statements = {
                "load": (storage._LOAD_PG, store, wanted),
                "draft load": (storage._DRAFT_LOAD_PG, store, wanted),
                "seqs": (storage._SEQS_PG, store, wanted),
                "seqs with the lock": (
                    storage._RELOCK_AS_WRITER,
                    owner,
                    list(WRITERS),
                    "c-1",
                    store,
                    wanted,
                ),
            }
            for name, (statement, *params) in statements.items():
                plan = "\n".join(r[0] for r in await raw.fetch(f"EXPLAIN {statement}", *params))
                assert "pk_records" in plan, (name, plan)
                assert "ix_records_store_seq" not in plan, (name, plan)
            found = await raw.fetch(storage._SEQS_PG, store, wanted)
            assert sorted(r[0] for r in found) == sorted(ids)
        finally:
            await raw.close()
    finally:
        await engine.dispose()
