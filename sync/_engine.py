"""The merge engine: applies a push to a store through a storage backend.

The engine holds the merge rules of protocol v1 in one place. Storage is a `Backend`: the
server's is SQL (server/storage.py), the tests also use an in-memory one. A push loads every
record it names in one call, merges in memory, and hands the changed records back in one call.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Collection, Sequence
from typing import Any, Protocol

import msgspec

from sync._hlc import HLC, HLCError
from sync._protocol import (
    ARGS,
    MAX_CLIENT_ID,
    MAX_ECHO,
    MAX_MUTATIONS,
    DeleteArgs,
    ElementArgs,
    MergeArgs,
    Mutation,
    MutationResult,
    PushRequest,
    PushResponse,
    ResolveArgs,
    SetArgs,
    excerpt,
    has_nul,
)
from sync._record import (
    DELETE_STAMP,
    EDITORS,
    ELEMENT_STAMPS,
    FIELD_STAMPS,
    MERGE_FLOOR,
    MERGED_INTO,
    SET_CLEARED,
    Record,
)
from sync._schema import (
    ENTITIES,
    MAX_SET_ELEMENT,
    MAX_SET_SIZE,
    MAX_STR,
    MAX_TEXT,
    REFERENCES,
    Entity,
    Field,
)
from sync._text import merge_text

# Records one push may load or change while it holds the store: past this, the mutations
# after the current one are left for the client's next push (they get no result).
MAX_PUSH_RECORDS = 10_000
# Conflict ids are derived from what was lost, so the same loss never makes two records.
_CONFLICT_NAMESPACE = uuid.UUID("6f1c2a8e-3b57-4d0e-9a41-7c5e2d9b8f10")
UNKNOWN = object()
"""What `Backend.text_at` answers when a text's history was pruned before that version."""


class Backend(Protocol):
    """What the engine needs from storage, inside one transaction that holds the store."""

    async def client(self, client_id: str) -> tuple[str | None, int]:
        """(device bound to this client_id or None, its last processed mutation id)."""

    async def load(self, ids: Collection[str]) -> dict[str, Record]:
        """The records with these ids (missing ones are left out)."""

    async def referrers(self, refs: Sequence[tuple[str, str]], target: str) -> list[str]:
        """Ids of records whose (entity, field) holds `target`."""

    async def text_at(self, record_id: str, field: str, version: int, client_id: str) -> Any:
        """The text a client last had of a field: a str, "" if empty, or UNKNOWN.

        That is the newest of: the text at `version` (what it pulled), and the text it
        wrote itself after that, as it wrote it (before any merge it never saw).
        """

    async def commit(
        self,
        client_id: str,
        device_id: str,
        last_mutation_id: int,
        records: list[Record],
        history: list[tuple[str, str, int, str, str, str | None]],
    ) -> None:
        """Write the changed records, text history and the client's progress."""


class EnvelopeError(Exception):
    """The request as a whole is refused; nothing of it is applied."""

    def __init__(self, status: int, detail: str, last_mutation_id: int | None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.last_mutation_id = last_mutation_id


class Rejected(Exception):
    """One mutation is refused; the message names what is wrong."""


def validate_client_id(client_id: str) -> None:
    if not client_id or len(client_id) > MAX_CLIENT_ID or not client_id.isprintable():
        raise EnvelopeError(
            400, f"client_id must be 1 to {MAX_CLIENT_ID} printable characters", None
        )
    if any(c.isspace() for c in client_id):
        raise EnvelopeError(400, "client_id must not contain white space", None)


class Prepared:
    """What a push's mutations say, decoded and checked, by their place in the push: the part of
    the work that depends on nothing stored, done before the store is locked (`prepare`)."""

    __slots__ = ("args", "checked")

    def __init__(self, args: list[Any], checked: list[Any]) -> None:
        self.args = args  # decoded args, or the Rejected a mutation is answered with
        self.checked = checked  # a set's values as stored, its Rejected, or None


def prepare(request: PushRequest) -> Prepared | None:
    """Decode every mutation's args and check a set's values (see `push`); None for a push
    over the limit (refused whole, unread)."""
    if len(request.mutations) > MAX_MUTATIONS:
        return None
    args: list[Any] = []
    checked: list[Any] = []
    for m in request.mutations:
        decoded = _decode(m)
        args.append(decoded)
        checked.append(_checked(decoded) if type(decoded) is SetArgs else None)
    return Prepared(args, checked)


def _decode(m: Mutation) -> Any:
    """A mutation's args decoded, the Rejected it is answered with, or None (no such name)."""
    if ARGS.get(m.name) is None:
        return None
    try:
        return _ARG_DECODERS[m.name](m.args)
    except msgspec.DecodeError as exc:
        return Rejected(f"{m.name}: {exc}")
    except RecursionError:
        return Rejected(f"{m.name}: args are nested too deeply")
    except UnicodeDecodeError:
        return Rejected(f"{m.name}: args are not valid UTF-8")


def _checked(args: SetArgs) -> dict[str, Any] | Rejected:
    """A set's values as stored, or the Rejected its entity or a value gets (in that order)."""
    try:
        return check_values(_entity(args.entity), args.fields)
    except Rejected as exc:
        return exc


async def push(
    backend: Backend,
    device_id: str,
    request: PushRequest,
    clock: HLC,
    prepared: Prepared | None = None,
) -> PushResponse:
    """Apply a push: duplicates acknowledged, new mutations merged, all in one commit.

    `prepared` (of this request, by `prepare`) is the decoding and checking done already,
    before the caller took the store's lock; without it, that is done here."""
    validate_client_id(request.client_id)
    owner, last = await backend.client(request.client_id)
    if owner is not None and owner != device_id:
        raise EnvelopeError(403, "this client_id belongs to another device", None)
    if len(request.mutations) > MAX_MUTATIONS:
        raise EnvelopeError(
            413,
            f"{len(request.mutations)} mutations in one push; the limit is {MAX_MUTATIONS}",
            last,
        )
    results: list[MutationResult] = []
    fresh: list[Mutation] = []
    places: list[int] = []  # of the fresh ones in the push
    duplicates = False
    expected = last + 1
    for place, mutation in enumerate(request.mutations):
        if mutation.id < 1:
            raise EnvelopeError(400, f"mutation id {mutation.id} is not a positive integer", last)
        if mutation.id < expected:
            results.append(MutationResult(id=mutation.id, status="duplicate"))
            duplicates = True
        elif mutation.id == expected:
            fresh.append(mutation)
            places.append(place)
            expected += 1
        else:
            raise EnvelopeError(
                409,
                f"mutation id {mutation.id} leaves a gap: the server has processed up to "
                f"{last}, so the next id must be {expected}",
                last,
            )
    if not fresh:
        return PushResponse(last_mutation_id=last, results=results)
    applier = _Applier(backend, request.client_id, clock)
    if prepared is None:
        await applier.preload(fresh, [_decode(m) for m in fresh], None)
    else:
        args, checked = prepared.args, prepared.checked
        await applier.preload(fresh, [args[p] for p in places], [checked[p] for p in places])
    budget = len(applier.cache) + MAX_PUSH_RECORDS  # what merges may load beyond their own
    apply = applier.apply
    cache = applier.cache
    for mutation in fresh:
        results.append(await apply(mutation))
        last = mutation.id
        if len(cache) > budget:
            break  # enough work under the lock: the rest waits for the next push
    await backend.commit(request.client_id, device_id, last, applier.changed(), applier.history)
    if duplicates:  # else the results are in the order of their ids already
        results.sort(key=lambda r: r.id)
    return PushResponse(last_mutation_id=last, results=results)


_ARG_DECODERS = {name: msgspec.json.Decoder(t).decode for name, t in ARGS.items()}
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _canonical_id(value: Any, what: str) -> str:
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value
    if not isinstance(value, str):
        raise Rejected(f"{what} must be a UUID string")
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        raise Rejected(f"{what} {excerpt(value)} is not a UUID") from None
    if canonical != value:
        raise Rejected(f"{what} {excerpt(value)} must be written as {canonical!r}")
    return value


def _entity(name: str) -> Entity:
    entity = ENTITIES.get(name)
    if entity is None:
        raise Rejected(f"unknown entity {excerpt(name)}")
    if entity.server_only:
        raise Rejected(f"{name} records are written by the server only (use resolve)")
    return entity


def check_value(entity: Entity, name: str, value: Any) -> Any:
    """A field value as stored, or Rejected naming the entity, the field and the rule."""
    return check_values(entity, {name: value})[name]


def check_values(entity: Entity, values: dict[str, Any]) -> dict[str, Any]:
    """check_value of each of a record's values, in order: the first bad one is Rejected."""
    fields = entity.fields
    checked: dict[str, Any] = {}
    # The common cases first, in one loop, without building messages (a push may carry
    # thousands of values).
    for name, value in values.items():
        field = fields.get(name)
        if field is None or field.server_only:
            shown = name if len(name) <= MAX_ECHO else excerpt(name)
            raise Rejected(f"unknown field {entity.name}.{shown}")
        kind = field.type
        of = type(value)
        if of is str:
            if kind == "str":
                if len(value) <= MAX_STR and "\x00" not in value:
                    checked[name] = value
                    continue
            elif kind == "enum":
                if value in field.choices:
                    checked[name] = value
                    continue
            elif kind == "text":
                if len(value) <= MAX_TEXT and "\x00" not in value:
                    checked[name] = value
                    continue
            elif kind == "ref" and _CANONICAL_UUID.fullmatch(value):
                checked[name] = value
                continue
        elif of is int:
            if (
                kind == "int"
                and (field.minimum is None or value >= field.minimum)
                and (field.maximum is None or value <= field.maximum)
            ):
                checked[name] = value
                continue
        elif of is bool:
            if kind == "bool":
                checked[name] = value
                continue
        elif of is list and kind == "set" and len(value) <= MAX_SET_SIZE:
            for element in value:
                if (
                    type(element) is not str
                    or not element
                    or len(element) > MAX_SET_ELEMENT
                    or "\x00" in element
                ):
                    break
            else:
                checked[name] = sorted(set(value))
                continue
        checked[name] = _check_slowly(entity, field, name, value)
    return checked


def _check_slowly(entity: Entity, field: Field, name: str, value: Any) -> Any:
    """check_value for what its fast paths left: the other types, and every error."""
    kind = field.type
    if kind == "enum" and value in field.choices:
        return value
    where = f"{entity.name}.{name}"
    if value is None:
        return [] if kind == "set" else None
    if kind in ("str", "text"):
        limit = MAX_TEXT if kind == "text" else MAX_STR
        if not isinstance(value, str):
            raise Rejected(f"{where} must be a string, not {_json_type(value)}")
        if len(value) > limit:
            raise Rejected(f"{where} is {len(value):,} characters; the limit is {limit:,}")
        if has_nul(value):
            raise Rejected(f"{where} must not contain U+0000 (a NUL character)")
        return value
    if kind == "enum":
        if value not in field.choices:
            choices = "|".join(field.choices)
            raise Rejected(f"{where} must be one of {choices}, not {excerpt(value)}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise Rejected(f"{where} must be true or false, not {_json_type(value)}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise Rejected(f"{where} must be an integer, not {_json_type(value)}")
        if (field.minimum is not None and value < field.minimum) or (
            field.maximum is not None and value > field.maximum
        ):
            raise Rejected(f"{where} must be from {field.minimum} to {field.maximum}, not {value}")
        return value
    if kind == "date":
        try:
            dt.date.fromisoformat(value)
            if len(value) != 10:
                raise ValueError
        except (TypeError, ValueError):
            raise Rejected(f"{where} must be a date YYYY-MM-DD, not {excerpt(value)}") from None
        return value
    if kind == "datetime":
        try:
            parsed = dt.datetime.fromisoformat(value)
            if "T" not in value and " " not in value:
                raise ValueError
        except (TypeError, ValueError):
            raise Rejected(
                f"{where} must be an ISO 8601 date and time, not {excerpt(value)}"
            ) from None
        del parsed
        return value
    if kind == "ref":
        return _canonical_id(value, where)
    if kind == "set":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Rejected(f"{where} must be a list of strings")
        if len(value) > MAX_SET_SIZE:
            raise Rejected(f"{where} has {len(value):,} elements; the limit is {MAX_SET_SIZE:,}")
        for element in value:
            _check_element(where, element)
        return sorted(set(value))
    return value


def _check_element(where: str, element: Any) -> str:
    if not isinstance(element, str) or not element:
        raise Rejected(f"{where} elements must be non-empty strings")
    if len(element) > MAX_SET_ELEMENT:
        raise Rejected(f"an element of {where} is over {MAX_SET_ELEMENT:,} characters")
    if has_nul(element):
        raise Rejected(f"an element of {where} contains U+0000 (a NUL character)")
    return element


def _json_type(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


class _Applier:
    """The state of one push: records loaded and changed, history to write."""

    def __init__(self, backend: Backend, client_id: str, clock: HLC) -> None:
        self.backend = backend
        self.client = client_id
        self.clock = clock
        self.cache: dict[str, Record | None] = {}
        self.history: list[tuple[str, str, int, str, str, str | None]] = []
        self.args: dict[int, Any] = {}
        # A set's values checked before the lock (see `prepare`), by mutation id.
        self.checked: dict[int, Any] = {}

    # ----- loading -----------------------------------------------------------------------

    async def preload(
        self, mutations: list[Mutation], decoded: list[Any], checked: list[Any] | None
    ) -> None:
        """Take the mutations' decoded args (and a set's checked values, if checked already)
        and load every record they name, in one call."""
        ids: set[str] = set()
        if checked is not None:
            self.checked = {
                m.id: c for m, c in zip(mutations, checked, strict=True) if c is not None
            }
        for m, args in zip(mutations, decoded, strict=True):
            if args is None:
                continue
            self.args[m.id] = args
            if isinstance(args, Rejected):
                continue
            if type(args) is SetArgs:
                ids.add(args.id)
                for k, v in args.fields.items():
                    if k.endswith("_id") and isinstance(v, str):
                        ids.add(v)
            elif isinstance(args, (DeleteArgs, ElementArgs)):
                ids.add(args.id)
            elif isinstance(args, MergeArgs):
                ids.update((args.id, args.into))
            elif isinstance(args, ResolveArgs):
                ids.add(args.conflict)
        # Only well-formed ids reach storage; the others are rejected by their mutation.
        await self._ensure([i for i in ids if _CANONICAL_UUID.fullmatch(i)])

    async def _ensure(self, ids: Collection[str]) -> None:
        missing = [i for i in ids if i not in self.cache]
        if missing:
            found = await self.backend.load(missing)
            for i in missing:
                self.cache[i] = found.get(i)

    async def get(self, record_id: str) -> Record | None:
        await self._ensure((record_id,))
        return self.cache[record_id]

    async def survivor(self, record: Record | None) -> Record | None:
        """Follow `merged_into` from a merged-away record to the record that absorbed it."""
        seen = set()
        while record is not None and record.merged_into and record.id not in seen:
            seen.add(record.id)
            record = await self.get(record.merged_into)
        return record

    def changed(self) -> list[Record]:
        return [r for r in self.cache.values() if r is not None and r.dirty]

    # ----- one mutation --------------------------------------------------------------------

    async def apply(self, mutation: Mutation) -> MutationResult:
        try:
            try:
                hlc = self.clock.accept(mutation.hlc, self.client)
            except HLCError as exc:
                raise Rejected(str(exc)) from None
            args = self.args.get(mutation.id)
            if args is None:
                name = excerpt(mutation.name)
                raise Rejected(f"unknown mutation {name}: use one of {', '.join(ARGS)}")
            if type(args) is SetArgs:  # the common case, without the handlers' lookup
                await self._set(args, hlc, self.checked.get(mutation.id))
            elif isinstance(args, Rejected):
                raise args
            else:
                await self._handlers[mutation.name](self, args, hlc)
        except Rejected as exc:
            return MutationResult(mutation.id, "rejected", str(exc))
        return MutationResult(mutation.id, "applied")

    async def _target(self, entity: Entity, record_id: str) -> tuple[Record | None, bool]:
        """The record a write names, followed through merges; (record, forwarded)."""
        if type(record_id) is not str or not _CANONICAL_UUID.fullmatch(record_id):
            _canonical_id(record_id, f"{entity.name} id")
        record = self.cache[record_id] if record_id in self.cache else await self.get(record_id)
        forwarded = record is not None and record.merged_into is not None
        if forwarded:
            record = await self.survivor(record)
        if record is not None and record.entity != entity.name:
            raise Rejected(f"{record_id} is a {record.entity}, not a {entity.name}")
        return record, forwarded

    async def _set(self, args: SetArgs, hlc: str, checked: Any = None) -> None:
        """A set; `checked`: its values as `prepare` checked them (or what it rejected)."""
        if checked is None:
            entity = _entity(args.entity)
            values = check_values(entity, args.fields)
        elif isinstance(checked, Rejected):
            raise checked
        else:
            entity = ENTITIES[args.entity]
            values = dict(checked)  # changed below (references to survivors)
        for name in entity.refs.intersection(values):
            if values[name] is not None:
                # A reference to a merged-away record names its survivor; an unknown id (a
                # record this store does not have yet) is kept as written.
                target = await self.survivor(await self.get(values[name]))
                values[name] = target.id if target is not None else values[name]
        record_id = args.id
        cache = self.cache
        # Every id in the cache is canonical, and a record not deleted is not forwarded: the
        # common case needs neither _target's checks nor its coroutine.
        if record_id in cache and ((record := cache[record_id]) is None or not record.deleted):
            forwarded = False
            if record is not None and record.entity != entity.name:
                raise Rejected(f"{record_id} is a {record.entity}, not a {entity.name}")
        else:
            record, forwarded = await self._target(entity, record_id)
        base = 0 if forwarded else args.base
        if record is None:
            missing = [f for f in entity.required if _empty(values.get(f))]
            if missing:
                raise Rejected(f"a new {entity.name} needs {', '.join(missing)}")
            cache[record_id] = self._create(entity, record_id, values, hlc)
            return
        else:
            cleared = [f for f in entity.required if f in values and _empty(values[f])]
            if cleared:
                raise Rejected(f"{entity.name}.{cleared[0]} is required and cannot be cleared")
        # Every applied mutation takes a new version, even one that changes nothing: a later
        # `base` then tells exactly which edits its writer had seen.
        record.version += 1
        await self._revive(record, base, hlc)
        for name, value in values.items():
            field = entity.fields[name]
            if field.type == "set":
                self._set_elements(record, name, value, base, hlc, record.version)
            elif forwarded and hlc <= record.meta.get(MERGE_FLOOR, {}).get(name, ""):
                # Written to the duplicate before it was merged away: the merge kept the
                # survivor's value over the duplicate's, and over this one too.
                if record.fields.get(name) != value:
                    current = record.fields.get(name)
                    await self._conflict(record, name, current, value, hlc, self.client)
            else:
                await self._write(record, field, value, base, hlc, record.version)
        record.touched_by(self.client)

    def _create(self, entity: Entity, record_id: str, values: dict[str, Any], hlc: str) -> Record:
        """A new record: every value it is created with wins (nothing to merge with)."""
        fields: dict[str, Any] = entity.blank.copy()  # entity.empty_fields(), inline
        for name in entity.sets:
            fields[name] = []
        fields.update(values)
        client = self.client
        meta: dict[str, Any] = {EDITORS: {client: 1}}
        stamps = meta[FIELD_STAMPS] = {name: [hlc, client, 1] for name in values}
        for name in entity.sets:
            if name in values:
                del stamps[name]
                if SET_CLEARED in meta:
                    meta[SET_CLEARED][name] = hlc
                    meta[ELEMENT_STAMPS][name] = {e: [hlc, 1, 1, client] for e in values[name]}
                else:
                    meta[SET_CLEARED] = {name: hlc}
                    meta[ELEMENT_STAMPS] = {name: {e: [hlc, 1, 1, client] for e in values[name]}}
        for name in entity.texts:
            if name in values:
                self.history.append((record_id, name, 1, client, values[name] or "", None))
        return Record(entity.name, record_id, 1, False, fields, meta, dirty=True)

    async def _revive(self, record: Record, base: int, hlc: str) -> None:
        """An edit to a deleted record: concurrent with the delete it revives the record."""
        if not record.deleted:
            return
        d_hlc, d_client, d_version = record.meta[DELETE_STAMP]
        if base >= d_version or d_client == self.client:
            raise Rejected(f"{record.entity} {record.id} was deleted")
        record.deleted = False
        await self._conflict(record, None, "kept", "deleted", d_hlc, d_client)

    async def _write(
        self, record: Record, field: Field, value: Any, base: int, hlc: str, version: int
    ) -> bool:
        """One field of a `set`; True when the record's value changed."""
        name = field.name
        current = record.fields.get(name)
        stamp = record.field_stamp(name)
        if stamp is None:
            if current == value:
                return False
            self._assign(record, field, value, [hlc, self.client, version])
            return True
        if current == value:  # agreement: no new value, but the field carries the later stamp
            self._restamp(record, stamp, hlc)
            return False
        own = stamp[1] == self.client and field.type != "text"  # own text edits are merged
        if base >= stamp[2] or own:
            # The writer saw the current value. Its stamp never goes back, as if its clock
            # had moved past what it saw: later concurrent writes then compare the same way
            # whatever order they arrive in.
            self._assign(record, field, value, [max(hlc, stamp[0]), self.client, version])
            return True
        if field.type == "text":
            base_text = await self._text_at(record, name, base)
            if base_text is not UNKNOWN:
                merged = merge_text(base_text, current or "", value or "")
                if merged == (current or ""):
                    self._restamp(record, stamp, hlc)
                    return False
                if merged is not None:
                    stamp = [max(hlc, stamp[0]), self.client, version]
                    self._assign(record, field, merged, stamp, written=value or "")
                    return True
        if hlc > stamp[0]:
            await self._conflict(record, name, value, current, stamp[0], stamp[1])
            self._assign(record, field, value, [hlc, self.client, version])
            return True
        await self._conflict(record, name, current, value, hlc, self.client)
        return False

    def _restamp(self, record: Record, stamp: list[Any], hlc: str) -> None:
        if hlc > stamp[0]:
            stamp[0], stamp[1] = hlc, self.client
            record.dirty = True

    def _assign(
        self, record: Record, field: Field, value: Any, stamp: list[Any], written: Any = None
    ) -> None:
        """Set a field; `written` is the text the client sent when a merge changed it."""
        record.fields[field.name] = value
        record.meta.setdefault(FIELD_STAMPS, {})[field.name] = stamp
        record.dirty = True
        if field.type == "text":
            entry = (record.id, field.name, stamp[2], stamp[1], value or "", written)
            self.history.append(entry)

    async def _text_at(self, record: Record, name: str, version: int) -> Any:
        for rid, fname, v, client, value, written in reversed(self.history):
            if rid == record.id and fname == name and (v <= version or client == self.client):
                return written if v > version and written is not None else value
        return await self.backend.text_at(record.id, name, version, self.client)

    def _set_elements(
        self, record: Record, name: str, value: list[str], base: int, hlc: str, version: int
    ) -> bool:
        """A whole set written: each listed element is added, every other one removed, all
        at this stamp. Per element the later stamp wins, so a concurrent `add` with a later
        stamp survives, whichever arrives first."""
        del base  # sets merge per element by stamp alone
        cleared = record.meta.setdefault(SET_CLEARED, {})
        cleared[name] = max(cleared.get(name, ""), hlc)
        stamps = record.element_stamps(name)
        for element in value:
            self._stamp_element(stamps, element, 1, hlc, version)
        return self._refresh_set(record, name)

    def _stamp_element(
        self, stamps: dict[str, list[Any]], element: str, present: int, hlc: str, version: int
    ) -> None:
        stamp = stamps.get(element)
        if stamp is None or hlc > stamp[0] or (hlc == stamp[0] and present):
            stamps[element] = [hlc, present, version, self.client]

    def _refresh_set(self, record: Record, name: str) -> bool:
        cleared = record.meta.get(SET_CLEARED, {}).get(name, "")
        visible = sorted(
            e for e, s in record.element_stamps(name).items() if s[1] and s[0] >= cleared
        )
        record.dirty = True  # element stamps changed even when the visible set did not
        if visible == record.fields.get(name):
            return False
        record.fields[name] = visible
        return True

    async def _add(self, args: ElementArgs, hlc: str) -> None:
        await self._element(args, hlc, present=1)

    async def _remove(self, args: ElementArgs, hlc: str) -> None:
        await self._element(args, hlc, present=0)

    async def _element(self, args: ElementArgs, hlc: str, present: int) -> None:
        """`add`/`remove`: per element the later stamp wins; on equal stamps the add."""
        entity = _entity(args.entity)
        field = entity.fields.get(args.field)
        if field is None or field.type != "set":
            raise Rejected(f"{entity.name}.{args.field} is not a set field")
        element = _check_element(f"{entity.name}.{args.field}", args.value)
        record, _ = await self._target(entity, args.id)
        if record is None:
            raise Rejected(f"no {entity.name} {args.id}")
        stamps = record.element_stamps(args.field)
        visible = record.fields.get(args.field) or []
        if present and element not in visible and len(visible) >= MAX_SET_SIZE:
            raise Rejected(f"{entity.name}.{args.field} is full ({MAX_SET_SIZE:,} elements)")
        await self._revive(record, 0, hlc)
        record.version += 1
        self._stamp_element(stamps, element, present, hlc, record.version)
        self._refresh_set(record, args.field)
        record.touched_by(self.client)

    async def _delete(self, args: DeleteArgs, hlc: str) -> None:
        entity = _entity(args.entity)
        _canonical_id(args.id, f"{entity.name} id")
        record = await self.get(args.id)
        if record is None:
            raise Rejected(f"no {entity.name} {args.id}")
        if record.entity != entity.name:
            raise Rejected(f"{args.id} is a {record.entity}, not a {entity.name}")
        if record.deleted:  # deleted already, or merged away: nothing more to do
            return
        if record.edited_since(args.base, self.client):
            await self._conflict(record, None, "kept", "deleted", hlc, self.client)
            return
        self._tombstone(record, hlc)

    def _tombstone(self, record: Record, hlc: str) -> None:
        record.version += 1
        record.deleted = True
        record.meta[DELETE_STAMP] = [hlc, self.client, record.version]
        record.dirty = True

    async def _merge(self, args: MergeArgs, hlc: str) -> None:
        entity = _entity(args.entity)
        if args.id == args.into:
            raise Rejected(f"cannot merge {entity.name} {args.id} into itself")
        _canonical_id(args.into, "into")
        duplicate, _ = await self._target(entity, args.id)
        survivor, _ = await self._target(entity, args.into)
        if duplicate is None:
            raise Rejected(f"no {entity.name} {args.id}")
        if survivor is None:
            raise Rejected(f"no {entity.name} {args.into} to merge into")
        if duplicate is survivor:  # merged before
            return
        if duplicate.deleted or survivor.deleted:
            gone = duplicate if duplicate.deleted else survivor
            raise Rejected(f"{entity.name} {gone.id} was deleted")
        version = survivor.version + 1
        changed = False
        for name, field in entity.fields.items():
            theirs, ours = duplicate.fields.get(name), survivor.fields.get(name)
            if field.type == "set":
                stamps = survivor.element_stamps(name)
                for element in theirs or []:
                    if element not in (ours or []):
                        self._stamp_element(stamps, element, 1, hlc, version)
                changed |= self._refresh_set(survivor, name)
            elif _empty(theirs) or theirs == ours:
                continue
            else:
                # Values move with their own stamps. Where both have one, the survivor's stays
                # unless the duplicate's was written after the merge (by the clocks) and after
                # the survivor's; a later edit naming the duplicate is judged the same way
                # (see MERGE_FLOOR), so the result does not depend on which arrives first.
                their_stamp = duplicate.field_stamp(name) or [hlc, self.client, 0]
                our_stamp = survivor.field_stamp(name)
                moved = [their_stamp[0], their_stamp[1], version]
                if _empty(ours):
                    self._assign(survivor, field, theirs, moved)
                    changed = True
                elif their_stamp[0] > hlc and (our_stamp is None or their_stamp[0] > our_stamp[0]):
                    kept_from = our_stamp or [hlc, self.client, 0]
                    await self._conflict(survivor, name, theirs, ours, kept_from[0], kept_from[1])
                    self._assign(survivor, field, theirs, moved)
                    changed = True
                else:
                    await self._conflict(
                        survivor, name, ours, theirs, their_stamp[0], their_stamp[1]
                    )
                    floors = survivor.meta.setdefault(MERGE_FLOOR, {})
                    floors[name] = max(floors.get(name, ""), hlc)
        if changed:
            survivor.version = version
        await self._repoint(entity, duplicate.id, survivor.id, hlc)
        duplicate.fields[MERGED_INTO] = survivor.id
        self._tombstone(duplicate, hlc)

    async def _repoint(self, entity: Entity, old: str, new: str, hlc: str) -> None:
        """Every reference to a merged-away record now names its survivor."""
        refs = REFERENCES[entity.name]
        if not refs:
            return
        ids = set(await self.backend.referrers(refs, old))
        ids.update(
            r.id
            for r in self.cache.values()
            if r is not None and any(r.entity == e and r.fields.get(f) == old for e, f in refs)
        )
        await self._ensure(ids)
        for record_id in sorted(ids):
            record = self.cache[record_id]
            if record is None:
                continue
            version = record.version + 1
            for ref_entity, name in refs:
                if record.entity == ref_entity and record.fields.get(name) == old:
                    field = ENTITIES[ref_entity].fields[name]
                    self._assign(record, field, new, [hlc, self.client, version])
                    record.version = version

    async def _resolve(self, args: ResolveArgs, hlc: str) -> None:
        conflict = await self.get(_canonical_id(args.conflict, "conflict"))
        if conflict is None or conflict.entity != "conflict":
            raise Rejected(f"no conflict {args.conflict}")
        if conflict.fields.get("status") != "open":
            raise Rejected(f"conflict {args.conflict} is resolved already")
        target = await self.survivor(await self.get(conflict.fields["record_id"]))
        name = conflict.fields.get("field")
        if args.choose != "kept" and target is not None:
            entity = ENTITIES[target.entity]
            if name is None:  # the record was kept over a delete
                if args.choose == "value":
                    raise Rejected("a delete conflict is resolved with kept or lost")
                if not target.deleted:
                    self._tombstone(target, hlc)
            else:
                if args.choose == "value" and args.value is msgspec.UNSET:
                    raise Rejected("choose value needs a value")
                chosen = conflict.fields["lost"] if args.choose == "lost" else args.value
                value = check_value(entity, name, chosen)
                if name in entity.required and _empty(value):
                    raise Rejected(f"{entity.name}.{name} is required and cannot be cleared")
                if entity.fields[name].type == "set":
                    changed = self._set_elements(
                        target, name, value, target.version, hlc, target.version + 1
                    )
                    target.version += int(changed)
                elif target.fields.get(name) != value:
                    target.version += 1
                    self._assign(
                        target, entity.fields[name], value, [hlc, self.client, target.version]
                    )
        conflict.fields["status"] = "resolved"
        conflict.version += 1
        conflict.dirty = True

    async def _conflict(
        self,
        record: Record,
        field: str | None,
        kept: Any,
        lost: Any,
        lost_hlc: str,
        lost_client: str,
    ) -> None:
        """Keep a value that lost as an open conflict record, which syncs like any other."""
        key = f"{record.id}/{field}/{lost_hlc}/{lost_client}"
        conflict_id = str(uuid.uuid5(_CONFLICT_NAMESPACE, key))
        existing = await self.get(conflict_id)
        if existing is not None:
            if existing.fields.get("lost") == lost:
                return  # this loss is kept already (open, or resolved: never reopened)
            # A client used one stamp for two different writes: the second loss is kept in a
            # conflict of its own, and the first (perhaps resolved already) stays as it is.
            key += "/" + msgspec.json.encode(lost).decode()
            conflict_id = str(uuid.uuid5(_CONFLICT_NAMESPACE, key))
            if await self.get(conflict_id) is not None:
                return
        self.cache[conflict_id] = Record(
            "conflict",
            conflict_id,
            version=1,
            fields={
                "entity": record.entity,
                "record_id": record.id,
                "field": field,
                "kept": kept,
                "lost": lost,
                "lost_hlc": lost_hlc,
                "lost_client": lost_client,
                "status": "open",
            },
            dirty=True,
        )


_Applier._handlers = {
    "set": _Applier._set,
    "delete": _Applier._delete,
    "add": _Applier._add,
    "remove": _Applier._remove,
    "merge": _Applier._merge,
    "resolve": _Applier._resolve,
}
