"""The Markdown vault: one file per person and organization, front matter, conversations as
sections, wiki links; incremental, and never overwriting a file the user changed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

import sync

ORG, DANA, SAM, RUTH = (f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 5))
TALK, REF = "00000000-0000-4000-8000-000000000010", "00000000-0000-4000-8000-000000000011"


def rec(kind: str, record_id: str, /, **fields: Any) -> dict[str, Any]:
    return {
        "entity": kind,
        "id": record_id,
        "version": 1,
        "deleted": False,
        "fields": {**sync.ENTITIES[kind].empty_fields(), **fields},
    }


def network() -> dict[str, dict[str, Any]]:
    records = [
        rec(
            "organization",
            ORG,
            name="Helios Labs",
            status="target",
            tags=["energy"],
            why="They build fusion test stands.\n",
        ),
        rec(
            "person",
            DANA,
            name="Dana Ortiz",
            organization_id=ORG,
            title="Director",
            stage="talked",
            emails=["dana@helios.example"],
            hiring_authority=True,
            notes="Prefers email.\n",
        ),
        rec("person", SAM, name="Sam Lee", stage="identified"),
        rec(
            "conversation",
            TALK,
            person_id=DANA,
            organization_id=ORG,
            kind="lunch",
            at="2026-11-24T12:15:00Z",
            place="APS lunch",
            notes="Hiring in Q1.\n",
            culture="Flat.",
            asked_for_referrals=True,
        ),
        rec(
            "referral",
            REF,
            from_person_id=DANA,
            to_person_id=SAM,
            status="suggested",
            note="Ask about the test stand",
        ),
    ]
    return {r["id"]: r for r in records}


def front(text: str) -> dict[str, Any]:
    _, matter, _ = text.split("---\n", 2)
    return yaml.safe_load(matter)


def test_one_file_per_person_and_organization_with_links(tmp_path):
    report = sync.Vault(tmp_path).write(network())
    assert sorted(report.written) == [
        "Organizations/Helios Labs.md",
        "People/Dana Ortiz.md",
        "People/Sam Lee.md",
    ]
    dana = (tmp_path / "People" / "Dana Ortiz.md").read_text()
    assert front(dana) == {
        "grapevine": "person",
        "id": DANA,
        "name": "Dana Ortiz",
        "organization": "[[Helios Labs]]",
        "title": "Director",
        "emails": ["dana@helios.example"],
        "stage": "talked",
        "hiring_authority": True,
    }
    assert "## Notes\n\nPrefers email.\n" in dana
    assert "### 2026-11-24 12:15 · lunch · APS lunch\n\nHiring in Q1.\n\n**Culture:** Flat." in dana
    assert "- Referred me to [[Sam Lee]] (suggested): Ask about the test stand" in dana
    sam = (tmp_path / "People" / "Sam Lee.md").read_text()
    assert "- Referred by [[Dana Ortiz]] (suggested)" in sam
    org = (tmp_path / "Organizations" / "Helios Labs.md").read_text()
    assert front(org)["tags"] == ["energy"]
    assert "- [[Dana Ortiz]] · Director · talked" in org
    assert "with [[Dana Ortiz]]" in org


def test_regeneration_writes_only_what_changed(tmp_path):
    vault = sync.Vault(tmp_path)
    records = network()
    vault.write(records)
    again = vault.write(records)
    assert again.written == [] and again.unchanged == 3
    records[SAM] = {**records[SAM], "fields": {**records[SAM]["fields"], "title": "Engineer"}}
    report = vault.write(records)
    assert report.written == ["People/Sam Lee.md"]


def test_a_file_the_user_changed_is_never_overwritten(tmp_path):
    vault = sync.Vault(tmp_path)
    records = network()
    vault.write(records)
    dana = tmp_path / "People" / "Dana Ortiz.md"
    mine = dana.read_text() + "\nMy own notes about Dana.\n"
    dana.write_text(mine)
    records[DANA]["fields"]["title"] = "VP Engineering"
    report = vault.write(records)
    assert dana.read_text() == mine
    assert report.kept == [("People/Dana Ortiz.md", "People/Dana Ortiz.grapevine.md")]
    beside = tmp_path / "People" / "Dana Ortiz.grapevine.md"
    assert front(beside.read_text())["title"] == "VP Engineering"
    # Nothing new: the beside file is not written again, the user's stays.
    assert vault.write(records).written == []
    # The user removes their copy: the vault takes the file back, the beside file goes.
    dana.unlink()
    report = vault.write(records)
    assert report.written == ["People/Dana Ortiz.md"]
    assert report.removed == ["People/Dana Ortiz.grapevine.md"]
    assert not beside.exists()


def test_a_file_made_by_the_user_with_the_same_name_stays_theirs(tmp_path):
    (tmp_path / "People").mkdir()
    theirs = tmp_path / "People" / "Sam Lee.md"
    theirs.write_text("# Sam, my own note\n")
    report = sync.Vault(tmp_path).write(network())
    assert theirs.read_text() == "# Sam, my own note\n"
    assert ("People/Sam Lee.md", "People/Sam Lee.grapevine.md") in report.kept


def test_renamed_and_deleted_records_take_their_files_along(tmp_path):
    vault = sync.Vault(tmp_path)
    records = network()
    vault.write(records)
    records[SAM]["fields"]["name"] = "Samuel Lee"
    records[ORG]["deleted"] = True
    report = vault.write(records)
    assert sorted(report.removed) == ["Organizations/Helios Labs.md", "People/Sam Lee.md"]
    assert (tmp_path / "People" / "Samuel Lee.md").is_file()
    assert "[[Samuel Lee]]" in (tmp_path / "People" / "Dana Ortiz.md").read_text()
    # A changed file whose record is gone is left alone (and said so).
    (tmp_path / "People" / "Samuel Lee.md").write_text("mine now\n")
    records[SAM]["deleted"] = True
    report = vault.write(records)
    assert report.orphaned == ["People/Samuel Lee.md"]
    assert (tmp_path / "People" / "Samuel Lee.md").read_text() == "mine now\n"


def test_names_that_collide_or_cannot_be_file_names(tmp_path):
    records = network()
    records[RUTH] = rec("person", RUTH, name="dana ortiz")
    odd = "abcdef12-0000-4000-8000-000000000000"
    records[odd] = rec("person", odd, name="A/B: C? [x]")
    sync.Vault(tmp_path).write(records)
    assert sorted(os.listdir(tmp_path / "People")) == [
        "A B C x.md",
        "Dana Ortiz (00000000-0000-4000-8000-000000000002).md",
        "Sam Lee.md",
        "dana ortiz (00000000-0000-4000-8000-000000000004).md",
    ]
    sam = (tmp_path / "People" / "Sam Lee.md").read_text()
    assert "[[Dana Ortiz (00000000-0000-4000-8000-000000000002)|Dana Ortiz]]" in sam


def test_open_conflicts_are_listed_on_the_record(tmp_path):
    records = network()
    for n, (field, kept, lost) in enumerate(
        [("title", "Director", "VP"), (None, "kept", "deleted")]
    ):
        conflict = rec(
            "conflict",
            f"c{n}",
            entity="person",
            record_id=DANA,
            field=field,
            kept=kept,
            lost=lost,
            status="open",
        )
        records[conflict["id"]] = conflict
    records["c2"] = rec(
        "conflict",
        "c2",
        entity="person",
        record_id=DANA,
        field="stage",
        kept="talked",
        lost="thanked",
        status="resolved",
    )
    sync.Vault(tmp_path).write(records)
    dana = (tmp_path / "People" / "Dana Ortiz.md").read_text()
    section = dana.split("## Open conflicts\n\n")[1]
    assert section == (
        '- title: kept "Director", lost "VP" (resolve it in the app)\n'
        "- deleted on one device while edited on another: kept (resolve it in the app)\n"
    )


def test_the_vault_shows_pending_edits_too(tmp_path: Path):
    records = sync.view(
        network(),
        [
            {
                "name": "set",
                "args": {
                    "entity": "person",
                    "id": RUTH,
                    "base": 0,
                    "fields": {"name": "Ruth Castellano"},
                },
            }
        ],
    )
    sync.Vault(tmp_path).write(records)
    assert (tmp_path / "People" / "Ruth Castellano.md").is_file()
