"""Live sync in the browser: Debian's Chromium, a Pixel 7 and a desktop, a live server.

The desktop, never reloaded, shows what the phone adds within a moment (a poke, not the
timer: polling is every five minutes while the stream is held). The phone closes its page
with an edit queued offline, and the service worker pushes it by Background Sync with no
page open.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from tests.browser import (
    GRAPEVINE,
    SYNC_TIMEOUT_MS,
    LiveServer,
    User,
    add_person,
    go_offline,
    open_people,
    screenshot,
    sign_in,
    status,
    wait_controlled,
)

pytestmark = pytest.mark.browser

LIVE = re.compile(r"^Synced at .* · live$")
POKE_TIMEOUT_MS = 5_000  # far below any polling period: only a poke gets it there in time


def wait_live(page: Page) -> None:
    # Text and attribute read at once: a sync round may begin between two separate reads.
    live = page.locator('#sync-status[data-live="true"]')
    expect(live).to_have_text(LIVE, timeout=SYNC_TIMEOUT_MS)


def test_the_desktop_shows_the_phones_new_person_without_a_reload(server, user, phone, desktop):
    laptop = desktop.new_page()
    sign_in(laptop, server, user)
    open_people(laptop)
    wait_live(laptop)
    navigations: list[str] = []
    laptop.on("framenavigated", lambda frame: navigations.append(frame.url))

    mobile = phone.new_page()
    sign_in(mobile, server, user)
    wait_live(mobile)
    add_person(mobile, "Grace Hopper")
    expect(laptop.get_by_role("link", name="Grace Hopper")).to_be_visible(timeout=POKE_TIMEOUT_MS)
    assert navigations == [], "the desktop was reloaded or navigated"
    wait_live(laptop)
    screenshot(laptop, "live-desktop-shows-phone-edit")

    # and the other way round, on the person's page of the phone
    laptop.get_by_role("link", name="Grace Hopper").click()
    laptop.get_by_label("Title").fill("Rear admiral")
    laptop.get_by_label("Title").blur()
    expect(mobile.get_by_label("Title")).to_have_value("Rear admiral", timeout=POKE_TIMEOUT_MS)


def test_a_hidden_page_lets_go_of_its_stream_and_catches_up_when_shown(
    server, user, phone, desktop
):
    laptop = desktop.new_page()
    sign_in(laptop, server, user)
    open_people(laptop)
    wait_live(laptop)
    laptop.evaluate(
        """() => {
        Object.defineProperty(document, "visibilityState", {value: "hidden", configurable: true});
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    )
    expect(status(laptop)).not_to_have_text(LIVE)
    mobile = phone.new_page()
    sign_in(mobile, server, user)
    add_person(mobile, "Katherine Johnson")
    laptop.evaluate(
        """() => {
        Object.defineProperty(document, "visibilityState", {value: "visible", configurable: true});
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    )
    expect(laptop.get_by_role("link", name="Katherine Johnson")).to_be_visible(
        timeout=POKE_TIMEOUT_MS
    )
    wait_live(laptop)


def test_the_stream_comes_back_after_the_server_restarts(server, user, phone):
    """The server goes away and comes back (a deploy, a crash): the app reconnects with a new
    ticket and pulls what it missed, without a reload."""
    page = phone.new_page()
    sign_in(page, server, user)
    open_people(page)
    wait_live(page)
    restart(server)
    other = server.add_user()  # the server is back: it answers the CLI and HTTP
    assert other.token
    now = int(time.time() * 1000)
    mutation = {
        "id": 1,
        "hlc": f"{now:013d}-0000-c-elsewhere",
        "name": "set",
        "args": {"entity": "person", "id": str(uuid.uuid4()), "base": 0,
                 "fields": {"name": "Mary Jackson"}},
    }  # fmt: skip
    body = {"client_id": "c-elsewhere", "mutations": [mutation]}
    server.api(f"/api/stores/{user.store_id}/push", body, user.token)
    expect(page.get_by_role("link", name="Mary Jackson")).to_be_visible(timeout=15_000)
    wait_live(page)


def restart(server: LiveServer) -> None:
    """Stop `grapevine serve` and start it again on the same port and database."""
    server.process.terminate()
    server.process.wait(timeout=15)
    server.process = subprocess.Popen(
        [str(GRAPEVINE), "serve", "--port", str(server.port), "--database", str(server.database)],
        stdout=server._log,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith("GRAPEVINE_")},
    )
    server.wait_healthy()


# ----- Background Sync ---------------------------------------------------------------------


@pytest.fixture
def bg_phone(pw: Playwright, browser: Browser) -> BrowserContext:
    context = browser.new_context(**pw.devices["Pixel 7"], service_workers="allow")
    context.set_default_timeout(SYNC_TIMEOUT_MS)
    yield context
    context.close()


def test_an_edit_queued_offline_leaves_by_background_sync_with_no_page_open(server, user, bg_phone):
    """What headless Chromium can and cannot show here: the registration, the worker's sync
    event and its push with no page open are Chromium's own, observed through DevTools'
    Background Services recorder. Chromium decides to fire the event when its network
    tracker sees a connection come back, and that tracker does not follow Playwright's offline
    emulation, so the event is fired as DevTools' "Sync" button fires it
    (ServiceWorker.dispatchSyncEvent), once the context is back online."""
    # DevTools on an about:blank page of the context: no client of the app's worker.
    devtools = bg_phone.new_page()
    cdp = bg_phone.new_cdp_session(devtools)
    recorded: list[str] = []
    registrations: dict[str, dict] = {}
    cdp.on(
        "BackgroundService.backgroundServiceEventReceived",
        lambda e: recorded.append(e["backgroundServiceEvent"]["eventName"]),
    )
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.update({r["scopeURL"]: r for r in e["registrations"]}),
    )
    cdp.send("BackgroundService.startObserving", {"service": "backgroundSync"})
    cdp.send("BackgroundService.setRecording", {"shouldRecord": True, "service": "backgroundSync"})
    cdp.send("ServiceWorker.enable")

    page = bg_phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    go_offline(bg_phone, page)
    person_id = add_person(page, "Dorothy Vaughan")
    expect(status(page)).to_have_text("Offline · 1 change waiting")
    deadline = time.monotonic() + 10
    while "Registered sync" not in recorded:
        assert time.monotonic() < deadline, f"no Background Sync registered: {recorded}"
        devtools.wait_for_timeout(100)
    page.close()
    assert person_id not in server.records(user)

    bg_phone.set_offline(False)
    registration = registrations[server.url + "/"]
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": server.url,
            "registrationId": registration["registrationId"],
            "tag": "grapevine-push",
            "lastChance": False,
        },
    )
    deadline = time.monotonic() + 20
    while person_id not in server.records(user):
        assert time.monotonic() < deadline, f"the queued edit never reached the server: {recorded}"
        time.sleep(0.3)
    assert "Dispatched sync event" in recorded
    assert bg_phone.pages == [devtools], "a page of the app was open"
    record = server.records(user)[person_id]
    assert record["fields"]["name"] == "Dorothy Vaughan" and record["version"] == 1

    # The next open shows it synced, pushes nothing twice, and the server applied it once.
    page = bg_phone.new_page()
    page.goto(server.url + "/people")
    expect(page.get_by_role("link", name="Dorothy Vaughan")).to_be_visible()
    wait_live(page)
    expect(status(page)).not_to_contain_text("waiting")
    assert server.records(user)[person_id]["version"] == 1


def test_without_background_sync_the_next_open_pushes_at_once(server, user, phone):
    # as in a browser without Background Sync (Firefox, Safari): only the app itself can push
    phone.add_init_script(
        "if (self.ServiceWorkerRegistration) delete ServiceWorkerRegistration.prototype.sync"
    )
    page = phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    go_offline(phone, page)
    person_id = add_person(page, "Annie Easley")
    expect(status(page)).to_have_text("Offline · 1 change waiting")
    page.close()
    phone.set_offline(False)
    assert person_id not in server.records(user)
    page = phone.new_page()
    page.goto(server.url + "/")
    deadline = time.monotonic() + 10
    while person_id not in server.records(user):
        assert time.monotonic() < deadline, "the next open did not push the queued edit"
        time.sleep(0.2)
    wait_live(page)


# ----- a stream that dies silently ----------------------------------------------------------


class Blackhole:
    """A loopback TCP proxy in front of the server that can make the event streams going
    through it fall silent, as a NAT that forgot a connection or a laptop waking from sleep
    does: from then on nothing crosses in either direction, and nothing is closed either (no
    FIN, no RST), so neither end gets an error. Other connections, old and new, still work."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lock = threading.Lock()
        self.connections: list[dict] = []
        self.heartbeats = 0  # heartbeat events delivered to the page
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            conn = {"stream": False, "streams": 0, "frozen": False, "sockets": (client, upstream)}
            with self.lock:
                self.connections.append(conn)
            for ends in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(conn, *ends), daemon=True).start()

    def _pump(self, conn: dict, source: socket.socket, sink: socket.socket, up: bool) -> None:
        try:
            while data := source.recv(65536):
                with self.lock:
                    if conn["frozen"]:
                        continue  # swallowed
                    if up and re.match(rb"[A-Z]+ /", data):  # a new request on this connection
                        conn["stream"] = b"/events?" in data.split(b"\r\n", 1)[0]
                        conn["streams"] += conn["stream"]
                    if not up and conn["stream"]:
                        self.heartbeats += data.count(b"event: heartbeat")
                sink.sendall(data)
        except OSError:
            return
        with self.lock:
            if conn["frozen"]:
                return  # the other end never hears of it
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    @property
    def streams(self) -> int:
        """Event streams opened through the proxy so far."""
        with self.lock:
            return sum(c["streams"] for c in self.connections)

    def silence_streams(self) -> int:
        with self.lock:
            silenced = [c for c in self.connections if c["stream"] and not c["frozen"]]
            for conn in silenced:
                conn["frozen"] = True
            return len(silenced)

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            for conn in self.connections:
                for sock in conn["sockets"]:
                    with contextlib.suppress(OSError):
                        sock.close()


HEARTBEAT_S = 1  # the quick server's heartbeat: a dead stream shows in seconds


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    work = tmp_path_factory.mktemp("quick")
    env = {"GRAPEVINE_LIVE_HEARTBEAT_S": str(HEARTBEAT_S)}
    live = LiveServer(work / "grapevine.db", work / "server.log", env=env)
    try:
        live.wait_healthy()
        yield live
    finally:
        live.stop()


@pytest.fixture
def blackhole(quick_server: LiveServer) -> Iterator[Blackhole]:
    proxy = Blackhole(quick_server.port)
    yield proxy
    proxy.close()


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def push_person(server: LiveServer, user: User, name: str) -> None:
    """Another device adds a person (straight to the server, not through the proxy)."""
    client = f"c-{uuid.uuid4().hex[:8]}"
    mutation = {
        "id": 1,
        "hlc": f"{int(time.time() * 1000):013d}-0000-{client}",
        "name": "set",
        "args": {"entity": "person", "id": str(uuid.uuid4()), "base": 0, "fields": {"name": name}},
    }
    body = {"client_id": client, "mutations": [mutation]}
    server.api(f"/api/stores/{user.store_id}/push", body, user.token)


def test_a_stream_that_silently_dies_is_noticed_and_replaced(quick_server, blackhole, desktop):
    """The stream's connection goes silent without closing (a NAT timeout, a sleep and wake):
    the page notices the missing heartbeats, stops saying "live", pulls and reconnects; an
    edit made meanwhile shows long before the five-minute poll would bring it."""
    user = quick_server.add_user()
    page = desktop.new_page()
    sign_in(page, SimpleNamespace(url=blackhole.url), user)
    open_people(page)
    wait_live(page)
    # Every change of the indicator, as the page shows it.
    page.evaluate(
        """() => {
        const indicator = document.getElementById("sync-status");
        window.liveLog = [indicator.dataset.live];
        new MutationObserver(() => window.liveLog.push(indicator.dataset.live))
          .observe(indicator, {attributes: true, attributeFilter: ["data-live"]});
    }"""
    )
    # A healthy stream is kept: the heartbeats reach the page, which stays live on one stream.
    seen = blackhole.heartbeats
    wait_for(lambda: blackhole.heartbeats >= seen + 3, "no heartbeats reach the page")
    assert blackhole.streams == 1
    assert "false" not in page.evaluate("window.liveLog"), "a healthy stream was dropped"
    expect(status(page)).to_have_text(LIVE)

    assert blackhole.silence_streams() == 1
    push_person(quick_server, user, "Evelyn Boyd Granville")
    expect(page.get_by_role("link", name="Evelyn Boyd Granville")).to_be_visible(timeout=20_000)
    assert "false" in page.evaluate("window.liveLog"), "the page kept saying live"
    wait_live(page)  # on a new stream
    assert blackhole.streams == 2
    push_person(quick_server, user, "Gladys West")
    expect(page.get_by_role("link", name="Gladys West")).to_be_visible(timeout=POKE_TIMEOUT_MS)
