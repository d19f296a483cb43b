"""The user's loop walked at a real network's size, timed and photographed step by step.

    python -m bench.walk [--scale 1] [--throttle 4] [--shots /tmp/grapevine-walk]

A store of 10,000 people (bench.client's network, 76,000 records at scale 1) is loaded through
the push API of a live `grapevine serve`. Then a phone (Chromium as a Pixel 7, CPU slowed
`--throttle` times) and a desktop (1280x800, not slowed) walk the loop: the phone signs in and
syncs, loses signal at a conference lunch, captures the conversation (someone new, at a known
organization, notes typed a key at a time, two names under "who else", two follow-ups), is closed
and opened again offline, reads the capture back from Today and the person's page, corrects the
notes, gets signal back; that evening the desktop signs in, finds the person, reads and corrects
the notes while the phone shows the correction live; three weeks later (the phone's clock moved
on) Today has the follow-up. Each step prints the time a user waited for it (Playwright's own
round trips included: a coarse figure, for the walk's awkward waits, not a keystroke's cost;
`bench.client` times those) and saves a screenshot to look at. The walk fails loudly where the
loop breaks (a capture not read back, a correction not on the other device).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import tempfile
import time
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from bench.__main__ import Server, push_all
from bench.client import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOADED,
    Sizes,
    grapevine,
    mutations,
    network,
    set_offline,
    sign_in,
    throttle,
    wait_for_mark,
)

WAIT_MS = 600_000  # a sync of the whole store
STEP_MS = 60_000  # anything else a user waits for


class Walk:
    """Steps timed and photographed, in order."""

    def __init__(self, shots: Path) -> None:
        self.shots = shots
        self.n = 0
        shots.mkdir(parents=True, exist_ok=True)

    def step(self, what: str, page: Page, started: float) -> None:
        self.took(what, page, time.perf_counter() - started)

    def took(self, what: str, page: Page, took: float) -> None:
        self.n += 1
        slug = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")[:50]
        path = self.shots / f"{self.n:02d}-{slug}.png"
        page.screenshot(path=str(path))
        print(f"  {self.n:2d}. {what:<68} {took * 1000:8,.0f} ms   {path.name}", flush=True)


def status(page: Page):
    return page.locator("#sync-status")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.walk", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 10,000 people")
    parser.add_argument("--throttle", type=float, default=4.0, help="the phone's CPU slowdown")
    parser.add_argument("--shots", default="/tmp/grapevine-walk", help="screenshots go here")
    args = parser.parse_args()
    sizes = Sizes.at(args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite+aiosqlite:///{tmp}/walk.db"
        email, password = f"walk-{uuid.uuid4().hex[:6]}@example.com", f"pw-{uuid.uuid4().hex}"
        user = grapevine(database, "user", "add", "--email", email, "--password", password)
        records, _ = network(sizes, seed=3)
        org = next(f["name"] for e, _, f in records if e == "organization")
        with Server(database) as server:
            muts = mutations(records, "seed")
            asyncio.run(push_all(server.url, user["token"], user["store_id"], "seed", muts))
            print(
                f"The loop at {sizes.people:,} people ({sizes.total:,} records), the phone at"
                f" {args.throttle:g}x; screenshots in {args.shots}",
                flush=True,
            )
            walk_loop(server.url, email, password, org, args.throttle, Walk(Path(args.shots)))


def photographed(walk: Walk, browser) -> None:
    """Where the walk broke: a screenshot of each page open."""
    pages = [page for context in browser.contexts for page in context.pages]
    for n, page in enumerate(pages):
        page.screenshot(path=str(walk.shots / f"broke-{n}.png"))
        print(f"  broke here: {page.url} (broke-{n}.png)")


def walk_loop(url: str, email: str, password: str, org: str, rate: float, walk: Walk) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            walk_in(browser, pw, url, email, password, org, rate, walk)
        except Exception:
            photographed(walk, browser)
            raise
        finally:
            browser.close()


def walk_in(browser, pw, url: str, email: str, password: str, org: str, rate: float, walk: Walk):
    """The loop itself (see the module's docstring)."""
    phone = browser.new_context(**pw.devices["Pixel 7"], service_workers="allow")
    phone.set_default_timeout(STEP_MS)
    expect.set_options(timeout=STEP_MS)
    page = phone.new_page()
    throttle(page, rate)

    print("At the conference, in the morning: the phone signs in.")
    synced, steps = sign_in(page, url, email, password)
    walk.took("signed in: every record synced", page, synced)
    walk.took("then Today shows its next steps", page, steps)
    wait_for_mark(page, LOADED)

    print("At lunch, no signal: a conversation captured.")
    set_offline(phone, True)
    expect(status(page)).to_contain_text("Offline", timeout=STEP_MS)
    t = time.perf_counter()
    page.get_by_role("link", name="Capture a conversation").click()
    who = page.get_by_label("Who did you talk with?")
    who.wait_for()
    walk.step("Capture opened", page, t)
    t = time.perf_counter()
    who.press_sequentially("Ines Moreau, process engineer", delay=60)
    new = page.get_by_role("button", name=re.compile("^New person: Ines Moreau"))
    new.wait_for()
    walk.step("who typed (a key at a time): 'New person' offered", page, t)
    new.click()
    t = time.perf_counter()
    organization = page.get_by_label("Organization", exact=True)
    organization.press_sequentially(org, delay=60)
    page.get_by_role("button", name=org, exact=True).first.click()
    walk.step(f"organization typed, found among many, picked: {org}", page, t)
    notes = page.get_by_label("Notes", exact=True)
    t = time.perf_counter()
    notes.press_sequentially(
        "Runs the pilot line. Team of six, hiring a process engineer in Q2.", delay=80
    )
    walk.step("notes typed (a key at a time)", page, t)
    t = time.perf_counter()
    page.get_by_label("Who else should I talk to?").fill("Tomas Berg\nAiko Tan, fab manager")
    walk.step("two names under 'who else'", page, t)
    page.get_by_role("button", name="Send thanks tonight").click()
    page.get_by_role("button", name="Follow up next week").click()
    t = time.perf_counter()
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("heading", name=re.compile("Ines Moreau"))).to_be_visible(
        timeout=STEP_MS
    )
    walk.step("Done: the conversation's page", page, t)

    print("The app closed and opened again, still offline: read back.")
    page.close()
    page = phone.new_page()
    throttle(page, rate)
    t = time.perf_counter()
    page.goto(url + "/")
    page.locator("ol.steps li.step").first.wait_for(timeout=WAIT_MS)
    walk.step("cold start offline: Today", page, t)
    t = time.perf_counter()
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="People").click()
    search = page.get_by_label("Search people")
    search.wait_for()
    walk.step("People opened (the records still being read)", page, t)
    t = time.perf_counter()
    search.press_sequentially("ines mor", delay=80)
    walk.step("'ines mor' typed, a key at a time", page, t)
    t = time.perf_counter()
    found = page.get_by_role("link", name=re.compile(r"^Ines Moreau\s*process engineer"))
    found.first.wait_for(timeout=STEP_MS)
    walk.step("then she is found", page, t)
    t = time.perf_counter()
    found.first.click()
    expect(page.get_by_role("heading", name="Ines Moreau")).to_be_visible(timeout=STEP_MS)
    walk.step("her page: the conversation and who she named", page, t)
    t = time.perf_counter()
    page.locator("li.card.talk summary").first.click()
    page.locator("li.card.talk a[href^='/conversations/']").first.click()
    notes = page.get_by_label("Notes", exact=True)
    expect(notes).to_have_value(re.compile("hiring a process engineer in Q2"))
    walk.step("the conversation read back", page, t)

    print("That evening: the notes corrected, then signal.")
    t = time.perf_counter()
    notes.fill(notes.input_value().replace("Team of six", "Team of eight"))
    page.get_by_role("heading", level=1).click()  # done typing: a tap elsewhere
    walk.step("notes corrected", page, t)
    t = time.perf_counter()
    set_offline(phone, False)
    page.evaluate("dispatchEvent(new Event('online'))")
    expect(status(page)).to_contain_text("Synced at", timeout=WAIT_MS)
    walk.step("signal: the day's edits pushed", page, t)

    print("The desktop: signs in, finds her, corrects the notes; the phone follows live.")
    desktop = browser.new_context(viewport={"width": 1280, "height": 800})
    desktop.set_default_timeout(STEP_MS)
    desk = desktop.new_page()
    synced, _ = sign_in(desk, url, email, password)
    walk.took("desktop signed in and synced", desk, synced)
    t = time.perf_counter()
    desk.get_by_role("searchbox").first.fill("ines moreau")
    desk.get_by_role("link", name=re.compile(r"^Ines Moreau\s*process engineer")).first.click()
    expect(desk.get_by_role("heading", name="Ines Moreau")).to_be_visible(timeout=STEP_MS)
    walk.step("desktop: her page, from the header's search", desk, t)
    desk.locator("li.card.talk summary").first.click()
    desk.locator("li.card.talk a[href^='/conversations/']").first.click()
    desk_notes = desk.get_by_label("Notes", exact=True)
    expect(desk_notes).to_have_value(re.compile("Team of eight"))
    t = time.perf_counter()
    desk_notes.fill(desk_notes.input_value() + " Ask for Aiko's intro.")
    expect(page.get_by_label("Notes", exact=True)).to_have_value(
        re.compile("Ask for Aiko's intro"), timeout=STEP_MS
    )
    walk.step("desktop's correction on the phone, live", page, t)

    print("Three weeks later: the follow-up is due.")
    page.close()
    page = phone.new_page()
    later = dt.datetime.now() + dt.timedelta(days=22)
    page.clock.install(time=later)
    throttle(page, rate)
    t = time.perf_counter()
    page.goto(url + "/")
    steps = page.locator("ol.steps")
    steps.locator("li.step").first.wait_for(timeout=WAIT_MS)
    walk.step("Today, three weeks later", page, t)
    # (Not timed: Playwright's clock fakes the page's timers and idle callbacks too, which
    # Today's first computation runs in; that is timed in real time by bench.client.)
    mine = steps.locator("li.step", has_text="Ines Moreau")
    mine.first.wait_for(timeout=WAIT_MS)
    mine.first.scroll_into_view_if_needed()
    walk.step("her follow-up among Today's steps (not timed)", page, time.perf_counter())
    print(f"      steps naming her: {' | '.join(mine.all_inner_texts()).replace(chr(10), ' / ')}")
    desktop.close()
    phone.close()


if __name__ == "__main__":
    main()
