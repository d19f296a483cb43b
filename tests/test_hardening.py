"""Hostile input from the audit (issue 10): each answered 4xx, nothing stored that can wedge a
store, no stall of another store's writes. Storage cases run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging

import msgspec
import pytest
from sqlalchemy import text

import sync
from server.database import write_transaction
from tests.synckit import Device, uid

T0 = 1_790_000_000_000
JSON = {"content-type": "application/json"}


def wire(device: Device, *mutations: sync.Mutation) -> dict:
    return {
        "client_id": device.client_id,
        "mutations": msgspec.json.decode(msgspec.json.encode(list(mutations))),
    }


async def push(client, account, payload) -> dict:
    response = await client.post(
        f"/api/stores/{account.store_id}/push", json=payload, headers=account.auth
    )
    assert response.status_code == 200, response.text
    return response.json()


async def pull_all(client, account) -> dict[str, dict]:
    response = await client.post(
        f"/api/stores/{account.store_id}/pull",
        json={"client_id": "reader", "cursor": "", "limit": 5000},
        headers=account.auth,
    )
    assert response.status_code == 200, response.text
    return {c["id"]: c for c in response.json()["changes"]}


# ----- 1. NUL: a content error on both engines; nothing stored can wedge a store ------------


@pytest.mark.parametrize(
    ("entity", "fields", "where"),
    [
        ("person", {"name": "Dana", "notes": "a\u0000b"}, "person.notes"),
        ("person", {"name": "Dana\u0000"}, "person.name"),
        ("person", {"name": "Dana", "tags": ["ok", "x\u0000"]}, "person.tags"),
    ],
    ids=["text", "str", "set element"],
)
async def test_nul_in_a_value_is_a_content_error(client, account, entity, fields, where):
    phone = Device("phone", start_ms=T0)
    pid = uid()
    answer = await push(client, account, wire(phone, phone.set(entity, pid, 0, **fields)))
    (result,) = answer["results"]
    assert result["status"] == "rejected"
    assert where in result["error"] and "U+0000" in result["error"]
    assert answer["last_mutation_id"] == 1  # processed: the queue is not blocked
    assert pid not in await pull_all(client, account)


async def test_nul_in_add_and_resolve_is_a_content_error(client, account):
    phone = Device("phone", start_ms=T0)
    pid = uid()
    await push(client, account, wire(phone, phone.set("person", pid, 0, name="Dana")))
    answer = await push(client, account, wire(phone, phone.add("person", pid, "tags", "a\x00")))
    assert answer["results"][0]["status"] == "rejected"
    assert "U+0000" in answer["results"][0]["error"]


async def test_nul_in_an_id_is_rejected_not_a_500(client, account):
    phone = Device("phone", start_ms=T0)
    bad = phone.set("person", "a\x00b", 0, name="Dana")
    ref = phone.set("conversation", uid(), 0, person_id="x\x00")
    answer = await push(client, account, wire(phone, bad, ref))
    assert [r["status"] for r in answer["results"]] == ["rejected", "rejected"]


async def test_a_stored_nul_cannot_wedge_merges(client, engine, account):
    """A record stored before the rule (a NUL escaped in its JSON) must not break merges:
    before, every merge in the store answered 500 on PostgreSQL (the jsonb cast)."""
    phone = Device("phone", start_ms=T0)
    keep, dup, talk = uid(), uid(), uid()
    await push(
        client,
        account,
        wire(
            phone,
            phone.set("person", keep, 0, name="Dana"),
            phone.set("person", dup, 0, name="Dana O."),
            phone.set("conversation", talk, 0, person_id=dup, place="hall"),
        ),
    )
    async with write_transaction(engine) as conn:  # as an older server stored it
        await conn.execute(
            text("UPDATE records SET fields = replace(fields, '\"hall\"', :v) WHERE id = :id"),
            {"v": '"hall\\u0000B"', "id": talk},
        )
    answer = await push(client, account, wire(phone, phone.merge("person", dup, keep)))
    assert answer["results"][0]["status"] == "applied"
    records = await pull_all(client, account)
    assert records[talk]["fields"]["person_id"] == keep
    assert records[dup]["deleted"] is True


# ----- 3. referrers through the index; bounded work; a busy lock is 503, not 500 --------------


async def test_merge_repoints_through_the_reference_index(store, engine):
    phone = Device("phone", start_ms=T0)
    keep, dup, other = uid(), uid(), uid()
    talks = [uid() for _ in range(5)]
    await store.apply(
        phone,
        phone.set("person", keep, 0, name="Dana"),
        phone.set("person", dup, 0, name="Dana O."),
        phone.set("person", other, 0, name="Sam"),
        *(phone.set("conversation", t, 0, person_id=dup) for t in talks),
        phone.set("referral", uid(), 0, from_person_id=dup, to_person_id=other),
    )
    # One conversation moves away from the duplicate before the merge: the index follows.
    await store.apply(phone, phone.set("conversation", talks[0], 1, person_id=other))
    async with engine.connect() as conn:
        indexed = (
            await conn.execute(
                text("SELECT count(*) FROM record_refs WHERE store_id = :s AND target_id = :t"),
                {"s": store.store_id, "t": dup},
            )
        ).scalar_one()
    assert indexed == 5  # 4 conversations and the referral
    await store.apply(phone, phone.merge("person", dup, keep))
    state = await store.state()
    assert state[talks[0]]["fields"]["person_id"] == other
    assert all(state[t]["fields"]["person_id"] == keep for t in talks[1:])
    (referral,) = [r for r in state.values() if r["entity"] == "referral"]
    assert referral["fields"]["from_person_id"] == keep


async def test_the_referrer_lookup_reads_no_record_json(store, monkeypatch):
    """Before: a merge scanned every record of the referring types (json_extract/jsonb)."""
    from server import storage

    statements: list[str] = []
    real = storage.SqlBackend.referrers

    async def spy(self, refs, target):
        rows = self.db.rows

        async def recording(template, params):
            statements.append(template)
            return await rows(template, params)

        self.db.rows = recording
        try:
            return await real(self, refs, target)
        finally:
            self.db.rows = rows

    monkeypatch.setattr(storage.SqlBackend, "referrers", spy)
    phone = Device("phone", start_ms=T0)
    keep, dup = uid(), uid()
    await store.apply(
        phone, phone.set("person", keep, 0, name="A"), phone.set("person", dup, 0, name="B")
    )
    await store.apply(phone, phone.merge("person", dup, keep))
    assert statements and all("record_refs" in s for s in statements)
    assert not any("records" in s.replace("record_refs", "") for s in statements)


async def test_a_push_stops_after_its_work_budget_and_the_rest_follows(store, monkeypatch):
    """Merges that re-point many records stop the push early; the rest come next push."""
    from sync import _engine

    monkeypatch.setattr(_engine, "MAX_PUSH_RECORDS", 5)
    phone = Device("phone", start_ms=T0)
    keep = uid()
    dups = [uid() for _ in range(4)]
    setup = [phone.set("person", keep, 0, name="Dana")]
    for d in dups:
        setup.append(phone.set("person", d, 0, name="Dana again"))
        setup.extend(phone.set("conversation", uid(), 0, person_id=d) for _ in range(3))
    await store.apply(phone, *setup)
    merges = [phone.merge("person", d, keep) for d in dups]
    first = await store.push(phone, merges)
    done = first.last_mutation_id - len(setup)
    assert 1 <= done < 4  # stopped early, after whole mutations
    assert [r.id for r in first.results] == [m.id for m in merges[:done]]
    second = await store.push(phone, merges)  # the client sends what is still pending
    assert second.last_mutation_id == merges[-1].id
    assert {r.status for r in second.results[:done]} == {"duplicate"}
    assert {r.status for r in second.results[done:]} == {"applied"}
    state = await store.state()
    conversations = [r for r in state.values() if r["entity"] == "conversation"]
    assert len(conversations) == 12
    assert all(c["fields"]["person_id"] == keep for c in conversations)
    assert all(state[d]["deleted"] for d in dups)


async def test_a_push_waiting_too_long_for_the_lock_is_503_not_500(
    db_url, engine, account, monkeypatch
):
    """A long write elsewhere (another store on SQLite; this store's row on PostgreSQL) makes
    a push wait within the budget, then answer 503 + Retry-After: never a 500."""
    from litestar.testing import AsyncTestClient

    from server import database
    from server.app import create_app
    from server.settings import Settings
    from tests.conftest import WEB_DIR

    monkeypatch.setattr(database, "LOCK_BUDGET_S", 0.5)
    hold, release = asyncio.Event(), asyncio.Event()
    # A push checks its token in its own transaction; a busy one is answered without a
    # second check (which would wait for the same busy pool or writer).
    from server import sync_routes
    from server.auth import provide_caller

    rechecks = []

    async def counted(request, engine):  # type: ignore[no-untyped-def]
        rechecks.append(request)
        return await provide_caller(request, engine)

    monkeypatch.setattr(sync_routes, "provide_caller", counted)

    async def long_writer(writer_engine):
        if writer_engine.dialect.name == "sqlite":  # the one write lock of the file
            async with write_transaction(writer_engine) as conn:
                await conn.execute(text("SELECT 1"))
                hold.set()
                await release.wait()
        else:  # PostgreSQL: this store's row
            async with writer_engine.connect() as conn, conn.begin():
                await conn.execute(
                    text("SELECT seq FROM stores WHERE id = :s FOR UPDATE"),
                    {"s": account.store_id},
                )
                hold.set()
                await release.wait()

    phone = Device("phone", start_ms=T0)
    payload = wire(phone, phone.set("person", uid(), 0, name="Dana"))
    app = create_app(Settings(database_url=db_url, web_dir=WEB_DIR))
    async with AsyncTestClient(app=app) as client:
        # (On SQLite the holder is another engine, as another process would be: the app's
        # connection then waits out busy_timeout. Its own writers queue in-process, below.)
        holder = asyncio.create_task(long_writer(engine))
        await hold.wait()
        try:
            response = await client.post(
                f"/api/stores/{account.store_id}/push", json=payload, headers=account.auth
            )
        finally:
            release.set()
            await holder
        assert response.status_code == 503, response.text
        assert rechecks == []
        assert int(response.headers["Retry-After"]) >= 1
        assert set(response.json()) == {"status_code", "detail", "last_mutation_id"}
        again = await client.post(
            f"/api/stores/{account.store_id}/push", json=payload, headers=account.auth
        )
        assert again.status_code == 200  # nothing was applied the first time: now it is
        assert again.json()["results"][0]["status"] == "applied"


async def test_writers_of_one_process_queue_within_the_budget(engine):
    from server.guards import Busy

    hold, release = asyncio.Event(), asyncio.Event()

    async def long_writer():
        async with write_transaction(engine) as conn:
            await conn.execute(text("SELECT 1"))
            hold.set()
            await release.wait()

    holder = asyncio.create_task(long_writer())
    await hold.wait()
    try:
        if engine.dialect.name == "sqlite":
            with pytest.raises(Busy):
                async with write_transaction(engine, budget_s=0.2):
                    pass
        else:  # PostgreSQL writers of different stores do not wait for each other at all
            async with write_transaction(engine, budget_s=0.2) as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        release.set()
        await holder
    async with write_transaction(engine, budget_s=0.2) as conn:
        await conn.execute(text("SELECT 1"))


# ----- 5. ASCII digits only ------------------------------------------------------------------


@pytest.mark.parametrize(
    "digits",
    ["\u0661\u0667\u0669" + "\u0660" * 10, "\uff11" * 13],
    ids=["arabic-indic", "fullwidth"],
)
async def test_an_hlc_with_non_ascii_digits_is_rejected(store, digits):
    phone, desk = Device("phone", start_ms=T0), Device("desk", start_ms=T0 + 5)
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana"))
    forged = sync.Mutation(
        id=phone.next_id,
        hlc=f"{digits}-0000-phone",
        name="set",
        args=msgspec.Raw(
            msgspec.json.encode(
                {"entity": "person", "id": pid, "base": 1, "fields": {"title": "x"}}
            )
        ),
    )
    phone.next_id += 1
    (result,) = await store.apply(phone, forged)
    assert result.status == "rejected" and "hlc" in result.error
    # a real later write still wins as it should
    await store.apply(desk, desk.set("person", pid, 1, title="real"))
    assert (await store.one(pid))["fields"]["title"] == "real"


def test_cursors_and_stamps_parse_ascii_digits_only():
    assert sync.decode_cursor(sync.encode_cursor("e", 5)) == ("e", 5)
    import base64

    forged = base64.urlsafe_b64encode("v1:e:\u0665".encode()).decode()
    assert sync.decode_cursor(forged) is None
    with pytest.raises(sync.HLCError):
        sync.parse_hlc("1790000000000-0000-c-1\n")


# ----- 6. bodies that break decoders, paths with NUL ----------------------------------------


async def test_deeply_nested_json_is_400_on_login_pull_and_in_push_args(client, account):
    deep = "[" * 1000 + "]" * 1000
    login = await client.post(
        "/api/login", content=f'{{"email": {deep}, "password": "x"}}', headers=JSON
    )
    assert login.status_code == 400
    pull = await client.post(
        f"/api/stores/{account.store_id}/pull",
        content=f'{{"client_id": {deep}}}',
        headers={**account.auth, **JSON},
    )
    assert pull.status_code == 400
    phone = Device("phone", start_ms=T0)
    args = f'{{"entity": "person", "id": "{uid()}", "base": 0, "fields": {{"name": {deep}}}}}'
    body = (
        f'{{"client_id": "phone", "mutations": [{{"id": 1, "hlc": "{phone.clock.tick()}", '
        f'"name": "set", "args": {args}}}]}}'
    )
    pushed = await client.post(
        f"/api/stores/{account.store_id}/push", content=body, headers={**account.auth, **JSON}
    )
    # Too deep even to skip over: the envelope is refused (a client never sends this).
    assert pushed.status_code == 400
    assert "nested" in pushed.json()["detail"]
    assert set(pushed.json()) == {"status_code", "detail", "last_mutation_id"}


async def test_invalid_utf8_is_400(client, account):
    push_ = await client.post(
        f"/api/stores/{account.store_id}/push",
        content=b'{"client_id": "\xff", "mutations": []}',
        headers={**account.auth, **JSON},
    )
    assert push_.status_code == 400
    assert set(push_.json()) == {"status_code", "detail", "last_mutation_id"}
    login = await client.post(
        "/api/login", content=b'{"email": "\xff@x.io", "password": "xxxxxxxxx"}', headers=JSON
    )
    assert login.status_code == 400


async def test_a_nul_in_a_file_path_is_404(client):
    response = await client.get("/index.html%00.js")
    assert response.status_code == 404


# ----- 8. client errors are one line at info; only 5xx log a traceback ------------------------


async def test_a_401_is_logged_in_one_line_without_a_traceback(client, caplog):
    with caplog.at_level(logging.INFO):
        response = await client.get("/api/stores", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    ours = [r for r in caplog.records if r.name.startswith("litestar") and "401" in r.message]
    assert len(ours) == 1
    assert ours[0].levelno == logging.INFO
    assert ours[0].exc_info is None and "\n" not in ours[0].getMessage()
    assert not [r for r in caplog.records if "Uncaught exception" in r.getMessage()]


# ----- 9. a repeated stamp must not reopen a resolved conflict ------------------------------


async def test_a_repeated_stamp_does_not_reopen_a_resolved_conflict(store):
    phone, desk = Device("phone", start_ms=T0), Device("desk", start_ms=T0 + 10_000)
    pid = uid()
    await store.apply(phone, phone.set("person", pid, 0, name="Dana"))
    early = phone.set("person", pid, 1, title="first")
    await store.apply(desk, desk.set("person", pid, 1, title="desk's"))
    await store.apply(phone, early)  # loses to desk's later stamp
    (conflict,) = await store.conflicts()
    assert conflict["lost"] == "first"
    await store.apply(desk, desk.resolve(conflict["id"], "kept"))
    # The phone reuses the same stamp for a different write (a client bug or a replay).
    again = sync.Mutation(
        id=phone.next_id,
        hlc=early.hlc,
        name="set",
        args=msgspec.Raw(
            msgspec.json.encode(
                {"entity": "person", "id": pid, "base": 1, "fields": {"title": "second"}}
            )
        ),
    )
    phone.next_id += 1
    await store.apply(phone, again)
    resolved = await store.conflicts("resolved")
    assert [c["id"] for c in resolved] == [conflict["id"]]
    assert resolved[0]["lost"] == "first"
    (reopened,) = await store.conflicts("open")
    assert reopened["lost"] == "second" and reopened["id"] != conflict["id"]


# ----- 10. headers on every answer ------------------------------------------------------------


async def test_security_headers_are_on_errors_too(client):
    answers = [
        await client.get("/api/stores"),  # 401
        await client.get("/nope.js"),  # 404
        await client.put("/api/login"),  # 405
        await client.get("/"),
    ]
    for response in answers:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_one_charset_and_head_on_the_root(client):
    page = await client.get("/")
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    head = await client.head("/")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["ETag"] == page.headers["ETag"]
    script = await client.get("/js/app.js")
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"


# ----- 12. strict pull, capped echoes ----------------------------------------------------------


async def test_pull_limit_as_a_string_is_400(client, account):
    response = await client.post(
        f"/api/stores/{account.store_id}/pull",
        json={"client_id": "c-1", "limit": "5"},
        headers=account.auth,
    )
    assert response.status_code == 400
    assert "limit" in response.json()["detail"]


async def test_errors_do_not_echo_long_values(client, account):
    phone = Device("phone", start_ms=T0)
    long = "9" * 50_000
    m = sync.Mutation(
        id=1,
        hlc=long,
        name="set",
        args=msgspec.Raw(msgspec.json.encode({"entity": "person", "id": uid(), "base": 0})),
    )
    n = phone.set("person", "z" * 50_000, 0, name="x")
    n.id = 2
    o = phone.set("person", uid(), 0, stage="s" * 50_000, name="x")
    o.id = 3
    answer = await push(client, account, wire(phone, m, n, o))
    assert [r["status"] for r in answer["results"]] == ["rejected"] * 3
    assert all(len(r["error"]) < 300 for r in answer["results"]), answer
