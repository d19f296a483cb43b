"""A client's local replica in one SQLite file: the server copy, the outbox, refused edits, the
session, the clock and the cursor. It survives restarts; each change is one transaction.

The same state as the web client's IndexedDB (`web/js/db.js`), kept the same way: an edit is
numbered, stamped and queued in one transaction; acknowledged mutations stay in the view until
the pull that brings their result; nothing typed is dropped without being kept aside as refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import msgspec

from sync._hlc import HLC, format_hlc, parse_hlc, wall_ms
from sync._ids import new_id as make_id
from sync._view import Records, view

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, entity TEXT NOT NULL, version INTEGER NOT NULL,
    deleted INTEGER NOT NULL, fields TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, hlc TEXT NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0, queued_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refused (
    key INTEGER PRIMARY KEY AUTOINCREMENT, mutation TEXT NOT NULL, error TEXT NOT NULL,
    at_ms INTEGER NOT NULL);
"""

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def new_client_id(new_id: Callable[[], str]) -> str:
    return "c-" + new_id()


@dataclass(frozen=True)
class Session:
    """Who this replica syncs as, and with which store of which server."""

    server: str
    token: str
    user_id: str
    device_id: str
    store_id: str
    store_name: str
    role: str
    email: str | None = None


@dataclass(frozen=True)
class Refused:
    """A mutation the server refused (or that could not be sent), kept for the user."""

    key: int
    mutation: dict[str, Any]
    error: str
    at_ms: int


def _row(c: dict[str, Any]) -> tuple[Any, ...]:
    return (c["id"], c["entity"], c["version"], int(c["deleted"]), _encode(c["fields"]).decode())


def _owner(session: Session) -> dict[str, str]:
    return {"server": session.server, "user_id": session.user_id, "store_id": session.store_id}


class Replica:
    """The replica file. `now` and `new_id` are the clock and id source (tests fix them)."""

    def __init__(
        self,
        path: str | Path,
        *,
        now: Callable[[], int] = wall_ms,
        new_id: Callable[[], str] = make_id,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.now = now
        self.new_id = new_id
        self.path.touch(mode=0o600, exist_ok=True)  # it holds the device token
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Replica:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once so that two processes never interleave."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ----- meta --------------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else _decode(row[0])

    def _put(self, db: sqlite3.Connection, key: str, value: Any) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, _encode(value).decode()),
        )

    def put(self, key: str, value: Any) -> None:
        with self._write() as db:
            self._put(db, key, value)

    @property
    def session(self) -> Session | None:
        data = self.get("session")
        return Session(**data) if data else None

    @property
    def client_id(self) -> str | None:
        return self.get("client", {}).get("client_id")

    @property
    def next_id(self) -> int:
        return self.get("client", {}).get("next_id", 1)

    @property
    def cursor(self) -> str:
        return self.get("cursor", "")

    def _clock(self, client: dict[str, Any]) -> HLC:
        clock = HLC(client["client_id"], now=self.now)
        state = self.get("clock") or {"ms": 0, "counter": 0}
        clock.ms, clock.counter = state["ms"], state["counter"]
        return clock

    def _save_clock(self, db: sqlite3.Connection, clock: HLC) -> None:
        self._put(db, "clock", {"ms": clock.ms, "counter": clock.counter})

    # ----- sessions ----------------------------------------------------------------------

    def start_session(self, session: Session) -> int:
        """Sign in: the session and a fresh client identity, the copy dropped to pull anew.

        Edits still pending from an earlier session of the same server, user and store carry
        over (renumbered and restamped for the new client); anyone else's are kept aside as
        refused, never sent to another store. Returns how many carried over.
        """
        with self._write() as db:
            owner = self.get("owner")
            same = owner == _owner(session)
            client = {"client_id": new_client_id(self.new_id), "next_id": 1}
            clock = self._clock(client)
            carried = 0
            for m in self._outbox(db):
                if m.pop("acked"):
                    continue
                if same:
                    db.execute(
                        "UPDATE outbox SET id = ?, hlc = ? WHERE id = ?",
                        (-client["next_id"], clock.tick(), m["id"]),
                    )
                    client["next_id"] += 1
                    carried += 1
                else:
                    self._refuse(
                        db,
                        m,
                        "Not sent: this replica signed in to another store or account "
                        "before it synced.",
                    )
            db.execute("DELETE FROM outbox WHERE id > 0")
            db.execute("UPDATE outbox SET id = -id, acked = 0")
            db.execute("DELETE FROM records")
            self._put(db, "session", asdict(session))
            self._put(
                db,
                "owner",
                {
                    "server": session.server,
                    "user_id": session.user_id,
                    "store_id": session.store_id,
                },
            )
            self._put(db, "client", client)
            self._save_clock(db, clock)
            self._put(db, "cursor", "")
            return carried

    def end_session(self) -> None:
        """The server no longer knows this device: forget the token, keep every unsynced edit."""
        with self._write() as db:
            db.execute("DELETE FROM meta WHERE key = 'session'")

    def change_client_id(self) -> None:
        """The client_id belongs to another device: take a new one, renumber what is pending
        from 1 and give each stamp the new suffix, keeping its time and counter."""
        with self._write() as db:
            client = {"client_id": new_client_id(self.new_id), "next_id": 1}
            for m in self._outbox(db):
                if m["acked"]:
                    db.execute("DELETE FROM outbox WHERE id = ?", (m["id"],))
                    continue
                ms, counter, _ = parse_hlc(m["hlc"])
                db.execute(
                    "UPDATE outbox SET id = ?, hlc = ? WHERE id = ?",
                    (-client["next_id"], format_hlc(ms, counter, client["client_id"]), m["id"]),
                )
                client["next_id"] += 1
            db.execute("UPDATE outbox SET id = -id")
            self._put(db, "client", client)

    # ----- edits -------------------------------------------------------------------------

    def enqueue(self, edits: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Number, stamp and queue mutations in one transaction: saved whole or not at all."""
        with self._write() as db:
            client = self.get("client")
            if client is None:
                raise RuntimeError("this replica has never signed in")
            clock = self._clock(client)
            queued = []
            for name, args in edits:
                mutation = {
                    "id": client["next_id"],
                    "hlc": clock.tick(),
                    "name": name,
                    "args": args,
                }
                client["next_id"] += 1
                db.execute(
                    "INSERT INTO outbox (id, hlc, name, args, queued_ms) VALUES (?, ?, ?, ?, ?)",
                    (mutation["id"], mutation["hlc"], name, _encode(args).decode(), self.now()),
                )
                queued.append(mutation)
            self._put(db, "client", client)
            self._save_clock(db, clock)
            return queued

    def base(self, record_id: str) -> int:
        """The version of a record this client last pulled: the `base` of its writes."""
        row = self._db.execute("SELECT version FROM records WHERE id = ?", (record_id,)).fetchone()
        return row[0] if row else 0

    def _outbox(self, db: sqlite3.Connection) -> list[dict[str, Any]]:
        return [
            {"id": i, "hlc": h, "name": n, "args": _decode(a), "acked": bool(k)}
            for i, h, n, a, k in db.execute(
                "SELECT id, hlc, name, args, acked FROM outbox ORDER BY id"
            )
        ]

    def outbox(self) -> list[dict[str, Any]]:
        """Every queued mutation in id order, with `acked` (processed, awaiting the pull)."""
        return self._outbox(self._db)

    def waiting(self) -> int:
        """Edits the server has not acknowledged yet."""
        return self._db.execute("SELECT count(*) FROM outbox WHERE acked = 0").fetchone()[0]

    def unacknowledged(self) -> list[dict[str, Any]]:
        out = []
        for m in self.outbox():
            if not m.pop("acked"):
                out.append(m)
        return out

    # ----- push results ------------------------------------------------------------------

    def acknowledge(self, last_mutation_id: int, refused: dict[int, str]) -> None:
        """The server processed up to `last_mutation_id`. Refused mutations go aside for the
        user; the others stay in the view, marked acknowledged, until a pull brings them."""
        with self._write() as db:
            for m in self._outbox(db):
                if m["id"] > last_mutation_id:
                    break
                if m["id"] in refused:
                    db.execute("DELETE FROM outbox WHERE id = ?", (m["id"],))
                    m.pop("acked")
                    self._refuse(db, m, refused[m["id"]])
                elif not m["acked"]:
                    db.execute("UPDATE outbox SET acked = 1 WHERE id = ?", (m["id"],))
            self._never_reuse(db, last_mutation_id)

    def _never_reuse(self, db: sqlite3.Connection, last_mutation_id: int) -> None:
        """The server has processed ids this replica never issued (it was restored from an
        old copy): new mutations start after them, or they would be taken for duplicates."""
        client = self.get("client")
        if client and last_mutation_id >= client["next_id"]:
            client["next_id"] = last_mutation_id + 1
            self._put(db, "client", client)

    def renumber_from(self, last_mutation_id: int) -> None:
        """The server has processed only up to `last_mutation_id` (a restored backup): drop
        what it has, and number the rest from the next id, acknowledged ones included (the
        server that acknowledged them has lost them)."""
        with self._write() as db:
            client = self.get("client")
            next_id = last_mutation_id + 1
            for m in self._outbox(db):
                if m["id"] <= last_mutation_id:
                    db.execute("DELETE FROM outbox WHERE id = ?", (m["id"],))
                    continue
                db.execute("UPDATE outbox SET id = ?, acked = 0 WHERE id = ?", (-next_id, m["id"]))
                next_id += 1
            db.execute("UPDATE outbox SET id = -id WHERE id < 0")
            client["next_id"] = next_id
            self._put(db, "client", client)

    def refuse(self, mutation_ids: Sequence[int], error: str) -> int:
        """Set pending mutations aside as refused, with the reason. Returns how many."""
        with self._write() as db:
            count = 0
            for m in self._outbox(db):
                if m["id"] in mutation_ids and not m.pop("acked"):
                    db.execute("DELETE FROM outbox WHERE id = ?", (m["id"],))
                    self._refuse(db, m, error)
                    count += 1
            return count

    def refuse_pending(self, error: str) -> int:
        """Refuse everything pending, keeping it for the user (a store this user cannot write)."""
        return self.refuse([m["id"] for m in self.unacknowledged()], error)

    def _refuse(self, db: sqlite3.Connection, mutation: dict[str, Any], error: str) -> None:
        db.execute(
            "INSERT INTO refused (mutation, error, at_ms) VALUES (?, ?, ?)",
            (_encode(mutation).decode(), error, self.now()),
        )

    def refused(self) -> list[Refused]:
        return [
            Refused(key, _decode(m), error, at)
            for key, m, error, at in self._db.execute(
                "SELECT key, mutation, error, at_ms FROM refused ORDER BY key"
            )
        ]

    def dismiss_refused(self, key: int) -> None:
        with self._write() as db:
            db.execute("DELETE FROM refused WHERE key = ?", (key,))

    # ----- pull --------------------------------------------------------------------------

    def save_page(
        self,
        changes: Sequence[dict[str, Any]],
        cursor: str,
        hlc: str,
        *,
        reset: bool = False,
        last_mutation_id: int = 0,
    ) -> None:
        """Store a pull page: changed records replace ours, the cursor with them, the clock
        moved past the server's; with `reset`, the whole copy goes first (the outbox stays)."""
        with self._write() as db:
            if reset:
                db.execute("DELETE FROM records")
            db.executemany(
                "INSERT INTO records (id, entity, version, deleted, fields) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET entity = excluded.entity,"
                " version = excluded.version, deleted = excluded.deleted, fields = excluded.fields",
                [
                    (
                        c["id"],
                        c["entity"],
                        c["version"],
                        int(c["deleted"]),
                        _encode(c["fields"]).decode(),
                    )
                    for c in changes
                ],
            )
            self._put(db, "cursor", cursor)
            client = self.get("client")
            if client:
                clock = self._clock(client)
                clock.observe(hlc)
                self._save_clock(db, clock)
            self._never_reuse(db, last_mutation_id)

    def drop_acknowledged(self) -> None:
        """A pull has brought everything up to now: acknowledged mutations are in the copy."""
        with self._write() as db:
            db.execute("DELETE FROM outbox WHERE acked = 1")

    # ----- reading -----------------------------------------------------------------------

    def server_records(self) -> Records:
        return {
            i: {"entity": e, "id": i, "version": v, "deleted": bool(d), "fields": _decode(f)}
            for i, e, v, d, f in self._db.execute(
                "SELECT id, entity, version, deleted, fields FROM records"
            )
        }

    def records(self) -> Records:
        """What to show: the server copy with every queued mutation applied on top."""
        return view(self.server_records(), self.outbox())
