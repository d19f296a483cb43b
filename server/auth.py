"""Bearer-token authentication and the sign-in, pairing and device routes."""

from __future__ import annotations

import msgspec
import segno
from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath, JSONBody

from server import accounts
from server.accounts import Caller
from server.database import write_transaction
from server.deps import CallerDep, EngineDep

# A device seen more recently than this is not written to again on each request.
_TOUCH_EVERY_MS = 60_000
_last_touch: dict[str, int] = {}


async def provide_caller(request: Request, engine: EngineDep) -> Caller:
    """The device behind `Authorization: Bearer <token>`, or 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException(
            "missing device token: send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    async with engine.connect() as conn:
        caller = await accounts.caller_for_token(conn, token)
    if caller is None:
        raise NotAuthorizedException(
            "unknown or revoked device token", headers={"WWW-Authenticate": "Bearer"}
        )
    now = accounts.now_ms()
    if now - _last_touch.get(caller.device_id, 0) > _TOUCH_EVERY_MS:
        _last_touch[caller.device_id] = now
        async with write_transaction(engine) as conn:
            await accounts.touch_device(conn, caller.device_id)
    return caller


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str
    device_name: str = "Web browser"


class PairRequest(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    device_name: str = "New device"


class DeviceToken(msgspec.Struct):
    user_id: str
    device_id: str
    token: str


class PairingCode(msgspec.Struct):
    code: str
    expires_at: int
    """Milliseconds since the epoch."""
    url: str
    """Open this link on the new device to pair it."""
    qr: str
    """The link as a QR code: an SVG `data:` URI, for an <img>."""


class DeviceInfo(msgspec.Struct):
    id: str
    name: str
    created_ms: int
    last_seen_ms: int | None
    current: bool


class AuthController(Controller):
    path = "/api"
    tags = ["auth"]

    @post("/login", status_code=200)
    async def login(self, data: JSONBody[LoginRequest], engine: EngineDep) -> DeviceToken:
        """Sign in with email and password; answers a new device token, shown once.

        Repeated failures for one email are slowed down (429 with Retry-After).
        """
        async with engine.connect() as conn:
            user_id = await accounts.check_password(conn, data.email, data.password)
        async with write_transaction(engine) as conn:
            signed_in = await accounts.record_login(conn, data.email, user_id, data.device_name)
        if signed_in is None:
            raise accounts.AccountError("wrong email or password", 401)
        user_id, device_id, token = signed_in
        return DeviceToken(user_id=user_id, device_id=device_id, token=token)

    @post("/pairing", status_code=201)
    async def create_pairing(
        self, request: Request, caller: CallerDep, engine: EngineDep
    ) -> PairingCode:
        """A one-time code (valid 10 minutes) with which a new device joins this user."""
        async with write_transaction(engine) as conn:
            code, expires = await accounts.create_pairing_code(conn, caller)
        url = f"{str(request.base_url).rstrip('/')}/pair#{code}"
        qr = segno.make(url, error="m").svg_data_uri(scale=6, border=2, dark="#2d1b4e")
        return PairingCode(code=code, expires_at=expires, url=url, qr=qr)

    @post("/pair", status_code=200)
    async def pair(self, data: JSONBody[PairRequest], engine: EngineDep) -> DeviceToken:
        """Redeem a pairing code for this device's own token."""
        async with write_transaction(engine) as conn:
            user_id, device_id, token = await accounts.redeem_pairing_code(
                conn, data.code, data.device_name
            )
        return DeviceToken(user_id=user_id, device_id=device_id, token=token)

    @post("/logout", status_code=204)
    async def logout(self, caller: CallerDep, engine: EngineDep) -> None:
        """Revoke the calling device's token."""
        async with write_transaction(engine) as conn:
            await accounts.revoke_device(conn, caller.user_id, caller.device_id)

    @get("/devices")
    async def devices(self, caller: CallerDep, engine: EngineDep) -> list[DeviceInfo]:
        """The caller's signed-in devices."""
        async with engine.connect() as conn:
            rows = await accounts.list_devices(conn, caller.user_id)
        return [DeviceInfo(**row, current=row["id"] == caller.device_id) for row in rows]

    @delete("/devices/{device_id:str}", status_code=204)
    async def revoke(self, caller: CallerDep, engine: EngineDep, device_id: FromPath[str]) -> None:
        """Revoke one of the caller's devices; its token stops working at once."""
        async with write_transaction(engine) as conn:
            if not await accounts.revoke_device(conn, caller.user_id, device_id):
                raise NotFoundException(f"no device {device_id}")


def account_error_handler(_: Request, exc: accounts.AccountError) -> Response:
    headers = {}
    if isinstance(exc, accounts.LoginThrottled):
        headers["Retry-After"] = str(exc.retry_after_s)
    return Response(
        {"status_code": exc.status, "detail": str(exc)}, status_code=exc.status, headers=headers
    )
