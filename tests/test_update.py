"""A new version of the app while a capture is being typed: "Reload to update" keeps every
keystroke, the referral line still being typed included (it is saved when the field is left,
and the reload waits for the outbox); another tab of the app is told it runs the old one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import LiveServer, go_offline, sign_in, wait_controlled
from tests.conftest import WEB_DIR
from tests.test_conversations import outbox

pytestmark = pytest.mark.browser


@pytest.fixture
def own_web(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    """A server of the app from a copy of web/, which the test can change (a new version)."""
    web = tmp_path / "web"
    shutil.copytree(WEB_DIR, web)
    live = LiveServer(
        tmp_path / "g.db", tmp_path / "server.log", env={"GRAPEVINE_WEB_DIR": str(web)}
    )
    try:
        live.wait_healthy()
        yield live, web
    finally:
        live.stop()


def test_reload_to_update_keeps_the_line_being_typed(own_web, phone):
    server, web = own_web
    user = server.add_user()
    page = phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    other = phone.new_page()  # a second tab of the app
    other.goto(server.url + "/people")
    wait_controlled(other)
    page.get_by_role("link", name="Capture a conversation").click()
    page.get_by_label("Who did you talk with?").fill("Priya Nair")
    page.get_by_role("button", name="New person: Priya Nair").click()
    page.get_by_label("Notes").fill("Works on the cathode line.")
    others = page.get_by_label("Who else should I talk to?")
    others.click()
    others.press_sequentially("Sam Lee, recruiter\nAna Diaz")  # Ana's line still being typed
    expect(others).to_have_value("Sam Lee, recruiter\nAna Diaz")

    # A new version is deployed; the page hears of it and offers it.
    (web / "css" / "app.css").write_text((web / "css" / "app.css").read_text() + "\n/* v2 */\n")
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    update = page.get_by_role("button", name="Reload to update")
    expect(update).to_be_visible(timeout=15_000)
    go_offline(phone, page)  # what the reload keeps is on the device, not on a server
    # Tapped where tapping moves no focus (Safari on iOS): the field is not left by itself.
    with page.expect_event("load"):
        update.dispatch_event("click")
    # Each name is on the server (sent before going offline) or in the device's outbox.
    queued = {m["args"]["fields"].get("name") for m in outbox(page)}
    sent = {r["fields"].get("name") for r in server.records(user).values()}
    assert {"Priya Nair", "Sam Lee", "Ana Diaz"} <= queued | sent, (queued, sent)
    assert "Ana Diaz" in queued  # the line being typed was saved as the field was left
    # The other tab still runs the old version: it says so, and offers to reload.
    expect(other.get_by_role("button", name="Reload this tab")).to_be_visible()
    expect(page.get_by_role("button", name="Reload this tab")).to_have_count(0)
