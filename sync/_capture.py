"""Quick capture from a terminal: a conversation with a person (matched by name, or created),
planned as the mutations the web app's quick capture (`web/js/capture.js`) would queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync._schema import CONVERSATION_KINDS
from sync._view import live

_BEFORE_TALKING = ("identified", "contacted", "scheduled", None)


@dataclass
class Capture:
    person_id: str
    conversation_id: str
    new_person: bool
    organization_id: str | None
    new_organization: bool
    mutations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def find_by_name(
    records: Mapping[str, dict[str, Any]], entity: str, name: str
) -> list[dict[str, Any]]:
    """Live records of `entity` whose name is `name` (case and spacing ignored)."""
    key = _key(name)
    return [r for r in live(records, entity) if _key(r["fields"].get("name") or "") == key]


def plan_capture(
    records: Mapping[str, dict[str, Any]],
    notes: str,
    person: str,
    *,
    base: Callable[[str], int],
    new_id: Callable[[], str],
    now: dt.datetime,
    organization: str | None = None,
    kind: str | None = None,
    place: str | None = None,
    at: str | None = None,
    referrals: Sequence[str] = (),
) -> Capture:
    """The mutations recording a conversation with `person` (a name, or a record id).

    A new name becomes a person at stage `talked`; a person not yet talked to moves to
    `talked`. Names in `referrals` become people (or are matched) with a referral from the
    person met. Raises ValueError for an ambiguous name or a bad kind.
    """
    person = " ".join(person.split())
    if not person:
        raise ValueError("--person needs a name")
    if kind is not None and kind not in CONVERSATION_KINDS:
        raise ValueError(f"kind must be one of {', '.join(CONVERSATION_KINDS)}, not {kind!r}")
    mutations: list[tuple[str, dict[str, Any]]] = []

    def put(entity: str, record_id: str, fields: dict[str, Any]) -> None:
        mutations.append(
            ("set", {"entity": entity, "id": record_id, "base": base(record_id), "fields": fields})
        )

    org_id: str | None = None
    new_org = False
    if organization:
        organization = " ".join(organization.split())
        orgs = find_by_name(records, "organization", organization)
        if len(orgs) > 1:
            raise ValueError(f"{len(orgs)} organizations are named {organization!r}")
        if orgs:
            org_id = orgs[0]["id"]
        else:
            org_id, new_org = new_id(), True
            put("organization", org_id, {"name": organization, "status": "exploring"})

    known = records.get(person)
    matches = (
        [known]
        if known and known["entity"] == "person" and not known["deleted"]
        else find_by_name(records, "person", person)
    )
    if len(matches) > 1:
        ids = ", ".join(m["id"] for m in matches)
        raise ValueError(f"{len(matches)} people are named {person!r}: give an id ({ids})")
    if matches:
        found = matches[0]
        person_id, new_person = found["id"], False
        org_id = org_id or found["fields"].get("organization_id")
        changes: dict[str, Any] = {}
        if found["fields"].get("stage") in _BEFORE_TALKING:
            changes["stage"] = "talked"
        if org_id and not found["fields"].get("organization_id"):
            changes["organization_id"] = org_id
        if changes:
            put("person", person_id, changes)
    else:
        person_id, new_person = new_id(), True
        put(
            "person",
            person_id,
            {
                "name": person,
                "organization_id": org_id,
                "stage": "talked",
                "found_via": "conference" if place else "other",
                "found_via_detail": place or None,
            },
        )

    conversation_id = new_id()
    when = at or now.astimezone(dt.UTC).replace(second=0, microsecond=0).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    put(
        "conversation",
        conversation_id,
        {
            "person_id": person_id,
            "organization_id": org_id,
            "kind": kind or ("lunch" if place else "other"),
            "at": when,
            "place": place or None,
            "notes": notes or None,
            "asked_for_referrals": True if referrals else None,
        },
    )
    met = records[person_id]["fields"]["name"] if not new_person else person
    for name in referrals:
        name = " ".join(name.split())
        if not name:
            continue
        named = find_by_name(records, "person", name)
        if named:
            to_id = named[0]["id"]
        else:
            to_id = new_id()
            put(
                "person",
                to_id,
                {
                    "name": name,
                    "organization_id": org_id,
                    "stage": "identified",
                    "found_via": "referral",
                    "found_via_detail": f"Referred by {met}",
                },
            )
        put(
            "referral",
            new_id(),
            {
                "from_person_id": person_id,
                "to_person_id": to_id,
                "conversation_id": conversation_id,
                "status": "suggested",
            },
        )
    # Talking with someone settles their open follow-ups, as in the app.
    for followup in live(records, "followup"):
        f = followup["fields"]
        if (
            f.get("person_id") == person_id
            and not f.get("done_at")
            and f.get("kind") == "follow_up"
        ):
            put("followup", followup["id"], {"done_at": when})
    return Capture(person_id, conversation_id, new_person, org_id, new_org, mutations)
