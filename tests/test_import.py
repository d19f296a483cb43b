"""Importing LinkedIn, vCard and CSV files through the sync engine, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from server import importers
from server.database import write_transaction
from server.models import Record
from tests.conftest import make_account
from tests.synckit import Device, SqlStore

SEEDS = Path(__file__).resolve().parent.parent / "seeds" / "import"
LINKEDIN = (SEEDS / "linkedin-connections.csv").read_bytes()
VCARD = (SEEDS / "contacts.vcf").read_bytes()
GOOGLE = (SEEDS / "google-contacts.csv").read_bytes()


class Imports(SqlStore):
    """A store with its owner, to import into."""

    user_id: str

    async def run(self, fmt: str, data: bytes | str, **kwargs: Any) -> dict[str, Any]:
        return await importers.import_file(
            self.engine, self.store_id, self.user_id, fmt, data, **kwargs
        )

    async def live(self, entity: str) -> dict[str, dict[str, Any]]:
        return {
            rid: r["fields"]
            for rid, r in (await self.state()).items()
            if r["entity"] == entity and not r["deleted"]
        }

    async def person(self, name: str) -> tuple[str, dict[str, Any]]:
        found = [(rid, f) for rid, f in (await self.live("person")).items() if f["name"] == name]
        assert len(found) == 1, f"{len(found)} people named {name}"
        return found[0]

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    select(func.count()).select_from(Record).where(Record.store_id == self.store_id)
                )
            ).scalar_one()


@pytest.fixture
async def target(engine) -> Imports:
    account = await make_account(engine)
    store = Imports(engine, account.store_id, account.device_id)
    store.user_id = account.user_id
    return store


async def test_linkedin_connections_with_every_trap(target):
    summary = await target.run("linkedin", LINKEDIN)
    assert summary["people"] == {"created": 6, "updated": 0, "skipped": 0}
    assert summary["refused"] == [{"row": "line 9", "reason": "no first or last name"}]
    assert summary["rejected"] == []
    orgs = await target.live("organization")
    # "Acme, Inc." and "ACME INC." are one organization; accents and scripts are kept.
    assert sorted(o["name"] for o in orgs.values()) == [
        "Acme, Inc.",
        "Initech",
        "Société Générale",
        "任天堂",
    ]
    acme = next(rid for rid, o in orgs.items() if o["name"] == "Acme, Inc.")
    _, dana = await target.person("Dana Ortiz")
    assert dana["found_via"] == "linkedin"
    assert dana["linkedin_url"] == "https://www.linkedin.com/in/dana-ortiz"
    assert dana["emails"] == ["dana.ortiz@acme.example"]
    assert dana["title"] == "Staff Engineer"
    assert dana["organization_id"] == acme
    assert dana["found_via_detail"] == "LinkedIn connection since 2024-03-12"
    assert dana["stage"] == "identified"
    _, jose = await target.person("José Núñez-García")
    assert jose["organization_id"] == acme
    assert jose["title"] == "VP, Engineering"
    _, renee = await target.person("Renée Ørla")
    assert renee["emails"] == []  # an empty email is no email
    assert renee["title"] == "Head of Data, Risk"
    _, misaki = await target.person("美咲 佐藤")
    assert misaki["title"] == "プロデューサー"
    _, sam = await target.person('Sam O\'Neil "Sammy"')
    assert sam["title"] == 'Manager, "Special" Projects'
    _, ana = await target.person("Ana Lima")
    assert ana["organization_id"] is None


async def test_reimporting_the_same_file_creates_nothing(target):
    await target.run("linkedin", LINKEDIN)
    before = await target.state()
    again = await target.run("linkedin", LINKEDIN)
    assert again["people"] == {"created": 0, "updated": 0, "skipped": 6}
    assert again["organizations"] == {"created": 0, "matched": 4}
    assert again["mutations"] == 0
    assert await target.state() == before


async def test_imports_are_mutations_of_a_server_side_client(target):
    await target.run("linkedin", LINKEDIN)
    async with target.engine.connect() as conn:
        meta = (
            await conn.execute(
                select(Record.meta).where(
                    Record.store_id == target.store_id, Record.entity == "person"
                )
            )
        ).scalars()
        editors = {client for m in meta for client in importers._decode(m)["x"]}
    assert len(editors) == 1
    assert next(iter(editors)).startswith("import-")
    # A device pulling from the start receives the imported people like any edit.
    changes = await target.pull_all("c-phone")
    assert sum(c.entity == "person" for c in changes) == 6


async def test_a_changed_row_updates_only_fields_the_user_never_edited(target):
    await target.run("linkedin", LINKEDIN)
    dana_id, dana = await target.person("Dana Ortiz")
    phone = Device("c-phone")
    version = (await target.one(dana_id))["version"]
    await target.apply(phone, phone.set("person", dana_id, version, title="Head of SRE"))
    changed = (
        LINKEDIN.decode()
        .replace("Staff Engineer,12 Mar 2024", "Principal Engineer,12 Mar 2024")
        .replace('"VP, Engineering"', "CTO")
        .replace(",,Société", ",renee@sg.example,Société")
    )
    summary = await target.run("linkedin", changed)
    assert summary["people"] == {"created": 0, "updated": 2, "skipped": 4}
    _, dana = await target.person("Dana Ortiz")
    assert dana["title"] == "Head of SRE"  # the user's edit stands
    _, jose = await target.person("José Núñez-García")
    assert jose["title"] == "CTO"  # only imports ever wrote it
    _, renee = await target.person("Renée Ørla")
    assert renee["emails"] == ["renee@sg.example"]
    assert await target.conflicts() == []


async def test_a_removed_email_and_a_deleted_person_stay_gone(target):
    await target.run("linkedin", LINKEDIN)
    dana_id, _ = await target.person("Dana Ortiz")
    ana_id, _ = await target.person("Ana Lima")
    phone = Device("c-phone")
    await target.apply(
        phone,
        phone.remove("person", dana_id, "emails", "dana.ortiz@acme.example"),
        phone.delete("person", ana_id, (await target.one(ana_id))["version"]),
    )
    summary = await target.run("linkedin", LINKEDIN)
    assert summary["people"]["created"] == 0
    _, dana = await target.person("Dana Ortiz")
    assert dana["emails"] == []
    assert "Ana Lima" not in [p["name"] for p in (await target.live("person")).values()]


async def test_merged_duplicates_stay_merged_on_reimport(target):
    other = "Name,Email,Organization\nDana Ortiz,dana.o@mail.example,Acme Robotics\n"
    await target.run("linkedin", LINKEDIN)
    await target.run("csv", other)
    people = await target.live("person")
    # No shared URL or email, and "Acme Robotics" is not "Acme, Inc.": a second Dana.
    danas = sorted((p["linkedin_url"] is None, rid) for rid, p in people.items())
    danas = [rid for _, rid in danas if people[rid]["name"] == "Dana Ortiz"]
    assert len(danas) == 2
    phone = Device("c-phone")
    await target.apply(phone, phone.merge("person", danas[1], danas[0]))
    for fmt, data in (("linkedin", LINKEDIN), ("csv", other)):
        summary = await target.run(fmt, data)
        assert summary["people"]["created"] == 0, fmt
    dana_id, dana = await target.person("Dana Ortiz")
    assert dana_id == danas[0]
    assert dana["emails"] == ["dana.o@mail.example", "dana.ortiz@acme.example"]


async def test_vcard_with_every_trap(target):
    summary = await target.run("vcard", VCARD)
    assert summary["people"] == {"created": 4, "updated": 0, "skipped": 0}
    reasons = [r["reason"] for r in summary["refused"]]
    assert reasons[0] == "no name (FN or N)"
    assert reasons[1].startswith("cannot be read: ")
    _, dana = await target.person("Dana Ortiz")
    assert dana["emails"] == ["dana.ortiz@acme.example", "dana@home.example"]
    assert dana["phones"] == ["+1 (555) 010-0100", "+1 555 010 0199"]
    assert dana["linkedin_url"] == "https://www.linkedin.com/in/dana-ortiz"  # item1.URL
    assert dana["department"] == "Platform / SRE"  # ORG units
    assert dana["title"] == "Staff Engineer"
    assert dana["notes"] == (
        "Met at PyCon; talked about hiring, SRE and on-call.\nAsk about the platform team."
    )
    assert dana["tags"] == ["conference", "sre"]
    orgs = await target.live("organization")
    assert orgs[dana["organization_id"]]["name"] == "Acme, Inc."  # escaped comma
    _, renee = await target.person("Renée Ørla")  # quoted-printable, soft line breaks
    assert renee["notes"] == "Café après la conférence, très utile."
    assert orgs[renee["organization_id"]]["name"] == "Société Générale"
    _, misaki = await target.person("佐藤 美咲")
    assert misaki["phones"] == ["+81-3-5555-0101"]
    assert misaki["linkedin_url"] == "https://www.linkedin.com/in/misaki-sato"


async def test_vcard_after_linkedin_updates_the_same_people(target):
    await target.run("linkedin", LINKEDIN)
    summary = await target.run("vcard", VCARD)
    # Dana and Misaki by LinkedIn URL (item1.URL, X-SOCIALPROFILE), Renée by name and
    # organization (accents and case aside); only Priya is new.
    assert summary["people"]["created"] == 1
    assert summary["people"]["updated"] == 3
    _, dana = await target.person("Dana Ortiz")
    assert dana["emails"] == ["dana.ortiz@acme.example", "dana@home.example"]
    assert dana["found_via"] == "linkedin"


async def test_google_contacts_csv(target):
    summary = await target.run("csv", GOOGLE)
    assert summary["people"]["created"] == 3
    assert summary["refused"] == [{"row": "line 5", "reason": "no name"}]
    _, dana = await target.person("Dana Ortiz")
    assert dana["emails"] == ["dana.ortiz@acme.example", "dana@home.example"]
    assert dana["tags"] == ["Conference"]  # "* myContacts" is Google's, not a tag
    assert dana["department"] == "Platform"
    assert dana["linkedin_url"] == "https://www.linkedin.com/in/dana-ortiz"
    _, wei = await target.person("Wei Chen")
    assert wei["emails"] == ["wei.chen@mail.example", "wei@initech.example"]  # " ::: "
    assert wei["notes"] == "Two lines\nof notes"


async def test_preview_writes_nothing_and_predicts_the_import(target):
    before = await target.count()
    preview = await target.run("linkedin", LINKEDIN, dry_run=True)
    assert await target.count() == before
    done = await target.run("linkedin", LINKEDIN)
    assert {k: done[k] for k in preview} == preview


@pytest.mark.parametrize(
    ("fmt", "data", "message"),
    [
        ("linkedin", b"Name,Email\nDana,d@x.example\n", "not a LinkedIn Connections.csv"),
        ("vcard", b"hello", "not a vCard file"),
        ("csv", b"Email,Phone\nd@x.example,1\n", "no name column"),
        ("csv", b"", "the CSV file is empty"),
        ("xlsx", b"", "unknown import format"),
    ],
)
async def test_a_file_that_cannot_be_imported_changes_nothing(target, fmt, data, message):
    before = await target.count()
    with pytest.raises(importers.ImportFileError, match=message):
        await target.run(fmt, data)
    assert await target.count() == before


async def test_a_bad_row_is_refused_with_its_reason_and_the_rest_imported(target):
    rows = "Name,Email,strength,hiring_authority\n"
    rows += "Ok One,one@x.example,3,yes\n"
    rows += f"{'x' * 3000},long@x.example,,\n"
    rows += "Bad Strength,s@x.example,lots,\n"
    rows += "Ok Two,two@x.example,,\n"
    summary = await target.run("csv", rows)
    assert summary["people"]["created"] == 2
    reasons = {r["row"]: r["reason"] for r in summary["refused"]}
    assert "person.name is 3,000 characters; the limit is 2,000" in reasons["line 3"]
    assert "strength must be a whole number" in reasons["line 4"]
    _, one = await target.person("Ok One")
    assert one["strength"] == 3
    assert one["hiring_authority"] is True


async def test_the_same_person_twice_in_one_file_is_one_person(target):
    rows = "Name,Email,Organization,Title\n"
    rows += "Kim Park,kim@x.example,Globex,\n"
    rows += "Kim Park,KIM@x.example,GLOBEX,Director\n"
    summary = await target.run("csv", rows)
    assert summary["people"]["created"] == 1
    _, kim = await target.person("Kim Park")
    assert kim["title"] == "Director"
    assert len(await target.live("organization")) == 1


async def test_an_organization_is_matched_whatever_legal_form_a_file_names(target):
    """ "Helios Labs", "The Helios Labs, Inc." and "HELIOS LABS LLC" are one organization."""
    await target.run("csv", "Name,Organization\nKim Park,Helios Labs\n")
    rows = 'Name,Organization\nSam Lee,"The Helios Labs, Inc."\nAna Diaz,HELIOS LABS LLC\n'
    rows += "Bo Chen,Helios Energy\n"
    summary = await target.run("csv", rows)
    assert summary["organizations"] == {"created": 1, "matched": 1}
    orgs = await target.live("organization")
    assert sorted(o["name"] for o in orgs.values()) == ["Helios Energy", "Helios Labs"]
    helios = next(rid for rid, o in orgs.items() if o["name"] == "Helios Labs")
    for name in ("Kim Park", "Sam Lee", "Ana Diaz"):
        assert (await target.person(name))[1]["organization_id"] == helios
    assert importers.organization_key("The Limited") == "limited"  # never emptied


async def test_a_person_is_matched_whatever_legal_form_their_organization_is_given(target):
    await target.run("csv", "Name,Organization\nDana Ortiz,Helios Labs\n")
    again = 'Name,Organization,Phone\nDana Ortiz,"Helios Labs, Inc.",+1 555 0100\n'
    for _ in range(2):
        summary = await target.run("csv", again)
        assert summary["people"]["created"] == 0
    _, dana = await target.person("Dana Ortiz")  # one Dana, her phone added
    assert dana["phones"] == ["+1 555 0100"]


async def test_two_imports_planned_together_make_everyone_once(target):
    """Two tabs (or a retry) import one file at once: the second plans again when it finds
    the store moved since its plan was made."""
    async with target.engine.connect() as conn:
        first = await importers.preview(conn, target.store_id, "linkedin", LINKEDIN)
        second = await importers.preview(conn, target.store_id, "linkedin", LINKEDIN)
    assert first.people_created == second.people_created > 0
    for plan in (first, second):
        await importers.apply(target.engine, target.store_id, target.user_id, plan)
    people = await target.live("person")
    names = sorted(p["name"] for p in people.values())
    assert len(names) == first.people_created and len(set(names)) == len(names)
    orgs = [o["name"] for o in (await target.live("organization")).values()]
    assert len(orgs) == first.organizations_created == len(set(orgs))


async def test_a_field_too_long_refuses_its_row_not_the_file(target):
    rows = f'Name,Notes\nDana Ortiz,"{"a" * 140_000}"\nSam Lee,ok\n'
    summary = await target.run("csv", rows)
    assert summary["people"]["created"] == 1
    (refused,) = summary["refused"]
    assert refused["row"] == "line 2" and "100,000" in refused["reason"]
    await target.person("Sam Lee")


async def test_a_file_in_windows_1252_reads_its_accents_whatever_its_length(target):
    head = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    for padding in ("", " "):  # odd and even byte counts (UTF-16 was tried on even ones)
        text = head + f"José,García,,,Acme,Ingeniero{padding},01 Feb 2024\n"
        summary = await target.run("linkedin", text.encode("cp1252"))
        assert summary["refused"] == []
    await target.person("José García")


async def test_vcard_oddities_cost_nothing_but_themselves(target):
    vcf = "\r\n".join(
        [
            "BEGIN:VCARD", "VERSION:3.0", "FN:Good Card", "END:VCARD",
            # a component inside a card
            "BEGIN:VCARD", "VERSION:3.0", "FN:With Component", "BEGIN:EMAIL", "END:EMAIL",
            "EMAIL:with@x.example", "END:VCARD",
            # vCard 2.1: the boss's assistant as a card inside the boss's card
            "BEGIN:VCARD", "VERSION:2.1", "FN:The Boss", "EMAIL:boss@x.example", "AGENT:",
            "BEGIN:VCARD", "VERSION:2.1", "FN:The Assistant", "END:VCARD", "TITLE:CEO",
            "END:VCARD",
            # a card cut short by the next
            "BEGIN:VCARD", "VERSION:3.0", "FN:Cut Short",
            "BEGIN:VCARD", "VERSION:3.0", "N:Doe;John,Jack;;;", "END:VCARD",
            "BEGIN:VCARD", "VERSION:2.1", "FN:Zoë",
            "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Café na=C3=AFve",
            "END:VCARD",
        ]
    )  # fmt: skip
    summary = await target.run("vcard", vcf)
    assert [r["reason"] for r in summary["refused"]] == [
        "cut short: no END:VCARD before the next card"
    ]
    people = {p["name"]: p for p in (await target.live("person")).values()}
    assert sorted(people) == ["Good Card", "John Jack Doe", "The Boss", "With Component", "Zoë"]
    assert people["The Boss"]["emails"] == ["boss@x.example"]
    assert people["The Boss"]["title"] == "CEO"
    assert people["With Component"]["emails"] == ["with@x.example"]
    assert people["Zoë"]["notes"] == "Café naïve"


async def test_import_continues_a_clients_mutation_numbers(target):
    await target.run("csv", "Name\nFirst Person\n")
    await target.run("csv", "Name\nSecond Person\n")
    async with write_transaction(target.engine) as conn:
        device = await importers.import_device(conn, target.user_id)
    client = f"import-{device}"
    async with target.engine.connect() as conn:
        from server.storage import client_progress

        assert (
            await client_progress(conn, target.store_id, client) == 2
        )  # one person per import, numbered on


async def test_namesakes_with_different_linkedin_profiles_are_two_people(target):
    rows = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    rows += "Ana,Lima,https://www.linkedin.com/in/ana-lima-1,,Globex,Engineer,1 Jan 2024\n"
    rows += "Ana,Lima,https://www.linkedin.com/in/ana-lima-2,,Globex,Designer,2 Jan 2024\n"
    summary = await target.run("linkedin", rows)
    assert summary["people"]["created"] == 2
    again = await target.run("linkedin", rows)
    assert again["people"] == {"created": 0, "updated": 0, "skipped": 2}
