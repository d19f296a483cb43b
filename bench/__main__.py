"""Push and pull throughput over HTTP on loopback, against a real server process.

    python -m bench [--engines sqlite,postgres] [--mutations 20000] [--people 10000]

Push: `set` mutations in batches of 500, applied per second, next to the rate at which plain
sqlite3 `executemany` writes the same rows (the floor of what storage costs). Pull: an
initial sync of people and conversations (pages of 5,000), records per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import msgspec

ROOT = Path(__file__).resolve().parent.parent
BATCH = 500
POSTGRES_ADMIN = os.environ.get(
    "GRAPEVINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grapevine(*args: str) -> dict:
    exe = Path(sys.executable).parent / "grapevine"
    out = subprocess.run([str(exe), *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


class Server:
    def __init__(self, database: str) -> None:
        self.database = database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        exe = Path(sys.executable).parent / "grapevine"
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(self.port), "--database", self.database],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "GRAPEVINE_LOG_LEVEL": "warning"},
        )
        for _ in range(200):
            try:
                if httpx.get(f"{self.url}/api/health").status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *_: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def person_mutations(client_id: str, first: int, count: int, ms: int) -> list[dict]:
    return [
        {
            "id": first + i,
            "hlc": f"{ms:013d}-{(first + i) % 0xFFFF:04x}-{client_id}",
            "name": "set",
            "args": {
                "entity": "person",
                "id": str(uuid.uuid4()),
                "base": 0,
                "fields": {
                    "name": f"Person {first + i}",
                    "title": "Research Scientist",
                    "stage": "identified",
                    "found_via": "alumni",
                    "strength": 2,
                    "tags": ["alumni", "photonics"],
                },
            },
        }
        for i in range(count)
    ]


def conversation_mutations(client_id: str, first: int, people: list[str], ms: int) -> list[dict]:
    return [
        {
            "id": first + i,
            "hlc": f"{ms:013d}-{(first + i) % 0xFFFF:04x}-{client_id}",
            "name": "set",
            "args": {
                "entity": "conversation",
                "id": str(uuid.uuid4()),
                "base": 0,
                "fields": {
                    "person_id": person,
                    "kind": "call",
                    "at": "2026-11-20T12:30:00Z",
                    "notes": "Asked about the team.\nTwo projects starting in spring.\n",
                    "fit": "good",
                },
            },
        }
        for i, person in enumerate(people)
    ]


async def push_all(base: str, token: str, store: str, client_id: str, muts: list[dict]) -> float:
    """Seconds to push `muts` in batches of 500 over one keep-alive connection."""
    bodies = [
        msgspec.json.encode({"client_id": client_id, "mutations": muts[i : i + BATCH]})
        for i in range(0, len(muts), BATCH)
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
        start = time.perf_counter()
        for body in bodies:
            r = await http.post(f"/api/stores/{store}/push", content=body)
            r.raise_for_status()
            if any(x["status"] != "applied" for x in r.json()["results"]):
                raise RuntimeError(r.text[:500])
        return time.perf_counter() - start


async def pull_all(base: str, token: str, store: str) -> tuple[float, int]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
        cursor, count = "", 0
        start = time.perf_counter()
        while True:
            r = await http.post(
                f"/api/stores/{store}/pull",
                json={"client_id": "bench-reader", "cursor": cursor, "limit": 5000},
            )
            r.raise_for_status()
            page = msgspec.json.decode(r.content)
            count += len(page["changes"])
            cursor = page["cursor"]
            if not page["more"]:
                return time.perf_counter() - start, count


def raw_sqlite_rate(muts: list[dict]) -> float:
    """Rows per second for plain sqlite3 executemany of the same records, in WAL mode."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "raw.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE records (store_id TEXT, id TEXT, entity TEXT, version INT, seq INT,"
            " deleted INT, fields TEXT, meta TEXT, updated_ms INT, PRIMARY KEY (store_id, id))"
        )
        db.execute("CREATE UNIQUE INDEX ix_seq ON records (store_id, seq)")
        rows = [
            (
                "s",
                m["args"]["id"],
                "person",
                1,
                n,
                0,
                json.dumps(m["args"]["fields"]),
                json.dumps({"f": {k: [m["hlc"], "c", 1] for k in m["args"]["fields"]}}),
                0,
            )
            for n, m in enumerate(muts)
        ]
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?)", rows[i : i + BATCH])
            db.execute("COMMIT")
        return len(rows) / (time.perf_counter() - start)


async def bench_engine(name: str, database: str, args: argparse.Namespace) -> None:
    user = grapevine(
        "user", "add", "--email", "bench@example.com", "--database", database, "--json"
    )
    token, store = user["token"], user["store_id"]
    ms = time.time_ns() // 1_000_000
    with Server(database) as server:
        muts = person_mutations("bench-push", 1, args.mutations, ms)
        # warm up the server (imports, connections, JIT-free paths) on a separate client
        await push_all(server.url, token, store, "warm", person_mutations("warm", 1, 500, ms))
        seconds = await push_all(server.url, token, store, "bench-push", muts)
        rate = len(muts) / seconds
        line = f"{name:9} push  {rate:10,.0f} mutations/s  ({len(muts):,} in batches of {BATCH})"
        if name == "sqlite":
            raw = raw_sqlite_rate(muts)
            line += f"; raw sqlite3 executemany {raw:,.0f} rows/s; ratio {rate / raw:.2f}"
        print(line, flush=True)

        # pull: a fresh store with people and conversations
        other = grapevine(
            "user", "add", "--email", "bench-pull@example.com", "--database", database, "--json"
        )
        token2, store2 = other["token"], other["store_id"]
        people = person_mutations("seed", 1, args.people, ms)
        ids = [m["args"]["id"] for m in people]
        convs = conversation_mutations(
            "seed", len(people) + 1, [ids[i % len(ids)] for i in range(5 * args.people)], ms
        )
        await push_all(server.url, token2, store2, "seed", people + convs)
        seconds, count = await pull_all(server.url, token2, store2)
        print(
            f"{name:9} pull  {count / seconds:10,.0f} records/s    ({count:,} records:"
            f" {args.people:,} people + {5 * args.people:,} conversations, pages of 5,000)",
            flush=True,
        )


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--mutations", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=10_000)
    args = parser.parse_args()
    print(f"Grapevine benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for name in args.engines.split(","):
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                await bench_engine(name, f"sqlite+aiosqlite:///{tmp}/bench.db", args)
        elif name == "postgres":
            try:
                admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=3)
            except (OSError, asyncpg.PostgresError) as exc:
                print(f"postgres  skipped: not reachable at {POSTGRES_ADMIN} ({exc})")
                continue
            db = f"grapevine_bench_{uuid.uuid4().hex[:8]}"
            await admin.execute(f'CREATE DATABASE "{db}"')
            try:
                base = POSTGRES_ADMIN.rsplit("/", 1)[0].split("://", 1)[1]
                await bench_engine(name, f"postgresql+asyncpg://{base}/{db}", args)
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
