"""Durability and idempotency under kill -9, against a real server process on loopback.

    python -m bench.crash [--engine sqlite|postgres] [--cycles 20]

A client pushes batches (sets, and merges that re-point conversations through the reference
index) while the server is killed with SIGKILL at random moments and restarted. After each
restart the client resends what it has not seen acknowledged, exactly as the app does. At the
end every acknowledged mutation must be in the store (nothing acknowledged is lost), a replay
of every batch must answer `duplicate` for all of them (nothing is applied twice), and the
reference index must agree with the records. Prints the counts; exits non-zero on a loss.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench import scratch
from bench.__main__ import free_port, grapevine


class Crashable:
    def __init__(self, database: str) -> None:
        self.database = database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        exe = Path(sys.executable).parent / "grapevine"
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(self.port), "--database", self.database],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(400):
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def build_batches(client_id: str, count: int) -> tuple[list[list[dict]], dict[int, str]]:
    """Batches of mutations; and for each `set`, the record id it creates."""
    ms = 1_790_000_000_000
    next_id = 1
    creates: dict[int, str] = {}
    batches = []
    for b in range(count):
        keep, dup = str(uuid.uuid4()), str(uuid.uuid4())
        batch: list[dict] = []

        def add(name: str, args: dict, record: str | None = None, batch: list = batch) -> None:
            nonlocal next_id
            batch.append(
                {
                    "id": next_id,
                    "hlc": f"{ms + next_id:013d}-0000-{client_id}",
                    "name": name,
                    "args": args,
                }
            )
            if record:
                creates[next_id] = record
            next_id += 1

        for who in (keep, dup):
            add("set", {"entity": "person", "id": who, "base": 0, "fields": {"name": f"P{b}"}}, who)
        for _ in range(8):
            talk = str(uuid.uuid4())
            fields = {"person_id": dup, "kind": "call"}
            add("set", {"entity": "conversation", "id": talk, "base": 0, "fields": fields}, talk)
        add("merge", {"entity": "person", "id": dup, "into": keep})
        batches.append(batch)
    return batches, creates


async def run(server: Crashable, token: str, store: str, cycles: int) -> bool:
    client_id = "c-crash"
    batches, creates = build_batches(client_id, cycles * 25)
    headers = {"Authorization": f"Bearer {token}"}
    acknowledged = 0
    kills = 0
    rng = random.Random(20261129)
    pending = [m for b in batches for m in b]

    async def pusher() -> None:
        nonlocal acknowledged
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as c:
            while True:
                todo = [m for m in pending if m["id"] > acknowledged][:20]
                if not todo:
                    return
                try:
                    body = {"client_id": client_id, "mutations": todo}
                    r = await c.post(f"/api/stores/{store}/push", json=body)
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
                    continue
                if r.status_code == 200:
                    acknowledged = max(acknowledged, r.json()["last_mutation_id"])
                elif r.status_code >= 500 and r.status_code != 503:
                    raise RuntimeError(f"{r.status_code}: {r.text[:300]}")

    task = asyncio.create_task(pusher())
    while not task.done() and kills < cycles:
        await asyncio.sleep(rng.uniform(0.05, 0.6))
        if task.done():
            break
        server.kill()
        kills += 1
        server.start()
    await task
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as c:
        seen: dict[str, dict] = {}
        cursor = ""
        while True:
            page = (
                await c.post(
                    f"/api/stores/{store}/pull",
                    json={"client_id": client_id, "cursor": cursor, "limit": 5000},
                )
            ).json()
            seen.update({ch["id"]: ch for ch in page["changes"]})
            cursor = page["cursor"]
            if not page["more"]:
                break
        lost = [mid for mid, rid in creates.items() if mid <= acknowledged and rid not in seen]
        replays = {"duplicate": 0, "other": 0}
        for batch in batches:
            r = await c.post(
                f"/api/stores/{store}/push", json={"client_id": client_id, "mutations": batch}
            )
            for result in r.json()["results"]:
                replays["duplicate" if result["status"] == "duplicate" else "other"] += 1
    dangling = [
        ch["id"]
        for ch in seen.values()
        if ch["entity"] == "conversation" and seen[ch["fields"]["person_id"]]["deleted"]
    ]
    print(
        f"kills: {kills}; mutations acknowledged: {acknowledged} of {len(pending)}; "
        f"acknowledged records missing: {len(lost)}; replayed: {replays}; "
        f"conversations left on a merged-away person: {len(dangling)}"
    )
    return not lost and replays["other"] == 0 and acknowledged == len(pending) and not dangling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--cycles", type=int, default=20, help="kill -9 count")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grapevine-crash-") as tmp:
        postgres = args.engine == "postgres"
        database = asyncio.run(scratch.create("crash")) if postgres else str(Path(tmp) / "crash.db")
        try:
            user = grapevine(
                "user", "add", "--email", "crash@example.com", "--database", database, "--json"
            )
            server = Crashable(database)
            server.start()
            try:
                ok = asyncio.run(run(server, user["token"], user["store_id"], args.cycles))
            finally:
                server.kill()
        finally:
            if postgres:
                asyncio.run(scratch.drop(database))
    print("PASS" if ok else "FAIL")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
