"""A first sync of a few thousand records applies page by page, in a phone's Chromium.

The store is loaded through the push API; the phone signs in and pulls it. The test holds the
pull after two pages: by then those records must already be searchable, the indicator must
say how far the sync got ("Syncing… 2,000 of 4,500"), and the people list must draw a batch,
not thousands of rows, and Today must say the network is arriving instead of working out
steps from a part of it. Released, the sync finishes, the records of the last page show, and
Today has the step they bring (never "Nothing pressing" from the empty store it began with).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import time
import uuid

import pytest
from playwright.sync_api import Error, Page, Request, Route, expect

from tests.browser import (
    SYNC_TIMEOUT_MS,
    LiveServer,
    User,
    cli,
    nav,
    screenshot,
    sign_in,
    status,
    wait_synced,
)

pytestmark = pytest.mark.browser

PEOPLE = 3500
CONVERSATIONS = 1000


def seed(server: LiveServer, user: User) -> None:
    """People (the first called Nadia Quill, the last Zed Lastpage), then conversations."""
    client = f"seed-{uuid.uuid4().hex[:8]}"
    ms = time.time_ns() // 1_000_000
    ids = [str(uuid.uuid4()) for _ in range(PEOPLE)]
    names = ["Nadia Quill"] + [f"Person {i:04d}" for i in range(1, PEOPLE - 1)] + ["Zed Lastpage"]
    mutations = [
        ("person", pid, {"name": name, "stage": "identified"})
        for pid, name in zip(ids, names, strict=True)
    ]
    mutations += [
        (
            "conversation",
            str(uuid.uuid4()),
            {
                "person_id": ids[i % 50],
                "kind": "call",
                "at": "2026-01-10T12:00:00Z",
                "notes": "x" * 200,
                "thanked_at": "2026-01-10",
                "asked_for_referrals": True,
            },
        )
        for i in range(CONVERSATIONS)
    ]
    # Last of all, a follow-up with Nadia Quill due yesterday: Today's step once it is here.
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    due = {"person_id": ids[0], "kind": "follow_up", "due": yesterday}
    mutations.append(("followup", str(uuid.uuid4()), due))
    batch = []
    for n, (entity, rid, fields) in enumerate(mutations, start=1):
        batch.append(
            {
                "id": n,
                "hlc": f"{ms:013d}-{n % 0xFFFF:04x}-{client}",
                "name": "set",
                "args": {"entity": entity, "id": rid, "base": 0, "fields": fields},
            }
        )
        if len(batch) == 500 or n == len(mutations):
            answer = server.api(
                f"/api/stores/{user.store_id}/push",
                {"client_id": client, "mutations": batch},
                user.token,
            )
            assert {r["status"] for r in answer["results"]} == {"applied"}
            batch = []


class PullGate:
    """A page's route for pull requests: the first two pages pass, the next are held (a slow
    network) until `release()`; `wait_held` waits for the third page to be asked for."""

    def __init__(self) -> None:
        self.held: list[Route] = []
        self.passed = 0
        self.released = False

    def __call__(self, route: Route) -> None:
        if self.passed < 2 or self.released:
            self.passed += 1
            route.continue_()
        else:
            self.held.append(route)

    def wait_held(self, page: Page) -> None:
        for _ in range(100):  # (routes are handled while the page waits)
            if self.held:
                return
            page.wait_for_timeout(100)
        raise AssertionError("the third page was never asked for")

    def release(self) -> None:
        self.released = True
        while self.held:
            self.held.pop(0).continue_()


def sign_in_through(page: Page, server: LiveServer, user: User, gate: PullGate) -> None:
    """Sign in on a new phone whose pulls go through `gate` (not waiting for the sync)."""
    page.route(re.compile(r"/api/stores/[^/]+/pull$"), gate)
    page.goto(server.url + "/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()


def test_a_first_sync_applies_page_by_page_and_stays_usable(server, user, phone):
    seed(server, user)
    total = PEOPLE + CONVERSATIONS + 1
    gate = PullGate()
    page = phone.new_page()
    sign_in_through(page, server, user, gate)
    expect(nav(page)).to_be_visible(timeout=SYNC_TIMEOUT_MS)

    # Two pages in, the third held: the indicator says how far, the bar shows it.
    expect(status(page)).to_have_text(f"Syncing… 2,000 of {total:,}", timeout=SYNC_TIMEOUT_MS)
    bar = page.locator("#sync-progress")
    expect(bar).to_be_visible()
    assert page.evaluate(
        "[document.getElementById('sync-progress').value, "
        "document.getElementById('sync-progress').max]"
    ) == [2000, total]

    # Today works its steps out once the network is here, not at each page from a part of it.
    steps = page.get_by_role("list", name="Next steps")
    expect(steps).to_contain_text(
        f"Your network is arriving: 2,000 of {total:,} records. Today's steps once it is all here."
    )
    expect(steps.locator("li.step")).to_have_count(0)
    screenshot(page, "5-first-sync-progress", full_page=False)

    # What arrived is searchable while the sync is still under way.
    nav(page).get_by_role("link", name="People").click()
    search = page.get_by_label("Search people")
    search.press_sequentially("quill")
    expect(page.get_by_role("link", name=re.compile("Nadia Quill"))).to_be_visible()
    expect(status(page)).to_have_text(re.compile(r"^Syncing… 2,000 of"))
    assert gate.held, "the third page was never asked for"

    # The list draws a batch of the 2,000 people, and more on demand.
    search.fill("")
    rows = page.get_by_role("list", name="People").locator("a.row")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name=re.compile(r"^Show more")).click()
    # The click draws a batch, and scrolling to the button may draw more before it lands (the
    # list also grows as its end comes into view): whole batches, far fewer than 2,000.
    expect(rows).not_to_have_count(50)
    page.wait_for_timeout(500)
    drawn = rows.count()
    assert drawn % 50 == 0 and 100 <= drawn <= 500, drawn

    # A keystroke of a new search draws the rows that fit under the list's top (not a batch,
    # nor a whole window's height of them: on a phone the search box and filters are above),
    # the rest of its batch once typing pauses.
    page.evaluate("scrollTo(0, 0)")
    at_key = page.evaluate("""() => {
      const box = document.getElementById("people-search");
      box.value = "person";
      box.dispatchEvent(new Event("input", { bubbles: true }));
      const list = document.querySelector("ul.list[aria-label=People]");
      return { rows: list.querySelectorAll("a.row").length,
               room: innerHeight - list.getBoundingClientRect().top };
    }""")
    fits = math.ceil(at_key["room"] / 56) + 1
    assert 1 <= at_key["rows"] <= fits < 50, (at_key, fits)
    expect(rows).to_have_count(50)
    search.fill("")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name=re.compile(r"^Show more")).click()
    expect(rows).not_to_have_count(50)
    page.wait_for_timeout(500)
    drawn = rows.count()

    # Released, the sync finishes: the bar goes, the last page's people are there.
    gate.release()
    wait_synced(page)
    expect(bar).to_be_hidden()
    expect(rows).to_have_count(drawn)  # pages arriving keep what was drawn; the rest waits
    search.fill("lastpage")
    expect(page.get_by_role("link", name=re.compile("Zed Lastpage"))).to_be_visible()
    expect(rows).to_have_count(1)
    screenshot(page, "5-first-sync-done", full_page=False)

    # Today then has the step the last page brought, and no longer says the network is arriving;
    # until its steps are worked out it says so, not that the network is still opening.
    page.evaluate("""() => {
      window.__todaySaid = [];
      new MutationObserver((records) => {
        const said = "ol.steps li.empty:not(.more-steps)";
        for (const r of records) for (const node of r.addedNodes) {
          if (node.nodeType !== 1) continue;
          const items = [...node.querySelectorAll(said)];
          if (node.matches(said)) items.push(node);
          for (const li of items) window.__todaySaid.push(li.textContent);
        }
      }).observe(document.body, { subtree: true, childList: true });
    }""")
    nav(page).get_by_role("link", name="Today").click()
    expect(steps.locator("li.step", has_text="Nadia Quill")).to_be_visible()
    expect(steps).not_to_contain_text("arriving")
    said = set(page.evaluate("window.__todaySaid"))
    assert said <= {"Working out today's steps…"}, said


def test_a_first_sync_cut_off_says_the_rest_comes_once_back_online(server, user, phone):
    """Signal lost in the middle of a new phone's first sync (a conference's Wi-Fi): Today says
    how much is here and that the rest comes once back online; back online, the sync goes on
    from where it stopped, and Today has its steps."""
    seed(server, user)
    total = PEOPLE + CONVERSATIONS + 1
    gate = PullGate()
    page = phone.new_page()
    sign_in_through(page, server, user, gate)
    steps = page.get_by_role("list", name="Next steps")
    arriving = f"Your network is arriving: 2,000 of {total:,} records"
    expect(steps).to_contain_text(f"{arriving}. Today's steps", timeout=SYNC_TIMEOUT_MS)
    gate.wait_held(page)

    phone.set_offline(True)
    gate.held.pop(0).abort("internetdisconnected")  # the page on its way is lost with the signal
    expect(status(page)).to_have_text(re.compile("^Offline"), timeout=SYNC_TIMEOUT_MS)
    expect(steps).to_contain_text(
        f"{arriving} so far; the rest once back online. Today's steps once it is all here."
    )
    expect(steps.locator("li.step")).to_have_count(0)

    gate.release()
    phone.set_offline(False)
    page.evaluate("dispatchEvent(new Event('online'))")
    wait_synced(page)
    expect(steps.locator("li.step", has_text="Nadia Quill")).to_be_visible()
    expect(steps).not_to_contain_text("arriving")


# Every record id in the device's copy (IndexedDB).
LOCAL_COPY = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("grapevine");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const ids = open.result.transaction("records").objectStore("records").getAllKeys();
    ids.onsuccess = () => {
      open.result.close();
      resolve(ids.result);
    };
  };
})"""


def test_a_store_opened_during_a_first_sync_gets_nothing_of_the_one_before(server, user, phone):
    """Another store opened while the first sync of a big one is under way: the old pull's
    later pages land neither in the new store's copy (IndexedDB) nor in what it shows, not even
    while the new store's own pull is slow to come; then that pull brings the new store, and
    the next from its own cursor."""
    seed(server, user)  # the big store: 4,501 records
    big = set(server.records(user))
    other = server.add_user()
    cli("store", "share", user.store_id, "--email", other.email, "--role", "editor",
        database=server.database)  # fmt: skip

    def add_own(n: int, name: str) -> None:
        fields = {"name": name}
        args = {"entity": "person", "id": str(uuid.uuid4()), "base": 0, "fields": fields}
        hlc = f"{time.time_ns() // 10**6:013d}-{n:04x}-seed-own"
        mutation = {"id": n, "hlc": hlc, "name": "set", "args": args}
        body = {"client_id": "seed-own", "mutations": [mutation]}
        server.api(f"/api/stores/{other.store_id}/push", body, other.token)

    add_own(1, "Bea Own")
    big_pull = re.compile(rf"/api/stores/{user.store_id}/pull$")
    own_pull = re.compile(rf"/api/stores/{other.store_id}/pull$")
    held: list[Route] = []  # the big store's third page, then their own store's pull
    passed = 0
    holding_own = False
    settled: list[Request] = []  # the big store's pulls answered or failed

    def gate(route: Route) -> None:
        nonlocal passed
        if big_pull.search(route.request.url) and (passed < 2 or holding_own):
            passed += 1
            route.continue_()
        elif own_pull.search(route.request.url) and not holding_own:
            route.continue_()
        else:
            held.append(route)

    page = phone.new_page()
    for event in ("requestfinished", "requestfailed"):
        phone.on(event, lambda r: settled.append(r) if big_pull.search(r.url) else None)
    sign_in(page, server, other)  # their own store: one person
    page.route(re.compile(r"/api/stores/[^/]+/pull$"), gate)
    nav(page).get_by_role("link", name="Settings").click()
    stores = page.get_by_role("list", name="Your stores")
    stores.get_by_role("button", name="Open").click()
    expect(status(page)).to_have_text("Syncing… 2,000 of 4,501", timeout=SYNC_TIMEOUT_MS)
    for _ in range(100):  # the third page is asked for next (routes are handled here)
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the big store's third page was never asked for"

    # Back to their own store while the big one's third page is on its way; their own pull is
    # held (a slow network) while the big store's pages are let go.
    holding_own = True
    nav(page).get_by_role("link", name="Settings").click()
    stores.get_by_role("button", name="Open").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    third = held.pop(0)
    with contextlib.suppress(Error):  # its worker was stopped, the request gone
        third.continue_()  # the old pull's page arrives, if anything still waits for it
    # The old pull, had it gone on, would have asked for the last two pages by now.
    for _ in range(50):
        if len(settled) >= 5:
            break
        page.wait_for_timeout(100)
    leaked = len(set(page.evaluate(LOCAL_COPY)) & big)
    assert leaked == 0, f"{leaked} of the big store's records in their store's copy"
    nav(page).get_by_role("link", name="People").click()
    search = page.get_by_label("Search people")
    search.fill("lastpage")  # the big store's last page
    expect(page.get_by_role("main")).to_contain_text("Nobody matches.")
    search.fill("")

    # Their own pull let through: their store, and nothing else, from its own start.
    holding_own = False
    for route in held:
        route.continue_()
    wait_synced(page)
    assert set(page.evaluate(LOCAL_COPY)) == set(server.records(other))
    rows = page.get_by_role("list", name="People").locator("a.row")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Bea Own")
    nav(page).get_by_role("link", name="Today").click()
    expect(page.get_by_role("list", name="Next steps")).not_to_contain_text("arriving")

    # The next pull goes on from their store's cursor: a person added elsewhere arrives.
    add_own(2, "Cai Later")
    page.evaluate("dispatchEvent(new Event('online'))")
    nav(page).get_by_role("link", name="People").click()
    expect(rows).to_have_count(2)
    assert set(page.evaluate(LOCAL_COPY)) == set(server.records(other))
