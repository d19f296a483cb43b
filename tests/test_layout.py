"""A layout for every screen (issue 12): every screen at phone, landscape, tablet and desktop
sizes, light and dark, never scrolls sideways, keeps header and tabs within a fifth of the
height with no gap and nothing under them, and passes axe-core with no violation. On the
desktop the keyboard alone captures a conversation, opens a person from search and resolves
a conflict. Screenshots of every screen at every size land in test-output/layout/.

axe-core comes from npm at test time into .axe/ (ignored, never committed).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from tests.browser import OUTPUT, SYNC_TIMEOUT_MS, sign_in, wait_all_pushed
from tests.conftest import unavailable

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
AXE_DIR = ROOT / ".axe"
AXE_PACKAGE = "axe-core@4.14.1"
SHOTS = OUTPUT / "layout"

LONG_NAME = "Maximilianabartholomewfeatherstonehaughworthingtonsmythe"
LONG_URL = (
    "https://www.linkedin.com/in/maximiliana-bartholomew-featherstonehaugh-worthington-0123456789"
)

# name, viewport, mobile, dark
SIZES = [
    ("360x780", (360, 780), True, False),
    ("412x915", (412, 915), True, False),
    ("412x915-dark", (412, 915), True, True),
    ("915x412", (915, 412), True, False),
    ("768x1024", (768, 1024), True, False),
    ("820x1180", (820, 1180), True, False),
    ("1440x900", (1440, 900), False, False),
]


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, installed from npm into .axe/ on first use."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is needed to install axe-core")
        AXE_DIR.mkdir(exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR), AXE_PACKAGE],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return script.read_text()


def push(server, user, mutations: list[tuple[str, str, str, dict]], client: str) -> list[str]:
    ms = time.time_ns() // 1_000_000
    body = {
        "client_id": client,
        "mutations": [
            {
                "id": n,
                "hlc": f"{ms:013d}-{n:04x}-{client}",
                "name": "set",
                "args": {"entity": entity, "id": rid, "base": base, "fields": fields},
            }
            for n, (entity, rid, base, fields) in enumerate(mutations, start=1)
        ],
    }
    answer = server.api(f"/api/stores/{user.store_id}/push", body, user.token)
    return [r["status"] for r in answer["results"]]


def seed(server, user) -> dict[str, str]:
    """An organization with a five-step referral chain to its supervisor, someone with a long
    unbroken name and URL, a conversation, a follow-up, and one open conflict."""
    ids = {k: str(uuid.uuid4()) for k in ("org", "a", "b", "c", "d", "boss", "long", "talk")}
    people = [
        ("a", "Marcus Feld", {"found_via": "alumni", "stage": "thanked", "strength": 3}),
        ("b", "Dr. Lena Okafor", {"title": "Scientist", "stage": "thanked"}),
        ("c", "Dr. Tomasz Wierzbicki", {"title": "Senior Scientist, Optical Metrology"}),
        ("d", "Priya Raman", {"title": "Principal Engineer", "stage": "talked"}),
        ("boss", "Dr. Ruth Castellano", {"title": "Group Leader", "hiring_authority": True}),
    ]
    mutations = [("organization", ids["org"], 0, {"name": "Helios Photonics", "status": "target"})]
    for key, name, fields in people:
        mutations.append(
            ("person", ids[key], 0, {"name": name, "organization_id": ids["org"], **fields})
        )
    mutations.append(
        (
            "person",
            ids["long"],
            0,
            {"name": LONG_NAME, "linkedin_url": LONG_URL, "title": LONG_NAME, "stage": "talked"},
        )
    )
    for a, b in (("a", "b"), ("b", "c"), ("c", "d"), ("d", "boss"), ("a", "long")):
        mutations.append(
            (
                "referral",
                str(uuid.uuid4()),
                0,
                {"from_person_id": ids[a], "to_person_id": ids[b], "status": "talked"},
            )
        )
    mutations.append(
        (
            "conversation",
            ids["talk"],
            0,
            {
                "person_id": ids["long"],
                "kind": "lunch",
                "at": "2026-01-10T12:30:00Z",
                "notes": f"Lunch. Read {LONG_URL} before the next call.",
            },
        )
    )
    mutations.append(
        (
            "followup",
            str(uuid.uuid4()),
            0,
            {"person_id": ids["long"], "due": "2030-01-01", "note": "Send the preprint"},
        )
    )
    assert set(push(server, user, mutations, "seed")) == {"applied"}
    # Two devices change Lena's stage from the same version: one conflict.
    push(server, user, [("person", ids["b"], 1, {"stage": "following_up"})], "one")
    push(server, user, [("person", ids["b"], 1, {"stage": "dormant"})], "two")
    return ids


def context(
    pw: Playwright, browser: Browser, size: tuple[int, int], mobile: bool, dark: bool = False
) -> BrowserContext:
    options = dict(pw.devices["Pixel 7"]) if mobile else {}
    options.update(
        viewport={"width": size[0], "height": size[1]},
        screen={"width": size[0], "height": size[1]},
        device_scale_factor=1,
        color_scheme="dark" if dark else "light",
    )
    if not mobile:
        options.update(is_mobile=False, has_touch=False)
    ctx = browser.new_context(**options, service_workers="allow")
    ctx.set_default_timeout(SYNC_TIMEOUT_MS)
    return ctx


@pytest.fixture
def errors() -> Iterator[list[str]]:
    found: list[str] = []
    yield found
    assert not found, f"uncaught errors in the page: {found}"


def navigate(page: Page, path: str) -> None:
    """Go somewhere inside the app as a link would (no reload)."""
    page.evaluate(
        "(path) => { history.pushState(null, '', path);"
        " dispatchEvent(new PopStateEvent('popstate')) }",
        path,
    )
    page.evaluate("scrollTo(0, 0)")


# Measured in the page: what the chrome covers, gaps, what sticks out (see layout_geometry.js).
_GEOMETRY = (Path(__file__).parent / "layout_geometry.js").read_text()


def check_geometry(page: Page, where: str) -> None:
    g = page.evaluate(_GEOMETRY)
    assert g["scrollWidth"] <= g["vw"], (
        f"{where}: scrolls sideways ({g['scrollWidth']} > {g['vw']}; {g['wide']})"
    )
    assert not g["wide"], f"{where}: wider than the screen: {g['wide']}"
    assert g["covered"] <= 0.2 * g["vh"], (
        f"{where}: header and tabs take {g['covered']} of {g['vh']} px"
    )
    assert g["gap"] == 0, f"{where}: a {g['gap']} px gap between header and tabs"
    assert g["bottomFlush"], f"{where}: bottom tabs not at the bottom"
    assert g["firstTop"] >= g["block"] - 0.5, f"{where}: content starts under the header ({g})"
    assert g["mainLeft"] >= g["sideRight"] - 0.5, f"{where}: content under the side bar ({g})"
    assert not g["wrapped"], (
        f"{where}: text wraps inside a button, a tab or the status: {g['wrapped']}"
    )
    assert not g["beyond"], f"{where}: sticks out of its column or the screen: {g['beyond']}"
    assert not g["uneven"], f"{where}: buttons side by side of unequal height: {g['uneven']}"
    assert g["tabGap"] is None or g["tabGap"] >= 16, (
        f"{where}: tab labels {g['tabGap']:.1f} px apart or from the edge"
    )
    assert not g["clipped"], f"{where}: a placeholder does not fit its box: {g['clipped']}"


def run_axe(page: Page, axe_source: str, where: str) -> None:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    result = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations.map("
        "(v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map("
        "(n) => n.target.join(' ') + ': ' + n.failureSummary)})))"
    )
    assert result == [], f"{where}: axe-core violations:\n{json.dumps(result, indent=1)}"


def screens(ids: dict[str, str]) -> list[tuple[str, str, str]]:
    """(name, path, what shows it is drawn)"""
    return [
        ("today", "/", "h1:text-is('Today')"),
        ("people", "/people", "h1:text-is('People')"),
        ("person", f"/people/{ids['long']}", f"h1:text-is('{LONG_NAME}')"),
        ("person-supervisor", f"/people/{ids['boss']}", "h1:text-is('Dr. Ruth Castellano')"),
        ("organizations", "/organizations", "h1:text-is('Organizations')"),
        ("organization", f"/organizations/{ids['org']}", ".path-frame svg .node"),
        ("capture", "/capture", "h1:text-is('Capture')"),
        ("conflicts", "/conflicts", "article.conflict"),
        ("settings", "/settings", "h1:text-is('Settings')"),
        ("duplicates", "/duplicates", "h1"),
    ]


@pytest.mark.parametrize(("name", "size", "mobile", "dark"), SIZES, ids=[s[0] for s in SIZES])
def test_every_screen_fits_and_passes_axe(
    pw, browser, server, user, axe_source, errors, name, size, mobile, dark
):
    ids = seed(server, user)
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = context(pw, browser, size, mobile, dark)
    try:
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/")
        expect(page.get_by_role("heading", name="Welcome to Grapevine")).to_be_visible()
        check_geometry(page, f"{name} sign-in")
        run_axe(page, axe_source, f"{name} sign-in")
        page.screenshot(path=str(SHOTS / f"{name}-signin.png"))
        sign_in(page, server, user)
        expect(page.locator("#conflict-count")).to_have_text("1")
        if dark:
            assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
            bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert bg == "rgb(20, 17, 24)", bg
            # Settings can pin either scheme over the system's (html[data-theme]).
            pinned = page.evaluate(
                """() => { const root = document.documentElement, seen = [];
                  for (const theme of ["light", "dark"]) {
                    root.dataset.theme = theme;
                    seen.push(getComputedStyle(document.body).backgroundColor); }
                  delete root.dataset.theme; return seen; }"""
            )
            assert pinned == ["rgb(250, 248, 252)", "rgb(20, 17, 24)"], pinned
        for screen, path, ready in screens(ids):
            where = f"{name} {screen}"
            navigate(page, path)
            expect(page.locator(ready).first).to_be_visible()
            page.wait_for_timeout(50)  # the path picture fits itself after layout
            check_geometry(page, where)
            if screen == "organization":
                frame = page.locator(".path-frame").bounding_box()
                picture = page.locator(".path-frame svg").bounding_box()
                assert frame and picture
                fits = (
                    picture["x"] >= frame["x"] - 0.5
                    and picture["x"] + picture["width"] <= frame["x"] + frame["width"] + 0.5
                )
                assert fits, f"{where}: the referral path is clipped"
                assert page.locator(".path-frame a.node").count() == 5
            if screen == "person":
                heading = page.locator("h1", has_text=LONG_NAME)
                assert heading.evaluate("(el) => el.scrollWidth <= el.clientWidth")
            run_axe(page, axe_source, where)
            page.screenshot(path=str(SHOTS / f"{name}-{screen}.png"))
        # The calendar link's buttons; the conversation page; the undo toast over a page.
        navigate(page, "/settings")
        page.get_by_role("button", name="Make a calendar link").click()
        expect(page.get_by_role("link", name="Subscribe")).to_be_visible()
        page.evaluate("scrollTo(0, 0)")
        check_geometry(page, f"{name} settings with a calendar link")
        navigate(page, f"/conversations/{ids['talk']}")
        expect(page.get_by_role("heading", name=f"Lunch with {LONG_NAME}")).to_be_visible()
        check_geometry(page, f"{name} conversation")
        run_axe(page, axe_source, f"{name} conversation")
        page.screenshot(path=str(SHOTS / f"{name}-conversation.png"))
        page.get_by_role("button", name="Delete conversation").click()
        toast = page.locator(".toast")
        expect(toast).to_be_visible()
        check_geometry(page, f"{name} undo toast")
        page.screenshot(path=str(SHOTS / f"{name}-undo.png"))
        toast.get_by_role("button", name="Undo").click()
        expect(page.get_by_role("heading", name=f"Lunch with {LONG_NAME}")).to_be_visible()
    finally:
        ctx.close()


def focused(page: Page) -> str:
    """What has the focus: its tag, and its text or label."""
    return page.evaluate(
        "() => { const el = document.activeElement;"
        " const text = el.getAttribute('aria-label') || el.textContent || '';"
        " return `${el.tagName.toLowerCase()}:${text.trim()}`; }"
    )


def tab_to(page: Page, target: str, limit: int = 60) -> None:
    """Press Tab until the focus is on `target` (as `focused` says it)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == target:
            return
    raise AssertionError(f"Tab never reached {target!r}; at {focused(page)!r}")


def test_the_desktop_works_from_the_keyboard_alone(pw, browser, server, user, errors):
    ids = seed(server, user)
    ctx = context(pw, browser, (1440, 900), mobile=False)
    try:
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, server, user)
        expect(page.locator("#conflict-count")).to_have_text("1")

        # A fresh page: the skip link comes first, then the side navigation, then the content.
        page.reload()
        expect(page.get_by_role("heading", name="Today")).to_be_visible()
        page.keyboard.press("Tab")
        assert focused(page) == "a:Skip to content"
        page.keyboard.press("Tab")
        assert focused(page) == "a:Today"
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Enter")
        assert focused(page) == "h1:Today"
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "none"

        # The shortcuts are listed in the help overlay.
        page.keyboard.press("?")
        help_ = page.get_by_role("dialog", name="Keyboard shortcuts")
        expect(help_).to_be_visible()
        expect(help_).to_contain_text("New capture")
        page.screenshot(path=str(SHOTS / "keyboard-help.png"))
        page.keyboard.press("Escape")
        expect(help_).to_be_hidden()

        # Capture a conversation: n, who, Enter, type, Tab to Done.
        page.keyboard.press("n")
        expect(page.get_by_label("Who did you talk with?")).to_be_focused()
        page.keyboard.type("Marcus")
        page.keyboard.press("Enter")
        expect(page.get_by_label("Notes", exact=True)).to_be_focused()
        page.keyboard.type("Coffee by keyboard: the team hires in spring.")
        tab_to(page, "button:Done")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Marcus Feld")).to_be_focused()
        wait_all_pushed(page)
        talks = [
            r["fields"]
            for r in server.records(user).values()
            if r["entity"] == "conversation" and r["fields"]["person_id"] == ids["a"]
        ]
        assert [t["notes"] for t in talks] == ["Coffee by keyboard: the team hires in spring."]

        # Open a person from search: /, type, Enter; then j and k walk the list.
        page.keyboard.press("/")
        search = page.get_by_role("searchbox", name="Search people")
        expect(search).to_be_focused()
        page.keyboard.type("castell")
        page.keyboard.press("Enter")
        heading = page.get_by_role("heading", name="Dr. Ruth Castellano")
        expect(heading).to_be_focused()
        # (The list's query stays in the address: a reload shows the list as it was.)
        assert page.url.endswith(f"/people/{ids['boss']}?q=castell")
        search.fill("")
        heading.focus()
        page.keyboard.press("j")
        expect(page).not_to_have_url(re.compile(ids["boss"]))
        expect(page.locator(".detail-pane h1")).to_be_focused()
        page.keyboard.press("k")
        expect(page.get_by_role("heading", name="Dr. Ruth Castellano")).to_be_focused()
        page.screenshot(path=str(SHOTS / "keyboard-person.png"))

        # Resolve the conflict: g c, Tab to the choice, Enter.
        page.keyboard.press("g")
        page.keyboard.press("c")
        expect(page.get_by_role("heading", name="Conflicts", exact=True)).to_be_focused()
        tab_to(page, "button:Use this instead")
        page.keyboard.press("Enter")
        expect(page.get_by_text("No conflicts. Every edit is merged.")).to_be_visible()
        wait_all_pushed(page)
        conflicts = [r for r in server.records(user).values() if r["entity"] == "conflict"]
        assert [c["fields"]["status"] for c in conflicts] == ["resolved"]
    finally:
        ctx.close()


def _touch(cdp, kind: str, points: list[tuple[float, float]]) -> None:
    cdp.send(
        "Input.dispatchTouchEvent",
        {
            "type": kind,
            "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)],
        },
    )


def test_the_referral_path_zooms_pans_and_opens_people_on_a_phone(
    pw, browser, server, user, errors
):
    ids = seed(server, user)
    ctx = context(pw, browser, (412, 915), mobile=True)
    try:
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, server, user)
        navigate(page, f"/organizations/{ids['org']}")
        svg = page.locator(".path-frame svg")
        expect(svg).to_be_visible()
        assert "vertical" in (svg.get_attribute("class") or "")  # the outline on a phone
        full = svg.get_attribute("viewBox")
        width = lambda: float(svg.get_attribute("viewBox").split()[2])  # noqa: E731
        whole = width()

        # Two fingers apart: the picture zooms (the page does not).
        svg.scroll_into_view_if_needed()
        box = page.locator(".path-frame").bounding_box()
        assert box
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        cdp = ctx.new_cdp_session(page)
        _touch(cdp, "touchStart", [(cx - 20, cy), (cx + 20, cy)])
        for step in range(1, 6):
            _touch(cdp, "touchMove", [(cx - 20 - 15 * step, cy), (cx + 20 + 15 * step, cy)])
        _touch(cdp, "touchEnd", [])
        assert width() < whole / 2, (whole, width())
        assert page.evaluate("visualViewport.scale") == 1
        zoomed = svg.get_attribute("viewBox")

        # One finger drags the zoomed picture.
        _touch(cdp, "touchStart", [(cx, cy)])
        for step in range(1, 6):
            _touch(cdp, "touchMove", [(cx - 10 * step, cy - 10 * step)])
        _touch(cdp, "touchEnd", [])
        assert svg.get_attribute("viewBox") != zoomed

        # Fit shows all of it again; the buttons zoom too.
        page.get_by_role("button", name="Fit").click()
        assert svg.get_attribute("viewBox") == full
        page.get_by_role("button", name="Zoom in").click()
        assert width() < whole
        page.get_by_role("button", name="Fit").click()

        # A node is a link to the person.
        page.locator(".path-frame a.node", has_text="Dr. Ruth Castellano").click()
        expect(page.get_by_role("heading", name="Dr. Ruth Castellano")).to_be_visible()
        assert page.url.endswith(f"/people/{ids['boss']}")
    finally:
        ctx.close()
