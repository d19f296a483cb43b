"""Grapevine's sync protocol v1 and merge engine. No web framework in here.

`push` applies a batch of mutations through a storage `Backend`; the wire types, the clock and
the domain schema are re-exported here for the server, the tests and other clients.
`SyncClient` is a client of the protocol (httpx) over a local `Replica` (SQLite), with the web
client's rebase (`view`), quick capture (`plan_capture`) and a Markdown `Vault`.
"""

from sync._capture import Capture, plan_capture
from sync._client import (
    PullReport,
    PushReport,
    SignedOut,
    SyncClient,
    SyncError,
    SyncReport,
    Unreachable,
    normalize_server,
)
from sync._engine import (
    UNKNOWN,
    Backend,
    EnvelopeError,
    Prepared,
    Rejected,
    check_value,
    prepare,
    push,
    validate_client_id,
)
from sync._hlc import HLC, MAX_DRIFT_MS, HLCError, format_hlc, parse_hlc, wall_ms
from sync._ids import new_id
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
from sync._replica import Refused, Replica, Session
from sync._schema import ENTITIES, REFERENCES, Entity, Field
from sync._text import merge_text
from sync._vault import Vault, VaultReport
from sync._view import apply_mutation, live, open_conflicts, view

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
    "Capture",
    "Change",
    "Entity",
    "EnvelopeError",
    "Field",
    "HLCError",
    "Mutation",
    "MutationResult",
    "Prepared",
    "PullReport",
    "PullRequest",
    "PullResponse",
    "PushError",
    "PushReport",
    "PushRequest",
    "PushResponse",
    "Record",
    "Refused",
    "Rejected",
    "Replica",
    "Session",
    "SignedOut",
    "SyncClient",
    "SyncError",
    "SyncReport",
    "Unreachable",
    "Vault",
    "VaultReport",
    "apply_mutation",
    "check_value",
    "decode_cursor",
    "encode_cursor",
    "format_hlc",
    "live",
    "merge_text",
    "new_id",
    "normalize_server",
    "open_conflicts",
    "parse_hlc",
    "plan_capture",
    "prepare",
    "push",
    "validate_client_id",
    "view",
    "wall_ms",
]
