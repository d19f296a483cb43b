"""What a client shows: the server's copy of each record with its pending mutations on top.

The same rebase as the web client's `web/js/model.js` (a test runs both on the same inputs):
pure functions over plain dicts, a guess that the next pull replaces with the server's answer.
A record is `{"entity", "id", "version", "deleted", "fields"}`; a mutation `{"id", "hlc",
"name", "args"}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sync._record import MERGED_INTO
from sync._schema import ENTITIES

Records = dict[str, dict[str, Any]]


def view(server: Mapping[str, dict[str, Any]], pending: Iterable[Mapping[str, Any]]) -> Records:
    """The records to show: `server` (not modified) with `pending` applied in order."""
    records: Records = dict(server)
    for mutation in pending:
        apply_mutation(records, mutation)
    return records


def _sorted(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def apply_mutation(records: Records, mutation: Mapping[str, Any]) -> None:
    """Apply one mutation to `records` in place, copying each record it touches first."""
    name, args = mutation["name"], mutation["args"]
    if not isinstance(args, Mapping):
        return

    def touch(record_id: str) -> dict[str, Any] | None:
        record = records.get(record_id)
        if record is None:
            return None
        copy = {**record, "fields": dict(record["fields"])}
        records[record_id] = copy
        return copy

    def survivor(record_id: Any) -> dict[str, Any] | None:
        record = records.get(record_id) if isinstance(record_id, str) else None
        seen: set[str] = set()
        while (
            record is not None
            and record["deleted"]
            and record["fields"].get(MERGED_INTO)
            and record["id"] not in seen
        ):
            seen.add(record["id"])
            record = records.get(record["fields"][MERGED_INTO])
        return record

    if name == "set":
        entity = ENTITIES.get(args.get("entity"))
        fields = args.get("fields")
        if entity is None or not isinstance(fields, Mapping):
            return
        target = survivor(args.get("id"))
        record = touch(target["id"]) if target else None
        if record is None:
            record = {
                "entity": entity.name,
                "id": args["id"],
                "version": 0,
                "deleted": False,
                "fields": entity.empty_fields(),
            }
            records[args["id"]] = record
        record["deleted"] = False
        schema = ENTITIES[record["entity"]].fields
        for field, value in fields.items():
            spec = schema.get(field)
            if spec is None:
                continue
            record["fields"][field] = _sorted(value or []) if spec.type == "set" else value
    elif name == "delete":
        record = records.get(args.get("id"))
        if record is not None and not record["deleted"]:
            touch(record["id"])["deleted"] = True  # type: ignore[index]
    elif name in ("add", "remove"):
        target = survivor(args.get("id"))
        if target is None:
            return
        record = touch(target["id"])
        assert record is not None
        current = record["fields"].get(args.get("field")) or []
        value = args.get("value")
        record["fields"][args.get("field")] = (
            _sorted([*current, value]) if name == "add" else [v for v in current if v != value]
        )
    elif name == "merge":
        duplicate = survivor(args.get("id"))
        into = survivor(args.get("into"))
        if duplicate is None or into is None or duplicate is into:
            return
        kept = touch(into["id"])
        assert kept is not None
        for field, spec in ENTITIES[kept["entity"]].fields.items():
            theirs = duplicate["fields"].get(field)
            ours = kept["fields"].get(field)
            if spec.type == "set":
                kept["fields"][field] = _sorted([*(ours or []), *(theirs or [])])
            elif is_empty(ours) and not is_empty(theirs):
                kept["fields"][field] = theirs
        for record in list(records.values()):
            entity = ENTITIES.get(record["entity"])
            for field, spec in (entity.fields if entity else {}).items():
                if (
                    spec.type == "ref"
                    and spec.ref == kept["entity"]
                    and record["fields"].get(field) == duplicate["id"]
                ):
                    touch(record["id"])["fields"][field] = kept["id"]  # type: ignore[index]
        gone = touch(duplicate["id"])
        assert gone is not None
        gone["deleted"] = True
        gone["fields"][MERGED_INTO] = kept["id"]
    elif name == "resolve":
        conflict = records.get(args.get("conflict"))
        if conflict is None or conflict["fields"].get("status") != "open":
            return
        fields = conflict["fields"]
        touch(conflict["id"])["fields"]["status"] = "resolved"  # type: ignore[index]
        target = survivor(fields.get("record_id"))
        if target is None or args.get("choose") == "kept":
            return
        record = touch(target["id"])
        assert record is not None
        if fields.get("field") is None:
            record["deleted"] = True
        else:
            value = fields.get("lost") if args.get("choose") == "lost" else args.get("value")
            record["fields"][fields["field"]] = value


def live(records: Mapping[str, dict[str, Any]], entity: str) -> list[dict[str, Any]]:
    """Records of one entity that are not deleted."""
    return [r for r in records.values() if r["entity"] == entity and not r["deleted"]]


def open_conflicts(records: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in live(records, "conflict") if c["fields"].get("status") == "open"]
