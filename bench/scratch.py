"""Scratch PostgreSQL databases for the benchmarks and the fuzzer: made fresh, dropped after.

with postgres_database("load") as url:   # postgresql://…/grapevine_load_<random>
    ...
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

POSTGRES_ADMIN = os.environ.get(
    "GRAPEVINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


async def create(purpose: str) -> str:
    """A new empty database; answers its URL (postgresql://, as `grapevine` takes it)."""
    import asyncpg

    name = f"grapevine_{purpose}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name


async def drop(url: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()


@contextmanager
def postgres_database(purpose: str) -> Iterator[str]:
    """For code outside an event loop: a scratch database for the length of the block."""
    url = asyncio.run(create(purpose))
    try:
        yield url
    finally:
        asyncio.run(drop(url))
