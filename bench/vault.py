"""The desktop companion's Markdown vault at scale: a first write, a refresh where nothing
changed, and a refresh after one person changed, for a large network held in memory.

    python -m bench.vault [--people 10000] [--conversations 50000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from typing import Any

import sync


def network(people: int, conversations: int) -> dict[str, dict[str, Any]]:
    def record(entity: str, **fields: Any) -> dict[str, Any]:
        rid = str(uuid.uuid4())
        return {
            "entity": entity,
            "id": rid,
            "version": 1,
            "deleted": False,
            "fields": {**sync.ENTITIES[entity].empty_fields(), **fields},
        }

    orgs = [record("organization", name=f"Organization {n}") for n in range(max(1, people // 20))]
    folks = [
        record(
            "person",
            name=f"Person {n}",
            organization_id=orgs[n % len(orgs)]["id"],
            title="Engineer",
            stage="talked",
            tags=["kubecon"],
        )
        for n in range(people)
    ]
    talks = [
        record(
            "conversation",
            person_id=folks[n % people]["id"],
            organization_id=folks[n % people]["fields"]["organization_id"],
            kind="lunch",
            at=f"2026-11-{1 + n % 28:02d}T12:00:00Z",
            notes="Talked about the platform team.\nHiring in Q1.\n",
        )
        for n in range(conversations)
    ]
    referrals = [
        record("referral", from_person_id=folks[n]["id"], to_person_id=folks[n + 1]["id"])
        for n in range(0, people - 1, 2)
    ]
    return {r["id"]: r for r in [*orgs, *folks, *talks, *referrals]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--conversations", type=int, default=50_000)
    args = parser.parse_args()
    records = network(args.people, args.conversations)
    print(
        f"vault of {args.people:,} people and {args.conversations:,} conversations "
        f"({len(records):,} records)"
    )
    with tempfile.TemporaryDirectory() as folder:
        vault = sync.Vault(folder)
        for label, change in (
            ("first write", False),
            ("refresh, nothing changed", False),
            ("refresh, one person changed", True),
        ):
            if change:
                someone = next(r for r in records.values() if r["entity"] == "person")
                someone["fields"] = {**someone["fields"], "title": "Director"}
            start = time.perf_counter()
            report = vault.write(records)
            took = time.perf_counter() - start
            print(
                f"  {label:<30} {took:6.2f} s  "
                f"({len(report.written):,} written, {report.unchanged:,} unchanged)"
            )


if __name__ == "__main__":
    main()
