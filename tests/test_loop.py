"""The user loop walked end to end (capture at lunch offline → read back → correct → sync →
another device → weeks later), pinning what a reviewer found broken on a Pixel 7 and a desktop:
an interrupted capture that could not be finished, a focused field that kept a stale value,
conflicts that did not say what or whose, "Name, role" taken as a name, Back after Done.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import (
    go_offline,
    go_online,
    nav,
    open_people,
    screenshot,
    sign_in,
    wait_all_pushed,
    wait_synced,
)
from tests.test_conversations import iso, new_id, outbox, push, shown_day, wait_undo_closed

pytestmark = pytest.mark.browser


def capture_start(page: Page, who: str, pick: str) -> None:
    page.get_by_role("link", name="Capture a conversation").click()
    page.get_by_label("Who did you talk with?").fill(who)
    page.get_by_role("button", name=pick).click()


def test_an_interrupted_capture_is_offered_back_and_finished_on_its_page(server, user, phone):
    org = new_id()
    push(server, user, [("organization", org, {"name": "Voltaic Cells", "status": "target"})])
    page = phone.new_page()
    sign_in(page, server, user)
    go_offline(phone, page)
    capture_start(page, "Priya Nair", "New person: Priya Nair")
    page.keyboard.type("Runs the pouch-cell pilot line.")
    page.get_by_label("Organization", exact=True).fill("Voltaic")
    page.get_by_role("button", name="Voltaic Cells").click()
    page.get_by_label("Notes").type(" Hiring in Q4.")
    # (Each keystroke is on its way to IndexedDB; the last one is stored before the kill.)
    for _ in range(100):
        if any(" Hiring in Q4." in str(m) for m in outbox(page)):
            break
        page.wait_for_timeout(100)
    # The phone closes the app mid-notes (no Done); it is opened again, still offline.
    page.close()
    page = phone.new_page()
    page.goto(server.url + "/")
    offer = page.locator(".banner.resume")
    expect(offer).to_contain_text("Unfinished capture: Call with Priya Nair")
    offer.get_by_role("button", name="Continue it").click()
    expect(page.get_by_role("heading", name="Call with Priya Nair")).to_be_visible()
    expect(page.get_by_label("Notes")).to_have_value(
        "Runs the pouch-cell pilot line. Hiring in Q4."
    )

    # Who else to talk to, typed as in capture, at the organization of the conversation.
    adder = page.get_by_label("Add someone they suggested")
    adder.fill("Tomas Ek, VP Manufacturing; Ana Ruiz (recruiter)")
    page.get_by_role("button", name="Add referral").click()
    referrals = page.get_by_role("list", name="Referrals from this conversation")
    expect(referrals).to_contain_text("Tomas Ek · VP Manufacturing")
    expect(referrals).to_contain_text("Ana Ruiz · recruiter")
    expect(adder).to_have_value("")
    # A follow-up in one tap; a second tap does not add it twice.
    chips = page.get_by_role("group", name="Add a follow-up")
    chips.get_by_role("button", name="Send thanks tonight").click()
    open_fus = page.get_by_role("list", name="Open follow-ups")
    expect(open_fus).to_contain_text("Send a thank-you: Priya Nair")
    expect(chips.get_by_role("button", name="Send thanks tonight")).to_have_attribute(
        "aria-pressed", "true"
    )
    chips.get_by_role("button", name="Send thanks tonight").click()
    expect(open_fus.locator("li")).to_have_count(1)
    screenshot(page, "loop-conversation-phone")

    # One date format wherever a date is shown ("Nov 29, 2026", never "2026-11-29").
    today = dt.date.today()
    expect(open_fus).to_contain_text(f"due {shown_day(today)}")
    # The person page adds a name to "Referred you to" too (from her last conversation).
    page.get_by_role("link", name="← Priya Nair").click()
    expect(page.get_by_role("list", name="Follow-ups")).to_contain_text(f"due {shown_day(today)}")
    expect(page.locator("main")).not_to_contain_text(today.isoformat())
    page.get_by_label("Add someone they suggested").fill("Lee Chen")
    page.get_by_label("People they name work at Voltaic Cells too").uncheck()
    page.get_by_role("button", name="Add referral").click()
    expect(page.get_by_role("list", name="Referred you to")).to_contain_text("Lee Chen")

    # Reopened again: the capture was continued, nothing more is offered. (The heading shows
    # in the preview drawn while the records are read, before any offer could be made; the
    # offer comes when the load ends, before the whole page with its lists is drawn.)
    page.reload()
    expect(page.get_by_role("list", name="Referred you to")).to_contain_text("Lee Chen")
    expect(page.get_by_role("heading", name="Priya Nair", exact=True)).to_be_visible()
    expect(page.locator(".banner.resume")).to_have_count(0)

    go_online(phone, page)
    wait_all_pushed(page)
    records = server.records(user)
    live = [r for r in records.values() if not r["deleted"]]
    people = {r["fields"]["name"]: r for r in live if r["entity"] == "person"}
    talks = [r for r in live if r["entity"] == "conversation"]
    assert len(talks) == 1
    talk = talks[0]
    assert talk["fields"]["asked_for_referrals"] is True
    refs = {
        people_name: r
        for r in live
        if r["entity"] == "referral"
        for people_name in [records[r["fields"]["to_person_id"]]["fields"]["name"]]
    }
    assert set(refs) == {"Tomas Ek", "Ana Ruiz", "Lee Chen"}
    assert all(r["fields"]["from_person_id"] == people["Priya Nair"]["id"] for r in refs.values())
    assert all(r["fields"]["conversation_id"] == talk["id"] for r in refs.values())
    assert people["Tomas Ek"]["fields"]["organization_id"] == org
    assert people["Tomas Ek"]["fields"]["title"] == "VP Manufacturing"
    assert people["Lee Chen"]["fields"]["organization_id"] is None
    thanks = [r for r in live if r["entity"] == "followup"]
    assert [f["fields"]["kind"] for f in thanks] == ["thank_you"]


def test_deleting_a_conversation_moves_its_referrals_and_done_replaces_capture(server, user, phone):
    priya, tomas, first, second, ref = new_id(), new_id(), new_id(), new_id(), new_id()
    now = dt.datetime.now(dt.UTC)
    push(
        server,
        user,
        [
            ("person", priya, {"name": "Priya Nair", "stage": "talked"}),
            ("person", tomas, {"name": "Tomas Ek", "stage": "identified"}),
            ("conversation", first, {"person_id": priya, "kind": "lunch", "at": iso(now)}),
            (
                "conversation",
                second,
                {"person_id": priya, "kind": "call", "at": iso(now - dt.timedelta(days=2))},
            ),
            (
                "referral",
                ref,
                {"from_person_id": priya, "to_person_id": tomas, "conversation_id": first},
            ),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/conversations/{first}")
    expect(page.get_by_role("list", name="Referrals from this conversation")).to_contain_text(
        "Tomas Ek"
    )
    page.get_by_role("button", name="Delete conversation").click()
    expect(page.locator(".toast")).to_contain_text("Deleted: Lunch with Priya Nair")
    page.locator(".toast").get_by_role("button", name="Undo").click()
    page.get_by_role("button", name="Delete conversation").click()
    wait_undo_closed(page)
    talk = page.get_by_role("list", name="Conversations").locator("li.talk").first
    talk.locator("summary").click()
    talk.get_by_role("link", name=re.compile("^Open call")).click()
    expect(page.get_by_role("list", name="Referrals from this conversation")).to_contain_text(
        "Tomas Ek"
    )
    wait_all_pushed(page)
    records = server.records(user)
    assert records[first]["deleted"] is True
    assert records[ref]["fields"]["conversation_id"] == second

    # Done replaces capture in the history: Back goes where capture was opened from.
    nav(page).get_by_role("link", name="Today").click()
    capture_start(page, "priya", "Priya Nair")
    page.keyboard.type("Quick call.")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("heading", name="Priya Nair", exact=True)).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    expect(page.get_by_label("Who did you talk with?")).to_have_count(0)
    wait_synced(page)


def test_name_and_role_typed_as_who_is_a_person_with_a_title(server, user, phone):
    page = phone.new_page()
    sign_in(page, server, user)
    go_offline(phone, page)
    page.get_by_role("link", name="Capture a conversation").click()
    page.get_by_label("Who did you talk with?").fill("Priya Nair, cell process engineer")
    page.get_by_role("button", name="New person: Priya Nair (cell process engineer)").click()
    expect(page.locator(".chosen")).to_contain_text("Priya Nair")
    # No organization yet: nothing to say about who works there ([hidden] really hides).
    expect(page.locator("#capture-inherit")).to_be_hidden()
    page.keyboard.type("Pilot line.")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("heading", name="Priya Nair", exact=True)).to_be_visible()
    expect(page.locator(".lead")).to_contain_text("cell process engineer")
    # A known name typed with a role picks that person, and does not make a second one.
    nav(page).get_by_role("link", name="Today").click()
    page.get_by_role("link", name="Capture a conversation").click()
    page.get_by_label("Who did you talk with?").fill("priya nair, engineer")
    results = page.get_by_role("list", name="Matching people")
    expect(results.get_by_role("button", name=re.compile("^Priya Nair"))).to_have_count(1)
    expect(results).not_to_contain_text("New person")
    go_online(phone, page)
    wait_all_pushed(page)
    people = [r for r in server.records(user).values() if r["entity"] == "person"]
    assert [(p["fields"]["name"], p["fields"]["title"]) for p in people] == [
        ("Priya Nair", "cell process engineer")
    ]


def test_people_search_comes_first_and_adding_warns_of_a_namesake(server, user, phone):
    push(server, user, [("person", new_id(), {"name": "Priya Nair", "stage": "talked"})])
    page = phone.new_page()
    sign_in(page, server, user)
    open_people(page)
    search = page.get_by_label("Search people")
    first_box = page.locator("main input").first
    expect(first_box).to_have_attribute("type", "search")
    # Enter in search never creates anyone.
    search.fill("priya")
    search.press("Enter")
    expect(page.get_by_role("heading", name="Priya Nair", exact=True)).to_be_visible()
    open_people(page)
    page.get_by_role("button", name="Add person").click()
    page.get_by_label("New person's name").fill("priya nair")
    page.get_by_role("button", name="Add", exact=True).click()
    warning = page.locator(".namesake")
    expect(warning).to_contain_text("Priya Nair is already in your network")
    expect(warning.get_by_role("link", name="Priya Nair")).to_be_visible()
    warning.get_by_role("button", name="Add another priya nair").click()
    expect(page.get_by_role("heading", name="priya nair", exact=True)).to_be_visible()


def test_a_focused_field_follows_a_remote_change_unless_typed_in(server, user, phone):
    priya, talk = new_id(), new_id()
    push(
        server,
        user,
        [
            ("person", priya, {"name": "Priya Nair", "stage": "talked"}),
            (
                "conversation",
                talk,
                {"person_id": priya, "kind": "lunch", "place": "Battery Show", "notes": "Q2"},
            ),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/conversations/{talk}")
    notes, place, kind = (
        page.get_by_label("Notes"),
        page.get_by_label("Place"),
        page.get_by_label("Kind"),
    )
    expect(notes).to_have_value("Q2")

    def remote(fields):
        version = server.records(user)[talk]["version"]
        push(server, user, [("conversation", talk, fields, version)], client="desk")
        page.evaluate("dispatchEvent(new Event('online'))")

    # Focused, nothing typed: the other device's value shows at once.
    notes.focus()
    remote({"notes": "frozen until Q4"})
    expect(notes).to_have_value("frozen until Q4")
    expect(notes).to_be_focused()

    # Typed into: the text stays, the field says it changed elsewhere and offers theirs.
    notes.press("End")
    notes.type(" (maybe)")
    wait_all_pushed(page)
    remote({"notes": "frozen until Q3"})
    note = page.locator(".remote-change")
    expect(note).to_contain_text("Changed on another device to: “frozen until Q3”")
    expect(notes).to_have_value("frozen until Q4 (maybe)")
    note.get_by_role("button", name="Use theirs").click()
    expect(notes).to_have_value("frozen until Q3")
    expect(note).to_be_hidden()
    wait_all_pushed(page)
    assert server.records(user)[talk]["fields"]["notes"] == "frozen until Q3"

    # A list being picked from is left alone while focused, and refilled when left.
    kind.focus()
    remote({"kind": "coffee", "place": "Blue Bottle"})
    expect(place).to_have_value("Blue Bottle")
    expect(kind).to_have_value("lunch")
    place.focus()
    expect(kind).to_have_value("coffee")
    wait_synced(page)


def test_conflicts_say_what_and_whose_mark_the_words_and_merge_by_paragraphs(server, user, phone):
    priya, talk, tomasz = new_id(), new_id(), new_id()
    first = "Priya runs the pilot line."
    culture = "Culture: everyone does a shift on the line."
    push(
        server,
        user,
        [
            ("person", priya, {"name": "Priya Nair"}),
            ("person", tomasz, {"name": "Tomasz Wierzbicki", "title": "Senior Scientist"}),
            (
                "conversation",
                talk,
                {
                    "person_id": priya,
                    "kind": "lunch",
                    "at": "2026-11-28T12:00:00Z",
                    "notes": f"{first}\n\nHiring is frozen until Q2.\n\n{culture}",
                },
            ),
        ],
    )
    for client, hiring, title in [
        ("a", "Hiring is frozen until Q4 (maybe).", "Senior Scientist, Optical Metrology"),
        ("b", "Hiring is frozen until Q3.", "Principal Scientist"),
    ]:
        notes = f"{first}\n\n{hiring}\n\n{culture}"
        push(
            server,
            user,
            [("conversation", talk, {"notes": notes}, 1), ("person", tomasz, {"title": title}, 1)],
            client=client,
        )
    page = phone.new_page()
    sign_in(page, server, user)
    nav(page).get_by_role("link", name=re.compile("^Conflicts")).click()

    card = page.get_by_role("article", name="Conflict on Lunch with Priya Nair, Nov 28")
    expect(card.get_by_role("heading", level=2)).to_have_text("Lunch with Priya Nair, Nov 28")
    expect(card.get_by_role("heading", name="Kept (current)")).to_be_visible()
    expect(
        card.get_by_role("heading", name=re.compile(r"^Not kept \(edited .*\)$"))
    ).to_be_visible()
    conflict = next(
        r
        for r in server.records(user).values()
        if r["entity"] == "conflict" and r["fields"]["record_id"] == talk
    )
    kept, lost = (
        ("Q4 (maybe).", "Q3.") if "Q4" in conflict["fields"]["kept"] else ("Q3.", "Q4 (maybe).")
    )
    expect(card.locator(".value.kept mark")).to_have_text([kept])
    expect(card.locator(".value.lost mark")).to_have_text([lost])
    card.get_by_role("button", name="Edit a merged text").click()
    screenshot(page, "loop-conflicts-phone")
    expect(card.get_by_label("Merged notes")).to_have_value(
        f"{first}\n\nHiring is frozen until {kept}\n\nHiring is frozen until {lost}\n\n{culture}"
    )

    # A one-line title: pick one or edit it, never both on two lines.
    title = page.get_by_role("article", name="Conflict on Tomasz Wierzbicki")
    expect(title.get_by_role("button", name="Keep both")).to_have_count(0)
    title.get_by_role("button", name="Edit it").click()
    title.get_by_label("New title").fill("Principal Scientist, Optical Metrology")
    title.get_by_role("button", name="Save").click()
    expect(title).to_have_count(0)
    wait_all_pushed(page)
    assert (
        server.records(user)[tomasz]["fields"]["title"] == "Principal Scientist, Optical Metrology"
    )


def test_header_search_shows_as_you_type_says_why_and_forgets_elsewhere(server, user, phone):
    org, priya, talk = new_id(), new_id(), new_id()
    push(
        server,
        user,
        [
            ("organization", org, {"name": "Voltaic Cells", "location": "Fremont"}),
            ("person", priya, {"name": "Priya Nair", "organization_id": org}),
            (
                "conversation",
                talk,
                {
                    "person_id": priya,
                    "kind": "lunch",
                    "at": "2026-11-28T12:00:00Z",
                    "notes": "They are moving to LFP; dry-electrode coating is the big bet.",
                },
            ),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    box = page.get_by_role("search").get_by_label("Search everything")
    box.press_sequentially("dry electrode", delay=30)  # no Enter
    found = page.get_by_role("list", name="People found")
    expect(found).to_contain_text("Priya Nair")
    expect(found.locator(".why")).to_contain_text(
        "lunch, Nov 28, 2026: They are moving to LFP; dry-electrode coating"
    )
    expect(found.locator(".why mark")).to_have_text("dry")
    expect(box).to_be_focused()
    # One search box on the search page: the header's.
    expect(page.locator("main input[type=search]")).to_have_count(0)
    found.get_by_role("link", name=re.compile("Priya Nair")).click()
    expect(page.get_by_role("heading", name="Priya Nair", exact=True)).to_be_visible()
    expect(box).to_have_value("")
    page.go_back()
    expect(box).to_have_value("dry electrode")


def test_a_person_found_by_the_header_search_is_in_view_in_the_desktop_list(server, user, desktop):
    """On a desktop, a person opened from the header's search showed beside the whole People
    list from A, drawn 50 rows at a time: her row was not in it, nor in view, and j/k stepped
    from Aaron. The list beside her now shows what was found, her row current and in view."""
    priya = new_id()
    many = [("person", new_id(), {"name": f"Aaron Abbott {i:03d}"}) for i in range(120)]
    many += [
        ("organization", new_id(), {"name": f"Acme {i:03d}", "status": "target"}) for i in range(80)
    ]
    voltaic = (
        "organization",
        new_id(),
        {"name": "Voltaic Cells", "field": "Battery", "location": "Fremont"},
    )
    push(
        server,
        user,
        [*many, voltaic, ("person", priya, {"name": "Priya Nair", "title": "Engineer"})],
    )
    page = desktop.new_page()
    sign_in(page, server, user)
    box = page.get_by_role("search").get_by_label("Search everything")
    box.press_sequentially("priya n", delay=30)
    found = page.get_by_role("list", name="People found")
    found.get_by_role("link", name=re.compile("Priya Nair")).click()
    expect(page.get_by_role("heading", name="Priya Nair", exact=True)).to_be_visible()
    assert page.url.split("?")[0].endswith(f"/people/{priya}")
    beside = page.get_by_role("region", name="People")
    expect(beside.get_by_label("Search people")).to_have_value("priya n")
    current = beside.locator("a[aria-current=page]")
    expect(current).to_have_text(re.compile("Priya Nair"))
    expect(current).to_be_in_viewport()
    # Marked as the one on show: the table's row is drawn selected (not hovered: the mouse is
    # moved off it).
    page.mouse.move(1, 1)
    row_bg = current.evaluate("(a) => getComputedStyle(a.closest('tr')).backgroundColor")
    assert row_bg not in ("rgba(0, 0, 0, 0)", "transparent"), row_bg
    screenshot(page, "loop-desktop-found-beside-list", full_page=False)
    page.go_back()
    expect(box).to_have_value("priya n")

    # An organization found by its field, likewise (the table sorts target ones first).
    box.fill("")
    box.press_sequentially("fremont battery", delay=30)
    page.get_by_role("list", name="Organizations found").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Voltaic Cells", exact=True)).to_be_visible()
    orgs = page.get_by_role("region", name="Organizations")
    expect(orgs.get_by_label("Filter organizations")).to_have_value("fremont battery")
    current = orgs.locator("a[aria-current=page]")
    expect(current).to_have_text("Voltaic Cells")
    expect(current).to_be_in_viewport()


def test_a_desktop_list_filtered_beside_a_record_keeps_its_query_in_the_address(
    server, user, desktop
):
    """A query typed into the list beside a record (desktop) stayed out of the address: a
    record opened from the filtered list, then a reload, showed the whole list from A. The
    query now follows the record's path (`?q=`), through rows opened, j/k and a reload."""
    bo, ines, voltaic = new_id(), new_id(), new_id()
    many = [("person", new_id(), {"name": f"Aaron Abbott {i:03d}"}) for i in range(60)]
    push(
        server,
        user,
        [
            *many,
            ("person", bo, {"name": "Bo Berg"}),
            ("person", ines, {"name": "Ines Berg"}),
            ("organization", voltaic, {"name": "Voltaic Cells", "location": "Fremont"}),
            ("organization", new_id(), {"name": "Acme Anodes", "location": "Austin"}),
        ],
    )
    page = desktop.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/people/{bo}")
    beside = page.get_by_role("region", name="People")
    beside.get_by_label("Search people").press_sequentially("berg", delay=30)
    expect(page).to_have_url(re.compile(rf"/people/{bo}\?q=berg$"))
    beside.get_by_role("link", name=re.compile("Ines Berg")).click()
    expect(page.get_by_role("heading", name="Ines Berg", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/people/{ines}\?q=berg$"))
    page.locator("body").press("k")  # the previous record of the filtered list
    expect(page.get_by_role("heading", name="Bo Berg", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/people/{bo}\?q=berg$"))
    page.reload()
    expect(page.get_by_role("heading", name="Bo Berg", exact=True)).to_be_visible()
    expect(beside.get_by_label("Search people")).to_have_value("berg")
    expect(beside.locator("a[data-record]")).to_have_count(2)
    expect(beside.locator("a[aria-current=page]")).to_have_text(re.compile("Bo Berg"))

    # The organizations' filter, likewise.
    page.goto(f"{server.url}/organizations/{voltaic}")
    orgs = page.get_by_role("region", name="Organizations")
    orgs.get_by_label("Filter organizations").press_sequentially("fremont", delay=30)
    expect(page).to_have_url(re.compile(rf"/organizations/{voltaic}\?q=fremont$"))
    page.reload()
    expect(orgs.get_by_label("Filter organizations")).to_have_value("fremont")
    expect(orgs.locator("a[data-record]")).to_have_count(1)


def test_a_conflict_reads_the_same_on_both_devices(server, user, phone, desktop):
    """The phone whose title lost called its side "This device's" and the desktop's "Another
    device's" (and the kept side "Another device's (kept)" against "Kept (current)"): one
    conflict, described as two different ones. Both now say what was kept and when the other
    was written."""
    priya = new_id()
    push(server, user, [("person", priya, {"name": "Priya Nair", "title": "Engineer"})])
    pages = {}
    for name, context in (("phone", phone), ("desktop", desktop)):
        pages[name] = page = context.new_page()
        sign_in(page, server, user)
        page.goto(f"{server.url}/people/{priya}")
        page.locator("details.edit-details").wait_for(state="attached")
        page.evaluate("document.querySelector('details.edit-details').open = true")
    # The desktop edits offline; the phone's edit reaches the server meanwhile.
    go_offline(desktop, pages["desktop"])
    for name, title in (("phone", "Cell process engineer"), ("desktop", "Process lead")):
        field = pages[name].get_by_label("Title", exact=True)
        field.fill(title)
        field.blur()
        if name == "phone":
            wait_all_pushed(pages["phone"])
    go_online(desktop, pages["desktop"])
    wait_all_pushed(pages["desktop"])
    cards = {}
    for name, page in pages.items():
        page.goto(f"{server.url}/conflicts")
        card = page.get_by_role("article", name="Conflict on Priya Nair")
        expect(card).to_contain_text("Not kept (edited")
        cards[name] = card.inner_text()
    assert cards["phone"] == cards["desktop"]
    expect(pages["phone"].get_by_role("heading", name="Kept (current)")).to_be_visible()
