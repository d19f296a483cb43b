"""Getting a store out: CSV tables, vCard 4.0 and the complete JSON backup, and restoring one.

The backup format is documented in docs/backup.md. A backup is deterministic (records sorted by
entity and id, keys sorted, no timestamp), so backup → restore → backup gives the same bytes
but for the store's id, which a restore renews. Restore loads a backup into a new store through
the sync engine, in one transaction: a backup that cannot be loaded whole changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import sync
from server import accounts
from server.database import write_transaction
from server.importers import defuse, import_device
from server.models import Record, Store
from server.storage import SqlBackend

BACKUP_FORMAT = "grapevine-backup"
BACKUP_VERSION = 1
# Restored in this order, so references mostly point backwards (the engine keeps any that do not).
ENTITY_ORDER = ("organization", "person", "conversation", "referral", "followup", "conflict")
CSV_TABLES = ("people", "organizations", "conversations", "followups", "referrals")
_TABLE_ENTITY = {
    "people": "person",
    "organizations": "organization",
    "conversations": "conversation",
    "followups": "followup",
    "referrals": "referral",
}
SET_SEPARATOR = "; "
CSV_LEFT_OUT = (
    "not_duplicates",
)  # record ids that mean nothing in a spreadsheet (backup has them)
RESTORE_PREFIX = "restore-"
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


class BackupError(ValueError):
    """A backup that cannot be restored; the message says what is wrong and where."""


async def live_records(conn: AsyncConnection, store_id: str) -> dict[str, list[dict[str, Any]]]:
    """{entity: [{"id", "fields"}]} of every record not deleted, sorted by id, every schema
    field present (null or [] when unset)."""
    rows = await conn.execute(
        select(Record.entity, Record.id, Record.fields)
        .where(Record.store_id == store_id, Record.deleted.is_(False))
        .order_by(Record.entity, Record.id)
    )
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in ENTITY_ORDER}
    for entity, record_id, fields in rows:
        schema = sync.ENTITIES.get(entity)
        if schema is None:
            continue
        stored = _decode(fields)
        values = schema.empty_fields()
        values.update({k: v for k, v in stored.items() if k in schema.fields})
        out.setdefault(entity, []).append({"id": record_id, "fields": values})
    return out


async def _store(conn: AsyncConnection, store_id: str) -> Store:
    row = (await conn.execute(select(Store).where(Store.id == store_id))).one_or_none()
    if row is None:
        raise BackupError(f"no store {store_id}")
    return row


async def backup(conn: AsyncConnection, store_id: str) -> bytes:
    """The complete JSON backup of a store (format version 1, docs/backup.md)."""
    store = await _store(conn, store_id)
    document = {
        "format": BACKUP_FORMAT,
        "version": BACKUP_VERSION,
        "store": {"id": store.id, "name": store.name},
        "records": await live_records(conn, store_id),
    }
    return backup_bytes(document)


def backup_bytes(document: dict[str, Any]) -> bytes:
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1)
    return (text + "\n").encode()


# ----- restore -----------------------------------------------------------------------------


def read_backup(data: bytes | str) -> dict[str, Any]:
    """A backup document checked whole: format, version, entities, ids and every field."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"not a Grapevine backup: the file is not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != BACKUP_FORMAT:
        raise BackupError(f'not a Grapevine backup: "format" is not "{BACKUP_FORMAT}"')
    version = document.get("version")
    if version != BACKUP_VERSION:
        raise BackupError(
            f"backup format version {version!r} is not one this server reads "
            f"(it reads version {BACKUP_VERSION})"
        )
    store = document.get("store")
    if not isinstance(store, dict) or not isinstance(store.get("name"), str):
        raise BackupError('the backup has no "store" with a "name"')
    records = document.get("records")
    if not isinstance(records, dict):
        raise BackupError('the backup has no "records" object')
    seen: set[str] = set()
    for entity, items in records.items():
        schema = sync.ENTITIES.get(entity)
        if schema is None:
            raise BackupError(f"unknown entity {entity!r} in the backup")
        if not isinstance(items, list):
            raise BackupError(f"records.{entity} must be a list")
        for n, item in enumerate(items):
            where = f"records.{entity}[{n}]"
            if not isinstance(item, dict) or not isinstance(item.get("fields"), dict):
                raise BackupError(f"{where} must be an object with an id and fields")
            record_id = item.get("id")
            try:
                sync.check_value(_ID_CHECK, "ref", record_id)
            except sync.Rejected:
                raise BackupError(f"{where}.id {record_id!r} is not a UUID") from None
            if record_id in seen:
                raise BackupError(f"{where}.id {record_id} appears twice")
            seen.add(record_id)
            for name, value in item["fields"].items():
                if entity == "conflict":
                    if name not in schema.fields:
                        raise BackupError(f"{where}: unknown field conflict.{name}")
                    continue
                try:
                    sync.check_value(schema, name, value)
                except sync.Rejected as exc:
                    raise BackupError(f"{where}: {exc}") from None
            if entity != "conflict":
                missing = [f for f in schema.required if item["fields"].get(f) in (None, "", [])]
                if missing:
                    raise BackupError(f"{where}: a {entity} needs {', '.join(missing)}")
    return document


_ID_CHECK = sync.Entity("id", {"ref": sync.Field("ref", "ref")})


async def restore(
    engine: AsyncEngine, user_id: str, data: bytes | str, name: str | None = None
) -> dict[str, Any]:
    """Load a backup into a new store owned by the user; returns {store_id, name, records}.

    The store is named as in the backup unless `name` says otherwise.
    Records keep their ids (they are unique within a store); the store's id is new. Every
    record goes through the sync engine as a `set` from a server-side client, all in one
    transaction: if anything is refused, nothing is kept.
    """
    document = read_backup(data)
    name = (name or "").strip() or document["store"]["name"]
    records = document["records"]
    count = 0
    async with write_transaction(engine) as conn:
        store_id = await accounts.create_store(conn, user_id, name)
        device_id = await import_device(conn, user_id)
        client_id = f"{RESTORE_PREFIX}{device_id}"
        clock = sync.HLC(client_id)
        backend = SqlBackend(conn, store_id)
        await backend.lock()
        writes: list[tuple[str, dict[str, Any]]] = []
        for entity in ENTITY_ORDER:
            if entity == "conflict":
                continue
            for item in records.get(entity, []):
                fields = {k: v for k, v in item["fields"].items() if v not in (None, "", [])}
                writes.append(
                    ("set", {"entity": entity, "id": item["id"], "base": 0, "fields": fields})
                )
        last = 0
        for start in range(0, len(writes), sync.MAX_MUTATIONS):
            batch = writes[start : start + sync.MAX_MUTATIONS]
            mutations = [
                sync.Mutation(
                    id=last + n, hlc=clock.tick(), name=m, args=msgspec.Raw(_encode(args))
                )
                for n, (m, args) in enumerate(batch, start=1)
            ]
            result = await sync.push(
                backend,
                device_id,
                sync.PushRequest(client_id=client_id, mutations=mutations),
                sync.HLC("server"),
            )
            last = result.last_mutation_id
            for r, (_, args) in zip(result.results, batch, strict=True):
                if r.status != "applied":
                    raise BackupError(f"{args['entity']} {args['id']}: {r.error}")
            count += len(batch)
        conflicts = [
            sync.Record(
                "conflict",
                item["id"],
                version=1,
                fields={**sync.ENTITIES["conflict"].empty_fields(), **item["fields"]},
                meta={},
                dirty=True,
            )
            for item in records.get("conflict", [])
        ]
        if conflicts:
            await backend.client(client_id)
            await backend.commit(client_id, device_id, last, conflicts, [])
            count += len(conflicts)
    return {"store_id": store_id, "name": name, "records": count}


# ----- CSV ---------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return defuse(SET_SEPARATOR.join(value))
    return defuse(str(value))


def _names(records: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    return {
        r["id"]: r["fields"].get("name") or ""
        for entity in ("person", "organization")
        for r in records.get(entity, [])
    }


def csv_columns(table: str) -> list[str]:
    """id, then each field; a reference also gets a column with the name it points to."""
    entity = sync.ENTITIES[_TABLE_ENTITY[table]]
    columns = ["id"]
    for name, spec in entity.fields.items():
        if name in CSV_LEFT_OUT:
            continue
        if spec.type == "ref" and spec.ref in ("person", "organization"):
            columns.append(name.removesuffix("_id"))
        columns.append(name)
    return columns


def to_csv(records: dict[str, list[dict[str, Any]]], table: str) -> str:
    """One table as CSV (RFC 4180, CRLF); people's CSV imports back with `import csv`."""
    if table not in _TABLE_ENTITY:
        raise ValueError(f"unknown table {table!r}: use one of {', '.join(CSV_TABLES)}")
    entity = sync.ENTITIES[_TABLE_ENTITY[table]]
    names = _names(records)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    columns = csv_columns(table)
    writer.writerow(columns)
    rows = records.get(entity.name, [])
    if entity.name in ("person", "organization"):
        rows = sorted(rows, key=lambda r: ((r["fields"].get("name") or "").casefold(), r["id"]))
    for record in rows:
        fields = record["fields"]
        row = []
        for column in columns:
            if column == "id":
                row.append(record["id"])
            elif column in entity.fields:
                row.append(_cell(fields.get(column)))
            else:  # the name a reference points to
                row.append(names.get(fields.get(f"{column}_id") or "", ""))
        writer.writerow(row)
    return out.getvalue()


# ----- vCard 4.0 ---------------------------------------------------------------------------


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """RFC 6350 folding: lines of at most 75 octets, never splitting a character."""
    out: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def to_vcard(records: dict[str, list[dict[str, Any]]]) -> str:
    """Every person as a vCard 4.0 card (phones and Grapevine both read them back)."""
    names = _names(records)
    cards: list[str] = []
    people = sorted(
        records.get("person", []),
        key=lambda r: ((r["fields"].get("name") or "").casefold(), r["id"]),
    )
    for record in people:
        f = record["fields"]
        name = f.get("name") or ""
        parts = name.rsplit(" ", 1)
        given, family = (parts[0], parts[1]) if len(parts) == 2 else (name, "")
        lines = [
            "BEGIN:VCARD",
            "VERSION:4.0",
            f"UID:urn:uuid:{record['id']}",
            f"FN:{_escape(name)}",
            f"N:{_escape(family)};{_escape(given)};;;",
        ]
        org = names.get(f.get("organization_id") or "", "")
        if org or f.get("department"):
            units = [_escape(org)] + [
                _escape(u.strip()) for u in (f.get("department") or "").split(" / ") if u.strip()
            ]
            lines.append("ORG:" + ";".join(units))
        if f.get("title"):
            lines.append(f"TITLE:{_escape(f['title'])}")
        lines += [f"EMAIL:{_escape(e)}" for e in f.get("emails") or []]
        lines += [f"TEL:{_escape(p)}" for p in f.get("phones") or []]
        if f.get("linkedin_url"):
            lines.append(f"URL;TYPE=linkedin:{f['linkedin_url']}")
        if f.get("tags"):
            lines.append("CATEGORIES:" + ",".join(_escape(t) for t in f["tags"]))
        if f.get("notes"):
            lines.append(f"NOTE:{_escape(f['notes'])}")
        lines.append("END:VCARD")
        cards.append("".join(_fold(line) + "\r\n" for line in lines))
    return "".join(cards)


async def export(conn: AsyncConnection, store_id: str, fmt: str, table: str = "people") -> bytes:
    """An export of a store as bytes: json (the backup), csv (one table) or vcard."""
    if fmt == "json":
        return await backup(conn, store_id)
    await _store(conn, store_id)
    records = await live_records(conn, store_id)
    if fmt == "csv":
        return to_csv(records, table).encode()
    if fmt == "vcard":
        return to_vcard(records).encode()
    raise ValueError(f"unknown export format {fmt!r}: use csv, vcard or json")
