"""End to end: a LinkedIn import on the phone with its progress bar, a duplicate merged
offline, the result on the desktop; export from the device's copy with no connection."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser import (
    add_person,
    cli,
    go_offline,
    go_online,
    nav,
    open_people,
    screenshot,
    sign_in,
    wait_all_pushed,
    wait_controlled,
    wait_synced,
)
from tests.test_import import SEEDS

pytestmark = pytest.mark.browser


def _settings(page) -> None:
    nav(page).get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()


def test_import_on_the_phone_then_merge_a_duplicate_offline_and_see_it_on_the_desktop(
    server, user, phone, desktop
):
    page = phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    _settings(page)
    page.locator("#import-file").set_input_files(str(SEEDS / "linkedin-connections.csv"))
    expect(page.locator("#import-format")).to_have_value("linkedin")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-preview")).to_have_text(
        "People: 6 new, 0 updated, 0 unchanged. Organizations: 4 new, 0 matched."
    )
    expect(page.get_by_text("line 9: no first or last name")).to_be_visible()
    page.get_by_role("button", name="Import", exact=True).click()
    bar = page.locator("#import-progress")
    expect(bar).to_be_visible()
    expect(page.locator("#import-done")).to_contain_text("Imported. People: 6 new")
    assert bar.evaluate("b => b.value === b.max && b.max === 10")  # 6 people + 4 organizations
    screenshot(page, "import-phone")
    wait_synced(page)
    open_people(page)
    people = page.get_by_role("list", name="People")
    expect(people.get_by_role("link")).to_have_count(6)
    expect(people.get_by_text("美咲 佐藤")).to_be_visible()

    # Offline: Dana is added again by hand, found as a possible duplicate, and merged.
    go_offline(phone, page)
    add_person(page, "Dana Ortiz", namesake=True)
    page.goto(server.url + "/duplicates")
    card = page.get_by_role("article", name="Possible duplicate: Dana Ortiz and Dana Ortiz")
    expect(card).to_be_visible()
    expect(card.get_by_text("same name")).to_be_visible()
    expect(card.get_by_role("cell", name="Staff Engineer")).to_be_visible()
    screenshot(page, "duplicates-phone")
    card.get_by_role("button", name="Merge").click()
    expect(page.get_by_text("Merged into Dana Ortiz.")).to_be_visible()
    expect(page.get_by_text("No possible duplicates.")).to_be_visible()
    go_online(phone, page)
    wait_all_pushed(page)

    records = server.records(user)
    danas = [r for r in records.values() if r["fields"].get("name") == "Dana Ortiz"]
    live = [r for r in danas if not r["deleted"]]
    assert len(danas) == 2 and len(live) == 1
    assert live[0]["fields"]["title"] == "Staff Engineer"
    assert not [r for r in records.values() if r["entity"] == "conflict"]

    laptop = desktop.new_page()
    sign_in(laptop, server, user)
    open_people(laptop)
    list_ = laptop.get_by_role("table", name="People")  # the desktop's people are a table
    expect(list_.get_by_role("link")).to_have_count(6)
    expect(list_.get_by_role("link", name="Dana Ortiz")).to_have_count(1)
    laptop.goto(server.url + "/duplicates")
    expect(laptop.get_by_text("No possible duplicates.")).to_be_visible()
    screenshot(laptop, "duplicates-desktop")


def test_export_works_offline_from_the_devices_copy(server, user, phone):
    page = phone.new_page()
    sign_in(page, server, user)
    wait_controlled(page)
    _settings(page)
    page.locator("#import-file").set_input_files(str(SEEDS / "linkedin-connections.csv"))
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-done")).to_be_visible()
    # The people pulled to this device (the status read "Synced" from the round before the
    # import, and going offline then left them on the server only: a fresh-clone CI run).
    open_people(page)
    expect(page.get_by_role("list", name="People").get_by_role("link")).to_have_count(6)
    wait_synced(page)
    go_offline(phone, page)
    page.reload()
    _settings(page)
    with page.expect_download() as caught:
        page.get_by_role("button", name="JSON backup").click()
    backup = json.loads(caught.value.path().read_text())
    assert backup["format"] == "grapevine-backup"
    assert len(backup["records"]["person"]) == 6
    with page.expect_download() as caught:
        page.get_by_role("button", name="People (vCard)").click()
    assert caught.value.path().read_text().count("BEGIN:VCARD") == 6
    with page.expect_download() as caught:
        page.get_by_role("button", name="People (CSV)").click()
    assert "José Núñez-García" in caught.value.path().read_text()


def test_desktop_dismisses_a_pair_restores_a_backup_and_manages_the_calendar_link(
    server, user, desktop, tmp_path
):
    people = tmp_path / "people.csv"
    people.write_text("Name,Organization,Email\nKim Park,Globex,kim@globex.example\nKim Park,,\n")
    cli("import", "csv", str(people), "--email", user.email, database=server.database)
    page = desktop.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, server, user)
    open_people(page)
    page.get_by_role("link", name="Possible duplicates").click()
    card = page.get_by_role("article", name="Possible duplicate: Kim Park and Kim Park")
    card.get_by_role("button", name="Not the same person").click()
    expect(page.get_by_text("No possible duplicates.")).to_be_visible()
    wait_all_pushed(page)
    page.reload()  # the dismissal was stored and synced
    expect(page.get_by_text("No possible duplicates.")).to_be_visible()
    kims = [r for r in server.records(user).values() if r["fields"].get("name") == "Kim Park"]
    assert sorted(len(k["fields"]["not_duplicates"]) for k in kims) == [1, 1]

    # A backup downloaded from this copy becomes a new store, which opens with the people.
    _settings(page)
    with page.expect_download() as caught:
        page.get_by_role("button", name="JSON backup").click()
    backup = tmp_path / "backup.json"
    caught.value.save_as(backup)
    page.locator("#restore-file").set_input_files(str(backup))
    expect(page.locator("#restore-done")).to_contain_text("(restored ")
    page.get_by_role("button", name="Open it").click()
    expect(page).to_have_url(server.url + "/")  # the store opened (its records read)
    wait_synced(page)
    open_people(page)
    expect(page.get_by_role("table", name="People").get_by_role("link")).to_have_count(2)
    _settings(page)
    expect(
        page.get_by_text(re.compile(r"Store: .*\(restored \d{4}-\d\d-\d\d\) \(owner\)"))
    ).to_be_visible()

    # The calendar link: made, readable by a calendar app, revoked.
    page.get_by_role("button", name="Make a calendar link").click()
    url = page.locator("#calendar-url").input_value()
    assert url.startswith(server.url + "/calendar/cal_") and url.endswith(".ics")
    feed = page.request.get(url)
    assert feed.status == 200 and feed.text().startswith("BEGIN:VCALENDAR")
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("button", name="Make a calendar link")).to_be_visible()
    assert page.request.get(url).status == 404


def test_two_spellings_of_one_organization_are_merged_offline_on_the_phone(server, user, phone):
    from tests.test_conversations import new_id, push

    helios, inc, dana = new_id(), new_id(), new_id()
    push(
        server,
        user,
        [
            (
                "organization",
                helios,
                {"name": "Helios Labs", "website": "helios.example", "field": "solar"},
            ),  # more filled: kept by default
            ("organization", inc, {"name": "Helios Labs, Inc.", "location": "Oslo"}),
            ("person", dana, {"name": "Dana Ortiz", "organization_id": inc}),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    wait_synced(page)
    go_offline(phone, page)
    page.goto(server.url + "/duplicates")
    expect(page.get_by_role("heading", name="Organizations")).to_be_visible()
    # (the pair is named in the order of the records' ids, which are random)
    pair = re.compile(r"^Possible duplicate: Helios Labs(, Inc\.)? and Helios Labs")
    card = page.get_by_role("article", name=pair)
    expect(card).to_contain_text("same name")
    card.get_by_role("button", name="Merge").click()
    expect(page.get_by_text("No possible duplicates.")).to_be_visible()
    go_online(phone, page)
    wait_all_pushed(page)
    records = server.records(user)
    assert records[inc]["deleted"] and records[inc]["fields"]["merged_into"] == helios
    kept = records[helios]["fields"]
    assert (kept["name"], kept["website"], kept["location"]) == (
        "Helios Labs", "helios.example", "Oslo"
    )  # fmt: skip
    assert records[dana]["fields"]["organization_id"] == helios  # Dana moved with it
