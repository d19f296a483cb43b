"""Push and pull throughput over HTTP on loopback, against a real server process.

    python -m bench [--engines sqlite,postgres] [--mutations 20000] [--people 10000]
                    [--runs 5] [--devices 50] [--rounds 1] [--random-ids] [--profile]

Push: `set` mutations in batches of 500, applied per second (min/median/max of `--runs`), with
the server's CPU time per mutation (steadier than the rate on a busy machine), next to the rate
at which plain sqlite3 `executemany` writes the same rows (the floor of what storage costs).
Pull: an initial sync of people and conversations (pages of 5,000), records per second,
min/median/max of `--runs`. Concurrency: `--devices` devices each pushing 20 batches of 100 at
once (`--rounds`, 1 by default: each adds 100,000 people to the store); latency percentiles of
all their pushes, each round's p99, and errors (PostgreSQL with 4 server workers). `--profile`
samples the server with py-spy during the push, and on SQLite during the devices' pushes, and
prints where its time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import msgspec

import sync

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
    def __init__(self, database: str, workers: int = 1) -> None:
        self.database = database
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        exe = Path(sys.executable).parent / "grapevine"
        command = [str(exe), "serve", "--port", str(self.port), "--database", self.database]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(
            command,
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

    def cpu_seconds(self) -> float:
        """CPU time of the server and its worker processes so far (user + system)."""
        total = 0.0
        for pid in [self.proc.pid, *children(self.proc.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in map(int, kids):
            found += [kid, *children(kid)]
    return found


# Record ids as our clients make them (time-ordered UUIDv7, sync.new_id), or with `--random-ids`
# as they made them before (UUIDv4), to show what random ids cost the store's index.
RANDOM_IDS = False


def record_id() -> str:
    return str(uuid.uuid4()) if RANDOM_IDS else sync.new_id()


def person_mutations(client_id: str, first: int, count: int, ms: int) -> list[dict]:
    return [
        {
            "id": first + i,
            "hlc": f"{ms:013d}-{(first + i) % 0xFFFF:04x}-{client_id}",
            "name": "set",
            "args": {
                "entity": "person",
                "id": record_id(),
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
                "id": record_id(),
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


class Http:
    """One keep-alive HTTP/1.1 connection that sends the bench's prepared POSTs and reads the
    answers, and little else: the load generator shares the machine's two cores with the
    server it measures, and httpx spent ~10x its CPU per request (the 50 devices' 1,000 pushes
    cost the bench ~0.2 s of CPU; see README "Benchmarks")."""

    def __init__(self, base: str, token: str) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        self.head += "Content-Type: application/json\r\n"

    async def __aenter__(self) -> Http:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.writer.close()
        await self.writer.wait_closed()

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) of a POST."""
        request = f"POST {path} HTTP/1.1\r\n{self.head}Content-Length: {len(body)}\r\n\r\n"
        self.writer.write(request.encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        if not chunked:
            return status, await self.reader.readexactly(length)
        parts = []
        while size := int((await self.reader.readline()).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        await self.reader.readline()
        return status, b"".join(parts)


class _Result(msgspec.Struct):
    status: str


class _Answer(msgspec.Struct):
    results: list[_Result]


_answer = msgspec.json.Decoder(_Answer).decode


def all_applied(content: bytes) -> bool:
    """Whether a push answer says every mutation was applied (decoded with msgspec: the bench
    client shares the machine's cores with the server, and spends as little as it can)."""
    return all(r.status == "applied" for r in _answer(content).results)


async def push_all(base: str, token: str, store: str, client_id: str, muts: list[dict]) -> float:
    """Seconds to push `muts` in batches of 500 over one keep-alive connection."""
    bodies = [
        msgspec.json.encode({"client_id": client_id, "mutations": muts[i : i + BATCH]})
        for i in range(0, len(muts), BATCH)
    ]
    async with Http(base, token) as http:
        start = time.perf_counter()
        for body in bodies:
            status, answer = await http.post(f"/api/stores/{store}/push", body)
            if status != 200 or not all_applied(answer):
                raise RuntimeError(f"{status} {answer[:500]!r}")
        return time.perf_counter() - start


class _Page(msgspec.Struct):
    cursor: str
    more: bool
    changes: list[msgspec.Raw]


_page = msgspec.json.Decoder(_Page).decode
_encode = msgspec.json.Encoder().encode


async def pull_all(base: str, token: str, store: str) -> tuple[float, int]:
    """Seconds to pull the store from the start, and the changes pulled. The pages are parsed
    only as far as the bench needs (cursor, more, how many changes): turning 5,000 changes
    into Python dicts took the bench client ~6.5 ms a page, on the cores the server shares,
    and that is the client's work, not the server's."""
    async with Http(base, token) as http:
        cursor, count = "", 0
        start = time.perf_counter()
        while True:
            request = {"client_id": "bench-reader", "cursor": cursor, "limit": 5000}
            status, answer = await http.post(f"/api/stores/{store}/pull", _encode(request))
            if status != 200:
                raise RuntimeError(f"{status} {answer[:500]!r}")
            page = _page(answer)
            count += len(page.changes)
            cursor = page.cursor
            if not page.more:
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
        # warm up the server (imports, connections, JIT-free paths) on a separate client
        await push_all(server.url, token, store, "warm", person_mutations("warm", 1, 500, ms))
        profiler = start_profile(server) if args.profile else None
        # Each run pushes `--mutations` new people as a new client into the same store (which
        # grows run by run, as a real one does): one run is under a second, and a second of a
        # shared machine's noise moved it by a fifth, so the rate is the median of the runs.
        rates, cpu_total, count = [], 0.0, 0
        for run in range(args.runs):
            muts = person_mutations(f"bench-push-{run}", 1, args.mutations, ms)
            cpu = server.cpu_seconds()
            seconds = await push_all(server.url, token, store, f"bench-push-{run}", muts)
            cpu_total += server.cpu_seconds() - cpu
            count += len(muts)
            rates.append(len(muts) / seconds)
        rate = statistics.median(rates)
        line = (
            f"{name:9} push  {rate:10,.0f} mutations/s  (min {min(rates):,.0f}, max"
            f" {max(rates):,.0f} of {args.runs} runs of {args.mutations:,} in batches of"
            f" {BATCH}; server CPU {cpu_total / count * 1e6:.1f} µs per mutation,"
            f" {count / cpu_total:,.0f}/s of CPU)"
        )
        if name == "sqlite":
            raw = raw_sqlite_rate(muts)
            line += f"; raw sqlite3 executemany {raw:,.0f} rows/s; ratio {rate / raw:.2f}"
        print(line, flush=True)
        if profiler:
            print_profile(profiler)

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
        rates = []
        for _ in range(args.runs):
            seconds, count = await pull_all(server.url, token2, store2)
            rates.append(count / seconds)
        print(
            f"{name:9} pull  {statistics.median(rates):10,.0f} records/s    (min"
            f" {min(rates):,.0f}, max {max(rates):,.0f} of {args.runs} runs; {count:,} records:"
            f" {args.people:,} people + {5 * args.people:,} conversations, pages of 5,000)",
            flush=True,
        )
        if name == "sqlite":
            # (PostgreSQL's run below has 4 worker processes: py-spy follows one pid.)
            profiler = start_profile(server) if args.profile else None
            await concurrent_pushes(name, server, database, args.devices, args.rounds)
            if profiler:
                print_profile(profiler, f"the {args.devices} devices' pushes")
    if name == "postgres":
        with Server(database, workers=4) as server:
            await concurrent_pushes(f"{name} x4", server, database, args.devices, args.rounds)


async def concurrent_pushes(
    name: str, server: Server, database: str, devices: int, runs: int
) -> None:
    """`devices` devices of one store, each pushing 20 batches of 100 as fast as answered, in
    `runs` rounds (each device a new client each round): the percentiles are of every push of
    every round (a round of 1,000 pushes has its p99 in its 10 slowest), and each round's
    p99 is printed too."""
    email = f"bench-many-{uuid.uuid4().hex[:6]}@example.com"
    grapevine("user", "add", "--email", email, "--database", database, "--json")
    tokens = [
        grapevine(
            "device", "add", "--email", email, "--name", f"d{i}", "--database", database, "--json"
        )
        for i in range(devices)
    ]
    store = tokens[0]["store_id"]
    ms = time.time_ns() // 1_000_000
    latencies: list[float] = []
    errors: list[str] = []
    rounds: list[tuple[float, float]] = []  # each round's p99 (ms) and mutations/s

    def batches(client_id: str) -> list[bytes]:
        muts = person_mutations(client_id, 1, 20 * 100, ms)
        return [
            msgspec.json.encode({"client_id": client_id, "mutations": muts[b : b + 100]})
            for b in range(0, 20 * 100, 100)
        ]

    async def device(http: Http, bodies: list[bytes], times: list[float]) -> None:
        async with http:
            for body in bodies:
                start = time.perf_counter()
                status, answer = await http.post(f"/api/stores/{store}/push", body)
                times.append(time.perf_counter() - start)
                if status != 200 or not all_applied(answer):
                    errors.append(f"{status} {answer[:200]!r}")

    cpu = 0.0
    for run in range(runs):
        # Each device's connection and request bodies are made before the clock starts: the
        # bench's own work would otherwise add to the first pushes' latency, on the cores the
        # server shares (50 httpx clients made at once cost ~1 s of CPU).
        clients = [Http(server.url, t["token"]) for t in tokens]
        for http in clients:
            await http.__aenter__()
        bodies = [batches(f"many-{run}-{i}") for i in range(devices)]
        times: list[float] = []
        start, mark = time.perf_counter(), time.process_time()
        await asyncio.gather(*(device(clients[i], bodies[i], times) for i in range(devices)))
        took, cpu = time.perf_counter() - start, cpu + time.process_time() - mark
        times.sort()
        rounds.append((percentile(times, 0.99) * 1000, devices * 2000 / took))
        latencies += times
    latencies.sort()
    pct = lambda q: percentile(latencies, q) * 1000  # noqa: E731
    each = ", ".join(f"{p99:.0f}" for p99, _ in rounds)
    overall = statistics.median(rate for _, rate in rounds)
    print(
        f"{name:9} many  {devices} devices x 20 pushes of 100, {runs} rounds: p50 {pct(0.5):.0f}"
        f" ms, p99 {pct(0.99):.0f} ms (each round's: {each}), max {latencies[-1] * 1000:.0f} ms;"
        f" {len(errors)} errors; {overall:,.0f} mutations/s overall, median of the rounds (the"
        f" bench's own CPU {cpu / runs:.2f} s a round)",
        flush=True,
    )
    for e in errors[:3]:
        print(f"          error: {e}")


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_profile(server: Server) -> tuple[subprocess.Popen, Path] | None:
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        print("          (no profile: pip install py-spy)")
        return None
    out = Path(tempfile.mkdtemp()) / "push.txt"
    proc = subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(server.proc.pid),
            "--format",
            "raw",
            "--threads",
            "--rate",
            "250",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches
    return proc, out


AREAS = (
    ("_SqliteDriver.", "SQLite itself (C: execute, executemany)"),
    ("_group_on_thread", "SQLite itself (C: BEGIN, COMMIT)"),
    ("_checkpoint", "SQLite WAL checkpoint (background thread)"),
    ("_PgDriver.", "asyncpg (C: statements)"),
    ("sync/_", "merge engine (Python)"),
    ("server/storage.py", "storage (Python: rows, JSON)"),
    ("aiosqlite", "aiosqlite (thread hand-off)"),
    # uvloop runs in C beneath the frame that started it: a sample there with no callback's
    # frame above is its socket I/O or its wait for events (py-spy cannot tell them apart)
    ("Runner.run (", "event loop (uvloop's C: socket I/O, or waiting)"),
    ("asyncio", "event loop"),
    ("selectors", "event loop"),
    ("litestar", "HTTP (litestar)"),
    ("uvicorn", "HTTP (uvicorn)"),
    ("msgspec", "JSON (msgspec)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("server/", "server (auth, routes)"),
)


def print_profile(profiler: tuple[subprocess.Popen, Path], what: str = "the push") -> None:
    """Where the server's push time went: by area (the function a sample was in), then the
    functions with the most own time."""
    proc, out = profiler
    proc.send_signal(2)
    proc.wait(30)
    own: dict[str, int] = {}
    areas: dict[str, int] = {}
    total = 0
    for row in out.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        frames = stack.split(";")
        if not frames or not count.isdigit():
            continue
        leaf = frames[-1]
        if (
            "(idle)" in leaf
            or ("wait" in leaf and "threading" in leaf)
            or "select (" in leaf
            or leaf.startswith("_connection_worker_thread ")  # aiosqlite's thread, idle
            or leaf.startswith("thread (")  # a thread with no Python frame: idle
        ):
            continue  # waiting, not working
        total += int(count)
        name = leaf.split(" (")[0] + " (" + leaf.rsplit("/", 1)[-1].split(":")[0].rstrip(")") + ")"
        own[name] = own.get(name, 0) + int(count)
        area = next((label for key, label in AREAS if key in leaf), "other")
        areas[area] = areas.get(area, 0) + int(count)
    print(f"          profile of {what} (py-spy, {total:,} samples of work):")
    for area, count in sorted(areas.items(), key=lambda kv: -kv[1]):
        print(f"          {count / total:6.1%}  {area}")
    print("          functions with the most own time:")
    for name, count in sorted(own.items(), key=lambda kv: -kv[1])[:8]:
        print(f"          {count / total:6.1%}  {name}")


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--mutations", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="push and pull runs (min/median/max)")
    # Each round adds its 100,000 people to the store (the store of 10,000 people the goals
    # are set for is outgrown after one): more rounds show how the p99 grows with the store.
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the devices' pushes")
    parser.add_argument("--devices", type=int, default=50, help="devices pushing at once")
    parser.add_argument(
        "--random-ids", action="store_true", help="UUIDv4 record ids, as older clients made"
    )
    parser.add_argument("--profile", action="store_true", help="sample the push with py-spy")
    args = parser.parse_args()
    global RANDOM_IDS
    RANDOM_IDS = args.random_ids
    ids = "random (UUIDv4)" if RANDOM_IDS else "time-ordered (UUIDv7, as our clients make them)"
    print(
        f"Grapevine benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]};"
        f" record ids {ids}"
    )
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
