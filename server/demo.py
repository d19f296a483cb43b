"""The demo network (seeds/demo.json), loaded through the sync engine as real mutations."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path
from typing import Any

import anyio
import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

import sync
from server import accounts
from server.database import write_transaction
from server.models import User
from server.storage import SqlBackend

SEED = Path(__file__).resolve().parent.parent / "seeds" / "demo.json"
DEMO_EMAIL = "demo@grapevine.example"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _shift(value: Any, days: int) -> Any:
    """Move seed dates so the seed's anchor day becomes today."""
    if isinstance(value, str) and _DATE.match(value):
        return (dt.date.fromisoformat(value) + dt.timedelta(days=days)).isoformat()
    if isinstance(value, str) and _DATETIME.match(value):
        moved = dt.datetime.fromisoformat(value) + dt.timedelta(days=days)
        return moved.isoformat().replace("+00:00", "Z")
    return value


async def load_seed(engine: AsyncEngine, store_id: str, user_id: str, seed: Path = SEED) -> int:
    """Push every mutation of a seed file into a store; returns how many were applied."""
    data = msgspec.json.decode(await anyio.Path(seed).read_bytes())
    days = (dt.date.today() - dt.date.fromisoformat(data["anchor"])).days
    devices: dict[str, str] = {}
    counters: dict[str, int] = {}
    applied = 0
    for batch in data["pushes"]:
        client_id = batch["client_id"]
        async with write_transaction(engine) as conn:
            if client_id not in devices:
                devices[client_id], _ = await accounts.create_device(conn, user_id, client_id)
            clock = sync.HLC(client_id)
            mutations = []
            for m in batch["mutations"]:
                counters[client_id] = counters.get(client_id, 0) + 1
                args = dict(m["args"])
                if "fields" in args:
                    args["fields"] = {k: _shift(v, days) for k, v in args["fields"].items()}
                mutations.append(
                    sync.Mutation(
                        id=counters[client_id],
                        hlc=clock.tick(),
                        name=m["name"],
                        args=msgspec.Raw(msgspec.json.encode(args)),
                    )
                )
            backend = SqlBackend(conn, store_id)
            await backend.lock()
            result = await sync.push(
                backend,
                devices[client_id],
                sync.PushRequest(client_id=client_id, mutations=mutations),
                sync.HLC("server"),
            )
        rejected = [r for r in result.results if r.status == "rejected"]
        if rejected:
            raise ValueError(f"seed {seed.name} has bad mutations: {rejected}")
        applied += len(result.results)
    return applied


async def ensure_demo(engine: AsyncEngine) -> str | None:
    """On a database with no users, a demo user whose store holds the demo network.

    Returns the demo password (random, shown once on the console), or None if not loaded.
    """
    async with engine.connect() as conn:
        if (await conn.execute(select(func.count()).select_from(User))).scalar_one():
            return None
    password = secrets.token_urlsafe(9)
    async with write_transaction(engine) as conn:
        user_id, store_id = await accounts.create_user(conn, DEMO_EMAIL, password)
    await load_seed(engine, store_id, user_id)
    print(
        f"Demo network loaded. Sign in as {DEMO_EMAIL} with password {password}",
        flush=True,
    )
    return password
