"""The domain model as the sync engine sees it: entities, their fields and field types.

Wire names follow DESIGN.md. The engine is generic over this table, so a new field is one line
here (and older records simply read it as unset).
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_TEXT = 100_000  # characters in a text field
MAX_STR = 2_000  # characters in a str field
MAX_SET_ELEMENT = 2_000
MAX_SET_SIZE = 1_000


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str  # str | text | set | enum | bool | int | date | datetime | ref | any
    required: bool = False
    choices: tuple[str, ...] = ()
    ref: str | None = None  # entity a ref field points to
    minimum: int | None = None
    maximum: int | None = None
    server_only: bool = False


@dataclass(frozen=True, slots=True)
class Entity:
    name: str
    fields: dict[str, Field] = field(default_factory=dict)
    server_only: bool = False
    required: tuple[str, ...] = ()
    refs: frozenset[str] = frozenset()  # fields holding another record's id
    sets: tuple[str, ...] = ()  # set-typed fields
    texts: tuple[str, ...] = ()  # text-typed fields
    # Every field None, in the schema's order: a new record's fields start as a copy of it
    # (copying a dict costs a tenth of building it from the names).
    blank: dict[str, None] = field(default_factory=dict)

    def empty_fields(self) -> dict[str, object]:
        fields: dict[str, object] = dict(self.blank or dict.fromkeys(self.fields))
        for name in self.sets:
            fields[name] = []
        return fields


def _entity(name: str, *fields: Field, server_only: bool = False) -> Entity:
    required = tuple(f.name for f in fields if f.required)
    refs = frozenset(f.name for f in fields if f.type == "ref")
    sets = tuple(f.name for f in fields if f.type == "set")
    texts = tuple(f.name for f in fields if f.type == "text")
    by_name = {f.name: f for f in fields}
    blank = dict.fromkeys(by_name)
    return Entity(name, by_name, server_only, required, refs, sets, texts, blank)


def _enum(name: str, *choices: str, required: bool = False) -> Field:
    return Field(name, "enum", required=required, choices=choices)


def _ref(name: str, entity: str, required: bool = False) -> Field:
    return Field(name, "ref", required=required, ref=entity)


ORGANIZATION_STATUS = ("exploring", "target", "engaged", "not_a_fit", "archived")
FOUND_VIA = (
    "alumni",
    "professional_org",
    "friend",
    "linkedin",
    "referral",
    "conference",
    "cold",
    "other",
)
STAGES = (
    "identified",
    "contacted",
    "scheduled",
    "talked",
    "thanked",
    "following_up",
    "dormant",
    "not_a_fit",
)
CONVERSATION_KINDS = ("email", "call", "video", "lunch", "coffee", "meeting", "conference", "other")

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        _entity(
            "organization",
            Field("name", "str", required=True),
            Field("website", "str"),
            Field("field", "str"),
            Field("location", "str"),
            _enum("status", *ORGANIZATION_STATUS),
            Field("why", "text"),
            Field("homework", "text"),
            Field("tags", "set"),
            Field("not_duplicates", "set"),
        ),
        _entity(
            "person",
            Field("name", "str", required=True),
            _ref("organization_id", "organization"),
            Field("title", "str"),
            Field("department", "str"),
            Field("emails", "set"),
            Field("phones", "set"),
            Field("linkedin_url", "str"),
            _enum("found_via", *FOUND_VIA),
            Field("found_via_detail", "str"),
            _enum("stage", *STAGES),
            Field("hiring_authority", "bool"),
            Field("strength", "int", minimum=0, maximum=5),
            Field("tags", "set"),
            Field("notes", "text"),
            # Ids of people the user said are not this person (dismissed duplicate pairs).
            Field("not_duplicates", "set"),
        ),
        _entity(
            "conversation",
            _ref("person_id", "person", required=True),
            _ref("organization_id", "organization"),
            _enum("kind", *CONVERSATION_KINDS),
            Field("at", "datetime"),
            Field("place", "str"),
            Field("duration_min", "int", minimum=0, maximum=100_000),
            Field("prepared", "bool"),
            Field("notes", "text"),
            Field("culture", "text"),
            Field("prospects", "text"),
            Field("projects", "text"),
            _enum("fit", "good", "unsure", "poor", "unknown"),
            Field("asked_for_referrals", "bool"),
            Field("thanked_at", "date"),
        ),
        _entity(
            "referral",
            _ref("from_person_id", "person", required=True),
            _ref("to_person_id", "person", required=True),
            _ref("conversation_id", "conversation"),
            Field("note", "text"),
            _enum("status", "suggested", "introduced", "contacted", "talked", "declined"),
        ),
        _entity(
            "followup",
            _ref("person_id", "person"),
            _ref("organization_id", "organization"),
            Field("due", "date", required=True),
            _enum("kind", "thank_you", "follow_up", "connect", "send_info", "other"),
            Field("note", "text"),
            Field("done_at", "datetime"),
        ),
        _entity(
            "conflict",
            Field("entity", "str"),
            Field("record_id", "str"),
            Field("field", "str"),
            Field("kept", "any"),
            Field("lost", "any"),
            Field("lost_hlc", "str"),
            Field("lost_client", "str"),
            _enum("status", "open", "resolved"),
            server_only=True,
        ),
    )
}

# For each entity, the (referring entity, field) pairs that point at it: what `merge` re-points.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    target: tuple(
        (e.name, f.name) for e in ENTITIES.values() for f in e.fields.values() if f.ref == target
    )
    for target in ENTITIES
}
