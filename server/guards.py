"""What keeps hostile traffic from hurting anyone else: rate limits, the password-hashing gate,
the write-lock budget, security headers on every answer, and one-line logs for client errors.

Everything here is in memory and bounded: a flood of made-up emails or addresses never grows
the database, and no table of them grows without limit either. The limits are per server
process (with several workers each keeps its own, which multiplies them by the worker count).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler
from litestar.types import Message, Scope

# Failed sign-ins per email before each further attempt must wait, and the longest wait.
FREE_FAILURES = 5
MAX_LOCKOUT_S = 15 * 60
# Sign-in attempts per client address: a burst, then one every LOGIN_REFILL_S seconds.
LOGIN_BURST = 30
LOGIN_REFILL_S = 2.0
# Wrong pairing codes per client address, and in all (the code space as a whole).
PAIR_BURST = 10
PAIR_REFILL_S = 6.0
PAIR_GLOBAL_BURST = 120
PAIR_GLOBAL_REFILL_S = 0.5
# argon2 needs 64 MiB and ~0.1 s of a core per check: run a few at once (half the cores, so
# the event loop serving everyone's sync keeps one), queue a few more.
HASHING_AT_ONCE = max(1, (os.cpu_count() or 2) // 2)
HASHING_QUEUE = 16
# How long a writer waits for the database's write lock (SQLite) or a store's row lock
# (PostgreSQL) before it is answered 503 with Retry-After.
LOCK_BUDGET_S = 10.0
# Remembered keys (emails, addresses) per limiter: the oldest are forgotten first.
MAX_KEYS = 50_000


class TooMany(HTTPException):
    """429 with Retry-After: slow down."""

    status_code = 429

    def __init__(self, detail: str, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(detail=detail, headers={"Retry-After": str(seconds)})
        self.retry_after_s = seconds


class Busy(HTTPException):
    """503 with Retry-After: the server is busy right now, the request changed nothing."""

    status_code = 503

    def __init__(self, detail: str, retry_after_s: float = 2) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(detail=detail, headers={"Retry-After": str(seconds)})
        self.retry_after_s = seconds


class TokenBucket:
    """Per key, at most `burst` events at once, refilled one per `refill_s` seconds."""

    def __init__(self, burst: int, refill_s: float, max_keys: int = MAX_KEYS) -> None:
        self.burst = burst
        self.refill_s = refill_s
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float | None = None) -> float:
        """0 if the event may happen (it is counted), else the seconds until it may."""
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) / self.refill_s)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) * self.refill_s
        self._buckets[key] = (tokens - 1, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return 0.0

    def wait(self, key: str, now: float | None = None) -> float:
        """The seconds until `key` may act again, without counting anything."""
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) / self.refill_s)
        return 0.0 if tokens >= 1 else (1 - tokens) * self.refill_s


@dataclass(slots=True)
class _Failures:
    failures: int = 0
    in_flight: int = 0
    last: float = 0.0


class LoginThrottle:
    """Consecutive failed sign-ins per email; after FREE_FAILURES each attempt waits twice as
    long as the one before (up to MAX_LOCKOUT_S), right password or not.

    An attempt is counted as a failure from the moment it starts until its check says
    otherwise, so parallel guesses cannot slip past the limit while the others are hashed.
    """

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._emails: OrderedDict[str, _Failures] = OrderedDict()

    @staticmethod
    def _wait(charged: int) -> float:
        if charged < FREE_FAILURES:
            return 0.0
        return min(MAX_LOCKOUT_S, 2.0 ** (charged - FREE_FAILURES))

    @contextmanager
    def attempt(self, email: str) -> Iterator[_Attempt]:
        now = time.monotonic()
        state = self._emails.pop(email, None) or _Failures()
        self._emails[email] = state
        while len(self._emails) > self.max_keys:
            self._emails.popitem(last=False)
        remaining = state.last + self._wait(state.failures + state.in_flight) - now
        if remaining > 0:
            raise TooMany(
                "Too many failed sign-ins for this email. Try again in "
                f"{math.ceil(remaining)} s, or pair this device instead: on a device that is "
                "signed in, open Settings → Add a device, and enter its code here.",
                remaining,
            )
        state.in_flight += 1
        state.last = now
        outcome = _Attempt()
        try:
            yield outcome
        finally:
            state.in_flight -= 1
            if outcome.succeeded:
                self._emails.pop(email, None)
            elif outcome.checked:
                state.failures += 1
                state.last = time.monotonic()

    def failures(self, email: str) -> int:
        state = self._emails.get(email)
        return state.failures if state else 0


@dataclass(slots=True)
class _Attempt:
    checked: bool = False
    succeeded: bool = False

    def result(self, succeeded: bool) -> None:
        self.checked = True
        self.succeeded = succeeded


class HashingGate:
    """At most `at_once` password checks run, `queue` more wait; beyond that, 429 at once."""

    def __init__(self, at_once: int = HASHING_AT_ONCE, queue: int = HASHING_QUEUE) -> None:
        self.queue = queue
        self._slots = asyncio.Semaphore(at_once)
        self._waiting = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._slots.locked() and self._waiting >= self.queue:
            raise TooMany("The server is busy checking other sign-ins: try again shortly.", 2)
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()


@dataclass
class Guards:
    """The limits of one app (tests get fresh ones with each app)."""

    login_by_address: TokenBucket = field(
        default_factory=lambda: TokenBucket(LOGIN_BURST, LOGIN_REFILL_S)
    )
    login_by_email: LoginThrottle = field(default_factory=LoginThrottle)
    pair_by_address: TokenBucket = field(
        default_factory=lambda: TokenBucket(PAIR_BURST, PAIR_REFILL_S)
    )
    pair_overall: TokenBucket = field(
        default_factory=lambda: TokenBucket(PAIR_GLOBAL_BURST, PAIR_GLOBAL_REFILL_S, 1)
    )
    hashing: HashingGate = field(default_factory=HashingGate)

    def check_login_address(self, address: str) -> None:
        wait = self.login_by_address.take(address)
        if wait:
            raise TooMany("Too many sign-in attempts from this address: slow down.", wait)

    def check_pairing(self, address: str) -> None:
        """Refuse a pairing attempt while this address, or everyone, guessed wrong too often."""
        wait = max(self.pair_by_address.wait(address), self.pair_overall.wait("*"))
        if wait:
            raise TooMany("Too many wrong pairing codes: wait, then type the code again.", wait)

    def wrong_pairing_code(self, address: str) -> None:
        self.pair_by_address.take(address)
        self.pair_overall.take("*")


def guards_of(request: ASGIConnection) -> Guards:
    return request.app.state.guards


# Route guards: they run before Litestar reads or decodes the body, so a refused attempt
# costs a token-bucket look-up and a short 429, not a parse of whatever was sent.


def login_address_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    guards_of(connection).check_login_address(client_address(connection))


def pairing_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    guards_of(connection).check_pairing(client_address(connection))


def client_address(request: ASGIConnection) -> str:
    client = request.client
    return client.host if client else "unknown"


# ----- answers and logs ---------------------------------------------------------------------


def security_headers_hook(headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """A before_send hook: every answer carries the security headers, errors included."""
    encoded = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    names = {k for k, _ in encoded}

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        present = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
        message["headers"] = [*present, *encoded]

    return before_send


def status_of(exc: Exception) -> int:
    from server.database import is_busy  # (database imports this module)

    status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    if isinstance(status, int):
        return status
    if is_busy(exc):
        return 503
    return _MAPPED.get(type(exc), (500, ""))[0]


def log_exception(logger_of_scope):  # type: ignore[no-untyped-def]
    """An after_exception hook: a client's error is one line at info, a 5xx its traceback."""

    async def after_exception(exc: Exception, scope: Scope) -> None:
        logger = logger_of_scope(scope)
        status = status_of(exc)
        method = scope.get("method", "")
        path = scope.get("path", "")
        if status < 500:
            detail = str(getattr(exc, "detail", "") or exc).replace("\n", " ")[:200]
            logger.info("%s %s %s: %s", status, method, path, detail)
        elif status == 503:
            logger.warning("%s %s %s: %s", status, method, path, getattr(exc, "detail", exc))
        else:
            logger.error("%s %s %s", status, method, path, exc_info=exc)

    return after_exception


_MAPPED: dict[type[Exception], tuple[int, str]] = {
    RecursionError: (400, "the JSON body is nested too deeply"),
    UnicodeDecodeError: (400, "the body is not valid UTF-8"),
}


def bad_body_handler(_: Request, exc: Exception) -> Response:
    """Bodies that break the JSON decoder itself (too deep, not UTF-8) are the client's error."""
    status, detail = _MAPPED[type(exc)]
    return Response({"status_code": status, "detail": detail}, status_code=status)
