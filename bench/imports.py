"""Import throughput: a LinkedIn Connections.csv of N rows into a fresh SQLite store.

    python -m bench.imports [--rows 10000] [--database sqlite|postgres]

Times the whole import as `grapevine import` runs it (read, match, push through the sync
engine in batches), then the re-import of the same file (every row matched, nothing written).
The target is 10,000 rows in under 10 s on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from server import accounts, importers
from server.database import create_engine, migrate, write_transaction

FIRST = ["Ana", "Bo", "Chloé", "Dana", "Émile", "Farah", "Gus", "Hana", "Iker", "Jun", "Kai"]
LAST = ["Ortiz", "Núñez", "Sato", "Okafor", "Brandt", "Lima", "Chen", "Ørla", "Park", "Rossi"]


def connections_csv(rows: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    lines = [
        "Notes:",
        '"When exporting your connection data, you may notice that some of the email '
        'addresses are missing."',
        "",
        "First Name,Last Name,URL,Email Address,Company,Position,Connected On",
    ]
    for n in range(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first.lower()}.{n}@example.com" if rng.random() < 0.3 else ""
        company = f'"Company {rng.randrange(rows // 20 or 1)}, Inc."'
        lines.append(
            f"{first},{last},https://www.linkedin.com/in/{first.lower()}-{n},{email},"
            f'{company},"Engineer, level {n % 5}",{rng.randrange(1, 28)} Mar 2024'
        )
    return "\r\n".join(lines) + "\r\n"


async def run(rows: int, url: str) -> None:
    data = connections_csv(rows)
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with write_transaction(engine) as conn:
            user_id, store_id = await accounts.create_user(conn, f"bench{time.time_ns()}@x.io")
        for label in ("import", "re-import"):
            start = time.perf_counter()
            summary = await importers.import_file(engine, store_id, user_id, "linkedin", data)
            seconds = time.perf_counter() - start
            people = summary["people"]
            print(
                f"{engine.dialect.name} {label}: {rows:,} rows in {seconds:.2f} s "
                f"({rows / seconds:,.0f} rows/s); people {people['created']} created, "
                f"{people['updated']} updated, {people['skipped']} unchanged; "
                f"organizations {summary['organizations']['created']} created; "
                f"{summary['mutations']:,} mutations",
                flush=True,
            )
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database", default="sqlite", help="sqlite, or a database URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = str(Path(tmp) / "bench.db") if args.database == "sqlite" else args.database
        asyncio.run(run(args.rows, url))


if __name__ == "__main__":
    main()
