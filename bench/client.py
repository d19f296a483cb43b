"""The client at a real network's size, in Chromium as a Pixel 7 with 4x CPU throttling.

    python -m bench.client [--scale 1] [--growth 1,2,4] [--throttle 4]

Loads stores through the push API of a live `grapevine serve` (SQLite): at scale 1, 10,000
people, 1,000 organizations, 50,000 conversations with ~500-character notes, 5,000 referrals
and 10,000 follow-ups (76,000 records). Then, in Debian's Chromium with the Pixel 7 profile and
the CPU slowed by CDP `Emulation.setCPUThrottlingRate`, it measures and prints beside each goal:
the first sync of a new device (at each `--growth` multiple of the store, to show it is linear),
cold start offline to an interactive Today, the next-step engine, search per keystroke, capture
keystroke to saved in the outbox, opening a person and an organization with its referral path,
the JS heap and the storage used. `--scale 0.1 --growth 1,2` is a quick run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from bench.__main__ import Server, push_all

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WORDS = [
    "team",
    "project",
    "funding",
    "lab",
    "group",
    "hiring",
    "spring",
    "summer",
    "budget",
    "grant",
    "culture",
    "manager",
    "mentor",
    "photonics",
    "optics",
    "device",
    "fabrication",
    "process",
    "yield",
    "reliability",
    "customer",
    "roadmap",
    "startup",
    "interview",
    "referral",
    "colleague",
    "conference",
    "poster",
    "lunch",
    "coffee",
    "advice",
    "career",
    "postdoc",
    "role",
    "industry",
    "academic",
    "transition",
    "skills",
    "python",
    "modelling",
    "measurement",
    "cleanroom",
    "wafer",
    "laser",
]
FIRST = [
    "Ada",
    "Grace",
    "Katherine",
    "Dana",
    "Sam",
    "Lee",
    "Maria",
    "Chen",
    "Priya",
    "Omar",
    "Lucia",
    "Tomas",
    "Ines",
    "Yuki",
    "Noor",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Johnson",
    "Rivera",
    "Okafor",
    "Novak",
    "Silva",
    "Tanaka",
    "Haddad",
    "Costa",
    "Berg",
    "Moreau",
]


@dataclass
class Sizes:
    people: int
    organizations: int
    conversations: int
    referrals: int
    followups: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        n = lambda base: max(1, round(base * scale))  # noqa: E731
        return cls(n(10_000), n(1_000), n(50_000), n(5_000), n(10_000))

    @property
    def total(self) -> int:
        return (
            self.people + self.organizations + self.conversations + self.referrals + self.followups
        )


def network(sizes: Sizes, seed: int = 7) -> tuple[list[tuple[str, str, dict]], dict]:
    """(entity, id, fields) of a plausible network, and a few ids worth opening."""
    rnd = random.Random(seed)
    iso = lambda days: time.strftime("%Y-%m-%d", time.gmtime(time.time() + days * 86400))  # noqa: E731
    records: list[tuple[str, str, dict]] = []
    orgs = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(sizes.organizations)]
    statuses = ["exploring"] * 6 + ["target", "engaged", "not_a_fit", "archived"]
    for i, oid in enumerate(orgs):
        records.append(
            (
                "organization",
                oid,
                {
                    "name": f"{rnd.choice(LAST)} {rnd.choice(WORDS).title()} {i}",
                    "status": rnd.choice(statuses),
                    "location": "Boston",
                },
            )
        )
    people = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(sizes.people)]
    org_of = {}
    stages = ["identified", "contacted", "scheduled", "talked", "thanked", "following_up"]
    for i, pid in enumerate(people):
        org_of[pid] = orgs[i % len(orgs)]
        records.append(
            (
                "person",
                pid,
                {
                    "name": f"{rnd.choice(FIRST)} {rnd.choice(LAST)} {i}",
                    "organization_id": org_of[pid],
                    "title": rnd.choice(["Engineer", "Director", "Scientist", "Manager", None]),
                    "stage": rnd.choice(stages),
                    "found_via": rnd.choice(["alumni", "friend", "linkedin", "conference"]),
                    "hiring_authority": rnd.random() < 0.05,
                    "strength": rnd.randint(0, 5),
                    "tags": rnd.sample(WORDS[:12], 2),
                },
            )
        )
    talked: dict[str, int] = {}
    for _ in range(sizes.conversations):
        pid = rnd.choice(people)
        talked[pid] = talked.get(pid, 0) + 1
        notes = " ".join(rnd.choice(WORDS) for _ in range(70))[:500]
        days = -rnd.randint(1, 700)
        records.append(
            (
                "conversation",
                str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                {
                    "person_id": pid,
                    "organization_id": org_of[pid],
                    "kind": rnd.choice(["call", "lunch", "coffee", "video"]),
                    "at": f"{iso(days)}T12:30:00Z",
                    "notes": notes,
                    "fit": rnd.choice(["good", "unsure", "poor"]),
                    "thanked_at": iso(days) if rnd.random() < 0.97 else None,
                    "asked_for_referrals": rnd.random() < 0.95,
                },
            )
        )
    for _ in range(sizes.referrals):
        a, b = rnd.sample(people, 2)
        records.append(
            (
                "referral",
                str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                {
                    "from_person_id": a,
                    "to_person_id": b,
                    "status": rnd.choice(["suggested", "contacted", "talked", "declined"]),
                },
            )
        )
    for _ in range(sizes.followups):
        pid = rnd.choice(people)
        due = rnd.randint(-300, 120)
        records.append(
            (
                "followup",
                str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                {
                    "person_id": pid,
                    "organization_id": org_of[pid],
                    "due": iso(due),
                    "kind": rnd.choice(["follow_up", "thank_you", "connect"]),
                    "note": "Follow up",
                    "done_at": f"{iso(due)}T09:00:00Z" if due < 0 and rnd.random() < 0.9 else None,
                },
            )
        )
    busiest = max(talked, key=talked.get)
    targets = [r for r in records[: len(orgs)] if r[2]["status"] in ("target", "engaged")]
    picks = {"person": busiest, "organization": (targets or records[:1])[0][1]}
    return records, picks


def mutations(records: list[tuple[str, str, dict]], client_id: str) -> list[dict]:
    ms = time.time_ns() // 1_000_000
    return [
        {
            "id": n,
            "hlc": f"{ms:013d}-{n % 0xFFFF:04x}-{client_id}",
            "name": "set",
            "args": {"entity": entity, "id": rid, "base": 0, "fields": fields},
        }
        for n, (entity, rid, fields) in enumerate(records, start=1)
    ]


def grapevine(database: str, *args: str) -> dict:
    import subprocess

    exe = Path(sys.executable).parent / "grapevine"
    out = subprocess.run(
        [str(exe), *args, "--database", database, "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# ----- in the page ----------------------------------------------------------------------

# Before the app runs: time each keystroke as the user feels it, from its keydown (the event's
# own timestamp: time it waited for a busy main thread counts) to the end of its input
# handlers with the layout they need ("shown"), to the next frame painted after them
# ("painted"), and to the completion of the outbox transactions its input handlers opened
# ("saved": the keystroke is then on disk). Only transactions opened while the keystroke's
# input event is dispatched are its own: a sync's, or another keystroke's, are not.
INSTRUMENT = """
(() => {
  window.__keys = [];
  let key = null; // the keystroke under way, from its keydown
  let dispatching = null; // the keystroke whose input event is being dispatched
  const open = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (stores, mode, ...rest) {
    const tx = open.call(this, stores, mode, ...rest);
    const names = typeof stores === "string" ? [stores] : [...stores];
    const k = dispatching;
    if (k && mode === "readwrite" && names.includes("outbox")) {
      k.writes += 1;
      tx.addEventListener("complete", () => {
        k.writes -= 1;
        if (k.writes === 0) k.saved = performance.now() - k.at;
      });
    }
    return tx;
  };
  document.addEventListener("keydown", (event) => {
    if (event.key.length !== 1) return; // characters typed, not Enter or arrows
    key = { at: event.timeStamp, writes: 0, saved: null, shown: null, painted: null };
    window.__keys.push(key);
  }, true);
  document.addEventListener("input", () => { dispatching = key; }, true);
  document.addEventListener("input", () => {
    dispatching = null;
    const k = key;
    if (!k || k.shown !== null) return;
    void document.body.offsetHeight; // the layout the change needs, too
    k.shown = performance.now() - k.at;
    // After the next frame's rendering (its animation frame callbacks, style, layout, paint).
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => { k.painted = performance.now() - k.at; };
      channel.port2.postMessage(null);
    });
  });
  // When Today first shows a step, and when the main thread is next free after that.
  window.__today = null;
  const seen = new MutationObserver(() => {
    if (window.__today || !document.querySelector("ol.steps li.step")) return;
    const shown = performance.now();
    window.__today = { shown };
    setTimeout(() => { window.__today.idle = performance.now(); }, 0);
  });
  seen.observe(document, { subtree: true, childList: true });
})();
"""

# The next-step engine: Today reads the steps the state keeps up to date. Computed once from
# every record (at start), then after each change: one record at a time (another device's edit
# arriving, of each kind that moves a step), and a pull page of 1,000 conversations. A full
# recomputation, what each change cost before, is timed for scale.
ENGINE = """async () => {
  const { Db } = await import("/js/db.js");
  const { State } = await import("/js/state.js");
  const { nextSteps } = await import("/js/nextsteps.js");
  const { isoDate } = await import("/js/dates.js");
  const state = new State(await Db.open(), null);
  await state.load();
  const now = new Date();
  const when = { today: isoDate(now), now: now.toISOString() };
  const read = () => state.steps.read(state.records, when).actions.length;
  let t = performance.now();
  const count = read();
  const first = performance.now() - t;
  const pick = (entity, n) => [...state.records.of(entity)].filter((r) => !r.deleted).slice(0, n);
  const edits = [
    ...pick("person", 6).map((p, i) => ({ ...p, fields: { ...p.fields,
      stage: ["identified", "talked", "thanked"][i % 3], hiring_authority: i % 2 === 0 } })),
    ...pick("conversation", 6).map((c, i) => ({ ...c, fields: { ...c.fields,
      thanked_at: i % 2 ? null : c.fields.thanked_at, asked_for_referrals: i % 3 === 0 } })),
    ...pick("followup", 6).map((f, i) => ({ ...f, fields: { ...f.fields,
      done_at: i % 2 ? null : when.now, due: when.today } })),
    ...pick("organization", 6).map((o, i) => ({ ...o, fields: { ...o.fields,
      status: ["target", "exploring", "archived"][i % 3] } })),
    ...pick("referral", 6).map((r, i) => ({ ...r, fields: { ...r.fields,
      status: ["suggested", "declined", "contacted"][i % 3] } })),
  ];
  const times = [];
  for (const record of edits) {
    t = performance.now();
    state.applyPage({ changes: [{ ...record, version: record.version + 1 }], reset: false });
    read();
    times.push(performance.now() - t);
  }
  const page = pick("conversation", 1000).map((c) => ({ ...c, version: c.version + 1,
    fields: { ...c.fields, notes: `${c.fields.notes ?? ""} (edited)` } }));
  t = performance.now();
  state.applyPage({ changes: page, reset: false });
  read();
  const pageMs = performance.now() - t;
  t = performance.now();
  nextSteps(state.records, when);
  const full = performance.now() - t;
  return { times, count, first, page: pageMs, full, records: state.records.size };
}"""

OPEN = """async (path) => {
  const times = [];
  for (let i = 0; i < 5; i++) {
    for (const target of ["/", path]) {
      const a = document.createElement("a");
      a.href = target;
      a.dataset.link = "";
      document.body.append(a);
      const t = performance.now();
      a.click();
      void document.body.offsetHeight;
      if (target === path) times.push(performance.now() - t);
      a.remove();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return times;
}"""

LOADED = """(() => {
  const mark = performance.getEntriesByName("grapevine:records-loaded")[0];
  return mark ? mark.startTime : null;
})()"""

# When the search index (names, notes, conversations) was last built, warmed while idle.
SEARCH_READY = """(() => {
  const mark = performance.getEntriesByName("grapevine:search-ready").at(-1);
  return mark ? mark.startTime : null;
})()"""


def wait_for_mark(page: Page, script: str, seconds: float = 120) -> float | None:
    for _ in range(int(seconds * 20)):
        mark = page.evaluate(script)
        if mark is not None:
            return mark
        page.wait_for_timeout(50)
    return None


MEMORY = """async () => {
  const estimate = await navigator.storage.estimate();
  return { usage: estimate.usage, idb: estimate.usageDetails?.indexedDB ?? null };
}"""


# A DevTools session made on a page gives it `navigator.onLine` true again, though the
# context is offline and its requests still fail (Chromium: the context's offline emulation is
# not the new session's): the app then tells the server unreachable, not the phone offline,
# and tries to sync as it would not on a phone in airplane mode. So every session the
# benchmarks make comes from `session`, which keeps its page offline with its context, and a
# context goes off- and online through `set_offline`, which tells its sessions too.
_sessions: dict[object, list] = {}  # context -> the sessions made on its pages
_offline: set[int] = set()  # id() of the contexts offline


def _conditions(offline: bool) -> dict:
    return {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


def session(page: Page):
    """A DevTools session on `page`, offline if its context is."""
    context = page.context
    cdp = context.new_cdp_session(page)
    _sessions.setdefault(id(context), []).append(cdp)
    if id(context) in _offline:
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", _conditions(True))
    return cdp


def set_offline(context, offline: bool) -> None:
    """The context, and every session made on its pages, off- or online."""
    context.set_offline(offline)
    if offline:
        _offline.add(id(context))
    else:
        _offline.discard(id(context))
    live = []
    for cdp in _sessions.get(id(context), []):
        try:
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", _conditions(offline))
        except PlaywrightError:  # its page is closed
            continue
        live.append(cdp)
    _sessions[id(context)] = live


def throttle(page: Page, rate: float) -> None:
    session(page).send("Emulation.setCPUThrottlingRate", {"rate": rate})


def sign_in(page: Page, url: str, email: str, password: str) -> tuple[float, float]:
    """Sign in on a new device: seconds from the click to 'Synced at', then from there to
    Today showing its next steps (computed while the page is idle)."""
    page.goto(url + "/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    start = time.perf_counter()
    page.get_by_role("button", name="Sign in").click()
    page.locator("#sync-status", has_text="Synced at").wait_for(timeout=600_000)
    synced = time.perf_counter()
    page.locator("ol.steps li.step").first.wait_for(timeout=600_000)
    return synced - start, time.perf_counter() - synced


def typed(page: Page, text: str, delay_ms: int = 120) -> list[dict]:
    """Type `text` a key at a time: each key's {shown, painted, saved}, ms from its keydown."""
    page.evaluate("window.__keys = []")
    page.keyboard.type(text, delay=delay_ms)
    page.wait_for_timeout(500)
    return page.evaluate("window.__keys")


def line(what: str, value: str, goal: str, ok: bool | None) -> None:
    mark = "" if ok is None else ("  ok" if ok else "  OVER GOAL")
    print(f"  {what:44} {value:>22}   goal {goal}{mark}", flush=True)


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values):.0f} ms, max {max(values):.0f}"


# ----- opened on another page than Today ------------------------------------------------

# Before the app runs, in ms from the navigation's start: when the capture's who box is first in
# the page, when it first takes a key, when the first key is typed into the notes, and when a
# record page's heading first names a record (not the "Opening your network…" it may say).
OPENING = """
(() => {
  window.__opening = { who: null, key: null, notes: null, heading: null, text: null };
  const seen = new MutationObserver(() => {
    const o = window.__opening;
    if (o.who === null && document.getElementById("capture-who")) o.who = performance.now();
    const h1 = document.querySelector("main h1");
    const text = h1?.textContent ?? "";
    if (o.heading === null && text && !text.startsWith("Opening") && text !== "Not found") {
      o.heading = performance.now();
      o.text = text;
    }
  });
  seen.observe(document, { subtree: true, childList: true, characterData: true });
  document.addEventListener("input", (event) => {
    const o = window.__opening;
    if (o.key === null && event.target.id === "capture-who") o.key = performance.now();
    const notes = event.target.matches?.(".capture textarea");
    if (o.notes === null && notes) o.notes = performance.now();
  }, true);
})();
"""

# Where the load's time goes: the records' chunked read alone (IndexedDB and structured
# clone), then a whole `State.load()` (the same read, and the in-memory maps and indexes).
LOAD_PARTS = """async () => {
  const { Db } = await import("/js/db.js");
  const { State } = await import("/js/state.js");
  const db = await Db.open();
  let t = performance.now();
  let n = 0;
  for await (const chunk of db.chunks("records", 1000)) n += chunk.length;
  const read = performance.now() - t;
  t = performance.now();
  await new State(db, null).load();
  return { records: n, read, load: performance.now() - t };
}"""


def opened_at(
    page: Page, url: str, key: str, rate: float, who: str = ""
) -> tuple[dict, float | None]:
    """A cold start (a new page, offline) on `url`: its __opening once `key` is set, and when
    every record had been read (ms from the navigation's start). On capture, `who` is typed,
    picked as a new person, and a key typed into the notes."""
    page.add_init_script(OPENING)
    throttle(page, rate)
    page.goto(url, wait_until="commit")
    if key == "notes":
        # A key as soon as the box is there; the rest of the name at once (one event: the
        # harness's own round trips are not the app's), then a key into the notes.
        box = page.locator("#capture-who")
        box.press(who[0])
        box.fill(who)
        page.get_by_role("button", name=f"New person: {who}").click()
        page.get_by_label("Notes", exact=True).press("M")
    opening = wait_for_mark(page, f"window.__opening?.{key} == null ? null : window.__opening")
    loaded = wait_for_mark(page, LOADED)
    return opening or {}, loaded


def measure_opening(context, url: str, rate: float, store: tuple) -> None:
    """Cold starts offline on Capture and on a person's page (a link, a reload, Back): how soon
    each is usable, beside when every record has been read, and where the load's time goes."""
    _, _, _, _, records, picks = store
    name = next(f["name"] for e, i, f in records if i == picks["person"])
    set_offline(context, True)
    capture, person, loads, saved = [], [], [], []
    for run in range(3):
        page = context.new_page()
        opening, loaded = opened_at(page, f"{url}/capture", "notes", rate, f"Zed Opening {run}")
        capture.append((opening.get("key"), opening.get("notes")))
        page.wait_for_timeout(500)
        keys = page.evaluate("window.__keys")
        if keys and keys[-1]["saved"] is not None:
            saved.append(keys[-1]["saved"])
        loads.append(loaded)
        page.close()
        page = context.new_page()
        opening, loaded = opened_at(page, f"{url}/people/{picks['person']}", "heading", rate)
        person.append((opening.get("heading"), opening.get("text")))
        loads.append(loaded)
        page.close()
    page = context.new_page()
    throttle(page, rate)
    page.goto(url + "/")
    wait_for_mark(page, LOADED)
    wait_for_mark(page, SEARCH_READY)  # the app's own work done: the load timed alone
    parts = page.evaluate(LOAD_PARTS)
    page.close()
    set_offline(context, False)
    print("Opened offline on another page than Today (cold start, 3 each):")
    who = [w for w, _ in capture if w is not None]
    notes = [n for _, n in capture if n is not None]
    line(
        "capture: a key taken by the who box",
        ms(who) if len(who) == 3 else f"{3 - len(who)} of 3 never",
        "< 1,500 ms",
        len(who) == 3 and statistics.median(who) < 1500,
    )
    line(
        "capture: a key in Notes (a new name picked)",
        ms(notes) if len(notes) == 3 else f"{3 - len(notes)} of 3 never",
        "< 1,500 ms",
        len(notes) == 3 and statistics.median(notes) < 1500,
    )
    line(
        "  that key saved in the outbox",
        ms(saved) if len(saved) == 3 else f"{3 - len(saved)} of 3 never",
        "< 50 ms",
        len(saved) == 3 and max(saved) < 50,
    )
    shown = [t for t, text in person if t is not None and text == name]
    line(
        "a person's page by its address: the name",
        ms(shown) if len(shown) == 3 else f"{3 - len(shown)} of 3 never",
        "< 1,500 ms",
        len(shown) == 3 and statistics.median(shown) < 1500,
    )
    done = [t for t in loads if t is not None]
    line("every record read (those 6 starts)", ms(done) if done else "never", "reported", None)
    line(
        f"  of a load of {parts['records']:,}: the IndexedDB read",
        f"{parts['read']:,.0f} of {parts['load']:,.0f} ms",
        "reported",
        None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.client", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 76,000 records")
    parser.add_argument("--growth", default="1,2,4", help="store multiples for the first sync")
    parser.add_argument("--throttle", type=float, default=4.0, help="CPU slowdown (CDP)")
    args = parser.parse_args()
    growth = [float(g) for g in args.growth.split(",")]
    if 1.0 not in growth:
        growth.insert(0, 1.0)
    print(
        f"Grapevine client benchmark: Chromium, Pixel 7 profile, CPU throttled {args.throttle:g}x"
        f" (store scale {args.scale:g}); on a shared machine, figures are noisy."
    )
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite+aiosqlite:///{tmp}/bench.db"
        stores = {}
        for g in growth:
            sizes = Sizes.at(args.scale * g)
            email = f"bench-{g:g}x-{uuid.uuid4().hex[:6]}@example.com"
            password = f"pw-{uuid.uuid4().hex}"
            user = grapevine(database, "user", "add", "--email", email, "--password", password)
            records, picks = network(sizes, seed=int(g * 10))
            stores[g] = (sizes, email, password, user, records, picks)
        with Server(database) as server:
            for g, (sizes, _, _, user, records, _) in stores.items():
                start = time.perf_counter()
                muts = mutations(records, "seed")
                asyncio.run(push_all(server.url, user["token"], user["store_id"], "seed", muts))
                took = time.perf_counter() - start
                print(
                    f"  loaded {g:g}x: {sizes.total:,} records through the push API in {took:.1f} s"
                    f" ({sizes.people:,} people, {sizes.organizations:,} organizations,"
                    f" {sizes.conversations:,} conversations, {sizes.referrals:,} referrals,"
                    f" {sizes.followups:,} follow-ups)",
                    flush=True,
                )
            run_browser(server.url, stores, args.throttle)


def run_browser(url: str, stores: dict, rate: float) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        device = pw.devices["Pixel 7"]
        sync_times = {}
        for g, (sizes, email, password, _, _, _) in sorted(stores.items()):
            context = browser.new_context(**device, service_workers="allow")
            context.add_init_script(INSTRUMENT)
            page = context.new_page()
            throttle(page, rate)
            seconds, steps = sign_in(page, url, email, password)
            sync_times[g] = (sizes.total, seconds, steps)
            if g != 1.0:
                context.close()
            else:
                main_context, main_page = context, page
        print("First sync of a new device (sign-in to 'Synced at', network included):")
        for g, (total, seconds, steps) in sorted(sync_times.items()):
            # The goal: 20 s for 76,000 records, and no worse per record at any size.
            goal = 20 * total / 76_000
            line(
                f"{g:g}x: {total:,} records",
                f"{seconds:.1f} s ({total / seconds:,.0f}/s)",
                f"< {goal:.0f} s (20 s per 76,000)",
                seconds < goal,
            )
            line("  then Today's next steps shown", f"{steps:.1f} s later", "reported", None)
        measure(main_page, main_context, stores[1.0], url, rate)
        measure_opening(main_context, url, rate, stores[1.0])
        main_context.close()
        browser.close()


def measure(page: Page, context, store: tuple, url: str, rate: float) -> None:
    sizes, _, _, _, _, picks = store
    page.wait_for_timeout(1000)
    # Cold start, offline: a new page load from the service worker's cache and IndexedDB, to
    # the moment the main thread is free after Today first shows its steps.
    set_offline(context, True)
    starts, loads = [], []
    for _ in range(3):
        page.goto(url + "/")
        for _ in range(600):
            today = page.evaluate("window.__today")
            if today and "idle" in today:
                break
            page.wait_for_timeout(50)
        starts.append(today["idle"])
        for _ in range(1200):
            mark = page.evaluate(LOADED)
            if mark is not None:
                break
            page.wait_for_timeout(50)
        loads.append(mark)
    print("At 1x, offline:")
    line(
        "cold start to an interactive Today",
        ms(starts),
        "< 1,500 ms",
        statistics.median(starts) < 1500,
    )
    line("  then every record read, in the background", ms(loads), "reported", None)
    # Keystrokes are measured once the search index is warm (its warm-up, while idle after the
    # records are read, is reported here: a search before it ends waits for the rest).
    ready = wait_for_mark(page, SEARCH_READY)
    warm = f"{ready - loads[-1]:,.0f} ms later" if ready is not None else "not within 120 s"
    line("  then the search index warm, while idle", warm, "reported", None)
    engine = page.evaluate(ENGINE)
    # The engine's measurement held a second copy of the store: collected now, not during the
    # keystrokes measured next.
    cdp = session(page)
    cdp.send("HeapProfiler.collectGarbage")
    line(
        f"next-step engine, per change ({engine['count']:,} steps)",
        ms(engine["times"]),
        "< 50 ms",
        max(engine["times"]) < 50,
    )
    line("  after a pull page of 1,000 records", f"{engine['page']:.0f} ms", "reported", None)
    first, full = f"{engine['first']:.0f} ms", f"{engine['full']:.0f} ms"
    line("  first computation (in slices, once per start)", first, "reported", None)
    line("  all recomputed (what each change cost before)", full, "reported", None)

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="People").click()
    search = page.get_by_label("Search people")
    search.click()
    keys = typed(page, "ada lov")
    # What the user feels: the keystroke to the next frame painted with its results (until
    # 2026-11-29 afternoon the goal was held against the results laid out, reported below).
    painted = [k["painted"] for k in keys if k["painted"] is not None]
    line(
        "search people: keystroke to next paint",
        ms(painted) if len(painted) == len(keys) else f"{len(keys) - len(painted)} never painted",
        "< 30 ms",
        len(painted) == len(keys) and max(painted) < 30,
    )
    shown = [k["shown"] for k in keys]
    line("  to results laid out (before that paint)", ms(shown), "reported", None)
    search.fill("")

    # Capture right after a start on /capture (the app opened from its shortcut): a new page,
    # the old one closed, so that its heap is not the new one's garbage (a cold start is a new
    # process). Typed once the search index is warm, while Today's engine may still run.
    page.close()
    page = context.new_page()
    throttle(page, rate)
    page.goto(f"{url}/capture")
    wait_for_mark(page, SEARCH_READY)
    who = page.locator("#capture-who")
    who.click()
    keys = typed(page, "grace hop")
    shown = [k["shown"] for k in keys]
    line("capture: who, keystroke to results shown", ms(shown), "< 30 ms", max(shown) < 30)
    page.locator("button.pick").first.click()
    notes = page.get_by_label("Notes", exact=True)
    notes.click()
    keys = typed(page, "Met at the poster session; ask about the spring hires.", 150)
    saved = [k["saved"] for k in keys if k["saved"] is not None]
    line(
        "capture: keystroke to saved in the outbox",
        ms(saved),
        "< 50 ms",
        len(saved) == len(keys) and max(saved) < 50,
    )
    if len(saved) != len(keys):
        line("  keystrokes never saved", f"{len(keys) - len(saved)} of {len(keys)}", "none", False)

    person = page.evaluate(OPEN, f"/people/{picks['person']}")
    line(
        "open a person (most conversations)",
        ms(person),
        "< 100 ms",
        statistics.median(person) < 100,
    )
    org = page.evaluate(OPEN, f"/organizations/{picks['organization']}")
    line(
        "open an organization with its referral path",
        ms(org),
        "< 100 ms",
        statistics.median(org) < 100,
    )
    rows = page.evaluate("""() => { const a = document.createElement("a"); a.href = "/people";
      a.dataset.link = ""; document.body.append(a); a.click(); a.remove();
      return document.querySelectorAll("main li").length; }""")
    line("people list rows in the DOM", f"{rows:,} of {sizes.people:,}", "a batch", rows < 200)

    cdp = session(page)
    cdp.send("HeapProfiler.collectGarbage")
    heap = cdp.send("Runtime.getHeapUsage")
    storage = page.evaluate(MEMORY)
    line("JS heap used (after GC)", f"{heap['usedSize'] / 2**20:,.0f} MB", "reported", None)
    idb = storage["idb"] if storage["idb"] is not None else storage["usage"]
    line("IndexedDB size", f"{idb / 2**20:,.0f} MB", "reported", None)

    # Search as soon as the records are read, before the index is warm (the app opened to
    # look someone up): names are searchable at once, the words of notes follow while idle.
    page.close()
    page = context.new_page()
    throttle(page, rate)
    page.goto(f"{url}/people")
    wait_for_mark(page, LOADED)
    warm = page.evaluate(SEARCH_READY) is not None
    page.get_by_label("Search people").click()
    keys = typed(page, "ada lov")
    painted = [k["painted"] for k in keys if k["painted"] is not None]
    line(
        "search right after a start" + (" (index was warm)" if warm else ", index warming"),
        ms(painted) if len(painted) == len(keys) else f"{len(keys) - len(painted)} never painted",
        "< 30 ms",
        len(painted) == len(keys) and max(painted) < 30,
    )
    line("  to results laid out", ms([k["shown"] for k in keys]), "reported", None)
    set_offline(context, False)


if __name__ == "__main__":
    main()
