"""Live sync figures, beside their targets (`make bench-live`):

    python -m bench.live [--edits 100] [--streams 200] [--cluster-streams 1000] [--skip-browser]

1. Poke to visible: a desktop page in Chromium (never reloaded) shows a person that another
   device has just pushed. Latency from the start of the push to the name appearing in the
   page's DOM (a MutationObserver stamps it), p50/p95 over `--edits` edits. Target p95 < 500 ms.
2. Streams on one worker (SQLite): `--streams` idle streams held, memory per idle stream
   (the worker's RSS before and after, divided), then one push per store and how long until
   every stream was poked.
3. Streams across 4 workers on PostgreSQL (`grapevine serve --workers 4`): `--cluster-streams`
   streams, memory per idle stream over all workers, and every stream poked after a push to its
   store, whichever worker took the push (LISTEN/NOTIFY).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench import scratch
from bench.__main__ import free_port

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "grapevine"


# ----- a server and its accounts ---------------------------------------------------------


class Server:
    def __init__(self, database: str, workers: int = 1) -> None:
        self.database = database
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPEVINE_")}
        self.proc = await asyncio.create_subprocess_exec(
            str(EXE), "serve", "--port", str(self.port), "--database", self.database,
            "--workers", str(self.workers),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env=env,
        )  # fmt: skip
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                try:
                    if (await http.get(f"{self.url}/api/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("server did not start")
            # every worker answers before anything is measured
            await asyncio.gather(*(http.get(f"{self.url}/api/health") for _ in range(40)))
        await asyncio.sleep(1)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.proc.terminate()
        await self.proc.wait()

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the workers, or the one process."""
        if self.workers == 1:
            return [self.proc.pid]
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    children.append(int(entry.name))
        return children

    def rss_kb(self) -> int:
        total = 0
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total


async def make_accounts(database: str, count: int) -> list[dict]:
    """Users with a store and a device token each, straight through the accounts module."""
    sys.path.insert(0, str(ROOT))
    from server import accounts
    from server.database import create_engine, migrate, write_transaction

    engine = create_engine(database)
    try:
        await migrate(engine)
        made = []
        async with write_transaction(engine) as conn:
            for _ in range(count):
                email = f"live-{uuid.uuid4().hex[:10]}@example.com"
                user_id, store_id = await accounts.create_user(conn, email)
                _, token = await accounts.create_device(conn, user_id, "bench")
                made.append({"store_id": store_id, "token": token, "email": email})
        return made
    finally:
        await engine.dispose()


def person(client_id: str, n: int, name: str) -> dict:
    return {
        "id": n,
        "hlc": f"{int(time.time() * 1000):013d}-{n % 0xFFFF:04x}-{client_id}",
        "name": "set",
        "args": {"entity": "person", "id": str(uuid.uuid4()), "base": 0, "fields": {"name": name}},
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# ----- 1. poke to visible ------------------------------------------------------------------


_OBSERVE = """names => {
  window.__seen = {};
  const wanted = new Set(names);
  const look = () => {
    for (const a of document.querySelectorAll("a")) {
      const name = a.textContent.trim();
      if (wanted.has(name) && !(name in window.__seen)) window.__seen[name] = Date.now();
    }
  };
  new MutationObserver(look).observe(document.body, {childList: true, subtree: true,
                                                     characterData: true});
}"""


def poke_to_visible(edits: int) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS, LiveServer, open_people, sign_in, status

    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp) / "live.db", Path(tmp) / "server.log")
        try:
            server.wait_healthy()
            user = server.add_user()
            # Each new name sorts before the ones already there: the people list draws its
            # first rows only (a batch at a time), and the newest must be among them.
            names = [f"Bench person {edits - n:04d}" for n in range(edits)]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                sign_in(page, server, user)
                open_people(page)
                deadline = time.monotonic() + 20
                while not status(page).inner_text().endswith("· live"):
                    if time.monotonic() > deadline:
                        raise RuntimeError("the page never went live")
                    page.wait_for_timeout(50)
                page.evaluate(_OBSERVE, names)
                latencies, missed = [], 0
                with httpx.Client(timeout=10) as http:
                    for n, name in enumerate(names, start=1):
                        started = time.time() * 1000
                        r = http.post(
                            f"{server.url}/api/stores/{user.store_id}/push",
                            json={
                                "client_id": "c-bench",
                                "mutations": [person("c-bench", n, name)],
                            },
                            headers={"Authorization": f"Bearer {user.token}"},
                        )
                        r.raise_for_status()
                        until = time.monotonic() + 5
                        seen = None
                        while seen is None and time.monotonic() < until:
                            page.wait_for_timeout(5)
                            seen = page.evaluate(f"window.__seen[{json.dumps(name)}] ?? null")
                        if seen is None:
                            missed += 1
                        else:
                            latencies.append(seen - started)
                        page.wait_for_timeout(100)  # edits a person apart, not one burst
                browser.close()
        finally:
            server.stop()
    return {"latencies": latencies, "missed": missed}


# ----- 2 and 3. many streams --------------------------------------------------------------


class Stream:
    """One idle EventSource-like connection on a raw socket (cheap on the client side)."""

    def __init__(self) -> None:
        self.pokes: list[float] = []
        self.ready = asyncio.Event()
        self.poked = asyncio.Event()
        self.worker = ""

    async def open(self, host: str, port: int, path: str) -> None:
        self.reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await self.writer.drain()
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode()
        if " 200 " not in head.splitlines()[0]:
            raise RuntimeError(head.splitlines()[0])
        for line in head.splitlines():
            if line.lower().startswith("x-grapevine-worker:"):
                self.worker = line.split(":", 1)[1].strip()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while True:
                line = await self.reader.readline()
                if not line:
                    return
                if b"event: ready" in line:
                    self.ready.set()
                elif b"event: poke" in line:
                    self.pokes.append(time.perf_counter())
                    self.poked.set()

    def close(self) -> None:
        self.task.cancel()
        self.writer.close()


async def many_streams(database: str, workers: int, streams: int, stores: int) -> dict:
    owners = await make_accounts(database, stores)
    async with Server(database, workers) as server:
        port = server.port
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50)) as http:
            before = server.rss_kb()

            async def ticket(owner: dict) -> str:
                r = await http.post(
                    f"{server.url}/api/stores/{owner['store_id']}/events/ticket",
                    json={},
                    headers={"Authorization": f"Bearer {owner['token']}"},
                )
                r.raise_for_status()
                return r.json()["url"]

            assigned = [owners[i % stores] for i in range(streams)]
            urls = await asyncio.gather(*(ticket(o) for o in assigned))
            held = [Stream() for _ in range(streams)]
            gate = asyncio.Semaphore(100)

            async def open_one(stream: Stream, url: str) -> None:
                async with gate:
                    await stream.open("127.0.0.1", port, url)
                    await asyncio.wait_for(stream.ready.wait(), 60)

            # A first tenth warms the server up (first use of the routes, buffers); the memory
            # per stream is what the other nine tenths add.
            pairs = list(zip(held, urls, strict=True))
            first = max(1, streams // 10)
            opened = time.perf_counter()
            await asyncio.gather(*(open_one(s, u) for s, u in pairs[:first]))
            await asyncio.sleep(2)
            warm = server.rss_kb()
            await asyncio.gather(*(open_one(s, u) for s, u in pairs[first:]))
            open_s = time.perf_counter() - opened
            await asyncio.sleep(2)
            after = server.rss_kb()
            per_stream_kb = (after - warm) / max(1, streams - first)

            # one push to each store, spread over the workers by the kernel; time to every poke
            started: dict[str, float] = {}

            pushing = asyncio.Semaphore(4)  # a few at a time: measure fan-out, not a queue

            async def push(owner: dict) -> None:
                async with pushing:
                    await push_now(owner)

            async def push_now(owner: dict) -> None:
                started[owner["store_id"]] = time.perf_counter()
                r = await http.post(
                    f"{server.url}/api/stores/{owner['store_id']}/push",
                    json={"client_id": "c-load", "mutations": [person("c-load", 1, "Load")]},
                    headers={"Authorization": f"Bearer {owner['token']}"},
                )
                r.raise_for_status()

            await asyncio.gather(*(push(o) for o in owners))
            deadline = time.perf_counter() + 30
            for s in held:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        s.poked.wait(), max(0.01, deadline - time.perf_counter())
                    )
            delays = [
                (s.pokes[0] - started[o["store_id"]]) * 1000
                for s, o in zip(held, assigned, strict=True)
                if s.pokes
            ]
            workers_seen = len({s.worker for s in held})
            for s in held:
                s.close()
    return {
        "streams": streams,
        "open_s": open_s,
        "rss_before_mb": before / 1024,
        "rss_after_mb": after / 1024,
        "per_stream_kb": per_stream_kb,
        "poked": len(delays),
        "poke_p50": pct(delays, 50) if delays else None,
        "poke_p95": pct(delays, 95) if delays else None,
        "workers_holding_streams": workers_seen,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--cluster-streams", type=int, default=1000)
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    print("Live sync (on a shared machine, figures are indicative)", flush=True)

    if not args.skip_browser:
        result = poke_to_visible(args.edits)
        lat = result["latencies"]
        print(f"\n1. Poke to visible, {len(lat)} of {args.edits} edits shown (desktop Chromium):")
        if lat:
            print(f"   p50 {statistics.median(lat):6.0f} ms   p95 {pct(lat, 95):6.0f} ms   "
                  f"max {max(lat):6.0f} ms     target: p95 < 500 ms"
                  f"  [{'met' if pct(lat, 95) < 500 else 'NOT met'}]")  # fmt: skip
        if result["missed"]:
            print(f"   {result['missed']} edits not shown within 5 s")

    with tempfile.TemporaryDirectory() as tmp:
        one = asyncio.run(many_streams(str(Path(tmp) / "one.db"), 1, args.streams, 50))
    _print_streams(f"2. {args.streams} streams on one worker (SQLite)", one, args.streams)

    with scratch.postgres_database("bench_live") as url:
        cluster = asyncio.run(many_streams(url, 4, args.cluster_streams, 100))
    _print_streams(
        f"3. {args.cluster_streams} streams across 4 workers (PostgreSQL)",
        cluster,
        args.cluster_streams,
    )


def _print_streams(title: str, r: dict, target: int) -> None:
    print(f"\n{title}:")
    met = r["streams"] >= target and r["poked"] == r["streams"]
    print(f"   held {r['streams']} (target {target}) [{'met' if met else 'NOT met'}], "
          f"opened in {r['open_s']:.1f} s, "
          f"on {r['workers_holding_streams']} worker(s)")  # fmt: skip
    print(f"   worker RSS {r['rss_before_mb']:.1f} MB -> {r['rss_after_mb']:.1f} MB: "
          f"{r['per_stream_kb']:.1f} KB per idle stream")  # fmt: skip
    if r["poke_p50"] is not None:
        print(f"   after one push per store: {r['poked']} of {r['streams']} streams poked, "
              f"push to poke p50 {r['poke_p50']:.0f} ms, p95 {r['poke_p95']:.0f} ms")  # fmt: skip
    else:
        print("   no stream was poked")


if __name__ == "__main__":
    main()
