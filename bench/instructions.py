"""Instructions the server executes per pushed mutation, counted by valgrind's callgrind.

    python -m bench.instructions [--engine sqlite|postgres] [--batch 500] [--pushes 4]
                                 [--devices 1]

A real server runs under callgrind with counting off; after a warm-up push per device it is
switched on for `--devices` devices each pushing `--pushes` batches of `--batch` `set`
mutations at once, then off. Unlike the rate or the CPU time, the count does not depend on
what else the machine is doing, so two versions compare on a busy machine (it counts the
server's own code, in every thread: not the kernel's work for its sockets and files, and not
PostgreSQL's). Needs valgrind (`apt-get install valgrind`); the server runs ~50x slower.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import msgspec

from bench.__main__ import POSTGRES_ADMIN, Http, all_applied, free_port, grapevine, person_mutations


async def push(base: str, tokens: list[str], store: str, tag: str, batch: int, n: int) -> None:
    """Each device pushes `n` batches of `batch` new people, all devices at once."""
    ms = time.time_ns() // 1_000_000

    async def device(i: int) -> None:
        muts = person_mutations(f"{tag}-{i}", 1, batch * n, ms)
        async with Http(base, tokens[i]) as http:
            for b in range(n):
                part = muts[b * batch : (b + 1) * batch]
                body = msgspec.json.encode({"client_id": f"{tag}-{i}", "mutations": part})
                status, answer = await http.post(f"/api/stores/{store}/push", body)
                if status != 200 or not all_applied(answer):
                    raise RuntimeError(f"{status} {answer[:300]!r}")

    await asyncio.gather(*(device(i) for i in range(len(tokens))))


def count(database: str, batch: int, pushes: int, devices: int) -> float:
    email = f"instructions-{uuid.uuid4().hex[:6]}@example.com"
    user = grapevine("user", "add", "--email", email, "--database", database, "--json")
    tokens = [user["token"]] + [
        grapevine(
            "device", "add", "--email", email, "--name", f"d{i}", "--database", database, "--json"
        )["token"]
        for i in range(1, devices)
    ]
    store = user["store_id"]
    out = Path(tempfile.mkdtemp()) / "callgrind.out"
    port = free_port()
    exe = str(Path(sys.executable).parent / "grapevine")
    server = subprocess.Popen(
        [
            *("valgrind", "--tool=callgrind", "--instr-atstart=no"),
            f"--callgrind-out-file={out}",
            *(sys.executable, exe, "serve", "--port", str(port), "--database", database),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "GRAPEVINE_LOG_LEVEL": "warning"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(3000):
            try:
                if httpx.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        asyncio.run(push(base, tokens, store, "warm", batch, 1))
        control = ["callgrind_control"]
        subprocess.run([*control, "-i", "on", str(server.pid)], check=True, capture_output=True)
        asyncio.run(push(base, tokens, store, "counted", batch, pushes))
        subprocess.run([*control, "-i", "off", str(server.pid)], check=True, capture_output=True)
        subprocess.run([*control, "-d", str(server.pid)], check=True, capture_output=True)
    finally:
        server.terminate()
        server.wait(300)
    total = 0
    for dump in out.parent.glob("callgrind.out*"):
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
    return total / (batch * pushes * devices)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--pushes", type=int, default=4)
    parser.add_argument("--devices", type=int, default=1)
    args = parser.parse_args()
    if args.engine == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/i.db"
            per = count(url, args.batch, args.pushes, args.devices)
    else:
        db = f"grapevine_instructions_{uuid.uuid4().hex[:8]}"
        asyncio.run(admin(f'CREATE DATABASE "{db}"'))
        try:
            where = POSTGRES_ADMIN.rsplit("/", 1)[0].split("://", 1)[1]
            per = count(f"postgresql+asyncpg://{where}/{db}", args.batch, args.pushes, args.devices)
        finally:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    print(
        f"{args.engine:9} {per:,.0f} instructions per mutation ({args.devices} device(s) x"
        f" {args.pushes} pushes of {args.batch}, server only, callgrind)"
    )


async def admin(statement: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN, timeout=3)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
