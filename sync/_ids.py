"""New record ids: time-ordered UUIDs (version 7, RFC 9562).

The protocol takes any canonical UUID as a record's id; ours put the time of creation in
their first 48 bits (milliseconds since the epoch) and random bits after. A store's records
are kept in a B-tree on (store_id, id) on the server (SQLite and PostgreSQL alike): random
ids (version 4) send each new record to a leaf page at random, so a push of 500 new people
into a store of 100,000 dirtied ~450 index pages, each written whole to the WAL at COMMIT
and again by the checkpoint; ids made one after another land side by side, on a few pages.
(Measured in the README's "Benchmarks".) The price is that an id tells when its record was
made, which the record's stamps tell anyone who can read it anyway.
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION = 0x7 << 76
_VARIANT = 0x2 << 62
_RANDOM = ((1 << 80) - 1) & ~(0xF << 76) & ~(0x3 << 62)


def new_id(ms: int | None = None) -> str:
    """A new UUIDv7 as canonical text, for the millisecond `ms` (now by default)."""
    if ms is None:
        ms = time.time_ns() // 1_000_000
    if not 0 <= ms < 1 << 48:
        raise ValueError(f"{ms} ms is outside a UUIDv7's 48 bits")
    value = ms << 80 | int.from_bytes(os.urandom(10), "big") & _RANDOM | _VERSION | _VARIANT
    return str(uuid.UUID(int=value))
