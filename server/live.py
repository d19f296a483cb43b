"""Live pokes: a Server-Sent Events stream per store that says "the store changed, pull".

A client asks `POST /api/stores/{id}/events/ticket` (Bearer token) for a ticket, a single-use,
single-store pass valid for a minute, and opens `GET /api/stores/{id}/events?ticket=…` with
`EventSource`, which cannot send headers: the device token never appears in a URL or a log.
The stream sends `ready` with the store's change position and the heartbeat period, then a
`poke` with the new position after every committed push that changed the store (not to the
client that pushed), a `heartbeat` event when it has been quiet for that period, and `closed`
before it ends (the device was revoked, the server is stopping). The heartbeat is an event, not
a comment, because EventSource hands comments to no one: the page counts on hearing it to tell
a live stream from one a NAT or a sleeping laptop silently cut.

Fan-out: each process keeps its streams in a `Hub`. A push publishes to its own process at
once; on PostgreSQL it also sends `NOTIFY` inside its transaction (so only a commit pokes), and
every process `LISTEN`s, so all workers and hosts deliver it. Each hub also re-reads the change
positions of its stores now and then: on SQLite that is how pokes cross processes sharing one
file (every second), on PostgreSQL a safety net for a listener that reconnected.

A stream holds one small object, whatever happens: only the latest position is kept, never a
queue, so a slow reader costs no memory and a burst of pushes becomes one poke.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import signal
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec
import uvicorn
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy import and_, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import sync
from server import accounts
from server.database import is_sqlite, write_transaction
from server.deps import CallerDep, EngineDep
from server.models import Device, Membership, Store, StreamTicket
from server.openapi import BEARER, PUBLIC, errors
from server.stores import require_role

log = logging.getLogger("grapevine.live")

TICKET_TTL_MS = 60_000
CHANNEL = "grapevine_live"
_CHUNK = 500  # ids per IN (...)


class Listener:
    """One open stream: who holds it and the newest change position it has not been sent."""

    __slots__ = ("client_id", "closed", "device_id", "sent", "seq", "store_id", "user_id", "wake")

    def __init__(
        self, store_id: str, user_id: str, device_id: str, client_id: str | None, seq: int
    ) -> None:
        self.store_id = store_id
        self.user_id = user_id
        self.device_id = device_id
        self.client_id = client_id
        self.seq = seq  # newest position known for the store
        self.sent = seq  # newest position this stream has been told (or caused itself)
        self.closed: str | None = None  # why the server ends the stream
        self.wake = asyncio.Event()


class Hub:
    """The open streams of this process, by store, and the ways pokes reach them."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        heartbeat_s: float = 15.0,
        watch_s: float | None = None,
        audit_s: float = 30.0,
    ) -> None:
        self.engine = engine
        self.heartbeat_s = heartbeat_s
        # Re-reading positions is how SQLite processes sharing a file hear of each other.
        self.watch_s = watch_s if watch_s is not None else (1.0 if is_sqlite(engine) else 10.0)
        self.audit_s = audit_s
        self.streams: dict[str, set[Listener]] = {}
        self.known: dict[str, int] = {}  # the newest position announced per store
        self.token = secrets.token_hex(8)  # this process, to skip its own notifications
        self.listening = asyncio.Event()  # PostgreSQL: LISTEN is active
        self._tasks: list[asyncio.Task[None]] = []
        self._pg: asyncpg.Connection | None = None
        self._stopping = False
        self._signals: dict[int, tuple[Any, Any]] = {}  # signal: (uvicorn's handler, ours)

    # ----- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._watch(), name="live-watch"))
        if not is_sqlite(self.engine):
            self._tasks.append(asyncio.create_task(self._listen(), name="live-listen"))
        self._close_streams_on_exit_signals()

    async def stop(self) -> None:
        """End every stream (their clients reconnect elsewhere) and the background tasks."""
        self.close_streams()
        for sig, (theirs, ours) in self._signals.items():
            if signal.getsignal(sig) is ours:
                signal.signal(sig, theirs)
        self._signals.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._pg is not None and not self._pg.is_closed():
            await self._pg.close()

    def close_streams(self) -> None:
        """Send `closed: server stopping` on every stream, and on any opened from now on."""
        self._stopping = True
        for listeners in self.streams.values():
            for listener in listeners:
                self._close(listener, "server stopping")

    def _close_streams_on_exit_signals(self) -> None:
        """On SIGTERM or SIGINT, close the streams at once, before uvicorn drains connections.

        uvicorn runs the app's shutdown (and so `stop`) only after every connection has
        finished or its grace period is over, and a stream never finishes by itself: without
        this its clients would be cut off when the grace period ends (with a traceback in the
        log), never told to reconnect. So when this process serves through uvicorn, from the
        main thread, its exit signal handler is wrapped: the streams get `closed` (their
        clients reconnect to another worker at once), then uvicorn goes on as before.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            theirs = signal.getsignal(sig)
            if not isinstance(getattr(theirs, "__self__", None), uvicorn.Server):
                continue  # not served by uvicorn here (a test client, another server)

            def ours(signum: int, frame: Any, theirs: Any = theirs) -> None:
                with contextlib.suppress(RuntimeError):  # the loop is closed already
                    loop.call_soon_threadsafe(self.close_streams)
                theirs(signum, frame)

            signal.signal(sig, ours)
            self._signals[sig] = (theirs, ours)

    @property
    def count(self) -> int:
        return sum(len(s) for s in self.streams.values())

    # ----- streams -----------------------------------------------------------------------

    def subscribe(
        self, store_id: str, user_id: str, device_id: str, client_id: str | None, seq: int
    ) -> Listener:
        listener = Listener(store_id, user_id, device_id, client_id, seq)
        if self._stopping:
            self._close(listener, "server stopping")
        self.streams.setdefault(store_id, set()).add(listener)
        self.known[store_id] = max(self.known.get(store_id, 0), seq)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        listeners = self.streams.get(listener.store_id)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners:
            del self.streams[listener.store_id]
            self.known.pop(listener.store_id, None)

    async def events(
        self, store_id: str, user_id: str, device_id: str, client_id: str | None, seq: int
    ) -> AsyncIterator[ServerSentEventMessage]:
        """The stream's messages until the client leaves or the server closes it.

        Subscribed while the response runs, so a client gone before it starts leaves nothing
        behind; a push committed meanwhile is covered by the pull the client makes on `ready`.
        """
        listener = self.subscribe(store_id, user_id, device_id, client_id, seq)
        try:
            ready = {"seq": listener.seq, "heartbeat_ms": round(self.heartbeat_s * 1000)}
            yield ServerSentEventMessage(event="ready", data=json.dumps(ready))
            while True:
                if not listener.wake.is_set():
                    try:
                        async with asyncio.timeout(self.heartbeat_s):
                            await listener.wake.wait()
                    except TimeoutError:
                        yield ServerSentEventMessage(event="heartbeat", data="{}")
                        continue
                listener.wake.clear()
                if listener.closed is not None:
                    reason = json.dumps({"reason": listener.closed})
                    yield ServerSentEventMessage(event="closed", data=reason)
                    return
                if listener.seq > listener.sent:
                    listener.sent = listener.seq
                    yield ServerSentEventMessage(event="poke", data=_position(listener.seq))
        finally:
            self.unsubscribe(listener)

    # ----- pokes -------------------------------------------------------------------------

    def publish(self, store_id: str, seq: int, origin: str | None = None) -> None:
        """The store is at `seq` now: wake its streams, except the pushing client's own."""
        listeners = self.streams.get(store_id)
        if not listeners:
            return  # nobody here listens to it: remember nothing
        if seq > self.known.get(store_id, -1):
            self.known[store_id] = seq
        for listener in listeners:
            if seq <= listener.seq:
                continue
            listener.seq = seq
            if origin is not None and listener.client_id == origin:
                listener.sent = max(listener.sent, seq)  # it pulls after its own push anyway
                continue
            listener.wake.set()

    def revoke(self, device_id: str) -> None:
        """Close every stream of a device signed out."""
        for listeners in self.streams.values():
            for listener in listeners:
                if listener.device_id == device_id:
                    self._close(listener, "revoked")

    def _close(self, listener: Listener, reason: str) -> None:
        if listener.closed is None:
            listener.closed = reason
        listener.wake.set()

    def notice(self, store_id: str, seq: int, client_id: str | None) -> str:
        """What a push sends with NOTIFY inside its transaction (storage.PgBackend), so the
        other processes hear of it on commit only."""
        payload = {"p": self.token, "s": store_id, "q": seq, "c": client_id}
        return json.dumps(payload, separators=(",", ":"))

    async def announce(
        self, conn: AsyncConnection, store_id: str, seq: int, client_id: str | None
    ) -> None:
        """Inside a writing transaction that is not a push (an import's batch): tell the
        other processes of the new position, on commit only."""
        if not is_sqlite(conn):
            await _notify(conn, json.loads(self.notice(store_id, seq, client_id)))

    async def announce_revoked(self, conn: AsyncConnection, device_id: str) -> None:
        if not is_sqlite(conn):
            await _notify(conn, {"p": self.token, "d": device_id})

    # ----- background: LISTEN, re-reading positions, checking who is still allowed ---------

    async def _listen(self) -> None:
        """Hold a LISTEN connection; after any gap, re-read positions so no poke is lost."""
        dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        delay = 0.5
        while not self._stopping:
            lost = asyncio.Event()
            try:
                self._pg = await asyncpg.connect(dsn)
                self._pg.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await self._pg.add_listener(CHANNEL, self._notified)
                self.listening.set()
                delay = 0.5
                await self._check_positions()  # whatever was missed while not listening
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live: LISTEN connection failed (%s); retrying in %.1fs", exc, delay)
            finally:
                self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            note = json.loads(payload)
        except ValueError:
            return
        if note.get("p") == self.token:
            return  # published in this process already
        if "d" in note:
            self.revoke(str(note["d"]))
        elif "s" in note and isinstance(note.get("q"), int):
            self.publish(str(note["s"]), note["q"], note.get("c"))

    async def _watch(self) -> None:
        next_audit = time.monotonic() + self.audit_s
        while True:
            await asyncio.sleep(self.watch_s)
            try:
                await self._check_positions()
                if time.monotonic() >= next_audit:
                    next_audit = time.monotonic() + self.audit_s
                    await self._audit()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live: checking stores failed")

    async def _check_positions(self) -> None:
        stores = list(self.streams)
        if not stores:
            return
        async with self.engine.connect() as conn:
            for start in range(0, len(stores), _CHUNK):
                rows = await conn.execute(
                    select(Store.id, Store.seq).where(Store.id.in_(stores[start : start + _CHUNK]))
                )
                for store_id, seq in rows:
                    if seq > self.known.get(store_id, seq):
                        self.publish(store_id, seq)

    async def _audit(self) -> None:
        """Close streams of devices revoked or users no longer members, whoever changed it."""
        listeners = [x for s in self.streams.values() for x in s]
        if not listeners:
            return
        devices = list({x.device_id for x in listeners})
        pairs = {(x.store_id, x.user_id) for x in listeners}
        revoked: set[str] = set()
        members: set[tuple[str, str]] = set()
        async with self.engine.connect() as conn:
            for start in range(0, len(devices), _CHUNK):
                part = devices[start : start + _CHUNK]
                rows = await conn.execute(
                    select(Device.id).where(Device.id.in_(part), Device.revoked_ms.is_not(None))
                )
                revoked.update(r.id for r in rows)
            users = list({user for _, user in pairs})
            for start in range(0, len(users), _CHUNK):
                rows = await conn.execute(
                    select(Membership.store_id, Membership.user_id).where(
                        Membership.user_id.in_(users[start : start + _CHUNK])
                    )
                )
                members.update((r.store_id, r.user_id) for r in rows)
        for listener in listeners:
            if listener.device_id in revoked:
                self._close(listener, "revoked")
            elif (listener.store_id, listener.user_id) not in members:
                self._close(listener, "not a member")


async def _notify(conn: AsyncConnection, payload: dict[str, Any]) -> None:
    await conn.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CHANNEL, "payload": json.dumps(payload, separators=(",", ":"))},
    )


def _position(seq: int) -> str:
    return json.dumps({"seq": seq})


# ----- tickets ----------------------------------------------------------------------------


class TicketRequest(msgspec.Struct, forbid_unknown_fields=True):
    client_id: str | None = None
    """This app install's client_id: pokes for its own pushes are not sent back to it."""


class Ticket(msgspec.Struct):
    ticket: str
    expires_at: int
    """Milliseconds since the epoch."""
    url: str
    """Open this with EventSource (relative to the server)."""


async def issue_ticket(
    conn: AsyncConnection, store_id: str, device_id: str, client_id: str | None
) -> tuple[str, int]:
    now = accounts.now_ms()
    await conn.execute(delete(StreamTicket).where(StreamTicket.expires_ms < now))
    ticket = "gvt_" + secrets.token_urlsafe(24)
    expires = now + TICKET_TTL_MS
    await conn.execute(
        insert(StreamTicket).values(
            ticket_hash=accounts.hash_token(ticket),
            store_id=store_id,
            device_id=device_id,
            client_id=client_id,
            expires_ms=expires,
        )
    )
    return ticket, expires


async def redeem_ticket(
    conn: AsyncConnection, ticket: str, store_id: str
) -> tuple[str, str, str | None] | None:
    """Use a ticket up; (user_id, device_id, client_id) if it was valid for this store and
    its device is still signed in and a member."""
    row = (
        await conn.execute(
            delete(StreamTicket)
            .where(StreamTicket.ticket_hash == accounts.hash_token(ticket))
            .returning(
                StreamTicket.store_id,
                StreamTicket.device_id,
                StreamTicket.client_id,
                StreamTicket.expires_ms,
            )
        )
    ).one_or_none()
    if row is None or row.store_id != store_id or row.expires_ms < accounts.now_ms():
        return None
    user = (
        await conn.execute(
            select(Device.user_id)
            .join(
                Membership,
                and_(Membership.user_id == Device.user_id, Membership.store_id == store_id),
            )
            .where(Device.id == row.device_id, Device.revoked_ms.is_(None))
        )
    ).scalar_one_or_none()
    if user is None:
        return None
    return user, row.device_id, row.client_id


async def _store_position(conn: AsyncConnection, store_id: str) -> int:
    return (await conn.execute(select(Store.seq).where(Store.id == store_id))).scalar_one()


def _unauthorized(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail, headers={"WWW-Authenticate": "Bearer"})


LiveDep = NamedDependency[Hub]


# Declared here, not as the handler's media type: that would also label its errors as a stream.
class StreamEventData(msgspec.Struct, omit_defaults=True):
    """The data of one event: `ready`/`poke` carry `seq`, `ready` also `heartbeat_ms`,
    `closed` carries `reason`, `heartbeat` nothing (`{}`)."""

    seq: int | None = None
    heartbeat_ms: int | None = None
    """`ready`: a `heartbeat` comes after this many milliseconds without another event."""
    reason: str | None = None


_STREAM = ResponseSpec(
    data_container=StreamEventData,
    media_type="text/event-stream",
    description="the event stream",
    generate_examples=False,
)


class LiveController(Controller):
    path = "/api/stores/{store_id:str}/events"
    tags = ["live"]

    @post("/ticket", status_code=201, security=BEARER, responses=errors(400, 401, 404, 413, 503))
    async def ticket(
        self,
        request: Request,
        store_id: FromPath[str],
        caller: CallerDep,
        engine: EngineDep,
    ) -> Ticket:
        """A single-use pass, valid for a minute, to open this store's event stream.

        Body (optional): `{"client_id": "…"}`, so this install's own pushes do not poke it.
        """
        body = await request.body()
        try:
            data = msgspec.json.decode(body, type=TicketRequest) if body else TicketRequest()
            if data.client_id is not None:
                sync.validate_client_id(data.client_id)
        except msgspec.MsgspecError as exc:
            raise _bad_request(f"invalid ticket request: {exc}") from None
        except sync.EnvelopeError as exc:
            raise _bad_request(exc.detail) from None
        async with write_transaction(engine) as conn:
            await require_role(conn, caller, store_id)
            ticket, expires = await issue_ticket(conn, store_id, caller.device_id, data.client_id)
        return Ticket(ticket, expires, f"/api/stores/{store_id}/events?ticket={ticket}")

    @get("/", security=PUBLIC, responses={200: _STREAM, **errors(401, 404, 503)})
    async def events(
        self,
        request: Request,
        store_id: FromPath[str],
        engine: EngineDep,
        live: LiveDep,
        ticket: FromQuery[str | None] = None,
    ) -> ServerSentEvent:
        """Server-Sent Events: `ready` and `poke` carry `{"seq": n}`, the store's change
        position; pull when poked. `ready` also gives `heartbeat_ms`: after that long without
        another event comes a `heartbeat` (`{}`), so a client that hears nothing for a few
        periods knows the stream is dead. `closed` (`{"reason": …}`) comes before the server
        ends it.

        Open it with `?ticket=` from `POST …/events/ticket` (EventSource cannot send headers),
        or with `Authorization: Bearer <device token>`. A ticket works once.
        """
        if ticket:
            async with write_transaction(engine) as conn:  # used up even when refused
                holder = await redeem_ticket(conn, ticket, store_id)
                seq = await _store_position(conn, store_id) if holder else 0
            if holder is None:
                raise _unauthorized("unknown, used or expired ticket: ask for a new one")
            user_id, device_id, client_id = holder
        else:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise _unauthorized(
                    "missing ticket: open the stream with ?ticket= from POST "
                    f"/api/stores/{store_id}/events/ticket, or send Authorization: Bearer"
                )
            async with engine.connect() as conn:
                caller = await accounts.caller_for_token(conn, token.strip())
                if caller is None:
                    raise _unauthorized("unknown or revoked device token")
                if await accounts.role_in_store(conn, caller.user_id, store_id) is None:
                    raise NotFoundException(f"no store {store_id}")
                seq = await _store_position(conn, store_id)
            user_id, device_id, client_id = caller.user_id, caller.device_id, None
        stream = live.events(store_id, user_id, device_id, client_id, seq)
        # Which process holds the stream: lets tests and operators see the fan-out at work.
        headers = {"Cache-Control": "no-store", "X-Grapevine-Worker": live.token}
        return ServerSentEvent(stream, headers=headers)


def _bad_request(detail: str) -> Exception:
    from litestar.exceptions import HTTPException

    return HTTPException(status_code=400, detail=detail)


# ----- logs: a ticket in a URL stays out of the access log ---------------------------------

_TICKET_IN_URL = re.compile(r"([?&]ticket=)[^&\s]+")


class RedactTickets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _TICKET_IN_URL.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def redact_tickets_in_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTickets) for f in access.filters):
        access.addFilter(RedactTickets())
