"""Bearer-token authentication and the sign-in, pairing and device routes."""

from __future__ import annotations

import msgspec
import segno
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath, JSONBody

from server import accounts
from server.accounts import Caller
from server.database import write_transaction
from server.deps import CallerDep, EngineDep, SettingsDep
from server.guards import Busy, client_address, guards_of, login_address_guard, pairing_guard
from server.live import LiveDep
from server.openapi import BEARER, PUBLIC, errors
from server.settings import Settings
from sync._protocol import excerpt

_last_touch: dict[str, int] = {}


def bearer_token(request: Request) -> str:
    """The token of `Authorization: Bearer <token>`, or 401 when there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException(
            "missing device token: send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token


def unknown_token() -> NotAuthorizedException:
    return NotAuthorizedException(
        "unknown or revoked device token", headers={"WWW-Authenticate": "Bearer"}
    )


async def provide_caller(request: Request, engine: EngineDep) -> Caller:
    """The device behind `Authorization: Bearer <token>`, or 401.

    Read from the database on every request (no cache): a device revoked, on any worker,
    is refused from the revoking transaction's COMMIT on. A push checks its token inside its
    own transaction instead (server.sync_routes), with the same effect."""
    token = bearer_token(request)
    async with engine.connect() as conn:
        caller = await accounts.caller_for_token(conn, token)
    if caller is None:
        raise unknown_token()
    now = accounts.now_ms()
    if now - _last_touch.get(caller.device_id, 0) > accounts.TOUCH_EVERY_MS:
        _last_touch[caller.device_id] = now
        if len(_last_touch) > 100_000:
            _last_touch.clear()
        try:  # "last seen" is a courtesy: never make a request wait long for it
            async with write_transaction(engine, budget_s=1) as conn:
                await accounts.touch_device(conn, caller.device_id)
        except Busy:
            _last_touch.pop(caller.device_id, None)
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

    @post(
        "/login",
        status_code=200,
        security=PUBLIC,
        responses=errors(400, 401, 413, 429, 503),
        response_headers=[ResponseHeader(name="Cache-Control", value="no-store")],
        guards=[login_address_guard],
    )
    async def login(
        self, request: Request, data: JSONBody[LoginRequest], engine: EngineDep
    ) -> DeviceToken:
        """Sign in with email and password; answers a new device token, shown once.

        Repeated failures for one email, many attempts from one address and more sign-ins
        at once than the server can check are answered 429 with Retry-After. Devices signed
        in already are never affected.
        """
        guards = guards_of(request)
        email = accounts.normalize_email(data.email)
        device_name = accounts.check_name(data.device_name, "device")
        with guards.login_by_email.attempt(email) as attempt:
            # A place at the hashing gate first: beyond what it can check, a sign-in is
            # refused before it takes a pooled connection (a flood of 400 took the pool from
            # everyone's sync for a second). Then one short read, and argon2 with no
            # connection held.
            async with guards.hashing.slot():
                async with engine.connect() as conn:
                    user_id, password_hash = await accounts.password_hash_of(conn, email)
                matches = await accounts.password_matches(password_hash, data.password)
            attempt.result(matches and user_id is not None)
        if not attempt.succeeded:
            raise accounts.AccountError("wrong email or password", 401)
        async with write_transaction(engine) as conn:
            device_id, token = await accounts.create_device(conn, user_id, device_name)
        return DeviceToken(user_id=user_id, device_id=device_id, token=token)

    @post(
        "/pairing",
        status_code=201,
        security=BEARER,
        responses=errors(401, 503),
        response_headers=[ResponseHeader(name="Cache-Control", value="no-store")],
    )
    async def create_pairing(
        self, request: Request, caller: CallerDep, engine: EngineDep, settings: SettingsDep
    ) -> PairingCode:
        """A one-time code (valid 10 minutes) with which a new device joins this user."""
        async with write_transaction(engine) as conn:
            code, expires = await accounts.create_pairing_code(conn, caller)
        url = f"{public_base(request, settings)}/pair#{code}"
        qr = segno.make(url, error="m").svg_data_uri(scale=6, border=2, dark="#2d1b4e")
        return PairingCode(code=code, expires_at=expires, url=url, qr=qr)

    @post(
        "/pair",
        status_code=200,
        security=PUBLIC,
        responses=errors(400, 413, 429, 503),
        response_headers=[ResponseHeader(name="Cache-Control", value="no-store")],
        guards=[pairing_guard],
    )
    async def pair(
        self, request: Request, data: JSONBody[PairRequest], engine: EngineDep
    ) -> DeviceToken:
        """Redeem a pairing code for this device's own token.

        Wrong codes are limited per address and in all (429 with Retry-After).
        """
        guards = guards_of(request)
        address = client_address(request)  # checked by pairing_guard before the body was read
        device_name = accounts.check_name(data.device_name, "device")
        code_hash = accounts.pairing_code_hash(data.code)
        usable = False
        if code_hash is not None:
            async with engine.connect() as conn:  # a read: a wrong guess takes no write lock
                usable = await accounts.pairing_code_usable(conn, code_hash)
        if not usable:
            guards.wrong_pairing_code(address)
            raise accounts.AccountError("this pairing code is unknown, used or expired", 400)
        async with write_transaction(engine) as conn:
            user_id, device_id, token = await accounts.redeem_pairing_code(
                conn, data.code, device_name
            )
        return DeviceToken(user_id=user_id, device_id=device_id, token=token)

    @post("/logout", status_code=204, security=BEARER, responses=errors(401, 503))
    async def logout(self, caller: CallerDep, engine: EngineDep, live: LiveDep) -> None:
        """Revoke the calling device's token."""
        async with write_transaction(engine) as conn:
            await accounts.revoke_device(conn, caller.user_id, caller.device_id)
            await live.announce_revoked(conn, caller.device_id)
        live.revoke(caller.device_id)

    @get("/devices", security=BEARER, responses=errors(401))
    async def devices(self, caller: CallerDep, engine: EngineDep) -> list[DeviceInfo]:
        """The caller's signed-in devices."""
        async with engine.connect() as conn:
            rows = await accounts.list_devices(conn, caller.user_id)
        return [DeviceInfo(**row, current=row["id"] == caller.device_id) for row in rows]

    @delete(
        "/devices/{device_id:str}",
        status_code=204,
        security=BEARER,
        responses=errors(401, 404, 503),
    )
    async def revoke(
        self, caller: CallerDep, engine: EngineDep, live: LiveDep, device_id: FromPath[str]
    ) -> None:
        """Revoke one of the caller's devices; its token stops working at once, and its live
        event streams close."""
        if not accounts.is_id(device_id):
            raise NotFoundException(f"no device {excerpt(device_id)}")
        async with write_transaction(engine) as conn:
            if not await accounts.revoke_device(conn, caller.user_id, device_id):
                raise NotFoundException(f"no device {device_id}")
            await live.announce_revoked(conn, device_id)
        live.revoke(device_id)


def public_base(request: Request, settings: Settings) -> str:
    """Where a new device reaches this server, for the pairing link. Never just the Host
    header (anyone can send `Host: evil.test`): the configured public URL; else the origin
    the browser says it is on, when it is this very host; else this host when it is
    loopback; else no host at all (a relative link, the code still works typed in)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    base = str(request.base_url).rstrip("/")
    origin = request.headers.get("origin", "")
    if origin and origin.rstrip("/") == base:
        return base
    if request.url.hostname in ("localhost", "127.0.0.1", "::1", "[::1]"):
        return base
    return ""


def account_error_handler(_: Request, exc: accounts.AccountError) -> Response:
    return Response({"status_code": exc.status, "detail": str(exc)}, status_code=exc.status)
