"""Store routes and the membership checks every store route makes."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncConnection

from server import accounts
from server.database import write_transaction
from server.deps import CallerDep, EngineDep
from server.openapi import BEARER, errors
from sync._protocol import excerpt

WRITERS = ("owner", "editor")


async def require_role(
    conn: AsyncConnection, caller: CallerDep, store_id: str, *, write: bool = False
) -> str:
    """The caller's role in the store; 404 when not a member (existence is not revealed)."""
    if not accounts.is_id(store_id):  # not a store id at all: nothing to look up
        raise NotFoundException(f"no store {excerpt(store_id)}")
    role = await accounts.role_in_store(conn, caller.user_id, store_id)
    if role is None:
        raise NotFoundException(f"no store {store_id}")
    if write and role not in WRITERS:
        raise PermissionDeniedException(f"a {role} of this store cannot write to it")
    return role


class StoreInfo(msgspec.Struct):
    id: str
    name: str
    role: str


class NewStore(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class StoreController(Controller):
    path = "/api/stores"
    tags = ["stores"]
    security = BEARER

    @get("/", responses=errors(401))
    async def list_stores(self, caller: CallerDep, engine: EngineDep) -> list[StoreInfo]:
        """The caller's stores with the caller's role in each."""
        async with engine.connect() as conn:
            return [StoreInfo(**s) for s in await accounts.stores_of(conn, caller.user_id)]

    @post("/", status_code=201, responses=errors(400, 401, 413, 503))
    async def create_store(
        self, data: JSONBody[NewStore], caller: CallerDep, engine: EngineDep
    ) -> StoreInfo:
        """A new store owned by the caller."""
        async with write_transaction(engine) as conn:
            store_id = await accounts.create_store(conn, caller.user_id, data.name)
        return StoreInfo(id=store_id, name=data.name.strip(), role="owner")
