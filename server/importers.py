"""Importing people: LinkedIn Connections.csv, vCard 3.0/4.0 and CSV, through the sync engine.

A file is read into `Contact`s (a row that cannot be read becomes a `Refusal` and the others go
on), matched against the store (LinkedIn URL, then email, then name + organization), and turned
into a `Plan` of mutations. Nothing is written until the plan is applied, which pushes it through
`sync.push` as a server-side client of its own (`import-<device id>`): every device then pulls
the imported people like any other edit, and merges hold. Re-importing a file matches every row
and creates nothing; a changed row updates only fields no one but an import ever wrote.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import quopri
import re
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
import vobject
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import sync
from server import accounts
from server.database import write_transaction
from server.models import Device, Record, Store
from server.storage import SqlBackend

FORMATS = ("linkedin", "vcard", "csv")
IMPORT_DEVICE = "Imports (server)"
IMPORT_PREFIX = "import-"
MAX_FILE_BYTES = 20 * 1024 * 1024
_BATCH = sync.MAX_MUTATIONS
_SET_FIELDS = ("emails", "phones", "tags")
_PERSON = sync.ENTITIES["person"]
_ORGANIZATION = sync.ENTITIES["organization"]
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (wrong format, no name column); nothing is written."""


@dataclass(slots=True)
class Contact:
    """One person read from a file: person wire fields, plus the organization by name."""

    row: str  # where it came from, for messages: "line 7", "card 3"
    fields: dict[str, Any] = field(default_factory=dict)
    organization: str = ""
    record_id: str | None = None  # our own export's id column


@dataclass(frozen=True, slots=True)
class Refusal:
    row: str
    reason: str


# ----- reading files -----------------------------------------------------------------------


def _clean(value: Any) -> str:
    return " ".join(str(value or "").replace("\x00", "").split())


def _date(value: str) -> str | None:
    value = value.strip()
    for pattern in ("%d %b %Y", "%d %B %Y", "%Y-%m-%d", "%m/%d/%y", "%m/%d/%Y", "%b %d, %Y"):
        try:
            return dt.datetime.strptime(value, pattern).date().isoformat()
        except ValueError:
            continue
    return None


def _text(data: bytes | str) -> str:
    """A file's text: UTF-16 only with its byte-order mark, else UTF-8 if it is that (Excel's
    and every exporter's today), else Windows-1252 (older Excel and Outlook exports)."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError("the file says it is UTF-16 but is not") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # one of the five bytes cp1252 leaves undefined
        return data.decode("latin-1")


# A field may be as long as a file may be: a long note is refused by its row (with the
# text limit's message), not by the reader for the whole file.
csv.field_size_limit(MAX_FILE_BYTES)


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of a CSV text; a file the reader cannot follow is an ImportFileError."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(f"line {reader.line_num}: not valid CSV ({exc})") from None
        yield reader.line_num, cells


def parse_linkedin(data: bytes | str) -> list[Contact | Refusal]:
    """LinkedIn's Connections.csv: "Notes:" lines, then First Name, Last Name, URL, …"""
    header: list[str] | None = None
    out: list[Contact | Refusal] = []
    for number, cells in _csv_rows(_text(data)):
        line = f"line {number}"
        if header is None:
            names = [c.strip().lower() for c in cells]
            if "first name" in names and "last name" in names:
                header = names
            continue
        if not any(c.strip() for c in cells):
            continue
        row = dict(zip(header, cells, strict=False))
        name = _clean(f"{row.get('first name', '')} {row.get('last name', '')}")
        if not name:
            out.append(Refusal(line, "no first or last name"))
            continue
        contact = Contact(line, {"name": name, "found_via": "linkedin"})
        url = row.get("url", "").strip()
        if url:
            contact.fields["linkedin_url"] = url
        email = row.get("email address", "").strip()
        if email:
            contact.fields["emails"] = [email]
        if position := _clean(row.get("position")):
            contact.fields["title"] = position
        contact.organization = _clean(row.get("company"))
        connected = row.get("connected on", "").strip()
        if connected:
            day = _date(connected) or connected
            contact.fields["found_via_detail"] = f"LinkedIn connection since {day}"
        out.append(contact)
    if header is None:
        raise ImportFileError(
            "not a LinkedIn Connections.csv: no header with First Name and Last Name"
        )
    return out


_QP_PARAM = re.compile(r"^[^:]*;\s*(ENCODING=)?QUOTED-PRINTABLE[;:]", re.IGNORECASE)
_BINARY = re.compile(r"^([\w-]+\.)?(PHOTO|LOGO|SOUND|KEY)[;:]", re.IGNORECASE)
_AGENT = re.compile(r"^([\w-]+\.)?AGENT[;:][^:]*:?\s*$", re.IGNORECASE)
_STRUCTURED = ("N", "ORG", "ADR")


def _unquote_printable(line: str) -> str:
    """A quoted-printable property as plain vCard 3.0 text (vobject splits such values at
    commas): the value decoded with its charset and escaped as RFC 6350 text."""
    head, _, value = line.partition(":")
    name, *params = head.split(";")
    charset = "utf-8"
    kept = []
    for param in params:
        upper = param.upper()
        if upper in ("QUOTED-PRINTABLE", "ENCODING=QUOTED-PRINTABLE"):
            continue
        if upper.startswith("CHARSET="):
            charset = param.split("=", 1)[1].strip('"') or charset
            continue
        kept.append(param)
    try:
        "".encode(charset)
    except LookupError:  # an unknown charset name
        charset = "utf-8"
    # Escapes (=C3=A9) are bytes of the charset; characters written as they are (not valid
    # quoted-printable, but common) are kept as the characters they are.
    try:
        raw = value.encode(charset)
    except UnicodeEncodeError:
        raw = value.encode("utf-8")
    decoded = quopri.decodestring(raw).decode(charset, "replace")
    text = decoded.replace("\\", "\\\\").replace(",", "\\,").replace("\r\n", "\n")
    text = text.replace("\n", "\\n")
    if name.split(".")[-1].upper() not in _STRUCTURED:
        text = text.replace(";", "\\;")
    return ";".join([name, *kept]) + ":" + text


def _split_cards(text: str) -> Iterator[tuple[int, str | None]]:
    """Each BEGIN:VCARD … END:VCARD block with its line number (None for a card cut short:
    it has no END:VCARD before the next card). Quoted-printable values are decoded first
    (their soft line breaks joined), and photos, logos, sounds and keys are left out:
    Grapevine keeps none, and a damaged one must not cost the card. A card nested in another
    (vCard 2.1's AGENT) is left out of its card."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    card: list[str] | None = None
    start = 0
    nested = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        begins = line.strip().upper() == "BEGIN:VCARD"
        ends = line.strip().upper() == "END:VCARD"
        if nested:
            nested += 1 if begins else -1 if ends else 0
        elif begins and card is not None and _AGENT.match(card[-1]):
            card.pop()  # the AGENT property whose value is this card
            nested = 1
        elif begins:
            if card is not None:
                yield start, None
            card, start = [line], i + 1
        elif card is not None:
            if _BINARY.match(line):
                while i + 1 < len(lines) and lines[i + 1][:1] in (" ", "\t"):
                    i += 1
                i += 1
                continue
            if _QP_PARAM.match(line):
                while line.endswith("=") and i + 1 < len(lines):
                    i += 1
                    line = line[:-1] + lines[i].lstrip(" \t")
                line = _unquote_printable(line)
            card.append(line)
            if ends:
                yield start, "\r\n".join(card) + "\r\n"
                card = None
        i += 1
    if card is not None:
        yield start, "\r\n".join(card) + "\r\n"


def _vvalue(prop: Any) -> str:
    value = prop.value
    if isinstance(value, bytes):
        return ""
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    return str(value)


def _linkedin_url(value: str) -> bool:
    return "linkedin.com/" in value.lower()


def _card(card: Any, where: str) -> Contact | Refusal:
    props: dict[str, list[Any]] = {}
    labels: dict[str, str] = {}
    for child in card.getChildren():
        if not isinstance(child, vobject.base.ContentLine):
            continue  # a component (BEGIN:X … END:X) inside the card: nothing of ours
        props.setdefault(child.name.upper(), []).append(child)
        if child.name.upper() == "X-ABLABEL" and child.group:
            labels[child.group] = _vvalue(child).lower()
    name = ""
    if props.get("FN"):
        name = _clean(_vvalue(props["FN"][0]))
    if not name and props.get("N"):
        n = props["N"][0].value
        if isinstance(n, vobject.vcard.Name):
            parts = (n.prefix, n.given, n.additional, n.family)  # each a string or a list
            name = _clean(" ".join(" ".join(p) if isinstance(p, list) else str(p) for p in parts))
        else:
            parts = _vvalue(props["N"][0]).split(";")
            name = _clean(" ".join(reversed(parts[:2])))
    if not name:
        return Refusal(where, "no name (FN or N)")
    contact = Contact(where, {"name": name})
    if props.get("ORG"):
        org = props["ORG"][0].value
        parts = [_clean(p) for p in (org if isinstance(org, list) else str(org).split(";"))]
        parts = [p for p in parts if p]
        if parts:
            contact.organization = parts[0]
            if parts[1:]:
                contact.fields["department"] = " / ".join(parts[1:])
    if props.get("TITLE") and (title := _clean(_vvalue(props["TITLE"][0]))):
        contact.fields["title"] = title
    emails = [_vvalue(p).strip() for p in props.get("EMAIL", [])]
    if emails := [e.removeprefix("mailto:") for e in emails if e]:
        contact.fields["emails"] = emails
    phones = [_clean(_vvalue(p)).removeprefix("tel:") for p in props.get("TEL", [])]
    if phones := [p for p in phones if p]:
        contact.fields["phones"] = phones
    for prop in props.get("URL", []) + props.get("X-SOCIALPROFILE", []):
        value = _vvalue(prop).strip()
        kinds = [t.lower() for t in prop.params.get("TYPE", [])]
        if (
            _linkedin_url(value)
            or "linkedin" in kinds
            or labels.get(prop.group or "") == "linkedin"
        ):
            contact.fields["linkedin_url"] = value
            break
    notes = [_vvalue(p).strip() for p in props.get("NOTE", [])]
    if notes := [n for n in notes if n]:
        contact.fields["notes"] = "\n\n".join(notes)
    tags: list[str] = []
    for prop in props.get("CATEGORIES", []):
        value = prop.value if isinstance(prop.value, list) else str(prop.value).split(",")
        tags.extend(t for t in (_clean(v) for v in value) if t)
    if tags:
        contact.fields["tags"] = tags
    return contact


def parse_vcard(data: bytes | str) -> list[Contact | Refusal]:
    """A .vcf with one or many cards (vCard 2.1, 3.0 and 4.0), read with vobject."""
    text = _text(data)
    out: list[Contact | Refusal] = []
    for number, (line, block) in enumerate(_split_cards(text), start=1):
        where = f"card {number} (line {line})"
        if block is None:
            out.append(Refusal(where, "cut short: no END:VCARD before the next card"))
            continue
        try:
            out.append(_card(vobject.readOne(block), where))
        except Exception as exc:  # vobject raises several kinds on malformed input
            out.append(Refusal(where, f"cannot be read: {str(exc).strip() or type(exc).__name__}"))
    if not out:
        raise ImportFileError("not a vCard file: no BEGIN:VCARD")
    return out


def _split_many(value: str) -> list[str]:
    parts = re.split(r"\s*(?::::|;|\n)\s*", value)
    return [p.strip() for p in parts if p.strip()]


_NAME = ("name", "full name", "display name")
_FIRST = ("first name", "given name")
_MIDDLE = ("middle name", "additional name")
_LAST = ("last name", "family name")
_ORG = ("organization", "company", "organization name", "organization 1 - name")
_TITLE = ("title", "position", "job title", "organization title", "organization 1 - title")
_DEPARTMENT = ("department", "organization department", "organization 1 - department")
_NOTES = ("notes", "note")
_TAGS = ("tags", "labels", "group membership", "categories")
_OWN = ("found_via", "found_via_detail", "stage")
_TRUE = ("true", "yes", "1", "y")
_FALSE = ("false", "no", "0", "n", "")


# A spreadsheet runs a cell that starts with = or @ (or + or - followed by more than a
# number) as a formula: `=HYPERLINK(...)` in an imported name would phone home from the
# user's Excel. Our CSV exports give such a cell a leading apostrophe (OWASP's advice), which
# `import csv` (`undefuse`) takes off again. Phone numbers like "+1 555 0100 x23" and plain
# numbers stay as they are. web/js/exchange.js applies the same rule.
_FORMULA = re.compile(r"[=@\t\r]|[+-](?![\d\s().,;/#*x+-]*$)")


def defuse(text: str) -> str:
    return "'" + text if _FORMULA.match(text) else text


def undefuse(text: str) -> str:
    """A cell of our own export as it was: the apostrophe `defuse` put there taken off."""
    return text[1:] if text.startswith("'") and _FORMULA.match(text[1:]) else text


def parse_csv(data: bytes | str) -> list[Contact | Refusal]:
    """A CSV with a header row: Google Contacts' (old and new) and our own export's columns."""
    rows = _csv_rows(_text(data))
    try:
        header = [h.strip().lower() for h in next(rows)[1]]
    except StopIteration:
        raise ImportFileError("the CSV file is empty") from None
    has = set(header)
    if not has.intersection(_NAME + _FIRST + _LAST):
        raise ImportFileError(
            "no name column: the header needs Name, or First Name and Last Name "
            f"(it has: {', '.join(h for h in header if h) or 'nothing'})"
        )
    out: list[Contact | Refusal] = []
    for number, cells in rows:
        where = f"line {number}"
        if not any(c.strip() for c in cells):
            continue
        row: dict[str, str] = {}
        for key, value in zip(header, cells, strict=False):
            if value.strip() and key not in row:
                row[key] = undefuse(value)
        try:
            out.append(_csv_row(row, where))
        except sync.Rejected as exc:
            out.append(Refusal(where, str(exc)))
    return out


def _first(row: dict[str, str], keys: Iterable[str]) -> str:
    return next((_clean(row[k]) for k in keys if row.get(k, "").strip()), "")


def _csv_row(row: dict[str, str], where: str) -> Contact | Refusal:
    name = _first(row, _NAME) or _clean(
        " ".join(_first(row, keys) for keys in (_FIRST, _MIDDLE, _LAST))
    )
    if not name:
        return Refusal(where, "no name")
    contact = Contact(where, {"name": name})
    record_id = row.get("id", "").strip()
    if record_id:
        try:
            contact.record_id = str(uuid.UUID(record_id))
        except ValueError:
            return Refusal(where, f"id {record_id!r} is not a UUID")
    contact.organization = _first(row, _ORG)
    if title := _first(row, _TITLE):
        contact.fields["title"] = title
    if department := _first(row, _DEPARTMENT):
        contact.fields["department"] = department
    emails: list[str] = []
    phones: list[str] = []
    tags: list[str] = []
    for key, value in row.items():
        if key in ("emails", "email", "e-mail", "email address", "e-mail address") or (
            re.fullmatch(r"e-?mail \d+ - value", key)
        ):
            emails.extend(_split_many(value))
        elif key in ("phones", "phone", "mobile phone", "business phone", "home phone") or (
            re.fullmatch(r"phone \d+ - value", key)
        ):
            phones.extend(_split_many(value))
        elif key in _TAGS:
            tags.extend(t for t in _split_many(value) if not t.startswith("*"))
        elif key in ("linkedin_url", "linkedin", "linkedin url") or (
            (key == "url" or re.fullmatch(r"website \d+ - value", key)) and _linkedin_url(value)
        ):
            contact.fields.setdefault("linkedin_url", value.strip())
    for name_, values in (("emails", emails), ("phones", phones), ("tags", tags)):
        if values:
            contact.fields[name_] = list(dict.fromkeys(values))
    if notes := next((row[k].strip() for k in _NOTES if row.get(k, "").strip()), ""):
        contact.fields["notes"] = notes.replace("\r\n", "\n")
    for key in _OWN:
        if value := _clean(row.get(key)):
            contact.fields[key] = value
    if value := row.get("hiring_authority", "").strip().lower():
        if value not in _TRUE + _FALSE:
            return Refusal(where, f"hiring_authority must be true or false, not {value!r}")
        contact.fields["hiring_authority"] = value in _TRUE
    if value := row.get("strength", "").strip():
        if not value.isascii() or not value.isdigit():
            return Refusal(where, f"strength must be a whole number from 0 to 5, not {value!r}")
        contact.fields["strength"] = int(value)
    return contact


PARSERS: dict[str, Callable[[bytes | str], list[Contact | Refusal]]] = {
    "linkedin": parse_linkedin,
    "vcard": parse_vcard,
    "csv": parse_csv,
}


def parse(fmt: str, data: bytes | str) -> list[Contact | Refusal]:
    if fmt not in PARSERS:
        raise ImportFileError(f"unknown import format {fmt!r}: use one of {', '.join(FORMATS)}")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(f"the file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}")
    return PARSERS[fmt](data)


# ----- matching ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=65_536)
def normalize_name(value: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name: "Zoë  O'Neil" → "zoe o neil"."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


# Legal forms set aside at the end of an organization's name, as the app's duplicates.js does.
_LEGAL_FORMS = frozenset(
    [
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "company",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "nv",
        "bv",
        "oy",
        "ab",
        "asa",
        "spa",
        "srl",
        "pty",
        "pte",
        "kk",
        "lp",
        "llp",
        "pllc",
    ]
) | {"l l c", "s a"}


def organization_key(name: str) -> str:
    """ "The Helios Labs, Inc." → "helios labs": one organization whatever legal form is named."""
    words = normalize_name(name).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    changed = True
    while changed and len(words) > 1:
        changed = False
        for n in (2, 1):
            if len(words) > n and " ".join(words[-n:]) in _LEGAL_FORMS:
                words = words[:-n]
                changed = True
                break
    return " ".join(words)


def normalize_linkedin(url: str) -> str:
    """linkedin.com/in/<slug>, whatever the scheme, host, query or trailing slash."""
    value = url.strip().lower()
    value = re.sub(r"^[a-z]+://", "", value).split("?")[0].split("#")[0].rstrip("/")
    value = re.sub(r"^([a-z]{2,3}\.)?(www\.)?linkedin\.com", "linkedin.com", value)
    return value


def _importer(stamp: Any) -> bool:
    return stamp is None or str(stamp[1]).startswith(IMPORT_PREFIX)


@dataclass(slots=True)
class _Known:
    """A record of the store (or one this plan creates) as matching sees it."""

    entity: str
    id: str
    fields: dict[str, Any]
    meta: dict[str, Any]
    version: int = 0
    deleted: bool = False
    new: bool = False


@dataclass
class Plan:
    """What an import would do; `mutations` are (name, args) in the order to push them."""

    people_created: int = 0
    people_updated: int = 0
    people_skipped: int = 0
    organizations_created: int = 0
    organizations_matched: int = 0
    refused: list[Refusal] = field(default_factory=list)
    mutations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    matched: set[str] = field(default_factory=set, repr=False)  # organizations found
    # What it was made from, and the store's position then: `apply` plans again when the
    # store moved meanwhile (another import of the same file must not create everyone twice).
    contacts: list[Contact] = field(default_factory=list, repr=False)
    seq: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "people": {
                "created": self.people_created,
                "updated": self.people_updated,
                "skipped": self.people_skipped,
            },
            "organizations": {
                "created": self.organizations_created,
                "matched": self.organizations_matched,
            },
            "refused": [{"row": r.row, "reason": r.reason} for r in self.refused],
            "mutations": len(self.mutations),
        }


class _Index:
    def __init__(self, records: list[_Known]) -> None:
        self.by_id = {r.id: r for r in records}
        self.linkedin: dict[str, _Known] = {}
        self.email: dict[str, _Known] = {}
        self.name_org: dict[tuple[str, str], _Known] = {}
        self.org: dict[str, _Known] = {}
        for r in records:
            self.add(r)

    def add(self, r: _Known) -> None:
        self.by_id[r.id] = r
        if r.entity == "organization":
            if not r.deleted:
                self.org.setdefault(organization_key(r.fields.get("name") or ""), r)
            return
        if r.entity != "person":
            return
        # Tombstones are indexed too: a merged-away person leads to its survivor, a deleted
        # one stays deleted (re-importing never brings back whom the user removed).
        if url := r.fields.get("linkedin_url"):
            self.linkedin.setdefault(normalize_linkedin(url), r)
        for email in r.fields.get("emails") or []:
            self.email.setdefault(email.strip().lower(), r)
        self.name_org.setdefault(self._name_org_key(r.fields), r)

    def _name_org_key(self, fields: dict[str, Any]) -> tuple[str, str]:
        org = self.by_id.get(fields.get("organization_id") or "")
        return normalize_name(fields.get("name") or ""), organization_key(
            org.fields.get("name") or "" if org else ""
        )

    def survivor(self, r: _Known | None) -> _Known | None:
        seen: set[str] = set()
        while r is not None and r.deleted and r.fields.get("merged_into") and r.id not in seen:
            seen.add(r.id)
            r = self.by_id.get(r.fields["merged_into"])
        return r

    def match(self, contact: Contact) -> _Known | None:
        candidates: list[_Known | None] = []
        if contact.record_id:
            candidates.append(self.by_id.get(contact.record_id))
        url = contact.fields.get("linkedin_url")
        if url:
            candidates.append(self.linkedin.get(normalize_linkedin(url)))
        for email in contact.fields.get("emails") or []:
            candidates.append(self.email.get(email.strip().lower()))
        key = (normalize_name(contact.fields["name"]), organization_key(contact.organization))
        namesake = self.name_org.get(key)
        theirs = namesake.fields.get("linkedin_url") if namesake else None
        if not (url and theirs and normalize_linkedin(url) != normalize_linkedin(theirs)):
            candidates.append(namesake)  # two LinkedIn profiles are two people, names aside
        for candidate in candidates:
            if candidate is not None and candidate.entity == "person":
                return self.survivor(candidate)
        return None


async def _load_index(conn: AsyncConnection, store_id: str) -> _Index:
    rows = await conn.execute(
        select(Record.id, Record.entity, Record.version, Record.deleted, Record.fields, Record.meta)
        .where(
            and_(Record.store_id == store_id, Record.entity.in_(("person", "organization"))),
        )
        .order_by(Record.seq)
    )
    return _Index(
        [
            _Known(r.entity, r.id, _decode(r.fields), _decode(r.meta), r.version, bool(r.deleted))
            for r in rows
        ]
    )


def _checked(contact: Contact) -> dict[str, Any]:
    """The contact's fields as the engine will store them, or sync.Rejected."""
    values = {}
    for name, value in contact.fields.items():
        if name in _SET_FIELDS:
            value = [v for v in dict.fromkeys(value) if v]
        values[name] = sync.check_value(_PERSON, name, value)
    if contact.organization:
        sync.check_value(_ORGANIZATION, "name", contact.organization)
    return values


def plan_contacts(index: _Index, contacts: list[Contact | Refusal]) -> Plan:
    """Match each contact and write down the mutations that would bring it in."""
    plan = Plan()
    counted: set[str] = set()
    for contact in contacts:
        if isinstance(contact, Refusal):
            plan.refused.append(contact)
            continue
        try:
            values = _checked(contact)
        except sync.Rejected as exc:
            plan.refused.append(Refusal(contact.row, str(exc)))
            continue
        if contact.organization:
            values["organization_id"] = _organization(index, plan, contact.organization)
        person = index.match(contact)
        if person is None:
            person_id = (
                contact.record_id
                if contact.record_id and contact.record_id not in index.by_id
                else sync.new_id()
            )
            values.setdefault("stage", "identified")
            plan.mutations.append(
                ("set", {"entity": "person", "id": person_id, "base": 0, "fields": values})
            )
            stamps = {name: None for name in values}
            known = _Known("person", person_id, {**_PERSON.empty_fields(), **values}, {}, new=True)
            known.meta["f"] = stamps
            index.add(known)
            plan.people_created += 1
            counted.add(person_id)
            continue
        if person.deleted:
            plan.people_skipped += 1
            continue
        changed = _update(plan, person, values)
        if person.id in counted:
            continue
        counted.add(person.id)
        if changed:
            plan.people_updated += 1
        else:
            plan.people_skipped += 1
    return plan


def _organization(index: _Index, plan: Plan, name: str) -> str:
    key = organization_key(name)
    org = index.org.get(key)
    if org is not None:
        if not org.new and org.id not in plan.matched:
            plan.matched.add(org.id)
            plan.organizations_matched += 1
        return org.id
    org_id = sync.new_id()
    plan.mutations.append(
        ("set", {"entity": "organization", "id": org_id, "base": 0, "fields": {"name": name}})
    )
    index.add(_Known("organization", org_id, {"name": name}, {}, new=True))
    plan.organizations_created += 1
    return org_id


def _update(plan: Plan, person: _Known, values: dict[str, Any]) -> bool:
    """Mutations filling what is empty and renewing what only imports ever wrote."""
    stamps = person.meta.get("f", {})
    elements = person.meta.get("e", {})
    fields: dict[str, Any] = {}
    added: list[tuple[str, str]] = []
    for name, value in values.items():
        current = person.fields.get(name)
        if name in _SET_FIELDS:
            seen = {e.lower() for e in elements.get(name, {})} | {e.lower() for e in current or []}
            added.extend((name, v) for v in value if v.lower() not in seen)
            continue
        if value in (None, "") or current == value:
            continue
        if name == "stage" and current:
            continue  # the stage is the user's once a person exists
        if _importer(stamps.get(name)):
            fields[name] = value
    if fields:
        plan.mutations.append(
            ("set", {"entity": "person", "id": person.id, "base": person.version, "fields": fields})
        )
        person.fields.update(fields)
    for name, value in added:
        plan.mutations.append(
            ("add", {"entity": "person", "id": person.id, "field": name, "value": value})
        )
        person.fields[name] = sorted({*(person.fields.get(name) or []), value})
    return bool(fields or added)


async def preview(conn: AsyncConnection, store_id: str, fmt: str, data: bytes | str) -> Plan:
    """The plan of an import, read against the store as it is now; nothing is written."""
    contacts = parse(fmt, data)
    return await _plan(conn, store_id, contacts)


async def _plan(conn: AsyncConnection, store_id: str, contacts: list[Contact]) -> Plan:
    # The position first: whatever commits after it moves it, so `apply` notices.
    seq = (await conn.execute(select(Store.seq).where(Store.id == store_id))).scalar()
    plan = plan_contacts(await _load_index(conn, store_id), contacts)
    plan.contacts, plan.seq = contacts, seq
    return plan


# ----- writing -----------------------------------------------------------------------------


async def import_device(conn: AsyncConnection, user_id: str) -> str:
    """The user's server-side import device (made on first use); its clients are its own."""
    row = (
        await conn.execute(
            select(Device.id).where(
                Device.user_id == user_id,
                Device.name == IMPORT_DEVICE,
                Device.revoked_ms.is_(None),
            )
        )
    ).first()
    if row is not None:
        return row.id
    device_id, _token = await accounts.create_device(conn, user_id, IMPORT_DEVICE)
    return device_id  # its token is never shown: the device only ever writes from here


Progress = Callable[[int, int], Awaitable[None]]


class Announcer(Protocol):
    """What live sync needs to hear of each committed batch (server.live.Hub)."""

    async def announce(
        self, conn: AsyncConnection, store_id: str, seq: int, client_id: str | None
    ) -> None: ...

    def publish(self, store_id: str, seq: int, origin: str | None = None) -> None: ...


async def apply(
    engine: AsyncEngine,
    store_id: str,
    user_id: str,
    plan: Plan,
    progress: Progress | None = None,
    live: Announcer | None = None,
) -> dict[str, Any]:
    """Push a plan through the sync engine in batches; returns the plan's summary.

    With `live`, each committed batch pokes the store's live streams like a device's push
    (the other devices see imported people arrive). Without it (the CLI), streams hear of
    the import when their server next re-reads store positions (1 s on SQLite, 10 s on
    PostgreSQL)."""
    async with write_transaction(engine) as conn:
        device_id = await import_device(conn, user_id)
    client_id = f"{IMPORT_PREFIX}{device_id}"
    clock = sync.HLC(client_id)
    todo = plan.mutations
    done = 0
    expected = plan.seq  # the store's position the rest of `todo` was planned against
    rejected: list[dict[str, Any]] = []
    while todo:
        async with write_transaction(engine) as conn:
            backend = SqlBackend(conn, store_id)
            await backend.lock()
            before = backend.seq
            if expected is not None and before != expected and plan.contacts:
                # Written meanwhile (another import of the file, a device): plan the rest
                # again against the store as it is, under the lock, so nobody is made twice.
                # What this import already wrote is found as it is and left alone.
                again = plan_contacts(await _load_index(conn, store_id), plan.contacts)
                todo = again.mutations
            batch, todo = todo[:_BATCH], todo[_BATCH:]
            if not batch:
                break
            _, last = await backend.client(client_id)
            mutations = [
                sync.Mutation(
                    id=last + n,
                    hlc=clock.tick(),
                    name=name,
                    args=msgspec.Raw(_encode(args)),
                )
                for n, (name, args) in enumerate(batch, start=1)
            ]
            result = await sync.push(
                backend,
                device_id,
                sync.PushRequest(client_id=client_id, mutations=mutations),
                sync.HLC("server"),
            )
            expected = backend.seq
            seq = backend.seq if backend.seq > before else None
            if live is not None and seq is not None:  # other processes: on commit only
                await live.announce(conn, store_id, seq, client_id)
        if live is not None and seq is not None:
            live.publish(store_id, seq, client_id)
        for r, (name, args) in zip(result.results, batch, strict=True):
            if r.status == "rejected":
                rejected.append({"mutation": name, "id": args.get("id"), "error": r.error})
        done += len(batch)
        if progress is not None:
            await progress(done, done + len(todo))
    summary = plan.summary()
    summary["rejected"] = rejected
    return summary


async def import_file(
    engine: AsyncEngine,
    store_id: str,
    user_id: str,
    fmt: str,
    data: bytes | str,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Read, match and (unless dry_run) write a file; the summary says what was done."""
    async with engine.connect() as conn:
        plan = await preview(conn, store_id, fmt, data)
    if dry_run:
        return plan.summary()
    return await apply(engine, store_id, user_id, plan, progress)
