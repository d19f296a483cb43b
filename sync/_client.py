"""A sync client of protocol v1 over httpx: sign in or pair, push the outbox, pull the changes.

State lives in a `Replica` (one SQLite file), so the client can stop at any point and resume:
mutations keep their ids across retries (a retry is answered `duplicate`, never applied twice),
and each pull page is stored with its cursor in one transaction. docs/protocol.md §1.4 is the
round this implements; the web client's `web/js/sync.js` is its twin.
"""

from __future__ import annotations

import contextlib
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from sync._protocol import MAX_BODY_BYTES, MAX_MUTATIONS
from sync._replica import Replica, Session

DEFAULT_BATCH = 500
DEFAULT_PAGE = 1000
_BODY_MARGIN = 64 * 1024  # room for the envelope around the mutations
_RETRY_STATUS = frozenset({429, 502, 503, 504})
_MAX_RENUMBERS = 3


class SyncError(Exception):
    """The server refused a request, or answered something this client cannot use."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class SignedOut(SyncError):
    """The device token is unknown or revoked (401). Unsynced edits are kept: sign in again."""


class Unreachable(SyncError):
    """No answer from the server, after retries: offline, or the server is down."""


@dataclass
class PushReport:
    sent: int = 0
    applied: int = 0
    duplicate: int = 0
    rejected: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    refused: str | None = None
    """Why the server refuses every write of this device (a viewer), if it does."""


@dataclass
class PullReport:
    pages: int = 0
    changes: int = 0
    reset: bool = False
    changed: set[str] = field(default_factory=set)


@dataclass
class SyncReport:
    push: PushReport | None
    pull: PullReport
    push_error: SyncError | None = None


def normalize_server(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"server {url!r} must be an http:// or https:// URL")
    return url


def _detail(response: httpx.Response) -> tuple[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    return (detail or f"HTTP {response.status_code} {response.reason_phrase}".strip()), body


class SyncClient:
    """Syncs a replica with its server. `transport` and `sleep` are for tests."""

    def __init__(
        self,
        replica: Replica,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        batch_size: int = DEFAULT_BATCH,
        page_size: int = DEFAULT_PAGE,
        device_name: str | None = None,
    ) -> None:
        self.replica = replica
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self.batch_size = min(batch_size, MAX_MUTATIONS)
        self.page_size = page_size
        self.device_name = device_name or f"Desktop companion ({platform.node() or 'computer'})"
        self._http = httpx.Client(transport=transport, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- HTTP --------------------------------------------------------------------------

    def _request(
        self,
        server: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        token: str | None = None,
        retry: bool = True,
    ) -> httpx.Response:
        """One request, retried with exponential backoff while the server cannot answer.

        Retrying is safe for push (mutation ids make it idempotent) and pull; sign-in and
        pairing are not retried once the request may have arrived.
        """
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        content = None if body is None else msgspec.json.encode(body)
        if content is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(
                    method, server + path, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                arrived = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if last or (arrived and not retry):
                    raise Unreachable(
                        f"cannot reach {server}: {exc or type(exc).__name__}"
                    ) from exc
                self.sleep(self._backoff(attempt))
                continue
            if response.status_code in _RETRY_STATUS and retry and not last:
                self.sleep(self._backoff(attempt, response.headers.get("retry-after")))
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, retry_after: str | None = None) -> float:
        wait = self.backoff_s * 2**attempt
        if retry_after and retry_after.isdigit():
            wait = max(wait, float(retry_after))
        return min(wait, self.max_backoff_s)

    def _session(self) -> Session:
        session = self.replica.session
        if session is None:
            raise SignedOut("not signed in: run `grapevine remote login` or `pair` first")
        return session

    # ----- signing in --------------------------------------------------------------------

    def login(
        self, server: str, email: str, password: str, *, store: str | None = None
    ) -> tuple[Session, int]:
        """Sign in with email and password as a new device; returns the session and how many
        unsynced edits of an earlier session carried over."""
        server = normalize_server(server)
        response = self._request(
            server,
            "POST",
            "/api/login",
            body={"email": email, "password": password, "device_name": self.device_name},
            retry=False,
        )
        if response.status_code == 429:
            wait = response.headers.get("retry-after", "a while")
            raise SyncError(f"too many failed sign-ins: try again in {wait} s", 429)
        if response.status_code != 200:
            detail, body = _detail(response)
            raise SyncError(detail, response.status_code, body)
        return self._start(server, response.json(), store, email)

    def pair(self, server: str, code: str, *, store: str | None = None) -> tuple[Session, int]:
        """Join with a one-time code made on a signed-in device (Settings → Add a device)."""
        server = normalize_server(server)
        response = self._request(
            server,
            "POST",
            "/api/pair",
            body={"code": code.strip().upper(), "device_name": self.device_name},
            retry=False,
        )
        if response.status_code != 200:
            detail, body = _detail(response)
            raise SyncError(detail, response.status_code, body)
        return self._start(server, response.json(), store, None)

    def _start(
        self, server: str, token: dict[str, Any], store: str | None, email: str | None
    ) -> tuple[Session, int]:
        response = self._request(server, "GET", "/api/stores", token=token["token"])
        if response.status_code != 200:
            detail, body = _detail(response)
            raise SyncError(detail, response.status_code, body)
        stores = response.json()
        if store:
            chosen = next((s for s in stores if store in (s["id"], s["name"])), None)
            if chosen is None:
                names = ", ".join(f"{s['name']} ({s['id']})" for s in stores)
                raise SyncError(f"no store {store!r} for this account; it has: {names}")
        else:
            chosen = next(
                (s for s in stores if s["role"] == "owner"), stores[0] if stores else None
            )
            if chosen is None:
                raise SyncError("this account has no store yet")
        session = Session(
            server=server,
            token=token["token"],
            user_id=token["user_id"],
            device_id=token["device_id"],
            store_id=chosen["id"],
            store_name=chosen["name"],
            role=chosen["role"],
            email=email,
        )
        return session, self.replica.start_session(session)

    def logout(self) -> None:
        """Revoke this device's token on the server (if reachable) and forget it here."""
        session = self._session()
        with contextlib.suppress(Unreachable):
            self._request(session.server, "POST", "/api/logout", token=session.token, retry=False)
        self.replica.end_session()

    # ----- push --------------------------------------------------------------------------

    def _batch(self, size: int) -> list[dict[str, Any]]:
        """The next mutations to send: at most `size`, and a body under the server's limit."""
        batch: list[dict[str, Any]] = []
        room = MAX_BODY_BYTES - _BODY_MARGIN
        for mutation in self.replica.unacknowledged()[:size]:
            room -= len(msgspec.json.encode(mutation)) + 1
            if batch and room < 0:
                break
            batch.append(mutation)
        return batch

    def push(self) -> PushReport:
        """Send the outbox in batches until it is empty (or the server refuses to go on)."""
        session = self._session()
        report = PushReport()
        size = self.batch_size
        renumbered = 0
        new_client = False
        path = f"/api/stores/{session.store_id}/push"
        while batch := self._batch(size):
            body = {"client_id": self.replica.client_id, "mutations": batch}
            response = self._request(session.server, "POST", path, body=body, token=session.token)
            if response.status_code == 200:
                answer = response.json()
                by_id = {m["id"]: m for m in batch}
                refused: dict[int, str] = {}
                for result in answer["results"]:
                    status = result["status"]
                    if status == "rejected":
                        refused[result["id"]] = result.get("error") or "rejected"
                        report.rejected.append((by_id.get(result["id"], {}), refused[result["id"]]))
                    elif status == "duplicate":
                        report.duplicate += 1
                    else:
                        report.applied += 1
                report.sent += len(batch)
                self.replica.acknowledge(answer["last_mutation_id"], refused)
                if answer["last_mutation_id"] < batch[-1]["id"]:
                    raise SyncError(
                        f"the server processed up to {answer['last_mutation_id']}, "
                        f"not {batch[-1]['id']}",
                        200,
                        answer,
                    )
                continue
            detail, error = _detail(response)
            status = response.status_code
            last = error.get("last_mutation_id") if isinstance(error, dict) else None
            if status == 401:
                self.replica.end_session()
                raise SignedOut(
                    f"this device was signed out ({detail}): sign in again; "
                    "your unsynced edits are kept",
                    401,
                    error,
                )
            if status == 409 and isinstance(last, int) and renumbered < _MAX_RENUMBERS:
                # The server has less than we sent before (a restored backup): renumber.
                self.replica.renumber_from(last)
                renumbered += 1
                continue
            if status == 413:
                if isinstance(last, int):
                    self.replica.acknowledge(last, {})
                if size > 1:
                    size = max(1, size // 2)
                    continue
                self.replica.refuse([batch[0]["id"]], f"Not saved: {detail}")
                report.rejected.append((batch[0], detail))
                continue
            if status == 403 and "client_id" in detail and not new_client:
                self.replica.change_client_id()
                new_client = True
                continue
            if status == 403:
                self.replica.refuse_pending(f"Not saved: {detail}")
                report.refused = detail
                return report
            raise SyncError(f"push refused ({status}): {detail}", status, error)
        return report

    # ----- pull --------------------------------------------------------------------------

    def pull(self) -> PullReport:
        """Pull every page after the stored cursor; start over from "" on `reset`."""
        session = self._session()
        report = PullReport()
        cursor = self.replica.cursor
        resets = 0
        path = f"/api/stores/{session.store_id}/pull"
        while True:
            body = {"client_id": self.replica.client_id, "cursor": cursor, "limit": self.page_size}
            response = self._request(session.server, "POST", path, body=body, token=session.token)
            if response.status_code != 200:
                detail, error = _detail(response)
                if response.status_code == 401:
                    self.replica.end_session()
                    raise SignedOut(
                        f"this device was signed out ({detail}): sign in again; "
                        "your unsynced edits are kept",
                        401,
                        error,
                    )
                raise SyncError(
                    f"pull refused ({response.status_code}): {detail}", response.status_code, error
                )
            page = response.json()
            report.pages += 1
            if page["reset"]:
                # The server cannot continue from our cursor: drop the copy, keep the outbox.
                resets += 1
                if resets > 1 and cursor == "":
                    raise SyncError("the server answers reset to a pull from the start", 200, page)
                self.replica.save_page(
                    [], "", page["hlc"], reset=True, last_mutation_id=page["last_mutation_id"]
                )
                report.reset = True
                cursor = ""
                continue
            changes = page["changes"]
            self.replica.save_page(
                changes, page["cursor"], page["hlc"], last_mutation_id=page["last_mutation_id"]
            )
            report.changes += len(changes)
            report.changed.update(c["id"] for c in changes)
            cursor = page["cursor"]
            if not page["more"]:
                # Everything pushed before this pull is in the server copy now.
                self.replica.drop_acknowledged()
                self.replica.put("last_sync_ms", self.replica.now())
                return report

    def sync(self) -> SyncReport:
        """Push, then pull. A push the server refuses does not stop the pull: the device still
        learns what the others did."""
        push_error: SyncError | None = None
        pushed: PushReport | None = None
        try:
            pushed = self.push()
        except (Unreachable, SignedOut):
            raise
        except SyncError as exc:
            push_error = exc
        return SyncReport(pushed, self.pull(), push_error)
