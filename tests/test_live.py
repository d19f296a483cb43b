"""Live pokes over Server-Sent Events, on SQLite and PostgreSQL: tickets and who may listen,
a poke after each committed push (not to the pusher, not for a refused push), revoked devices
closed out, reconnection, and pokes that cross processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest
from sqlalchemy import update

from server import accounts
from server.database import create_engine, migrate, write_transaction
from server.live import TICKET_TTL_MS, Hub
from server.models import Device, StreamTicket
from server.settings import Settings
from tests.conftest import WEB_DIR, Account, make_account
from tests.livekit import EventStream, free_port, hub_of, open_stream, serve, ticket
from tests.synckit import Device as Writer
from tests.synckit import uid

HEARTBEAT_S = 0.3


def ready_at(seq: int) -> dict:
    """What `ready` carries: the store's position and the heartbeat period."""
    return {"seq": seq, "heartbeat_ms": round(HEARTBEAT_S * 1000)}


def settings(db_url: str, **overrides) -> Settings:
    values = {"live_heartbeat_s": HEARTBEAT_S, "live_watch_s": 60.0, "live_audit_s": 60.0}
    return Settings(database_url=db_url, web_dir=WEB_DIR, **(values | overrides))


@pytest.fixture
async def base(db_url: str, engine) -> AsyncIterator[str]:
    async with serve(settings(db_url)) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as c:
        yield c


async def second_device(engine, account: Account) -> tuple[str, str]:
    async with write_transaction(engine) as conn:
        return await accounts.create_device(conn, account.user_id, "second")


async def push(http, base, store_id, token, writer: Writer, *mutations) -> httpx.Response:
    wire = msgspec.json.decode(msgspec.json.encode(list(mutations)))
    return await http.post(
        f"{base}/api/stores/{store_id}/push",
        json={"client_id": writer.client_id, "mutations": wire},
        headers={"Authorization": f"Bearer {token}"},
    )


async def listen(http, base, account: Account, token: str | None = None, client_id=None):
    got = await ticket(http, base, account.store_id, token or account.token, client_id)
    return open_stream(http, base + got["url"])


async def quiet_until_heartbeat(stream: EventStream) -> None:
    """Nothing but a heartbeat comes next: a poke woken together with another stream's
    would have been sent before it."""
    assert (await stream.next()).event == "heartbeat"


# ----- who may listen ----------------------------------------------------------------------


async def test_no_token_no_ticket_is_401(http, base, account):
    r = await http.get(f"{base}/api/stores/{account.store_id}/events")
    assert r.status_code == 401 and "ticket" in r.json()["detail"]
    r = await http.post(f"{base}/api/stores/{account.store_id}/events/ticket")
    assert r.status_code == 401
    r = await http.get(f"{base}/api/stores/{account.store_id}/events?ticket=gvt_made-up")
    assert r.status_code == 401 and "ticket" in r.json()["detail"]
    r = await http.get(
        f"{base}/api/stores/{account.store_id}/events", headers={"Authorization": "Bearer nope"}
    )
    assert r.status_code == 401


async def test_another_users_store_is_404_and_a_ticket_opens_only_its_store(
    http, base, account, other_account
):
    auth = {"Authorization": f"Bearer {account.token}"}
    r = await http.post(f"{base}/api/stores/{other_account.store_id}/events/ticket", headers=auth)
    assert r.status_code == 404
    r = await http.get(f"{base}/api/stores/{other_account.store_id}/events", headers=auth)
    assert r.status_code == 404
    mine = await ticket(http, base, account.store_id, account.token)
    r = await http.get(f"{base}/api/stores/{other_account.store_id}/events?ticket={mine['ticket']}")
    assert r.status_code == 401
    # and it was used up by that attempt: not valid for its own store either
    r = await http.get(f"{base}{mine['url']}")
    assert r.status_code == 401


async def test_a_ticket_works_once_and_expires(http, base, engine, account):
    got = await ticket(http, base, account.store_id, account.token)
    assert got["expires_at"] - accounts.now_ms() <= TICKET_TTL_MS
    async with open_stream(http, base + got["url"]) as stream:
        assert (await stream.next_event()).event == "ready"
    r = await http.get(base + got["url"])
    assert r.status_code == 401
    late = await ticket(http, base, account.store_id, account.token)
    async with write_transaction(engine) as conn:
        await conn.execute(update(StreamTicket).values(expires_ms=accounts.now_ms() - 1))
    r = await http.get(base + late["url"])
    assert r.status_code == 401


async def test_tickets_are_stored_hashed(http, base, engine, account):
    got = await ticket(http, base, account.store_id, account.token)
    async with engine.connect() as conn:
        rows = (await conn.execute(StreamTicket.__table__.select())).all()
    assert rows and all(got["ticket"] not in str(tuple(row)) for row in rows)
    assert account.token not in got["url"]


async def test_a_bad_ticket_request_is_400(http, base, account):
    auth = {"Authorization": f"Bearer {account.token}"}
    url = f"{base}/api/stores/{account.store_id}/events/ticket"
    r = await http.post(url, content=b"{", headers=auth)
    assert r.status_code == 400
    r = await http.post(url, json={"client_id": "has space"}, headers=auth)
    assert r.status_code == 400
    r = await http.post(url, json={"store": "x"}, headers=auth)
    assert r.status_code == 400


# ----- pokes ---------------------------------------------------------------------------


async def test_a_push_pokes_the_other_clients_but_not_the_pusher(http, base, engine, account):
    _, second = await second_device(engine, account)
    phone, desk = Writer("c-phone"), Writer("c-desk")
    async with (
        await listen(http, base, account, client_id=phone.client_id) as phone_stream,
        await listen(http, base, account, second, client_id=desk.client_id) as desk_stream,
        await listen(http, base, account, second) as anonymous,
    ):
        ready = await desk_stream.next_event()
        assert ready.event == "ready" and ready.data == ready_at(0)
        assert (await phone_stream.next_event()).event == "ready"
        assert (await anonymous.next_event()).event == "ready"

        r = await push(
            http, base, account.store_id, account.token, phone,
            phone.set("person", uid(), 0, name="Dana"),
            phone.set("person", uid(), 0, name="Sam"),
        )  # fmt: skip
        assert r.status_code == 200
        poke = await desk_stream.next_event()
        assert poke.event == "poke" and poke.data == {"seq": 2}  # the position, nothing else
        assert (await anonymous.next_event()) == poke
        await quiet_until_heartbeat(phone_stream)

        # the desktop pushes: now the phone is poked, and the desktop is not
        r = await push(
            http, base, account.store_id, second, desk, desk.set("person", uid(), 0, name="Ana")
        )
        assert r.status_code == 200
        assert await phone_stream.next_event() == (await anonymous.next_event())
        await quiet_until_heartbeat(desk_stream)


async def test_an_import_pokes_the_stores_streams(http, base, account):
    """People imported from a file arrive on the user's other devices like a device's push."""
    csv = "First Name,Last Name,Company\nAda,Lovelace,Analytical\nAlan,Turing,Bletchley\n"
    async with await listen(http, base, account) as stream:
        assert (await stream.next_event()).event == "ready"
        done = await http.post(
            f"{base}/api/stores/{account.store_id}/import",
            json={"format": "linkedin", "content": csv},
            headers={"Authorization": f"Bearer {account.token}"},
        )
        assert done.status_code == 200, done.text
        assert done.text.splitlines()[-1].startswith('{"summary"'), done.text
        poke = await stream.next_event()  # before the next heartbeat (no 1 s or 10 s re-read)
        assert poke.event == "poke" and poke.data["seq"] >= 4  # 2 people, 2 organizations


async def test_no_poke_for_a_viewers_refused_push_or_a_push_that_changed_nothing(
    http, base, engine, account, other_account
):
    async with write_transaction(engine) as conn:
        await accounts.share_store(conn, account.store_id, other_account.email, "viewer")
    owner, viewer = Writer("c-owner"), Writer("c-viewer")
    first = owner.set("person", uid(), 0, name="Dana")
    assert (
        await push(http, base, account.store_id, account.token, owner, first)
    ).status_code == 200
    async with (
        await listen(http, base, account, client_id="c-other") as owner_stream,
        await listen(http, base, account, other_account.token) as viewer_stream,
    ):
        assert (await owner_stream.next_event()).data == ready_at(1)
        assert (await viewer_stream.next_event()).data == ready_at(1)
        r = await push(
            http, base, account.store_id, other_account.token, viewer,
            viewer.set("person", uid(), 0, name="Not saved"),
        )  # fmt: skip
        assert r.status_code == 403
        await quiet_until_heartbeat(owner_stream)
        # a retry of what was applied already, and a rejected edit: nothing changed
        rejected = owner.set("person", uid(), 0, stage="not a stage")
        r = await push(http, base, account.store_id, account.token, owner, first, rejected)
        assert [x["status"] for x in r.json()["results"]] == ["duplicate", "rejected"]
        await quiet_until_heartbeat(owner_stream)
        await quiet_until_heartbeat(viewer_stream)
        # a viewer is poked like anyone when the store changes
        change = owner.set("person", uid(), 0, name="Sam")
        assert (await push(http, base, account.store_id, account.token, owner, change)).is_success
        assert await viewer_stream.next_event() == (await owner_stream.next_event())


async def test_a_burst_of_pushes_is_never_a_queue(http, base, engine, account):
    """A stream keeps the newest position only: a reader that does not keep up gets the
    latest, and nothing piles up for it."""
    writer = Writer("c-burst")
    async with await listen(http, base, account) as stream:
        assert (await stream.next_event()).event == "ready"
        for n in range(20):
            m = writer.set("person", uid(), 0, name=f"p{n}")
            assert (await push(http, base, account.store_id, account.token, writer, m)).is_success
        seen = []
        while not seen or seen[-1] < 20:
            seen.append((await stream.next_event()).data["seq"])
        assert seen == sorted(set(seen)) and seen[-1] == 20


async def test_the_stream_sends_heartbeats(http, base, account):
    async with await listen(http, base, account) as stream:
        assert (await stream.next()).event == "ready"
        for _ in range(3):
            assert (await stream.next(wait_s=HEARTBEAT_S * 5)).event == "heartbeat"


async def test_a_bearer_token_opens_the_stream_too(http, base, account):
    auth = {"Authorization": f"Bearer {account.token}"}
    async with open_stream(http, f"{base}/api/stores/{account.store_id}/events", auth) as s:
        assert (await s.next_event()).event == "ready"


# ----- revoked devices -------------------------------------------------------------------


async def test_revoking_a_device_closes_its_streams_at_once(http, base, engine, account):
    second_id, second = await second_device(engine, account)
    async with (
        await listen(http, base, account, second) as revoked,
        await listen(http, base, account) as kept,
    ):
        assert (await revoked.next_event()).event == "ready"
        assert (await kept.next_event()).event == "ready"
        r = await http.delete(f"{base}/api/devices/{second_id}", headers=account.auth)
        assert r.status_code == 204
        closed = await revoked.next_event()
        assert closed.event == "closed" and closed.data == {"reason": "revoked"}
        with pytest.raises(EOFError):
            await revoked.next()
        await quiet_until_heartbeat(kept)
    # and it cannot get back in
    r = await http.post(
        f"{base}/api/stores/{account.store_id}/events/ticket",
        headers={"Authorization": f"Bearer {second}"},
    )
    assert r.status_code == 401


async def test_signing_out_closes_the_devices_stream(http, base, engine, account):
    async with await listen(http, base, account) as stream:
        assert (await stream.next_event()).event == "ready"
        assert (await http.post(f"{base}/api/logout", headers=account.auth)).status_code == 204
        assert (await stream.next_event()).data == {"reason": "revoked"}


async def test_a_ticket_of_a_device_revoked_before_it_is_used_opens_nothing(
    http, base, engine, account
):
    got = await ticket(http, base, account.store_id, account.token)
    assert (await http.post(f"{base}/api/logout", headers=account.auth)).status_code == 204
    assert (await http.get(base + got["url"])).status_code == 401


async def test_a_device_revoked_elsewhere_is_closed_by_the_periodic_check(db_url, engine, http):
    """Revoked by another process or tool, with no message to this one: the audit finds it."""
    account = await make_account(engine)
    async with (
        serve(settings(db_url, live_audit_s=0.2, live_watch_s=0.1)) as url,
        await listen(http, url, account) as stream,
    ):
        assert (await stream.next_event()).event == "ready"
        async with write_transaction(engine) as conn:
            await conn.execute(
                update(Device)
                .where(Device.id == account.device_id)
                .values(revoked_ms=accounts.now_ms())
            )
        assert (await stream.next_event()).data == {"reason": "revoked"}


# ----- reconnecting ----------------------------------------------------------------------


async def test_reconnecting_gives_the_position_to_pull_up_to(http, base, account):
    """A change made while a client was away is not lost: `ready` on the new stream carries
    the position, and a pull from the client's old cursor brings the change."""
    writer = Writer("c-writer")
    auth = account.auth
    pull_url = f"{base}/api/stores/{account.store_id}/pull"
    m = writer.set("person", uid(), 0, name="Before")
    assert (await push(http, base, account.store_id, account.token, writer, m)).is_success
    page = (await http.post(pull_url, json={"client_id": "c-away"}, headers=auth)).json()
    async with await listen(http, base, account, client_id="c-away") as stream:
        assert (await stream.next_event()).data == ready_at(1)
    missed = uid()
    m = writer.set("person", missed, 0, name="While away")
    assert (await push(http, base, account.store_id, account.token, writer, m)).is_success
    async with await listen(http, base, account, client_id="c-away") as stream:
        assert (await stream.next_event()).data == ready_at(2)
        body = {"client_id": "c-away", "cursor": page["cursor"]}
        after = (await http.post(pull_url, json=body, headers=auth)).json()
        assert [c["id"] for c in after["changes"]] == [missed]
        # and it is live again
        m = writer.set("person", uid(), 0, name="After")
        assert (await push(http, base, account.store_id, account.token, writer, m)).is_success
        assert (await stream.next_event()).data == {"seq": 3}


async def test_a_client_that_leaves_is_forgotten(db_url, engine, http):
    account = await make_account(engine)
    app_settings = settings(db_url)
    async with serve(app_settings) as url:
        hub = hub_of(url)
        for _ in range(3):
            async with await listen(http, url, account) as stream:
                assert (await stream.next_event()).event == "ready"
                assert hub.count == 1
        for _ in range(100):
            if hub.count == 0:
                break
            await asyncio.sleep(0.02)
        assert hub.count == 0 and hub.streams == {} and hub.known == {}


# ----- across processes ------------------------------------------------------------------


async def _listening(url: str) -> None:
    hub = hub_of(url)
    if hub.engine.dialect.name == "postgresql":
        await asyncio.wait_for(hub.listening.wait(), 10)


async def test_a_push_on_one_server_pokes_a_stream_on_another(db_url, engine, http):
    """Two servers on one database, as two workers or two hosts: on PostgreSQL the poke
    crosses by LISTEN/NOTIFY at once; on SQLite by re-reading positions every `watch` s."""
    account = await make_account(engine)
    watch = 0.2 if "sqlite" in db_url else 60.0  # PostgreSQL: only NOTIFY can deliver in time
    writer = Writer("c-one")
    async with (
        serve(settings(db_url, live_watch_s=watch)) as one,
        serve(settings(db_url, live_watch_s=watch)) as two,
        await listen(http, two, account) as stream,
    ):
        assert (await stream.next_event()).event == "ready"
        await _listening(two)
        m = writer.set("person", uid(), 0, name="Across")
        assert (await push(http, one, account.store_id, account.token, writer, m)).is_success
        poke = await stream.next_event(wait_s=3)
        assert poke.event == "poke" and poke.data == {"seq": 1}


async def test_grapevine_serve_with_4_workers_pokes_streams_on_every_worker(postgres_url, http):
    """`grapevine serve --workers 4` on PostgreSQL: streams held by different workers all get
    the poke of one push, whichever worker took it. Re-reading positions is slowed to ten
    minutes here, so only LISTEN/NOTIFY can deliver in time."""
    eng = create_engine(postgres_url)
    try:
        await migrate(eng)
        account = await make_account(eng)
    finally:
        await eng.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPEVINE_")}
    env |= {"GRAPEVINE_LIVE_WATCH_S": "600", "GRAPEVINE_LIVE_HEARTBEAT_S": "1"}
    exe = Path(sys.executable).parent / "grapevine"
    server = await asyncio.create_subprocess_exec(
        str(exe), "serve", "--workers", "4", "--port", str(port), "--database", postgres_url,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{base}/api/health")).status_code == 200:
                    break
            await asyncio.sleep(0.05)
        async with contextlib.AsyncExitStack() as stack:
            streams: list[EventStream] = []
            for _ in range(40):
                stream = await stack.enter_async_context(await listen(http, base, account))
                assert (await stream.next_event(wait_s=20)).event == "ready"
                streams.append(stream)
                if len({s.worker for s in streams}) >= 3:
                    break
            workers = {s.worker for s in streams}
            assert len(workers) >= 2, "every stream landed on one worker"
            await asyncio.sleep(1)  # every worker's LISTEN is up
            writer = Writer("c-multi")
            for n in range(1, 4):
                m = writer.set("person", uid(), 0, name=f"p{n}")
                r = await push(http, base, account.store_id, account.token, writer, m)
                assert r.is_success
                for stream in streams:
                    poke = await stream.next_event(wait_s=5)
                    assert poke.event == "poke" and poke.data == {"seq": n}, stream.worker
    finally:
        server.terminate()
        await server.wait()


@pytest.mark.parametrize("workers", [1, 2])
async def test_grapevine_serve_stopping_tells_its_streams_first(tmp_path, http, workers):
    """SIGTERM to `grapevine serve` (a deploy, a scale-down): each open stream gets `closed:
    server stopping` so its client reconnects elsewhere at once, rather than being cut off
    when uvicorn's grace period for open connections runs out (it drains connections before
    the app's own shutdown runs). The process exits; its log has no traceback."""
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'grapevine.db'}"
    eng = create_engine(db_url)
    try:
        await migrate(eng)
        account = await make_account(eng)
    finally:
        await eng.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPEVINE_")}
    env |= {"GRAPEVINE_LIVE_HEARTBEAT_S": "60"}  # nothing else on the stream meanwhile
    exe = Path(sys.executable).parent / "grapevine"
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = await asyncio.create_subprocess_exec(
            str(exe), "serve", "--workers", str(workers), "--port", str(port),
            "--database", db_url, stdout=log, stderr=asyncio.subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{base}/api/health")).status_code == 200:
                    break
            await asyncio.sleep(0.05)
        async with await listen(http, base, account) as stream:
            assert (await stream.next_event(wait_s=20)).event == "ready"
            server.terminate()
            closed = await stream.next(wait_s=20)
            assert closed.event == "closed" and closed.data == {"reason": "server stopping"}
            with pytest.raises(EOFError):
                await stream.next(wait_s=20)
        await asyncio.wait_for(server.wait(), 30)
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    output = log_path.read_text()
    assert "Traceback" not in output and "timeout graceful shutdown" not in output, output
    assert "Application shutdown complete" in output, output


async def test_a_hub_remembers_only_stores_it_has_streams_for(engine):
    """Every push of every store reaches every process on PostgreSQL: a process keeps nothing
    for the stores none of its clients listens to."""
    hub = Hub(engine)
    for n in range(1, 100):
        hub.publish(uid(), n, "c-x")
    assert hub.known == {} and hub.streams == {}
    listener = hub.subscribe("s", "u", "d", "c-mine", 3)
    hub.publish("s", 5, "c-other")
    assert listener.seq == 5 and listener.wake.is_set() and hub.known == {"s": 5}
    listener.wake.clear()
    hub.publish("s", 6, "c-mine")  # its own push: no wake-up, but known as told
    assert listener.sent == 6 and not listener.wake.is_set()
    hub.publish("s", 4, "c-other")  # an older position: nothing
    assert not listener.wake.is_set() and listener.seq == 6
    hub.unsubscribe(listener)
    assert hub.known == {} and hub.streams == {}
