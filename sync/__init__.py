"""Grapevine's sync protocol v1 and merge engine. No web framework in here.

`push` applies a batch of mutations through a storage `Backend`; the wire types, the clock and
the domain schema are re-exported here for the server, the tests and other clients.
"""

from sync._engine import (
    UNKNOWN,
    Backend,
    EnvelopeError,
    Rejected,
    check_value,
    push,
    validate_client_id,
)
from sync._hlc import HLC, MAX_DRIFT_MS, HLCError, format_hlc, parse_hlc, wall_ms
from sync._protocol import (
    DEFAULT_PULL_LIMIT,
    MAX_BODY_BYTES,
    MAX_MUTATIONS,
    MAX_PULL_LIMIT,
    Change,
    Mutation,
    MutationResult,
    PullRequest,
    PullResponse,
    PushError,
    PushRequest,
    PushResponse,
    decode_cursor,
    encode_cursor,
)
from sync._record import Record
from sync._schema import ENTITIES, REFERENCES, Entity, Field
from sync._text import merge_text

__all__ = [
    "DEFAULT_PULL_LIMIT",
    "ENTITIES",
    "HLC",
    "MAX_BODY_BYTES",
    "MAX_DRIFT_MS",
    "MAX_MUTATIONS",
    "MAX_PULL_LIMIT",
    "REFERENCES",
    "UNKNOWN",
    "Backend",
    "Change",
    "Entity",
    "EnvelopeError",
    "Field",
    "HLCError",
    "Mutation",
    "MutationResult",
    "PullRequest",
    "PullResponse",
    "PushError",
    "PushRequest",
    "PushResponse",
    "Record",
    "Rejected",
    "check_value",
    "decode_cursor",
    "encode_cursor",
    "format_hlc",
    "merge_text",
    "parse_hlc",
    "push",
    "validate_client_id",
    "wall_ms",
]
