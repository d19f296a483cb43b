"""The client's sync loop under trouble, in Chromium: nothing typed is ever lost.

A device signed out from elsewhere keeps its unsynced edits for the next sign-in; an edit the
server has acknowledged stays on screen until a pull brings it back; a failing push does not
stop the pull; a note being typed while another device's edit arrives is merged, not
overwritten.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser import (
    SYNC_TIMEOUT_MS,
    add_person,
    cli,
    go_offline,
    go_online,
    nav,
    open_people,
    screenshot,
    sign_in,
    status,
    sync_now,
    until,
    wait_all_pushed,
)

pytestmark = pytest.mark.browser


def call(server, method: str, path: str, token: str):
    request = urllib.request.Request(
        f"{server.url}{path}", method=method, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def person(server, user, person_id: str) -> dict:
    return server.records(user)[person_id]["fields"]


def test_a_device_signed_out_elsewhere_keeps_its_unsynced_edits(server, user, phone):
    page = phone.new_page()
    sign_in(page, server, user)
    pid = add_person(page, "Ada Lovelace")
    wait_all_pushed(page)
    go_offline(phone, page)
    page.get_by_label("Notes").fill("Typed offline, then the device was signed out.")
    expect(status(page)).to_contain_text("1 change waiting")

    # From the laptop (the CLI's token), sign the phone out.
    devices = call(server, "GET", "/api/devices", user.token)
    (phone_device,) = [d for d in devices if d["name"] == "Phone"]
    call(server, "DELETE", f"/api/devices/{phone_device['id']}", user.token)

    phone.set_offline(False)
    sync_now(page)
    expect(page.get_by_role("heading", name="Welcome to Grapevine")).to_be_visible()
    expect(page.get_by_text("your unsynced edits are kept")).to_be_visible()
    screenshot(page, "6-signed-out-elsewhere")
    assert person(server, user, pid)["notes"] is None

    sign_in(page, server, user)
    wait_all_pushed(page)
    assert person(server, user, pid)["notes"] == "Typed offline, then the device was signed out."


def test_an_acknowledged_edit_stays_on_screen_when_the_pull_fails(server, user, phone):
    page = phone.new_page()
    sign_in(page, server, user)
    pid = add_person(page, "Grace Hopper")
    wait_all_pushed(page)
    page.route(
        re.compile(r".*/pull$"),
        lambda route: route.fulfill(status=503, body='{"status_code":503,"detail":"restarting"}'),
    )
    page.get_by_label("Title").fill("Rear Admiral")
    expect(status(page)).to_contain_text("Sync error", timeout=20_000)
    assert person(server, user, pid)["title"] == "Rear Admiral"  # the push went through
    page.get_by_role("link", name="← People").click()
    row = page.get_by_role("link", name=re.compile("Grace Hopper"))
    expect(row).to_contain_text("Rear Admiral")  # shown from the acknowledged edit
    page.unroute(re.compile(r".*/pull$"))
    sync_now(page)
    wait_all_pushed(page)
    expect(row).to_contain_text("Rear Admiral")  # and now from the server's copy


def test_a_failing_push_does_not_stop_the_pull(server, user, phone, desktop):
    mobile = phone.new_page()
    sign_in(mobile, server, user)
    laptop = desktop.new_page()
    sign_in(laptop, server, user)
    pid = add_person(laptop, "Katherine Johnson")
    wait_all_pushed(laptop)

    mobile.route(
        re.compile(r".*/push$"),
        lambda route: route.fulfill(status=500, body='{"status_code":500,"detail":"boom"}'),
    )
    go_offline(phone, mobile)
    nav(mobile).get_by_role("link", name="People").click()
    mobile.get_by_role("button", name="Add person").click()
    mobile.get_by_label("New person's name").fill("Dorothy Vaughan")
    mobile.get_by_role("button", name="Add", exact=True).click()
    pushes: list[str] = []
    phone.on("request", lambda r: pushes.append(r.url) if r.url.endswith("/push") else None)
    phone.set_offline(False)
    sync_now(mobile)
    expect(status(mobile)).to_contain_text("Sync error")
    # It waits before trying again (the Background Sync a failure registers fired at once and
    # looped: a push every ~0.1 s).
    tried = len(pushes)
    mobile.wait_for_timeout(1500)
    assert len(pushes) - tried <= 1, f"{len(pushes) - tried} pushes in 1.5 s of backoff"
    expect(status(mobile)).to_contain_text("Sync error")
    nav(mobile).get_by_role("link", name="People").click()
    # The desktop's person arrived although the phone's own push keeps failing.
    expect(mobile.get_by_role("link", name=re.compile("Katherine Johnson"))).to_be_visible()
    expect(mobile.get_by_role("link", name=re.compile("Dorothy Vaughan"))).to_be_visible()
    assert pid in server.records(user)
    mobile.unroute(re.compile(r".*/push$"))
    go_online(phone, mobile)
    wait_all_pushed(mobile)
    names = {r["fields"]["name"] for r in server.records(user).values() if r["entity"] == "person"}
    assert {"Katherine Johnson", "Dorothy Vaughan"} <= names


def test_a_note_being_typed_merges_with_an_edit_that_arrives_meanwhile(
    server, user, phone, desktop
):
    mobile = phone.new_page()
    sign_in(mobile, server, user)
    pid = add_person(mobile, "Mary Jackson")
    notes = mobile.get_by_label("Notes")
    notes.click()
    mobile.keyboard.type("culture: open\nprospects: growing\nprojects: wind tunnel\nfit: good\n")
    wait_all_pushed(mobile)

    laptop = desktop.new_page()
    sign_in(laptop, server, user)
    laptop.goto(f"{server.url}/people/{pid}")
    desk_notes = laptop.get_by_label("Notes")
    expect(desk_notes).to_have_value(re.compile("wind tunnel"))
    desk_notes.fill("culture: open, flat\nprospects: growing\nprojects: wind tunnel\nfit: good\n")
    wait_all_pushed(laptop)

    # The phone is still typing in the same note: the desktop's edit arrives underneath.
    sync_now(mobile)
    wait_all_pushed(mobile)
    expect(notes).to_be_focused()
    mobile.keyboard.type("next: ask about Q3\n")
    wait_all_pushed(mobile)
    merged = person(server, user, pid)["notes"]
    assert "culture: open, flat" in merged  # the desktop's edit survived
    assert "next: ask about Q3" in merged  # and so did what the phone typed
    conflicts = [r for r in server.records(user).values() if r["entity"] == "conflict"]
    assert conflicts == []


def shared_store(server, user, desktop, person: str, role: str):
    """A new user given `role` in `user`'s store, which holds `person` (added on the desktop)."""
    owner_page = desktop.new_page()
    sign_in(owner_page, server, user)
    add_person(owner_page, person)
    wait_all_pushed(owner_page)
    other = server.add_user()
    cli(
        "store",
        "share",
        user.store_id,
        "--email",
        other.email,
        "--role",
        role,
        database=server.database,
    )
    return other


def test_a_viewer_opens_a_shared_store_and_cannot_change_it(server, user, phone, desktop):
    viewer = shared_store(server, user, desktop, "Mentor's contact", "viewer")

    page = phone.new_page()
    sign_in(page, server, viewer)  # lands in the viewer's own store
    nav(page).get_by_role("link", name="Settings").click()
    page.get_by_role("list", name="Your stores").get_by_role("button", name="Open").click()
    # Opening a store ends on Today; go on from there (not before, or that lands on top).
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    nav(page).get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Mentor's contact"))).to_be_visible()

    page.get_by_role("button", name="Add person").click()
    page.get_by_label("New person's name").fill("Should not be saved")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("shared with you to read")).to_be_visible()
    expect(status(page)).not_to_contain_text("waiting")
    names = {r["fields"]["name"] for r in server.records(user).values() if r["entity"] == "person"}
    assert names == {"Mentor's contact"}


def test_a_page_opened_while_another_store_is_read_stays_open(server, user, phone, desktop):
    """Opening another store reads its copy, then shows Today; a tap elsewhere meanwhile (the
    People tab while it reads) is where the user stays, not taken back to Today at the end."""
    from tests.test_opening import HOLD_LOAD

    other = shared_store(server, user, desktop, "Shared contact", "editor")

    page = phone.new_page()
    sign_in(page, server, other)  # lands in their own store
    nav(page).get_by_role("link", name="Settings").click()
    stores = page.get_by_role("list", name="Your stores")
    expect(stores.get_by_role("button", name="Open")).to_have_count(1)
    # The next load of the records is held (its worker's answers wait for the release).
    page.evaluate(HOLD_LOAD)
    stores.get_by_role("button", name="Open").click()
    until(page, "window.__heldReads >= 1", "the store's load did not start")
    nav(page).get_by_role("link", name="People").click()
    page.evaluate("window.__releaseLoad()")
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Shared contact"))).to_be_visible()
    expect(page).to_have_url(f"{server.url}/people")

    # Left where it was opened from: it ends on Today, the store's own first page.
    nav(page).get_by_role("link", name="Settings").click()
    stores.get_by_role("button", name="Open").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    expect(page).to_have_url(f"{server.url}/")


def offline_page(server, user, phone):
    """A signed-in, synced page, then offline: the app's own rounds write nothing meanwhile."""
    page = phone.new_page()
    sign_in(page, server, user)
    go_offline(phone, page)
    return page


# Each sync write of db.js made for a client that is no longer this device's (a round of the
# session before, when another store was opened or another sign-in began): refused, with
# nothing written; then the same writes for this device's client go through.
STALE_WRITES = """async () => {
  const { Db, Superseded } = await import("/js/db.js");
  const db = await Db.open();
  const mine = (await db.get("meta", "client")).client_id;
  await db.enqueueAll([{ name: "set", args: { entity: "person", id: crypto.randomUUID(),
    base: 0, fields: { name: "Typed before the switch" } } }]);
  const snapshot = async () => JSON.stringify({ records: (await db.all("records")).length,
    outbox: await db.all("outbox"), refused: await db.all("refused"),
    meta: [await db.get("meta", "cursor"), await db.get("meta", "sent"),
      await db.get("meta", "client"), await db.get("meta", "session")] });
  const before = await snapshot();
  const old = { id: crypto.randomUUID(), entity: "person", version: 1, fields: { name: "Old" } };
  const writes = {
    savePull: (c) => db.savePull([old], "old-cursor", "0000000000000-0000-x", false, c),
    takeBatch: (c) => db.takeBatch(10, c),
    acknowledge: (c) => db.acknowledge(1e9, [], c),
    renumberFrom: (c) => db.renumberFrom(50, c),
    refusePending: (c) => db.refusePending("not saved", c),
    dropAcknowledged: (c) => db.dropAcknowledged(c),
    endSession: (c) => db.endSession(c),
  };
  const stale = {};
  for (const [name, write] of Object.entries(writes)) {
    try {
      await write("c-the-session-before");
      stale[name] = "written";
    } catch (error) {
      stale[name] = error instanceof Superseded ? "refused" : String(error);
    }
  }
  const unchanged = (await snapshot()) === before;
  const taken = await db.takeBatch(10, mine);
  await db.savePull([old], "new-cursor", "0000000000000-0000-x", false, mine);
  return { stale, unchanged, taken: taken.length,
    stored: Boolean(await db.get("records", old.id)), cursor: await db.get("meta", "cursor") };
}"""


def test_a_sync_write_for_the_session_before_writes_nothing(server, user, phone):
    got = offline_page(server, user, phone).evaluate(STALE_WRITES)
    assert got == {
        "stale": {
            "savePull": "refused",
            "takeBatch": "refused",
            "acknowledge": "refused",
            "renumberFrom": "refused",
            "refusePending": "refused",
            "dropAcknowledged": "refused",
            "endSession": "refused",
        },
        "unchanged": True,
        "taken": 1,
        "stored": True,
        "cursor": "new-cursor",
    }


def test_another_store_opened_in_one_tab_is_what_the_other_tabs_show(server, user, phone, desktop):
    """Two tabs of one device share its session (one IndexedDB). One tab opened another store;
    the other went on showing the first store's people, synced the new store into them, and
    queued its edits into the new session's outbox. It now starts again on the store opened."""
    other = shared_store(server, user, desktop, "Shared contact", "editor")
    first = phone.new_page()
    sign_in(first, server, other)  # their own store
    add_person(first, "Own person")
    wait_all_pushed(first)
    open_people(first)
    second = phone.new_page()
    second.goto(server.url + "/settings")
    second.get_by_role("list", name="Your stores").get_by_role("button", name="Open").click()
    expect(second.get_by_role("heading", name="Today")).to_be_visible()

    # The first tab, left on its People list, now lists the store opened in the second.
    people = first.get_by_role("list", name="People")
    expect(people.get_by_role("link", name=re.compile("Shared contact"))).to_be_visible(
        timeout=10_000
    )
    expect(people.get_by_role("link", name=re.compile("Own person"))).to_have_count(0)
    add_person(first, "Added in the first tab")
    wait_all_pushed(first)
    shared = {r["fields"]["name"] for r in server.records(user).values()}
    own = {r["fields"]["name"] for r in server.records(other).values()}
    assert shared == {"Shared contact", "Added in the first tab"}, shared
    assert own == {"Own person"}, own


# A page's edits after another tab began another session (a store opened there), before this
# page reloads: kept aside as refused, never queued into the new session's outbox; both the
# edit written on what the page knew (its first after the switch) and the one read first.
EDITS_AFTER_ANOTHER_TAB_SWITCHED = """async () => {
  const { Db } = await import("/js/db.js");
  const page = await Db.open();
  await page.prepareEdits();
  const edit = (name) => [{ name: "set", args: { entity: "person", id: crypto.randomUUID(),
    base: 0, fields: { name } } }];
  const before = await page.enqueueAll(edit("Before the switch"));
  const tab = await Db.open();
  const session = await tab.get("meta", "session");
  await tab.startSession({ ...session, store_id: crypto.randomUUID(), store_name: "Elsewhere" });
  const fresh = [await tab.get("meta", "client"), await tab.get("meta", "clock")];
  const after = [await page.enqueueAll(edit("Typed as it switched")),
    await page.enqueueAll(edit("And once more"))];
  const names = (list) => list.map((e) => e.mutation.args.fields.name);
  return { before: before.length, after: after.map((q) => q.length),
    outbox: (await tab.all("outbox")).length,
    client: JSON.stringify([await tab.get("meta", "client"), await tab.get("meta", "clock")])
      === JSON.stringify(fresh),
    refused: names(await tab.all("refused")).sort() };
}"""


def test_an_edit_typed_as_another_tab_switches_store_is_kept_aside(server, user, phone):
    got = offline_page(server, user, phone).evaluate(EDITS_AFTER_ANOTHER_TAB_SWITCHED)
    assert got == {
        "before": 1,
        "after": [0, 0],
        "outbox": 0,
        "client": True,  # the new session's client (its counter) and clock, as they began
        "refused": ["And once more", "Before the switch", "Typed as it switched"],
    }


def test_what_one_tab_pulled_reaches_the_other_tab_too(server, user, desktop):
    """Two tabs of a device share its copy and the copy's cursor. A change another device
    made, pulled by one tab, was stored and moved the cursor: the other tab's next pull went
    on from there, found nothing, and never showed it (until a reload). Each tab now pulls on
    from what it has shown."""
    from tests.test_conversations import new_id, push

    first = desktop.new_page()
    sign_in(first, server, user)
    open_people(first)
    second = desktop.new_page()
    second.goto(server.url + "/people")
    expect(status(second)).to_have_text(re.compile("^Synced"), timeout=SYNC_TIMEOUT_MS)
    # The first tab cannot pull for now; the second pulls what another device added.
    pulls = re.compile(r"/api/stores/[^/]+/pull$")
    first.route(pulls, lambda route: route.abort("connectionrefused"))
    push(server, user, [("person", new_id(), {"name": "Rita Remote"})])
    sync_now(second)
    expect(second.get_by_role("link", name=re.compile("Rita Remote"))).to_be_visible()
    first.unroute(pulls)
    sync_now(first)
    expect(first.get_by_role("link", name=re.compile("Rita Remote"))).to_be_visible()
