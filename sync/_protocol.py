"""Protocol v1 wire types (msgspec Structs) and the limits of a request."""

from __future__ import annotations

import base64
from typing import Any, Literal

import msgspec

MAX_MUTATIONS = 1_000
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_PULL_LIMIT = 5_000
DEFAULT_PULL_LIMIT = 500
MAX_CLIENT_ID = 100

MUTATION_NAMES = ("set", "delete", "add", "remove", "merge", "resolve")
MAX_ECHO = 60  # characters of a client's value an error message repeats


def excerpt(value: object, limit: int = MAX_ECHO) -> str:
    """`repr(value)`, cut to `limit` characters: an error names a bad value without echoing
    a megabyte of it back."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def has_nul(value: str) -> bool:
    """Whether a string holds U+0000, which no stored text may (PostgreSQL cannot store it)."""
    return "\x00" in value


class Mutation(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    hlc: str
    name: str
    args: msgspec.Raw
    """Decoded per mutation name, so one malformed mutation is rejected alone."""


class PushRequest(msgspec.Struct, forbid_unknown_fields=True):
    client_id: str
    mutations: list[Mutation]


class MutationResult(msgspec.Struct, omit_defaults=True):
    id: int
    status: Literal["applied", "duplicate", "rejected"]
    error: str | None = None


class PushResponse(msgspec.Struct):
    last_mutation_id: int
    results: list[MutationResult]


class PushError(msgspec.Struct):
    """An envelope error: nothing of the request was applied."""

    status_code: int
    detail: str
    last_mutation_id: int | None


class PullRequest(msgspec.Struct, forbid_unknown_fields=True):
    client_id: str
    cursor: str = ""
    limit: int = DEFAULT_PULL_LIMIT


class Change(msgspec.Struct):
    entity: str
    id: str
    version: int
    deleted: bool
    fields: msgspec.Raw
    """Every field of the entity's schema, as stored: sent without decoding."""


class PullResponse(msgspec.Struct, omit_defaults=True):
    cursor: str
    more: bool
    reset: bool
    last_mutation_id: int
    hlc: str
    changes: list[Change]
    total: int | None = None
    """On a pull from the start (cursor ""): how many changes the whole pull brings, for a
    progress bar. Optional: absent on later pages and from older servers."""


# Arguments of each mutation name.
class SetArgs(msgspec.Struct, forbid_unknown_fields=True):
    entity: str
    id: str
    base: int
    fields: dict[str, Any]


class DeleteArgs(msgspec.Struct, forbid_unknown_fields=True):
    entity: str
    id: str
    base: int


class ElementArgs(msgspec.Struct, forbid_unknown_fields=True):
    entity: str
    id: str
    field: str
    value: str


class MergeArgs(msgspec.Struct, forbid_unknown_fields=True):
    entity: str
    id: str
    into: str


class ResolveArgs(msgspec.Struct, forbid_unknown_fields=True):
    conflict: str
    choose: Literal["kept", "lost", "value"]
    value: Any = msgspec.UNSET


ARGS: dict[str, type[msgspec.Struct]] = {
    "set": SetArgs,
    "delete": DeleteArgs,
    "add": ElementArgs,
    "remove": ElementArgs,
    "merge": MergeArgs,
    "resolve": ResolveArgs,
}


def encode_cursor(epoch: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{epoch}:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int] | None:
    """(epoch, seq) of a cursor this server made, or None for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, epoch, seq = raw.split(":")
        if version != "v1" or not (seq.isascii() and seq.isdigit()):
            return None
        return epoch, int(seq)
    except (ValueError, UnicodeDecodeError):
        return None
