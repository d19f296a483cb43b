"""What the OpenAPI document says about security and error answers, in one place."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
    SecurityRequirement,
)

import sync
from sync._protocol import MAX_CLIENT_ID, MUTATION_NAMES

BEARER: list[SecurityRequirement] = [{"device_token": []}]
PUBLIC: list[SecurityRequirement] = []  # open to anyone: no token is asked for


class ErrorBody(msgspec.Struct):
    """Every error but a push's: the status again and a message saying what is wrong."""

    status_code: int
    detail: str


_WHY = {
    400: "The request is malformed or a value is invalid; `detail` says which.",
    401: "No device token, or an unknown or revoked one (with `WWW-Authenticate: Bearer`).",
    403: "The caller may not do this (a viewer writing, a client_id of another device).",
    404: "Not found, or not a store the caller is a member of.",
    409: "A gap in mutation ids: `last_mutation_id` says where to continue.",
    413: "The body is too large (or, for a push, has too many mutations).",
    429: "Too many attempts: wait as long as `Retry-After` says.",
    503: "The server is busy (a lock or the database): nothing changed; retry after `Retry-After`.",
}


def errors(*statuses: int, body: type = ErrorBody) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(data_container=body, description=_WHY[status], generate_examples=False)
        for status in statuses
    }


def push_errors(*statuses: int) -> dict[int, ResponseSpec]:
    return errors(*statuses, body=sync.PushError)


# ----- request bodies the handlers decode themselves (strictly, with their own errors) -----

_CLIENT_ID = Schema(
    type=OpenAPIType.STRING,
    min_length=1,
    max_length=MAX_CLIENT_ID,
    pattern=r"^\S+$",
    description="This install's id: printable, no white space.",
)
_MUTATION = Schema(
    type=OpenAPIType.OBJECT,
    required=["id", "hlc", "name", "args"],
    properties={
        "id": Schema(type=OpenAPIType.INTEGER, minimum=1, description="This client's number."),
        "hlc": Schema(
            type=OpenAPIType.STRING,
            pattern=r"^[0-9]{13}-[0-9a-f]{4}-\S+$",
            description="<13-digit ms>-<4 hex digits>-<client_id>, ASCII digits only.",
        ),
        "name": Schema(type=OpenAPIType.STRING, enum=list(MUTATION_NAMES)),
        "args": Schema(
            type=OpenAPIType.OBJECT,
            description="Per name (docs/protocol.md §4); bad args reject only this mutation.",
        ),
    },
    additional_properties=False,
)
PUSH_BODY = Schema(
    type=OpenAPIType.OBJECT,
    required=["client_id", "mutations"],
    properties={
        "client_id": _CLIENT_ID,
        "mutations": Schema(type=OpenAPIType.ARRAY, items=_MUTATION, max_items=sync.MAX_MUTATIONS),
    },
    additional_properties=False,
)
PULL_BODY = Schema(
    type=OpenAPIType.OBJECT,
    required=["client_id"],
    properties={
        "client_id": _CLIENT_ID,
        "cursor": Schema(type=OpenAPIType.STRING, description='"" for the start.'),
        "limit": Schema(
            type=OpenAPIType.INTEGER,
            minimum=1,
            default=sync.DEFAULT_PULL_LIMIT,
            description=f"Changes per page (at most {sync.MAX_PULL_LIMIT:,} are sent).",
        ),
    },
    additional_properties=False,
)


def _with_body(schema: Schema, description: str) -> type[Operation]:
    @dataclass
    class WithBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                content={"application/json": OpenAPIMediaType(schema=schema)},
                required=True,
                description=description,
            )

    return WithBody


push_operation = _with_body(PUSH_BODY, "A batch of mutations (docs/protocol.md §3).")
pull_operation = _with_body(PULL_BODY, "Where to continue and how much to send.")
