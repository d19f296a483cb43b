"""The app opened on a page other than Today, before every record is read from IndexedDB.

A real store takes seconds to read at start (76,000 records). The test holds that read: an
init script makes the records' read (the load worker's slices, or the chunked `getAll` of the
records store) answer only when the test says so (nothing in the app knows about it).
Meanwhile a person's page opened by its address shows the person, and Capture takes the notes
typed, saved to the outbox at once. A new person picked before the load ends who turns out to
be someone already known becomes that person when it ends, not a duplicate."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser import (
    go_online,
    nav,
    open_people,
    sign_in,
    until,
    wait_all_pushed,
    wait_controlled,
)
from tests.test_conversations import new_id, outbox, push

pytestmark = pytest.mark.browser

# The records' read answers once released: the load worker's slices (load-worker.js, read by
# Db.stream) and, where the page reads them itself, the chunked `getAll` of the records store.
HOLD_LOAD = """(() => {
  if (window.__releaseLoad) return; // added again for a later start of the same context
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  window.__releaseLoad = () => release();
  window.__heldReads = 0;
  const getAll = IDBObjectStore.prototype.getAll;
  IDBObjectStore.prototype.getAll = function (...args) {
    const request = getAll.apply(this, args);
    if (this.name !== "records" || args.length < 2) return request;
    window.__heldReads += 1;
    let handler = null;
    Object.defineProperty(request, "onsuccess", { configurable: true,
      get: () => handler, set: (f) => { handler = f; } });
    request.addEventListener("success", (event) => {
      released.then(() => handler?.call(request, event));
    });
    return request;
  };
  const NativeWorker = window.Worker;
  window.Worker = class extends NativeWorker {
    constructor(url, ...rest) {
      super(url, ...rest);
      if (!String(url).includes("load-worker")) return;
      window.__heldReads += 1;
      let handler = null;
      Object.defineProperty(this, "onmessage", { configurable: true,
        get: () => handler, set: (f) => { handler = f; } });
      super.addEventListener("message", (event) => {
        released.then(() => handler?.call(this, event));
      });
    }
  };
})();"""

LOADED = "performance.getEntriesByName('grapevine:records-loaded').length > 0"

# Today as last drawn, kept in IndexedDB for the next start to show before the records are read.
REMEMBERED_TODAY = """async () => {
  const db = await new Promise((resolve) => {
    const open = indexedDB.open("grapevine");
    open.onsuccess = () => resolve(open.result);
  });
  const today = await new Promise((resolve) => {
    const get = db.transaction("meta").objectStore("meta").get("today");
    get.onsuccess = () => resolve(get.result);
  });
  db.close();
  return Boolean(today?.day && today.actions.length);
}"""


def seed(server, user) -> dict[str, str]:
    ids = {"acme": new_id(), "dana": new_id(), "talk": new_id()}
    push(
        server,
        user,
        [
            ("organization", ids["acme"], {"name": "Acme Robotics", "status": "engaged"}),
            (
                "person",
                ids["dana"],
                {"name": "Dana Ortiz", "title": "Staff engineer", "organization_id": ids["acme"]},
            ),
            (
                "conversation",
                ids["talk"],
                {
                    "person_id": ids["dana"],
                    "kind": "coffee",
                    "at": "2026-10-02T09:00:00Z",
                    "notes": "Hiring for the sensor team next spring.",
                },
            ),
        ],
    )
    return ids


def held_start(page, url: str) -> None:
    """Open `url` as a cold start whose record load is held, and check that it is."""
    page.context.add_init_script(HOLD_LOAD)
    page.goto(url)
    expect(nav(page)).to_be_visible()
    assert page.evaluate("window.__heldReads") >= 1
    assert not page.evaluate(LOADED)


def test_a_person_opened_by_address_shows_before_the_records_are_read(server, user, phone):
    ids = seed(server, user)
    # "D. Ortiz", merged into Dana (on another device): an old link opens Dana.
    merged = new_id()
    push(server, user, [("person", merged, {"name": "D. Ortiz"})])
    server.api(
        f"/api/stores/{user.store_id}/push",
        {
            "client_id": "c-merge",
            "mutations": [
                {
                    "id": 1,
                    "hlc": f"{time.time_ns() // 1_000_000:013d}-0001-c-merge",
                    "name": "merge",
                    "args": {"entity": "person", "id": merged, "into": ids["dana"]},
                }
            ],
        },
        user.token,
    )
    page = phone.new_page()
    sign_in(page, server, user)

    held_start(page, f"{server.url}/people/{ids['dana']}")
    expect(page.get_by_role("heading", name="Dana Ortiz")).to_be_visible()
    expect(page.locator("main .lead")).to_have_text("Staff engineer · Acme Robotics")
    rest = page.get_by_text("conversations, follow-ups and referrals show in a moment")
    expect(rest).to_be_visible()
    assert not page.evaluate(LOADED)

    # Released: the whole page, with the conversation the preview did not draw.
    page.evaluate("window.__releaseLoad()")
    expect(page.get_by_role("list", name="Conversations")).to_contain_text("Hiring for the sensor")
    expect(page.get_by_role("heading", name="Dana Ortiz")).to_be_visible()

    # The merged one's address: the one kept, at its own address, before the load ends.
    held_start(page, f"{server.url}/people/{merged}")
    expect(page.get_by_role("heading", name="Dana Ortiz")).to_be_visible()
    assert page.url.endswith(f"/people/{ids['dana']}")
    assert not page.evaluate(LOADED)
    page.evaluate("window.__releaseLoad()")
    expect(page.get_by_role("list", name="Conversations")).to_contain_text("Hiring for the sensor")

    # A conversation's address shows its title and notes the same way (on a phone, in its
    # whole page: see the test below).
    held_start(page, f"{server.url}/conversations/{ids['talk']}")
    expect(page.get_by_role("heading", name="Coffee with Dana Ortiz")).to_be_visible()
    expect(page.get_by_label("Notes", exact=True)).to_have_value(
        "Hiring for the sensor team next spring."
    )
    assert not page.evaluate(LOADED)
    page.evaluate("window.__releaseLoad()")
    expect(page.get_by_role("link", name="← Dana Ortiz")).to_be_visible()

    # An organization's too; the rest of its page (people there, the path) when released.
    held_start(page, f"{server.url}/organizations/{ids['acme']}")
    expect(page.get_by_role("heading", name="Acme Robotics")).to_be_visible()
    expect(
        page.get_by_text("the people there and the referral path show in a moment")
    ).to_be_visible()
    assert not page.evaluate(LOADED)
    page.evaluate("window.__releaseLoad()")
    expect(page.get_by_role("link", name="Dana Ortiz Staff engineer")).to_be_visible()

    # A capture with Dana (from her page, "Log a conversation") opened at start: she is read
    # first and picked, the notes ready before the load ends.
    held_start(page, f"{server.url}/capture/{ids['dana']}")
    expect(page.locator(".capture .chosen")).to_contain_text("Talking with Dana Ortiz")
    page.get_by_label("Notes", exact=True).press_sequentially("Second coffee.")
    assert not page.evaluate(LOADED)
    page.evaluate("window.__releaseLoad()")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("list", name="Conversations")).to_contain_text("Second coffee.")


def test_a_conversation_is_corrected_before_the_records_are_read_and_the_typing_stays(
    server, user, phone
):
    """The evening after: the app opened on the conversation (a cold start of a big network)
    takes the correction at once, and the end of the load neither redraws the box being typed
    in nor drops a key; the lists that need every record fill in then."""
    ids = seed(server, user)
    talk = ids["talk"]
    lee, named = new_id(), new_id()
    push(
        server,
        user,
        [
            ("person", lee, {"name": "Lee Park"}),
            (
                "referral",
                named,
                {"from_person_id": ids["dana"], "to_person_id": lee, "conversation_id": talk},
            ),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    phone.set_offline(True)  # the edits stay in the outbox, to be looked at
    held_start(page, f"{server.url}/conversations/{talk}")
    notes = page.get_by_label("Notes", exact=True)
    expect(notes).to_have_value("Hiring for the sensor team next spring.")
    expect(page.get_by_role("list", name="Referrals from this conversation")).to_contain_text(
        "show in a moment"
    )

    def saved_notes(wanted: str) -> str | None:
        """The notes as last saved in the outbox, once they read `wanted` (or after 10 s)."""
        deadline = time.monotonic() + 10
        while True:
            last = None
            for m in outbox(page):
                if m["name"] == "set" and m["args"]["id"] == talk:
                    last = m["args"]["fields"].get("notes", last)
            if last == wanted or time.monotonic() > deadline:
                return last
            page.wait_for_timeout(100)

    notes.click()
    page.keyboard.press("End")
    page.keyboard.type(" Ask about")
    first = "Hiring for the sensor team next spring. Ask about"
    assert saved_notes(first) == first
    assert not page.evaluate(LOADED), "saved before the records were read"
    # A name added under "who else" meanwhile: Lee Park is known, just not read yet. Nothing is
    # written until every person is read, then a referral to her, not a second Lee Park.
    adder = page.get_by_label("Add someone they suggested")
    adder.fill("Lee Park")
    adder.press("Enter")
    waiting = page.get_by_text("Adding Lee Park once your network is open")
    expect(waiting).to_be_visible()
    page.wait_for_timeout(300)
    assert not any(m["args"].get("entity") in ("person", "referral") for m in outbox(page))
    box = notes.element_handle()
    box.focus()
    page.evaluate("window.__releaseLoad()")
    until(page, LOADED, "the load to end")
    page.keyboard.type(" Lee's team.")
    whole = first + " Lee's team."
    expect(notes).to_have_value(whole)
    assert box.evaluate("el => el.isConnected && el === document.activeElement"), (
        "the box typed in was drawn again when the load ended"
    )
    assert saved_notes(whole) == whole
    # The referral the load read is listed now, in the same page.
    referrals = page.get_by_role("list", name="Referrals from this conversation")
    expect(referrals).not_to_contain_text("show in a moment")
    expect(referrals.locator("li")).to_have_count(2)
    expect(waiting).to_be_hidden()
    expect(referrals).to_contain_text("Lee Park")
    made = [m for m in outbox(page) if m["args"].get("entity") in ("person", "referral")]
    assert [m["args"]["entity"] for m in made] == ["referral"], made
    assert made[0]["args"]["fields"]["to_person_id"] == lee


def test_the_conversation_captured_today_is_read_back_from_her_page_before_the_rest(
    server, user, phone
):
    """The loop's evening: the app opened on the person met at lunch (offline, a cold start).
    Her page lists the conversation captured today before the rest of the network is read,
    and it opens to its notes and on to its page, to be corrected then and there."""
    ids = seed(server, user)
    page = phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    phone.set_offline(True)
    page.goto(f"{server.url}/capture/{ids['dana']}")
    page.get_by_label("Notes", exact=True).press_sequentially("Lunch: ask about Lee.")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("heading", name="Dana Ortiz")).to_be_visible()

    held_start(page, f"{server.url}/people/{ids['dana']}")
    read = page.get_by_role("list", name="Conversations read so far")
    expect(read).to_contain_text("Lunch: ask about Lee.")
    expect(read).not_to_contain_text("Hiring for the sensor")  # not read yet
    expect(page.get_by_text("more conversations, follow-ups and referrals")).to_be_visible()
    read.locator("summary").first.click()
    read.get_by_role("link", name=re.compile("^Open")).click()
    notes = page.get_by_label("Notes", exact=True)
    expect(notes).to_have_value("Lunch: ask about Lee.")
    notes.press_sequentially(" And Sam.")
    assert not page.evaluate(LOADED)
    page.evaluate("window.__releaseLoad()")
    until(page, LOADED, "the load to end")
    expect(notes).to_have_value("Lunch: ask about Lee. And Sam.")
    page.get_by_role("link", name="← Dana Ortiz").click()
    talks = page.get_by_role("list", name="Conversations")
    expect(talks).to_contain_text("Lunch: ask about Lee. And Sam.")
    expect(talks).to_contain_text("Hiring for the sensor")


def test_people_finds_someone_made_offline_before_the_records_are_read(server, user, phone):
    """Met at lunch with no signal, the app closed and opened again on People: the records
    take seconds to read, and she is made on this device only (in no slice the load reads).
    A search finds her at once; the rest is found once read; adding someone waits for every
    name, to warn of a namesake not read yet."""
    ids = seed(server, user)
    page = phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    phone.set_offline(True)
    open_people(page)
    page.get_by_role("button", name="Add person").click()
    page.get_by_label("New person's name").fill("Ines Moreau")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("heading", name="Ines Moreau")).to_be_visible()
    ines = page.url.rsplit("/", 1)[1]

    held_start(page, f"{server.url}/people")
    hint = page.get_by_role("status").filter(has_text="Opening your network")
    expect(hint).to_have_text("Opening your network… Search to find someone now.")
    search = page.get_by_label("Search people")
    search.press_sequentially("ines mor")
    people = page.get_by_role("list", name="People")
    expect(people.get_by_role("link")).to_have_count(1)
    expect(people.get_by_role("link", name="Ines Moreau")).to_have_attribute(
        "href", f"/people/{ines}"
    )
    expect(page.get_by_text("Still opening your network: more may be found")).to_be_visible()
    search.fill("dana")
    expect(people.get_by_role("link")).to_have_count(0)
    # "dana ortiz" added now: Dana is not read yet, so the namesake check waits for her.
    page.get_by_role("button", name="Add person").click()
    page.get_by_label("New person's name").fill("dana ortiz")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".namesake")).to_have_text(
        "Looking for someone of that name as your network opens…"
    )
    assert not page.evaluate(LOADED)
    page.evaluate("window.__releaseLoad()")
    expect(page.locator(".namesake")).to_contain_text("Dana Ortiz is already in your network")
    expect(people.get_by_role("link", name=re.compile("^Dana Ortiz"))).to_have_attribute(
        "href", f"/people/{ids['dana']}"
    )
    expect(page.get_by_text("Still opening your network")).to_be_hidden()
    search.fill("")
    expect(people.get_by_role("link")).to_have_count(2)


def test_capture_takes_notes_before_the_records_are_read_without_a_duplicate(server, user, phone):
    ids = seed(server, user)
    page = phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    phone.set_offline(True)  # a lunch with no signal: nothing is pushed while we look
    held_start(page, f"{server.url}/capture")

    # Nobody is read yet: Dana is not offered, a new name is, and the notes take typing.
    expect(page.get_by_text("Still opening your network")).to_be_visible()
    page.locator("#capture-who").press_sequentially("Dana Ortiz")
    page.get_by_role("button", name="New person: Dana Ortiz").click()
    notes = page.get_by_label("Notes", exact=True)
    notes.press_sequentially("Met at the lunch table; ask about the spring hires.")

    # A new organization waits for the load (it may be one not read yet).
    org = page.get_by_label("Organization", exact=True)
    org.press_sequentially("Acme")
    expect(page.get_by_role("list", name="Matching organizations")).to_contain_text(
        "a new organization can be added in a moment"
    )
    expect(page.get_by_role("button", name="New organization: Acme")).to_have_count(0)

    def conversation_fields() -> dict:
        fields: dict = {}
        for m in outbox(page):
            if m["name"] == "set" and m["args"]["entity"] == "conversation":
                fields.update(m["args"]["fields"])
        return fields

    # Saved while the load is still held: every keystroke, in the outbox.
    assert not page.evaluate(LOADED)
    saved = conversation_fields()
    assert saved["notes"] == "Met at the lunch table; ask about the spring hires."
    made = saved["person_id"]
    assert made != ids["dana"]

    # The names under "who else" wait for the load too (each may be someone not read yet).
    page.get_by_label("Who else should I talk to?").press_sequentially("Rui Costa, recruiter\n")
    assert not any(m["args"].get("entity") == "referral" for m in outbox(page))

    # Released: the Dana just made was Dana Ortiz of Acme, read now. The capture is hers.
    page.evaluate("window.__releaseLoad()")
    expect(page.locator(".namesake")).to_have_text(
        re.compile(r"^Dana Ortiz \(Acme Robotics\) was already in your network")
    )
    expect(org).to_have_value("Acme Robotics")
    # The capture under way is not offered back as one left unfinished.
    expect(page.get_by_text("Unfinished capture")).to_have_count(0)
    assert conversation_fields()["person_id"] == ids["dana"]
    assert conversation_fields()["organization_id"] == ids["acme"]
    assert any(m["name"] == "delete" and m["args"]["id"] == made for m in outbox(page)), (
        "the person made before the load was not taken back"
    )
    # Rui is saved now, referred by her.
    referral = [m for m in outbox(page) if m["args"].get("entity") == "referral"]
    assert len(referral) == 1
    assert referral[0]["args"]["fields"]["from_person_id"] == ids["dana"]
    notes.press_sequentially(" Then coffee.")
    page.get_by_role("button", name="Done").click()
    expect(page).to_have_url(re.compile(f"/people/{ids['dana']}$"))
    expect(page.get_by_role("list", name="Conversations")).to_contain_text("Then coffee.")

    # On the server too: one Dana Ortiz, with both conversations.
    go_online(phone, page)
    wait_all_pushed(page)
    records = server.records(user)
    danas = [
        r
        for r in records.values()
        if r["entity"] == "person" and not r["deleted"] and r["fields"]["name"] == "Dana Ortiz"
    ]
    assert [d["id"] for d in danas] == [ids["dana"]]
    talks = [
        r
        for r in records.values()
        if r["entity"] == "conversation" and r["fields"]["person_id"] == ids["dana"]
    ]
    assert len(talks) == 2


def test_who_else_typed_before_the_records_are_read_is_saved_when_the_app_is_left(
    server, user, phone
):
    """The names under "who else" wait for the load, but not when the app is left meanwhile
    (switched away, the phone locked): it may be closed then, and the names would be lost."""
    seed(server, user)
    page = phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    phone.set_offline(True)
    held_start(page, f"{server.url}/capture")

    page.locator("#capture-who").press_sequentially("Sam Lee")
    page.get_by_role("button", name="New person: Sam Lee").click()
    page.get_by_label("Notes", exact=True).press_sequentially("Lunch at the booth.")
    page.get_by_label("Who else should I talk to?").press_sequentially(
        "Rui Costa, recruiter\nPia Berg"
    )
    assert not any(m["args"].get("entity") == "referral" for m in outbox(page))

    page.evaluate(
        """() => {
        Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    )

    def referrals() -> int:
        return sum(m["args"].get("entity") == "referral" for m in outbox(page))

    deadline = time.monotonic() + 10
    while referrals() < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert referrals() == 2, "the names under who else were not saved as the app was left"
    assert not page.evaluate(LOADED), "saved before the records were read"
    names = {
        m["args"]["fields"].get("name")
        for m in outbox(page)
        if m["name"] == "set" and m["args"]["entity"] == "person"
    }
    assert {"Sam Lee", "Rui Costa", "Pia Berg"} <= names


# The start's read (Db.stream), in a page of the app: every record once, in key order, as
# IndexedDB holds it. `how`: "worker" (the load worker reads), "none" (no workers: the page
# reads), "fails" (the worker fails after its first slice: the page reads the rest).
STREAM = """async ({ how }) => {
  const Native = window.Worker;
  if (how === "none") window.Worker = undefined;
  if (how === "fails") {
    window.Worker = class extends Native {
      constructor(...args) {
        super(...args);
        let handler = null;
        let slices = 0;
        Object.defineProperty(this, "onmessage", { configurable: true,
          get: () => handler, set: (f) => { handler = f; } });
        super.addEventListener("message", (event) => {
          slices += 1;
          handler?.call(this, slices === 1 ? event : { data: { error: "a worker's failure" } });
        });
      }
    };
  }
  window.__workers = 0;
  const Counted = window.Worker;
  if (Counted) window.Worker = class extends Counted {
    constructor(...args) { super(...args); window.__workers += 1; }
  };
  try {
    const { Db } = await import("/js/db.js");
    const db = await Db.open();
    const read = [];
    for await (const batch of db.stream("records", 2)) read.push(...batch);
    const all = await db.all("records");
    return { read: read.length, all: all.length, same: JSON.stringify(read) === JSON.stringify(all),
      workers: window.__workers };
  } finally {
    window.Worker = Native;
  }
}"""

# An edit being saved goes before the load: the load starts, then a write to the outbox, held
# (a transaction on `meta` it must wait for); the load's first slice arrives meanwhile, and is
# not taken until the write ends. `worker`: read by the load worker, or by the page (no workers).
EDIT_FIRST = """async ({ worker }) => {
  const Native = window.Worker;
  let arrived;
  const there = new Promise((resolve) => { arrived = resolve; });
  window.Worker = worker ? class extends Native {
    constructor(...args) { super(...args); super.addEventListener("message", () => arrived()); }
  } : undefined;
  const getAll = IDBObjectStore.prototype.getAll;
  IDBObjectStore.prototype.getAll = function (...args) {
    const request = getAll.apply(this, args);
    if (this.name === "records") request.addEventListener("success", () => arrived());
    return request;
  };
  try {
    const { Db } = await import("/js/db.js");
    const db = await Db.open();
    let held = true;
    const blocker = db.idb.transaction("meta", "readwrite");
    const spin = () => {
      blocker.objectStore("meta").get("client").onsuccess = () => { if (held) spin(); };
    };
    spin();
    const order = [];
    const reading = db.stream("records", 1);
    const first = reading.next().then(() => order.push("slice"));
    const saving = db.enqueueAll([{ name: "set", args: { entity: "person",
      id: crypto.randomUUID(), base: 0, fields: { name: "Typed meanwhile" } } }])
      .then(() => order.push("saved"));
    // (a read that never begins fails the test instead of spinning the page forever)
    await Promise.race([there, new Promise((_, fail) => setTimeout(() => {
      held = false;
      fail(new Error("the start's read did not begin within 15 s"));
    }, 15000))]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = [...order];
    held = false;
    await Promise.all([saving, first]);
    await reading.return();
    return { before, order };
  } finally {
    window.Worker = Native;
    IDBObjectStore.prototype.getAll = getAll;
  }
}"""


def test_the_start_reads_every_record_once_by_a_worker_or_by_the_page(server, user, phone):
    seed(server, user)
    push(server, user, [("person", new_id(), {"name": f"Person {n}"}) for n in range(9)])
    page = phone.new_page()
    sign_in(page, server, user)
    for how, workers in (("worker", 1), ("none", 0), ("fails", 1)):
        got = page.evaluate(STREAM, {"how": how})
        assert got == {"read": 12, "all": 12, "same": True, "workers": workers}, how


def test_an_edit_being_saved_goes_before_the_start_s_read(server, user, phone):
    seed(server, user)
    page = phone.new_page()
    sign_in(page, server, user)
    # Offline, so that the app's own sync writes nothing meanwhile: a pull page it saved while
    # the test holds `meta` (records and meta in one transaction) would queue behind that hold,
    # and the records' read behind it, until the test gave up (seen once in CI, 2026-11-30).
    wait_controlled(page)
    phone.set_offline(True)
    for worker in (True, False):
        got = page.evaluate(EDIT_FIRST, {"worker": worker})
        assert got == {"before": [], "order": ["saved", "slice"]}, worker


def test_today_remembered_from_another_day_says_so_until_todays_steps_are_worked_out(
    server, user, phone
):
    """Opened the next morning, Today first shows the steps it showed last (the records take
    seconds to read): their "due today" was said yesterday, and the page says as of when."""
    ids = seed(server, user)
    today = dt.date.today().isoformat()
    push(
        server,
        user,
        [("followup", new_id(), {"person_id": ids["dana"], "kind": "follow_up", "due": today})],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    steps = page.get_by_role("list", name="Next steps")
    expect(steps).to_contain_text("Dana Ortiz")
    expect(steps.locator(".stale-steps")).to_have_count(0)
    until(page, REMEMBERED_TODAY, "Today's steps not remembered")
    page.close()

    page = phone.new_page()
    page.clock.install(time=dt.datetime.now() + dt.timedelta(days=1))
    held_start(page, f"{server.url}/")
    steps = page.get_by_role("list", name="Next steps")
    expect(steps).to_contain_text("Dana Ortiz")
    expect(steps.locator(".stale-steps")).to_have_text(
        re.compile(r"^As of .+: today's steps in a moment\.$")
    )
    page.evaluate("window.__releaseLoad()")
    expect(steps).to_contain_text("Dana Ortiz")
    expect(steps.locator(".stale-steps")).to_have_count(0)
