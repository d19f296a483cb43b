"""Users, devices, stores and memberships: the operations the CLI and the HTTP API share."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.guards import HASHING_AT_ONCE
from server.models import Device, Membership, PairingCode, Store, User
from sync._protocol import excerpt

ROLES = ("owner", "editor", "viewer")
PAIRING_TTL_MS = 10 * 60 * 1000
# Unambiguous characters for codes a person reads off one screen and types on another.
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
EMAIL = re.compile(r"[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

_hasher = PasswordHasher()


class AccountError(Exception):
    """A request that names something wrong: an unknown user, a taken email, a bad role."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a device token belongs to."""

    user_id: str
    device_id: str
    email: str


# A device seen more recently than this is not written to again ("last seen") on a request.
TOUCH_EVERY_MS = 60_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_id() -> str:
    return str(uuid.uuid4())


def new_token() -> str:
    return "gv_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens carry 256 random bits, so one SHA-256 is as good as a slow hash for them."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 320 or not EMAIL.fullmatch(email):
        raise AccountError(f"not an email address: {excerpt(email)}")
    return email


def is_id(value: str) -> bool:
    """Whether a path id can name anything: a canonical UUID (nothing else is looked up)."""
    return _CANONICAL_UUID.fullmatch(value) is not None


def check_name(name: str, what: str) -> str:
    """A device or store name: 1 to 200 characters, no NUL (stored text never holds one)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise AccountError(f"a {what} name needs 1 to 200 characters")
    if "\x00" in name:
        raise AccountError(f"a {what} name must not contain U+0000 (a NUL character)")
    return name


def _lower_priority() -> None:
    """Run this hashing thread at nice 10: under a flood of sign-ins, argon2 takes the cores
    the event loop (everyone's sync) leaves idle instead of competing with it as an equal."""
    # Linux: the one thread. Elsewhere, or where it is not allowed: an ordinary thread.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


# argon2 releases the GIL: its own threads (as many as the hashing gate lets run at once)
# keep it off the default pool that Litestar and aiosqlite's hand-offs share.
_hashing_pool = ThreadPoolExecutor(
    max_workers=HASHING_AT_ONCE,
    thread_name_prefix="argon2",
    initializer=_lower_priority,
)


async def _hashing(fn, *args):  # type: ignore[no-untyped-def]
    return await asyncio.get_running_loop().run_in_executor(_hashing_pool, fn, *args)


async def hash_password(password: str) -> str:
    if len(password) < 8:
        raise AccountError("a password needs at least 8 characters")
    return await _hashing(_hasher.hash, password)


# Checked against when there is no real hash, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not anyone's password")


async def password_matches(password_hash: str | None, password: str) -> bool:
    """argon2's check, in a worker thread. Call it holding no database connection."""
    if not password_hash:
        await _hashing(_verify_quietly, _DUMMY_HASH, password)
        return False
    return await _hashing(_verify_quietly, password_hash, password)


def _verify_quietly(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def user_by_email(conn: AsyncConnection, email: str) -> User | None:
    row = (
        await conn.execute(select(User).where(User.email == normalize_email(email)))
    ).one_or_none()
    return row  # type: ignore[return-value]


async def create_user(
    conn: AsyncConnection, email: str, password: str | None = None
) -> tuple[str, str]:
    """A user and their personal store; returns (user_id, store_id)."""
    email = normalize_email(email)
    password_hash = await hash_password(password) if password else None
    user_id = new_id()
    try:
        await conn.execute(
            insert(User).values(
                id=user_id, email=email, password_hash=password_hash, created_ms=now_ms()
            )
        )
    except IntegrityError:
        raise AccountError(f"a user with email {email} exists already", 409) from None
    store_id = await create_store(conn, user_id, f"{email.split('@')[0]}'s network")
    return user_id, store_id


async def set_password(conn: AsyncConnection, user_id: str, password: str) -> None:
    await conn.execute(
        update(User).where(User.id == user_id).values(password_hash=await hash_password(password))
    )


async def create_store(conn: AsyncConnection, owner_id: str, name: str) -> str:
    name = check_name(name, "store")
    store_id = new_id()
    await conn.execute(
        insert(Store).values(
            id=store_id, name=name, seq=0, epoch=secrets.token_hex(8), created_ms=now_ms()
        )
    )
    await conn.execute(insert(Membership).values(store_id=store_id, user_id=owner_id, role="owner"))
    return store_id


async def share_store(conn: AsyncConnection, store_id: str, email: str, role: str) -> str:
    """Give the user with `email` a role in the store (replacing any role they had)."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if (await conn.execute(select(Store.id).where(Store.id == store_id))).first() is None:
        raise AccountError(f"no store {store_id}", 404)
    user = await user_by_email(conn, email)
    if user is None:
        raise AccountError(f"no user with email {normalize_email(email)}", 404)
    await conn.execute(
        delete(Membership).where(Membership.store_id == store_id, Membership.user_id == user.id)
    )
    await conn.execute(insert(Membership).values(store_id=store_id, user_id=user.id, role=role))
    return user.id


async def create_device(conn: AsyncConnection, user_id: str, name: str) -> tuple[str, str]:
    """A device for the user; returns (device_id, token). The token is shown once."""
    name = check_name(name, "device")
    device_id, token = new_id(), new_token()
    await conn.execute(
        insert(Device).values(
            id=device_id,
            user_id=user_id,
            name=name,
            token_hash=hash_token(token),
            created_ms=now_ms(),
        )
    )
    return device_id, token


async def caller_for_token(conn: AsyncConnection, token: str) -> Caller | None:
    row = (
        await conn.execute(
            select(Device.id, Device.user_id, User.email)
            .join(User, User.id == Device.user_id)
            .where(Device.token_hash == hash_token(token), Device.revoked_ms.is_(None))
        )
    ).one_or_none()
    if row is None:
        return None
    return Caller(user_id=row.user_id, device_id=row.id, email=row.email)


async def touch_device(conn: AsyncConnection, device_id: str) -> None:
    await conn.execute(update(Device).where(Device.id == device_id).values(last_seen_ms=now_ms()))


async def list_devices(conn: AsyncConnection, user_id: str) -> list[dict[str, object]]:
    rows = await conn.execute(
        select(Device.id, Device.name, Device.created_ms, Device.last_seen_ms)
        .where(Device.user_id == user_id, Device.revoked_ms.is_(None))
        .order_by(Device.created_ms)
    )
    return [dict(r._mapping) for r in rows]


async def revoke_device(conn: AsyncConnection, user_id: str, device_id: str) -> bool:
    result = await conn.execute(
        update(Device)
        .where(Device.id == device_id, Device.user_id == user_id, Device.revoked_ms.is_(None))
        .values(revoked_ms=now_ms())
    )
    return result.rowcount == 1


async def role_in_store(conn: AsyncConnection, user_id: str, store_id: str) -> str | None:
    return (
        await conn.execute(
            select(Membership.role).where(
                Membership.store_id == store_id, Membership.user_id == user_id
            )
        )
    ).scalar_one_or_none()


async def stores_of(conn: AsyncConnection, user_id: str) -> list[dict[str, str]]:
    rows = await conn.execute(
        select(Store.id, Store.name, Membership.role)
        .join(Membership, Membership.store_id == Store.id)
        .where(Membership.user_id == user_id)
        .order_by(Store.created_ms, Store.id)
    )
    return [{"id": r.id, "name": r.name, "role": r.role} for r in rows]


async def password_hash_of(conn: AsyncConnection, email: str) -> tuple[str | None, str | None]:
    """(user id, password hash) for an email, or (None, None): one short read."""
    row = (
        await conn.execute(
            select(User.id, User.password_hash).where(User.email == normalize_email(email))
        )
    ).one_or_none()
    return (row.id, row.password_hash) if row else (None, None)


def _new_pairing_code() -> str:
    raw = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def _normalize_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


async def create_pairing_code(conn: AsyncConnection, caller: Caller) -> tuple[str, int]:
    """A one-time code for a new device of the caller's user; returns (code, expires_ms)."""
    code = _new_pairing_code()
    expires = now_ms() + PAIRING_TTL_MS
    await conn.execute(
        insert(PairingCode).values(
            code_hash=hash_token(_normalize_code(code)),
            user_id=caller.user_id,
            issued_by=caller.device_id,
            expires_ms=expires,
        )
    )
    return code, expires


def pairing_code_hash(code: str) -> str | None:
    """The stored form of a typed code, or None when it cannot be one (refused unread)."""
    normalized = _normalize_code(code)
    if len(normalized) != 8 or any(c not in PAIRING_ALPHABET for c in normalized):
        return None
    return hash_token(normalized)


async def pairing_code_usable(conn: AsyncConnection, code_hash: str) -> bool:
    """A read: whether a code could be redeemed now (no write lock to refuse a wrong one)."""
    issuer_active = (
        select(Device.id)
        .where(Device.id == PairingCode.issued_by, Device.revoked_ms.is_(None))
        .exists()
    )
    row = (
        await conn.execute(
            select(PairingCode.code_hash).where(
                PairingCode.code_hash == code_hash,
                PairingCode.used_ms.is_(None),
                PairingCode.expires_ms > now_ms(),
                issuer_active,
            )
        )
    ).first()
    return row is not None


async def redeem_pairing_code(
    conn: AsyncConnection, code: str, device_name: str
) -> tuple[str, str, str]:
    """Use a pairing code once; returns (user_id, device_id, token)."""
    now = now_ms()
    issuer_active = (
        select(Device.id)
        .where(Device.id == PairingCode.issued_by, Device.revoked_ms.is_(None))
        .exists()
    )
    claimed = (
        await conn.execute(
            update(PairingCode)
            .where(
                PairingCode.code_hash == hash_token(_normalize_code(code)),
                PairingCode.used_ms.is_(None),
                PairingCode.expires_ms > now,
                issuer_active,  # signing out the device that showed the code cancels it
            )
            .values(used_ms=now)
            .returning(PairingCode.user_id)
        )
    ).scalar_one_or_none()
    if claimed is None:
        raise AccountError("this pairing code is unknown, used or expired", 400)
    await conn.execute(delete(PairingCode).where(PairingCode.expires_ms < now - PAIRING_TTL_MS))
    device_id, token = await create_device(conn, claimed, device_name)
    return claimed, device_id, token
