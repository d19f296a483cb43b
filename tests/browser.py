"""Helpers for the browser tests: a live `grapevine serve`, users from the CLI, Chromium pages.

The server runs as a real subprocess on a free port with its own SQLite file, so the service
worker, IndexedDB and the sync loop meet the same HTTP server a phone would. Chromium is
Debian's (/usr/bin/chromium), driven by Playwright's sync API; no browser is ever downloaded.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Locator, Page, expect

GRAPEVINE = Path(sys.executable).parent / "grapevine"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
SYNC_TIMEOUT_MS = 20_000
SYNCED = re.compile(r"^Synced at ")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GRAPEVINE_")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, database: Path) -> dict[str, Any]:
    """Run `grapevine ... --database FILE --json` and return its JSON object."""
    result = subprocess.run(
        [str(GRAPEVINE), *args, "--database", str(database), "--json"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"grapevine {' '.join(args)}: {result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class User:
    email: str
    password: str
    store_id: str
    token: str


class LiveServer:
    """`grapevine serve` on a free port, with a SQLite file of its own."""

    def __init__(self, database: Path, log: Path, env: dict[str, str] | None = None) -> None:
        """`env`: settings for the server (GRAPEVINE_…); the caller's own are never passed."""
        self.database = database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [str(GRAPEVINE), "serve", "--port", str(self.port), "--database", str(database)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=_env() | (env or {}),
        )

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"grapevine serve exited:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"grapevine serve not healthy in {timeout}s:\n{self.log_path.read_text()}"
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()

    def add_user(self) -> User:
        """A new user with a password (for the sign-in form) and a device token (for checks)."""
        email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
        password = f"pw-{uuid.uuid4().hex[:12]}"
        created = cli(
            "user", "add", "--email", email, "--password", password, database=self.database
        )
        device = cli(
            "device", "add", "--email", email, "--name", "e2e check", database=self.database
        )
        assert device["store_id"] == created["store_id"]
        return User(email, password, device["store_id"], device["token"])

    def api(self, path: str, body: Any, token: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def records(self, user: User) -> dict[str, dict[str, Any]]:
        """Every record of the user's store, by id, as a fresh client would pull them."""
        records: dict[str, dict[str, Any]] = {}
        cursor = ""
        for _ in range(100):
            page = self.api(
                f"/api/stores/{user.store_id}/pull",
                {"client_id": "check", "cursor": cursor, "limit": 500},
                user.token,
            )
            records.update({r["id"]: r for r in page["changes"]})
            cursor = page["cursor"]
            if not page["more"]:
                return records
        raise AssertionError("pull never finished")


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Keep a picture of a key screen in test-output/ for a reviewer.

    A full-page picture draws the fixed navigation bar where the viewport ended, over the
    content; pass full_page=False after scrolling to what matters when that hides it.
    """
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=full_page)


def status(page: Page) -> Locator:
    return page.locator("#sync-status")


def wait_synced(page: Page) -> None:
    expect(status(page)).to_have_text(SYNCED, timeout=SYNC_TIMEOUT_MS)


def until(page: Page, script: str, what: str, timeout_ms: int = SYNC_TIMEOUT_MS) -> None:
    """Poll `script` (an expression or a function, maybe async) in the page until truthy.

    Polled from here with `evaluate`: `wait_for_function` neither awaits a predicate's
    promise nor polls under the app's Content-Security-Policy (it needs eval).
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} (after {timeout_ms} ms; status: {status_text(page)!r})")
        page.wait_for_timeout(100)


def status_text(page: Page) -> str:
    return page.evaluate("document.getElementById('sync-status')?.textContent ?? ''")


def wait_controlled(page: Page) -> None:
    """The service worker is active and controls this page (it claims it: no reload)."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    until(
        page, "navigator.serviceWorker.controller !== null", "no service worker controls the page"
    )


def sign_in(page: Page, server: LiveServer, user: User) -> None:
    page.goto(server.url + "/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    expect(nav(page)).to_be_visible(timeout=SYNC_TIMEOUT_MS)
    wait_synced(page)


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Sections")


def open_people(page: Page) -> None:
    nav(page).get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()


def go_offline(context: BrowserContext, page: Page) -> None:
    context.set_offline(True)
    expect(status(page)).to_have_text(re.compile(r"^Offline"), timeout=SYNC_TIMEOUT_MS)


def go_online(context: BrowserContext, page: Page) -> None:
    """Back online; the app syncs on `online` (dispatched again in case it was missed)."""
    context.set_offline(False)
    page.evaluate("dispatchEvent(new Event('online'))")
    wait_synced(page)


def sync_now(page: Page) -> None:
    """Ask an online page for a sync round now, as coming back online does."""
    page.evaluate("dispatchEvent(new Event('online'))")


def add_person(page: Page, name: str, *, namesake: bool = False) -> str:
    """Add a person from the people list; returns the new person's id (from the page URL).
    `namesake`: someone of that name is known already, and another one is meant."""
    open_people(page)
    page.get_by_role("button", name="Add person").click()
    page.get_by_label("New person's name").fill(name)
    page.get_by_role("button", name="Add", exact=True).click()
    if namesake:
        page.get_by_role("button", name=f"Add another {name}").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    match = re.search(r"/people/([0-9a-f-]{36})$", page.url)
    assert match, page.url
    return match.group(1)


_OUTBOX_EMPTY_AND_SYNCED = """async () => {
  const open = indexedDB.open("grapevine");
  const db = await new Promise((ok, no) => { open.onsuccess = () => ok(open.result);
    open.onerror = () => no(open.error); });
  try {
    const count = db.transaction("outbox").objectStore("outbox").count();
    const n = await new Promise((ok, no) => { count.onsuccess = () => ok(count.result);
      count.onerror = () => no(count.error); });
    return n === 0 && document.getElementById("sync-status").textContent.startsWith("Synced at");
  } finally {
    db.close();
  }
}"""


def wait_all_pushed(page: Page) -> None:
    """The outbox in IndexedDB is empty and a sync round has finished since.

    IndexedDB runs transactions on the same store in the order they were created, so an edit
    queued by an event handler before this call is seen here, never missed.
    """
    until(page, _OUTBOX_EMPTY_AND_SYNCED, "edits still waiting in the outbox, or no sync since")
