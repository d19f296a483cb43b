"""The PWA end to end: Debian's Chromium, a Pixel 7 and a desktop, a live `grapevine serve`.

What issue 4 asks of the client: the service worker controls the page and the shell opens
offline; an edit made offline survives a reload while still offline and reaches the server
when back online; two devices editing the same field offline both see the conflict and
resolving it converges them; a refused mutation is shown to the user with its data.
Screenshots of the key screens land in test-output/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.browser import (
    SYNC_TIMEOUT_MS,
    add_person,
    go_offline,
    go_online,
    open_people,
    screenshot,
    sign_in,
    status,
    sync_now,
    wait_all_pushed,
    wait_controlled,
    wait_synced,
)

pytestmark = pytest.mark.browser


def test_service_worker_controls_the_page_and_the_shell_opens_offline(server, phone):
    page = phone.new_page()
    page.goto(server.url + "/")
    wait_controlled(page)
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == f"{server.url}/sw.js"
    expect(page.get_by_role("heading", name="Welcome to Grapevine")).to_be_visible()

    phone.set_offline(True)
    # The network is off for the worker too: what it has not cached cannot be fetched.
    fetched = "fetch('/not-in-the-shell.js').then(() => 'fetched', () => 'failed')"
    assert page.evaluate(fetched) == "failed"
    response = page.reload()
    assert response is not None and response.from_service_worker
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    # The heading and the form are drawn by the app's modules: they came from the cache too.
    expect(page.get_by_role("heading", name="Welcome to Grapevine")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Email")).to_be_editable()
    screenshot(page, "1-offline-shell")

    # A deep link opens the shell offline as well; the router draws the page.
    response = page.goto(server.url + "/settings")
    assert response is not None and response.from_service_worker
    expect(page.get_by_role("heading", name="Welcome to Grapevine")).to_be_visible()


def test_an_offline_edit_survives_a_reload_and_reaches_the_server(server, user, phone):
    page = phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    screenshot(page, "2-signed-in")

    go_offline(phone, page)
    expect(status(page)).to_have_text("Offline")
    person_id = add_person(page, "Ada Lovelace")
    notes = "Lunch at the conference. Ask about the analytical engine team."
    page.get_by_label("Notes", exact=True).press_sequentially(notes)
    # Every keystroke was queued, folded into the one mutation that creates her.
    expect(status(page)).to_have_text("Offline · 1 change waiting")
    screenshot(page, "2-offline-edit")
    assert person_id not in server.records(user)

    response = page.reload()
    assert response is not None and response.from_service_worker
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    expect(page.get_by_label("Notes", exact=True)).to_have_value(notes)
    expect(status(page)).to_have_text("Offline · 1 change waiting")
    page.get_by_role("link", name="← People").click()
    expect(page.get_by_role("link", name=re.compile("Ada Lovelace"))).to_be_visible()
    screenshot(page, "2-offline-after-reload")

    go_online(phone, page)
    wait_all_pushed(page)
    record = server.records(user)[person_id]
    assert record["entity"] == "person"
    assert not record["deleted"]
    assert record["fields"]["name"] == "Ada Lovelace"
    assert record["fields"]["notes"] == notes
    screenshot(page, "2-synced")


def test_a_conflict_shows_on_both_devices_and_resolving_it_converges_them(
    server, user, phone, desktop
):
    mobile = phone.new_page()
    laptop = desktop.new_page()
    sign_in(mobile, server, user)
    sign_in(laptop, server, user)
    person_id = add_person(mobile, "Grace Hopper")
    wait_all_pushed(mobile)
    sync_now(laptop)
    open_people(laptop)
    laptop.get_by_role("link", name=re.compile("Grace Hopper")).click()
    expect(laptop.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    wait_synced(laptop)

    go_offline(phone, mobile)
    go_offline(desktop, laptop)
    mobile.get_by_label("Title", exact=True).fill("Rear Admiral")
    laptop.get_by_label("Title", exact=True).fill("Computer scientist")
    expect(status(mobile)).to_have_text("Offline · 1 change waiting")
    expect(status(laptop)).to_have_text("Offline · 1 change waiting")

    # The phone syncs first, then the desktop, whose write meets the phone's.
    go_online(phone, mobile)
    wait_all_pushed(mobile)
    go_online(desktop, laptop)
    wait_all_pushed(laptop)
    sync_now(mobile)
    sides = {}
    for name, page in (("phone", mobile), ("desktop", laptop)):
        expect(page.locator("#conflict-count")).to_have_text("1", timeout=SYNC_TIMEOUT_MS)
        expect(page.locator("#conflict-count")).to_be_visible()
        page.get_by_role("link", name=re.compile("^Conflicts")).click()
        card = page.get_by_role("article", name="Conflict on Grace Hopper")
        expect(card).to_be_visible()
        expect(card).to_contain_text("title")
        sides[name] = (
            card.locator(".value.kept").inner_text(),
            card.locator(".value.lost").inner_text(),
        )
        screenshot(page, f"3-conflict-{name}")
    assert sides["phone"] == sides["desktop"]
    kept, lost = sides["phone"]
    assert {kept, lost} == {"Rear Admiral", "Computer scientist"}

    # Resolve on the phone, choosing the value that lost; the desktop follows.
    mobile.get_by_role("button", name="Use this instead").click()
    wait_all_pushed(mobile)
    sync_now(laptop)
    for name, page in (("phone", mobile), ("desktop", laptop)):
        expect(page.get_by_text("No conflicts. Every edit is merged.")).to_be_visible(
            timeout=SYNC_TIMEOUT_MS
        )
        expect(page.locator("#conflict-count")).to_be_hidden()
        screenshot(page, f"3-resolved-{name}")
        page.goto(f"{server.url}/people/{person_id}")
        expect(page.get_by_label("Title", exact=True)).to_have_value(lost)
        wait_synced(page)
        expect(page.locator("#conflict-count")).to_be_hidden()
        expect(page.get_by_label("Title", exact=True)).to_have_value(lost)

    records = server.records(user)
    assert records[person_id]["fields"]["title"] == lost
    conflicts = [r for r in records.values() if r["entity"] == "conflict"]
    assert [c["fields"]["status"] for c in conflicts] == ["resolved"]
    assert conflicts[0]["fields"]["record_id"] == person_id


def test_a_refused_edit_is_shown_with_its_data(server, user, phone):
    page = phone.new_page()
    sign_in(page, server, user)
    person_id = add_person(page, "Katherine Johnson")
    wait_all_pushed(page)

    too_long = "x" * 2100  # the server's limit for a str field is 2,000 characters
    page.get_by_label("Title", exact=True).fill(too_long)
    wait_all_pushed(page)
    banner = page.locator("#banner")
    expect(banner).to_contain_text("An edit was refused by the server.")
    screenshot(page, "4-refused-banner")

    banner.get_by_role("link", name="See what and why").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    refused = page.locator("article.refused")
    expect(refused).to_have_count(1)
    expect(refused.locator(".form-error")).to_contain_text("person.title")
    expect(refused.locator(".form-error")).to_contain_text("2,000")
    data = refused.locator("pre")
    expect(data).to_contain_text(too_long)
    expect(data).to_contain_text(person_id)
    screenshot(page, "4-refused-settings")
    refused.scroll_into_view_if_needed()
    screenshot(page, "4-refused-edit", full_page=False)

    # The server kept the person as she was: the long title never got in.
    assert server.records(user)[person_id]["fields"]["title"] is None


def test_the_worker_leaves_calendar_feeds_and_files_to_the_server(server, user, phone):
    """A calendar link opened in the browser is the feed (a download), not the app; a file
    that does not exist is a 404, not the app; the app's own pages still open offline."""
    page = phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    feed = server.api("/api/calendar", {}, user.token)["path"]
    assert feed.startswith("/calendar/") and feed.endswith(".ics")

    other = phone.new_page()  # a new tab: the worker answers its navigations in scope
    with (
        other.expect_response(lambda r: r.url == server.url + feed) as answer,
        other.expect_download() as download,
        pytest.raises(PlaywrightError, match="Download is starting"),
    ):
        other.goto(server.url + feed)
    response = answer.value
    assert response.status == 200 and not response.from_service_worker
    assert response.headers["content-type"].startswith("text/calendar")
    assert Path(download.value.path()).read_text().startswith("BEGIN:VCALENDAR")

    response = other.goto(server.url + "/no-such-file.pdf")
    assert response is not None and response.status == 404
    expect(other.locator("#sync-status")).to_have_count(0)  # not the app

    phone.set_offline(True)
    response = other.goto(server.url + "/people")
    assert response is not None and response.from_service_worker
    expect(other.get_by_role("heading", name="People", exact=True)).to_be_visible()
