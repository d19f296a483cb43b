"""Users, devices, stores and memberships: the operations the CLI and the HTTP API share."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.models import Device, LoginFailure, Membership, PairingCode, Store, User

ROLES = ("owner", "editor", "viewer")
PAIRING_TTL_MS = 10 * 60 * 1000
# Unambiguous characters for codes a person reads off one screen and types on another.
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Failed logins per email before each further attempt must wait, and the longest wait.
FREE_FAILURES = 5
MAX_LOCKOUT_MS = 15 * 60 * 1000

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
    if not EMAIL.match(email) or len(email) > 320:
        raise AccountError(f"not an email address: {email!r}")
    return email


async def hash_password(password: str) -> str:
    if len(password) < 8:
        raise AccountError("a password needs at least 8 characters")
    return await anyio.to_thread.run_sync(_hasher.hash, password)


# Checked against when there is no real hash, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not anyone's password")


async def _password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        await anyio.to_thread.run_sync(_verify_quietly, _DUMMY_HASH, password)
        return False
    return await anyio.to_thread.run_sync(_verify_quietly, password_hash, password)


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
    name = name.strip()
    if not name or len(name) > 200:
        raise AccountError("a store name needs 1 to 200 characters")
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
    name = name.strip()
    if not name or len(name) > 200:
        raise AccountError("a device name needs 1 to 200 characters")
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


async def check_password(conn: AsyncConnection, email: str, password: str) -> str | None:
    """The user id if the password is right, else None. Reads only: argon2's ~0.1 s must not
    hold the database's write lock (on SQLite every push waits for it).

    After FREE_FAILURES consecutive failures for an email, each further attempt must wait
    twice as long as the one before (up to MAX_LOCKOUT_MS), whether or not it is right.
    """
    email = normalize_email(email)
    failure = (
        await conn.execute(select(LoginFailure).where(LoginFailure.email == email))
    ).one_or_none()
    if failure is not None and failure.failures >= FREE_FAILURES:
        wait = min(MAX_LOCKOUT_MS, 1000 * 2 ** (failure.failures - FREE_FAILURES))
        remaining = failure.last_ms + wait - now_ms()
        if remaining > 0:
            raise LoginThrottled(remaining)
    user = await user_by_email(conn, email)
    matches = await _password_matches(user.password_hash if user else None, password)
    return user.id if user is not None and matches else None


async def record_login(
    conn: AsyncConnection, email: str, user_id: str | None, device_name: str
) -> tuple[str, str, str] | None:
    """After check_password: a device for a right password, a counted failure for a wrong one.
    Returns (user_id, device_id, token), or None for a failure (commit it all the same)."""
    email = normalize_email(email)
    now = now_ms()
    if user_id is None:
        # Failures a day old no longer slow anyone down: forget them (the table stays small).
        await conn.execute(delete(LoginFailure).where(LoginFailure.last_ms < now - 86_400_000))
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(LoginFailure).values(email=email, failures=1, last_ms=now)
        # One atomic increment: parallel guesses each count, none fails on a duplicate row.
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[LoginFailure.email],
                set_={"failures": LoginFailure.failures + 1, "last_ms": now},
            )
        )
        return None
    await conn.execute(delete(LoginFailure).where(LoginFailure.email == email))
    device_id, token = await create_device(conn, user_id, device_name)
    return user_id, device_id, token


class LoginThrottled(AccountError):
    def __init__(self, remaining_ms: int) -> None:
        super().__init__("too many failed sign-ins for this email: wait and try again", 429)
        self.retry_after_s = max(1, -(-remaining_ms // 1000))


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
