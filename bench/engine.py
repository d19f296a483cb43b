"""The merge engine's time per push, before and under the store's lock, storage left out.

    python -m bench.engine [--pushes 300] [--batch 100]

On PostgreSQL a push's args are decoded and its values checked (`sync.prepare`) before it
waits for the store's lock; what is left is the engine's work under the lock, where every
other push to the store waits for it. This prints both, next to the whole engine's time
when nothing is prepared (as on SQLite, whose writer thread does it all), per push of
`--batch` new people (the `python -m bench` pushes' shape), median of 5 rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Collection, Sequence
from typing import Any

import msgspec

import sync
from bench.__main__ import person_mutations


class NoStorage:
    """sync.Backend with nothing stored: every record is new, every write is dropped."""

    async def client(self, client_id: str) -> tuple[str | None, int]:
        return None, 0

    async def load(self, ids: Collection[str]) -> dict[str, sync.Record]:
        return {}

    async def referrers(self, refs: Sequence[tuple[str, str]], target: str) -> list[str]:
        return []

    async def text_at(self, record_id: str, field: str, version: int, client_id: str) -> Any:
        return ""

    async def commit(self, *args: Any) -> None:
        return None


def request(client_id: str, batch: int) -> sync.PushRequest:
    ms = time.time_ns() // 1_000_000
    body = {"client_id": client_id, "mutations": person_mutations(client_id, 1, batch, ms)}
    return msgspec.json.decode(msgspec.json.encode(body), type=sync.PushRequest)


async def one_round(pushes: int, batch: int, n: int) -> tuple[float, float, float]:
    """ms per push: the engine unprepared; prepare alone; the engine given what was prepared."""
    clock = sync.HLC("server")
    plain = [request(f"plain-{n}-{i}", batch) for i in range(pushes)]
    ready = [request(f"ready-{n}-{i}", batch) for i in range(pushes)]
    start = time.perf_counter()
    for r in plain:
        await sync.push(NoStorage(), "device", r, clock)
    unprepared = time.perf_counter() - start
    before = under = 0.0
    for r in ready:  # each prepared just before it is applied, as the server does
        start = time.perf_counter()
        prepared = sync.prepare(r)
        middle = time.perf_counter()
        await sync.push(NoStorage(), "device", r, clock, prepared)
        before += middle - start
        under += time.perf_counter() - middle
    return tuple(t / pushes * 1000 for t in (unprepared, before, under))  # type: ignore[return-value]


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    parser.add_argument("--pushes", type=int, default=300)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    rounds = [await one_round(args.pushes, args.batch, n) for n in range(5)]
    unprepared, before, under = (statistics.median(r[i] for r in rounds) for i in range(3))
    print(
        f"merge engine, per push of {args.batch} new people (median of 5 rounds of {args.pushes}):"
    )
    print(f"  unprepared (all under the lock)   {unprepared:6.3f} ms")
    print(f"  prepared before the lock          {before:6.3f} ms")
    print(
        f"  then under the lock               {under:6.3f} ms"
        f"  ({under / unprepared:.0%} of unprepared)"
    )


if __name__ == "__main__":
    asyncio.run(main())
