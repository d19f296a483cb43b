"""Quick capture from a terminal: a conversation with a person (matched by name, or created),
planned as the mutations the web app's quick capture (`web/js/capture.js`) would queue."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync._schema import CONVERSATION_KINDS
from sync._view import live

_BEFORE_TALKED = ("identified", "contacted", "scheduled", None)
_BEFORE_SCHEDULED = ("identified", "contacted", None)


def stage_after(current: str | None, future: bool) -> str | None:
    """A person's stage after a conversation (None: keep theirs), as the app's stageAfter."""
    if future:
        return "scheduled" if current in _BEFORE_SCHEDULED else None
    return "talked" if current in _BEFORE_TALKED else None


def _instant(iso: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass
class Capture:
    person_id: str
    conversation_id: str
    new_person: bool
    organization_id: str | None
    new_organization: bool
    mutations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    scheduled: bool = False  # dated after now: still to come


_HONORIFIC = re.compile(r"^(dr|prof|mr|mrs|ms|mx|sir|dame)\.?\s+", re.IGNORECASE)
_SUFFIX = re.compile(r"^(jr|sr|ii|iii|iv|phd|ph\.d|md|esq)\.?$", re.IGNORECASE)
# Quote pairs a name may be wrapped in (straight, curly, low-high, guillemets, corner).
_QUOTES = {
    '"': '"',
    "'": "'",
    "\u201c": "\u201d",
    "\u201e": "\u201c",
    "\u00ab": "\u00bb",
    "\u2018": "\u2019",
    "\u300c": "\u300d",
}
_BULLET = re.compile(r"^(?:[-*\u2022\u00b7]|\d+[.)])\s+")
# Parentheses and commas in any width: ( ) \uff08 \uff09, "," \uff0c \u3001; dashes \u2014 \u2013.
_PAREN = re.compile(r"^(.+?)\s*[(\uff08](.+?)[)\uff09]?\s*$")
# The first separator: a spaced hyphen, an en or em dash, or a comma (any script's).
_SEPARATOR = re.compile(r"\s+-\s+|\s*[\u2014\u2013]\s*|\s*[,\uff0c\u3001]\s*")
_NEXT_PART = re.compile(r"^([^,\uff0c\u3001]+?)\s*(?:[,\uff0c\u3001]\s*|$)")
_TITLE_LEAD = re.compile(r"^[\s,\uff0c\u3001:\u2014\u2013(\uff08-]+")
_TITLE_TAIL = re.compile(r"[)\uff09]\s*$")


def _key(name: str) -> str:
    """What two names are compared by, as the app's nameKey: no honorific, case or accents."""
    name = _HONORIFIC.sub("", name.strip())
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(folded.casefold().split())


def parse_name(raw: str) -> tuple[str, str | None]:
    """`Name`, `Name, role`, `Name — role`, `Name (role)` or a quoted name holding a comma,
    as the app's capture reads them (`parseLine` in web/js/capture.js): (name, title)."""
    line = _BULLET.sub("", raw.strip()).strip()
    rest = ""
    close = _QUOTES.get(line[:1])
    end = line.find(close, 1) if close else -1
    paren = _PAREN.match(line)
    if close and end > 1:
        name, rest = line[1:end], line[end + 1 :]
    elif paren:
        name, rest = paren[1], paren[2]
    elif sep := _SEPARATOR.search(line):
        name, rest = line[: sep.start()], line[sep.end() :]
        following = _NEXT_PART.match(rest)
        if following and _SUFFIX.match(following[1].strip()):  # "John Smith, Jr., CTO"
            name = f"{name}, {following[1].strip()}"
            rest = rest[following.end() :]
    else:
        name = line
    title = " ".join(_TITLE_TAIL.sub("", _TITLE_LEAD.sub("", rest)).split())
    return " ".join(name.split()), title or None


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
    when = at or now.astimezone(dt.UTC).replace(second=0, microsecond=0).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    # A conversation still to come is scheduled: no referrals yet, nothing settled by it.
    future = _instant(when) > now
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
    title: str | None = None
    if known and known["entity"] == "person" and not known["deleted"]:
        matches = [known]
    else:
        matches = find_by_name(records, "person", person)
        if not matches:  # "Name, role": the name, and the title for a new person
            person, title = parse_name(person)
            matches = find_by_name(records, "person", person)
    if len(matches) > 1:
        ids = ", ".join(m["id"] for m in matches)
        raise ValueError(f"{len(matches)} people are named {person!r}: give an id ({ids})")
    if matches:
        found = matches[0]
        person_id, new_person = found["id"], False
        org_id = org_id or found["fields"].get("organization_id")
        changes: dict[str, Any] = {}
        stage = stage_after(found["fields"].get("stage"), future)
        if stage:
            changes["stage"] = stage
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
                **({"title": title} if title else {}),
                "organization_id": org_id,
                "stage": "scheduled" if future else "talked",
                "found_via": "conference" if place else "other",
                "found_via_detail": place or None,
            },
        )

    conversation_id = new_id()
    if future:
        referrals = ()
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
    seen: set[str] = set()
    for line in referrals:
        name, role = parse_name(line)
        if not name or _key(name) in seen:
            continue
        seen.add(_key(name))
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
                    **({"title": role} if role else {}),
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
    for followup in () if future else live(records, "followup"):
        f = followup["fields"]
        if (
            f.get("person_id") == person_id
            and not f.get("done_at")
            and f.get("kind") == "follow_up"
        ):
            put("followup", followup["id"], {"done_at": when})
    return Capture(person_id, conversation_id, new_person, org_id, new_org, mutations, future)
