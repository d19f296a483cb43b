"""What a walk of the whole loop at real size found awkward, pinned: a phone capturing a lunch
offline, reading it back that evening, Today's steps weeks later, the desktop beside it.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from playwright.sync_api import expect

from tests.browser import go_offline, go_online, sign_in, sync_now, until, wait_all_pushed
from tests.test_conversations import iso, new_id, push

pytestmark = pytest.mark.browser


def test_a_conversations_follow_up_chips_press_only_the_one_tapped(server, user, phone):
    """The chips "Follow up in 3 months" and "Follow up next week" write one note: tapping one
    pressed both, and the other could then not be added at all."""
    mira, lunch = new_id(), new_id()
    held = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    push(
        server,
        user,
        [
            ("person", mira, {"name": "Mira Kowalski", "stage": "talked"}),
            ("conversation", lunch, {"person_id": mira, "kind": "lunch", "at": iso(held)}),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/conversations/{lunch}")
    chips = page.get_by_role("group", name="Add a follow-up")
    later = chips.get_by_role("button", name="Follow up in 3 months")
    soon = chips.get_by_role("button", name="Follow up next week")
    later.click()
    open_fus = page.get_by_role("list", name="Open follow-ups")
    expect(open_fus.locator("li")).to_have_count(1)
    expect(later).to_have_attribute("aria-pressed", "true")
    expect(soon).to_have_attribute("aria-pressed", "false")
    soon.click()
    expect(open_fus.locator("li")).to_have_count(2)
    expect(soon).to_have_attribute("aria-pressed", "true")
    expect(later).to_have_attribute("aria-pressed", "true")


def test_merging_a_namesake_import_keeps_the_person_met(server, user, phone):
    """The imported namesake has more fields filled, so it is the one kept: merging with what
    the page proposes set Mira back to "identified" (and Today to "Reach out to Mira")."""
    org, met, imported = new_id(), new_id(), new_id()
    push(
        server,
        user,
        [
            ("organization", org, {"name": "Costa Project", "status": "target"}),
            (
                "person",
                met,
                {"name": "Mira Kowalski", "organization_id": org, "stage": "talked"},
            ),
            (
                "person",
                imported,
                {
                    "name": "Mira Kowalski",
                    "organization_id": org,
                    "stage": "identified",
                    "found_via": "linkedin",
                    "emails": ["mira@costa.example"],
                    "linkedin_url": "https://www.linkedin.com/in/mirakowalski",
                },
            ),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/duplicates")
    card = page.locator("article.duplicate").filter(has_text="Mira Kowalski")
    expect(card.get_by_role("radio", name="talked")).to_be_checked()
    card.get_by_role("button", name="Merge").click()
    expect(page.get_by_text("Merged into Mira Kowalski.")).to_be_visible()
    wait_all_pushed(page)
    records = server.records(user)
    (kept,) = [r for r in records.values() if r["entity"] == "person" and not r["deleted"]]
    assert kept["fields"]["stage"] == "talked"
    assert kept["fields"]["found_via"] == "linkedin"
    assert kept["fields"]["emails"] == ["mira@costa.example"]


def test_the_undo_toast_leaves_the_list_beside_a_record_room_to_show_its_last_row(
    server, user, desktop
):
    """On the desktop the people list scrolls by itself beside the record: the page's room
    under the toast did not reach it, and the toast covered its last row for good."""
    people = [new_id() for _ in range(40)]
    push(
        server,
        user,
        [
            ("person", pid, {"name": f"Person {n:02}", "stage": "talked"})
            for n, pid in enumerate(people)
        ],
    )
    page = desktop.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/people/{people[0]}")
    page.get_by_role("button", name="Delete person").click()
    toast = page.locator(".toast")
    expect(toast).to_be_visible()
    # The list draws a batch at a time as it scrolls: scrolled to its end (again and again, as
    # batches come), its last row shows whole above the toast.
    until(
        page,
        """() => {
          const pane = document.querySelector(".workspace > .list-pane");
          pane.scrollTop = pane.scrollHeight;
          const rows = pane.querySelectorAll("a[data-record]");
          const last = rows[rows.length - 1];
          const toast = document.querySelector(".toast");
          if (!last || !toast || !last.textContent.includes("Person 39")) return false;
          return last.getBoundingClientRect().bottom <= toast.getBoundingClientRect().top;
        }""",
        "the list's last row stays under the toast",
    )
    page.get_by_role("button", name="Undo").click()


def test_the_warm_path_is_said_above_a_tall_referral_picture(server, user, phone):
    """An organization with a dozen people known draws a picture taller than a phone's
    screen; the line naming the warm path to the hiring manager was below it, out of sight."""
    org = new_id()
    known = [new_id() for _ in range(12)]
    mira, jonas, petra = new_id(), new_id(), new_id()
    records = [("organization", org, {"name": "Costa Project", "status": "target"})]
    records += [
        ("person", pid, {"name": f"Aaron {n:02}", "organization_id": org, "stage": "talked"})
        for n, pid in enumerate(known)
    ]
    records += [
        ("person", mira, {"name": "Mira Kowalski", "organization_id": org, "stage": "talked"}),
        ("person", jonas, {"name": "Jonas Feld", "organization_id": org, "stage": "talked"}),
        (
            "person",
            petra,
            {"name": "Petra Lind", "organization_id": org, "hiring_authority": True},
        ),
        ("referral", new_id(), {"from_person_id": mira, "to_person_id": jonas}),
        ("referral", new_id(), {"from_person_id": jonas, "to_person_id": petra}),
    ]
    push(server, user, records)
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/organizations/{org}")
    hint = page.locator("#referral-path p", has_text="Shortest warm path")
    expect(hint).to_have_text("Shortest warm path: Mira Kowalski → Jonas Feld → Petra Lind")
    expect(hint).to_be_in_viewport()


def test_a_record_with_an_open_conflict_says_so_on_its_own_page(server, user, desktop):
    """The person page showed the title kept and nothing else: the other device's title was
    gone from it without a word (only the Conflicts tab's badge knew)."""
    org, jonas = new_id(), new_id()
    push(
        server,
        user,
        [
            ("organization", org, {"name": "Costa Project"}),
            ("person", jonas, {"name": "Jonas Feld", "organization_id": org, "title": "ALD lead"}),
        ],
    )
    # Two devices change his title from the same version, neither seeing the other's.
    push(server, user, [("person", jonas, {"title": "ALD group leader"}, 1)], client="phone")
    push(server, user, [("person", jonas, {"title": "Head of ALD"}, 1)], client="laptop")
    page = desktop.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/people/{jonas}")
    notice = page.locator(".conflict-notice")
    expect(notice).to_contain_text("Two devices changed title here")
    notice.get_by_role("link", name="See both and choose").click()
    card = page.locator(".conflicts")
    expect(card).to_contain_text("ALD group leader")
    card.get_by_role("button", name="Keep this").click()
    wait_all_pushed(page)
    page.goto(f"{server.url}/people/{jonas}")
    # The whole page (the preview drawn while the records are read has no notice to be empty).
    page.locator("details.edit-details").wait_for(state="attached")
    expect(page.get_by_role("heading", name="Jonas Feld")).to_be_visible()
    expect(page.locator(".conflict-notice")).to_be_empty()


def test_a_conversations_organization_is_found_by_typing_among_many(server, user, phone):
    """At real size the organization field was a list of every organization (1,000 names to
    scroll on a phone); a few letters now find it."""
    orgs = {f"Org {n:02}": new_id() for n in range(20)}
    orgs["Costa Project"] = new_id()
    ana, call = new_id(), new_id()
    held = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    push(
        server,
        user,
        [("organization", oid, {"name": name}) for name, oid in orgs.items()]
        + [
            ("person", ana, {"name": "Ana Ruiz", "organization_id": orgs["Org 00"]}),
            (
                "conversation",
                call,
                {"person_id": ana, "organization_id": orgs["Org 00"], "at": iso(held)},
            ),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/conversations/{call}")
    page.get_by_label("Find an organization").fill("costa")
    page.get_by_role("list", name="Organizations to pick").get_by_role(
        "button", name="Costa Project"
    ).click()
    expect(page.get_by_label("Organization", exact=True)).to_have_value(orgs["Costa Project"])
    wait_all_pushed(page)
    assert server.records(user)[call]["fields"]["organization_id"] == orgs["Costa Project"]


def test_a_person_merged_away_opens_the_one_kept(server, user, phone):
    """After Mira's namesakes were merged (on another device), her page left open, an old
    link or Back showed "Not found": a dead end for someone who is still there."""
    org, met, imported = new_id(), new_id(), new_id()
    push(
        server,
        user,
        [
            ("organization", org, {"name": "Costa Project"}),
            ("person", met, {"name": "Mira Kowalsky", "organization_id": org}),
            ("person", imported, {"name": "Mira Kowalski", "organization_id": org}),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/people/{met}")
    # Her whole page, not the preview drawn while the records are read: that one is what the
    # merge must move on from.
    page.locator("details.edit-details").wait_for(state="attached")
    expect(page.get_by_role("heading", name="Mira Kowalsky")).to_be_visible()
    merge = {
        "client_id": "c-laptop-merge",
        "mutations": [
            {
                "id": 1,
                "hlc": f"{time.time_ns() // 1_000_000:013d}-0001-c-laptop-merge",
                "name": "merge",
                "args": {"entity": "person", "id": met, "into": imported},
            }
        ],
    }
    server.api(f"/api/stores/{user.store_id}/push", merge, user.token)
    sync_now(page)
    expect(page.get_by_role("heading", name="Mira Kowalski")).to_be_visible()
    assert page.url.endswith(f"/people/{imported}")
    page.goto(f"{server.url}/people/{met}")
    expect(page.get_by_role("heading", name="Mira Kowalski")).to_be_visible()
    assert page.url.endswith(f"/people/{imported}")


def test_someone_new_met_at_a_place_typed_later_was_found_there(server, user, phone):
    """Capture writes the new person at the first keystroke (here: picking the organization),
    before the place is typed: she stayed "found via: other" instead of the conference."""
    org = new_id()
    push(server, user, [("organization", org, {"name": "Costa Project", "status": "target"})])
    page = phone.new_page()
    sign_in(page, server, user)
    page.get_by_role("link", name="Capture a conversation").click()
    page.get_by_label("Who did you talk with?").fill("Mira Kowalski, process engineer")
    page.get_by_role("button", name="New person: Mira Kowalski (process engineer)").click()
    page.get_by_label("Organization", exact=True).fill("Costa")
    page.get_by_role("button", name="Costa Project").click()
    page.get_by_label("Place").fill("MRS Fall lunch")
    page.get_by_label("Notes", exact=True).type("Runs the ALD line.")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("heading", name="Mira Kowalski")).to_be_visible()
    wait_all_pushed(page)
    (mira,) = [
        r["fields"]
        for r in server.records(user).values()
        if r["entity"] == "person" and not r["deleted"]
    ]
    assert (mira["found_via"], mira["found_via_detail"]) == ("conference", "MRS Fall lunch")


def test_a_corrected_name_is_corrected_in_the_follow_ups_that_spell_it(server, user, phone):
    """Capture's follow-ups spell the name in their note; after "Kowalsky" was corrected to
    "Kowalski", Today still said "Send a thank-you: Mira Kowalsky"."""
    mira, thanks, done = new_id(), new_id(), new_id()
    today = dt.date.today().isoformat()
    push(
        server,
        user,
        [
            ("person", mira, {"name": "Mira Kowalsky", "stage": "talked"}),
            (
                "followup",
                thanks,
                {
                    "person_id": mira,
                    "due": today,
                    "kind": "thank_you",
                    "note": "Send a thank-you: Mira Kowalsky",
                },
            ),
            (
                "followup",
                done,
                {
                    "person_id": mira,
                    "due": today,
                    "note": "Call Mira Kowalsky",
                    "done_at": iso(dt.datetime.now(dt.UTC)),
                },
            ),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/people/{mira}")
    # The whole page, not the preview drawn while the records are read (it has no details).
    page.locator("details.edit-details").wait_for(state="attached")
    page.evaluate("document.querySelector('details.edit-details').open = true")
    name = page.get_by_label("Name", exact=True)
    name.fill("Mira Kowalski")
    name.blur()
    expect(page.get_by_role("list", name="Follow-ups")).to_contain_text(
        "Send a thank-you: Mira Kowalski"
    )
    wait_all_pushed(page)
    records = server.records(user)
    assert records[thanks]["fields"]["note"] == "Send a thank-you: Mira Kowalski"
    assert records[done]["fields"]["note"] == "Call Mira Kowalsky", "a done one is history"


def test_a_search_section_with_nothing_found_says_so(server, user, phone):
    push(server, user, [("person", new_id(), {"name": "Mira Kowalski"})])
    page = phone.new_page()
    sign_in(page, server, user)
    page.get_by_role("search").get_by_role("searchbox").fill("mira")
    found = page.get_by_role("list", name="People found")
    expect(found).to_contain_text("Mira Kowalski")
    expect(page.get_by_role("list", name="Organizations found")).to_have_text(
        "No organization matches."
    )


_COUNT_ORGANIZATION_SORTS = """() => {
  window.organizationSorts = 0;
  const sort = Array.prototype.sort;
  Array.prototype.sort = function (...args) {
    if (this.length >= 100 && this[0]?.entity === "organization") window.organizationSorts += 1;
    return sort.apply(this, args);
  };
}"""


def test_a_conversations_organizations_are_sorted_once_and_then_kept_in_place(server, user, phone):
    """At real size (1,000 organizations) the conversation page sorted every organization
    again at each keystroke typed in its notes; they are listed once the picker is used, and
    a change elsewhere adds, renames or removes only the organizations it touches."""
    orgs = [new_id() for _ in range(150)]
    ana, call = new_id(), new_id()
    push(
        server,
        user,
        [("organization", oid, {"name": f"Org {n:03}"}) for n, oid in enumerate(orgs)]
        + [
            ("person", ana, {"name": "Ana Ruiz", "organization_id": orgs[7]}),
            ("conversation", call, {"person_id": ana, "organization_id": orgs[7], "notes": "Q2"}),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/conversations/{call}")
    select = page.get_by_label("Organization", exact=True)
    expect(select).to_have_value(orgs[7])
    page.evaluate(_COUNT_ORGANIZATION_SORTS)
    notes = page.get_by_label("Notes")
    notes.press("End")
    notes.type(" hiring")
    wait_all_pushed(page)
    assert page.evaluate("window.organizationSorts") == 0, "a keystroke sorted them again"
    # Used, the picker lists them all in name order, the conversation's still chosen.
    select.focus()
    options = select.locator("option")
    expect(options).to_have_count(151)
    expect(select).to_have_value(orgs[7])
    page.evaluate(
        "id => { document.querySelector(`option[value='${id}']`).dataset.kept = 'yes'; }", orgs[3]
    )
    page.evaluate("window.organizationSorts = 0")
    notes.focus()
    # Another device renames one, adds one: each goes to its place, the others stay as they are.
    renamed = server.records(user)[orgs[149]]
    push(
        server,
        user,
        [
            ("organization", renamed["id"], {"name": "Aardvark Labs"}, renamed["version"]),
            ("organization", new_id(), {"name": "Org 100½"}),
        ],
        client="desk",
    )
    sync_now(page)
    expect(options.nth(1)).to_have_text("Aardvark Labs")
    expect(options).to_have_count(152)
    names = options.all_text_contents()
    assert names[names.index("Org 100") + 1] == "Org 100½"
    assert names.count("Org 149") == 0
    assert (
        page.evaluate("id => document.querySelector(`option[value='${id}']`).dataset.kept", orgs[3])
        == "yes"
    )
    assert page.evaluate("window.organizationSorts") == 0
    expect(select).to_have_value(orgs[7])


_PICTURE_TEXT_OUTSIDE_ITS_BOX = """() => {
  const problems = [];
  for (const node of document.querySelectorAll("#referral-path .node")) {
    const box = node.querySelector("rect").getBBox();
    const texts = [...node.querySelectorAll("text")];
    for (const t of texts) {
      const b = t.getBBox();
      const right = box.x + box.width - 4;
      if (b.x < box.x || b.x + b.width > right || b.y + b.height > box.y + box.height) {
        problems.push(`${t.textContent} sticks out of its box`);
      }
    }
    const name = texts.filter((t) => t.classList.contains("name")).map((t) => t.textContent);
    const whole = node.querySelector("title").textContent.split(", ")[0];
    const shown = name.join("").replace(/\\s/g, "");
    if (shown !== whole.replace(/\\s/g, "")) problems.push(`${whole} shown as ${name}`);
  }
  return problems;
}"""


def test_the_referral_picture_shows_long_names_and_titles_whole(server, user, phone, desktop):
    """People with long names and titles were cut at their box's edge in the referral picture
    ("Anneliese Brandt-(", "Senior Principal Scient"): the boxes are as wide as there is room
    for, and a name or title wraps to a second line."""
    org, anneliese, tomasz, kenji = new_id(), new_id(), new_id(), new_id()
    at_org = {"organization_id": org, "stage": "talked"}
    push(
        server,
        user,
        [
            ("organization", org, {"name": "Fraunhofer Institute for Solar Energy Systems"}),
            (
                "person",
                anneliese,
                {
                    "name": "Anneliese Brandt-Okonkwo-Meyer",
                    "title": "Director of Thin-Film Process Engineering",
                }
                | at_org,
            ),
            (
                "person",
                tomasz,
                {
                    "name": "Tomasz Wierzbicki-Lindqvist",
                    "title": "Senior Principal Scientist for Optical Metrology",
                    "organization_id": org,
                },
            ),
            ("person", kenji, {"name": "Kenji Watanabe", "organization_id": org}),
            ("referral", new_id(), {"from_person_id": anneliese, "to_person_id": tomasz}),
            ("referral", new_id(), {"from_person_id": anneliese, "to_person_id": kenji}),
        ],
    )
    for context in (phone, desktop):
        page = context.new_page()
        sign_in(page, server, user)
        page.goto(f"{server.url}/organizations/{org}")
        expect(page.locator("#referral-path .node")).to_have_count(3)
        assert page.evaluate(_PICTURE_TEXT_OUTSIDE_ITS_BOX) == []
        expect(page.locator("#referral-path")).to_contain_text(
            "Senior Principal Scientist for Optical"
        )
        page.close()


def test_a_thank_you_done_on_the_person_page_thanks_the_conversation(server, user, phone):
    """Done on "Send a thank-you" left the lunch "not thanked yet" on the same page and the
    stage at "talked"; Today's "Thanked" moved both."""
    mira, lunch, thanks = new_id(), new_id(), new_id()
    held = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    today = dt.date.today().isoformat()
    push(
        server,
        user,
        [
            ("person", mira, {"name": "Mira Kowalski", "stage": "talked"}),
            ("conversation", lunch, {"person_id": mira, "kind": "lunch", "at": iso(held)}),
            (
                "followup",
                thanks,
                {"person_id": mira, "kind": "thank_you", "due": today, "note": "Send a thank-you"},
            ),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/people/{mira}")
    row = page.get_by_role("list", name="Follow-ups").locator("li", has_text="Send a thank-you")
    # Put off, a thank-you waits a day, not a week (a week later thanks are late).
    expect(row.get_by_role("button", name="Tomorrow")).to_be_visible()
    expect(row.get_by_role("button", name="Snooze a week")).to_have_count(0)
    row.get_by_role("button", name="Done").click()
    expect(page.locator(".lead")).to_contain_text("thanked")
    talk = page.get_by_role("list", name="Conversations").locator("li.talk").first
    talk.locator("summary").click()
    expect(talk).to_contain_text("thanked ")
    expect(talk).not_to_contain_text("not thanked yet")
    wait_all_pushed(page)
    records = server.records(user)
    assert records[lunch]["fields"]["thanked_at"] is not None
    assert records[mira]["fields"]["stage"] == "thanked"
    assert records[thanks]["fields"]["done_at"] is not None


def test_a_name_under_who_else_taken_as_someone_known_says_so_and_can_be_someone_else(
    server, user, phone
):
    """ "Ruth Castellano (Head of Module Reliability)", named at a lunch at another
    organization, became the Dr. Ruth Castellano already known (a group leader elsewhere)
    without a word: the referral went to a namesake, and nothing showed it."""
    helios, ruth, priya = new_id(), new_id(), new_id()
    push(
        server,
        user,
        [
            ("organization", helios, {"name": "Helios Photonics"}),
            (
                "person",
                ruth,
                {"name": "Dr. Ruth Castellano", "title": "Group Leader", "organization_id": helios},
            ),
            ("person", priya, {"name": "Priya Nair", "stage": "identified"}),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    go_offline(phone, page)
    page.get_by_role("link", name="Capture a conversation").click()
    page.get_by_label("Who did you talk with?").fill("priya")
    page.get_by_role("button", name="Priya Nair").click()
    page.keyboard.type("Lunch at Intersolar.")
    others = page.get_by_label("Who else should I talk to?")
    others.fill("Ruth Castellano (Head of Module Reliability)\nKenji Watanabe")
    others.blur()
    known = page.get_by_role("list", name="Names already in your network")
    expect(known.locator("li")).to_have_count(1)
    expect(known).to_contain_text(
        "Ruth Castellano: Dr. Ruth Castellano (Group Leader · Helios Photonics), already in your"
    )
    known.get_by_role("button", name="Someone else").click()
    expect(known).to_contain_text("Ruth Castellano: someone new, referred by Priya Nair.")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("list", name="Referred you to")).to_contain_text(
        "Head of Module Reliability"
    )
    go_online(phone, page)
    wait_all_pushed(page)
    records = [r for r in server.records(user).values() if not r["deleted"]]
    named = {r["fields"]["to_person_id"] for r in records if r["entity"] == "referral"}
    people = {r["id"]: r["fields"] for r in records if r["entity"] == "person"}
    assert ruth not in named
    assert sorted((people[pid]["name"], people[pid]["title"]) for pid in named) == [
        ("Kenji Watanabe", None),
        ("Ruth Castellano", "Head of Module Reliability"),
    ]


def test_what_opens_shows_that_it_opens(server, user, phone):
    """A follow-up's "Edit" and a person's "Edit details" had no triangle (a flex summary loses
    the browser's): they read as plain text, nothing to tap."""
    mira = new_id()
    today = dt.date.today().isoformat()
    push(
        server,
        user,
        [
            ("person", mira, {"name": "Mira Kowalski", "stage": "talked"}),
            ("followup", new_id(), {"person_id": mira, "due": today, "note": "Call Mira"}),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/people/{mira}")
    marker = "el => getComputedStyle(el, '::before').content"
    edit = page.locator("details.followup-edit > summary")
    expect(edit).to_have_text("Edit")
    assert edit.evaluate(marker) == '"▸"'
    edit.click()
    assert edit.evaluate(marker) == '"▾"'
    details = page.locator("details.edit-details > summary")
    assert details.evaluate(marker) in ('"▸"', '"▾"')


def test_a_name_added_on_a_persons_page_taken_as_someone_known_says_so(server, user, phone):
    """As in capture, a name added under "Referred you to" became someone already known (a
    namesake elsewhere) without a word."""
    helios, ruth, priya = new_id(), new_id(), new_id()
    push(
        server,
        user,
        [
            ("organization", helios, {"name": "Helios Photonics"}),
            ("person", ruth, {"name": "Ruth Castellano", "organization_id": helios}),
            ("person", priya, {"name": "Priya Nair", "stage": "talked"}),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/people/{priya}")
    page.get_by_label("Add someone they suggested").fill("ruth castellano, recruiter")
    page.get_by_role("button", name="Add referral").click()
    known = page.get_by_role("list", name="Names already in your network")
    expect(known).to_contain_text(
        "ruth castellano: Ruth Castellano (Helios Photonics), already in your network."
    )
    known.get_by_role("button", name="Someone else").click()
    given = page.get_by_role("list", name="Referred you to")
    expect(given).to_contain_text("ruth castellano · recruiter")
    wait_all_pushed(page)
    records = server.records(user)
    (referral,) = [r for r in records.values() if r["entity"] == "referral"]
    assert referral["fields"]["to_person_id"] != ruth
    assert records[referral["fields"]["to_person_id"]]["fields"]["title"] == "recruiter"
    assert records[ruth]["fields"]["title"] is None, "the title typed is not hers after all"


def test_a_persons_and_an_organizations_own_steps_are_on_their_pages(server, user, phone):
    """Today said "Thank Rosa Chen" while Rosa's page said "Follow-ups: None." and nothing of
    the thanks owed: a person's page (and an organization's) now shows Today's steps for them,
    with the same buttons, and a step taken there leaves Today too."""
    org, rosa, lunch = new_id(), new_id(), new_id()
    held = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    push(
        server,
        user,
        [
            ("organization", org, {"name": "Costa Project", "status": "target"}),
            ("person", rosa, {"name": "Rosa Chen", "organization_id": org, "stage": "talked"}),
            (
                "conversation",
                lunch,
                {"person_id": rosa, "organization_id": org, "kind": "lunch", "at": iso(held)},
            ),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    page.goto(f"{server.url}/people/{rosa}")
    own = page.get_by_role("list", name="Next steps with them")
    thank = own.locator("li.step", has_text="Thank Rosa Chen")
    expect(thank).to_have_count(1)
    expect(own.locator("li.step", has_text="Ask Rosa Chen who else")).to_have_count(1)
    expect(thank.get_by_role("link")).to_have_count(0)  # it leads here: no link to itself
    thank.get_by_role("button", name="Thanked").click()
    expect(thank).to_have_count(0)
    expect(page.locator(".lead")).to_contain_text("thanked")
    talk = page.get_by_role("list", name="Conversations").locator("li.talk").first
    talk.locator("summary").click()
    expect(talk).not_to_contain_text("not thanked yet")

    page.goto(f"{server.url}/organizations/{org}")
    there = page.get_by_role("list", name="Next steps at this organization")
    aim = there.locator("li.step", has_text="Aim for the prospective supervisor at Costa Project")
    expect(aim).to_have_count(1)

    page.goto(f"{server.url}/")
    steps = page.get_by_role("list", name="Next steps")
    expect(steps.locator("li.step", has_text="Ask Rosa Chen who else")).to_have_count(1)
    expect(steps.locator("li.step", has_text="Thank Rosa Chen")).to_have_count(0)
    wait_all_pushed(page)
    records = server.records(user)
    assert records[lunch]["fields"]["thanked_at"] is not None
    assert records[rosa]["fields"]["stage"] == "thanked"


def test_an_organization_typed_and_not_picked_is_kept_at_done(server, user, phone):
    """At a lunch one types the organization and goes on to the notes without tapping the
    suggestion under it: Done dropped it (the person and the conversation had none). Done now
    takes the organization of that name, or adds it."""
    costa = new_id()
    push(server, user, [("organization", costa, {"name": "Costa Project", "status": "target"})])
    page = phone.new_page()
    sign_in(page, server, user)

    def capture(who: str, organization: str) -> None:
        page.goto(f"{server.url}/")
        page.get_by_role("link", name="Capture a conversation").click()
        page.get_by_label("Who did you talk with?").fill(who)
        page.get_by_role("button", name=f"New person: {who}").click()
        page.get_by_label("Organization", exact=True).fill(organization)
        page.get_by_label("Notes", exact=True).type("Runs the ALD line.")
        page.get_by_role("button", name="Done").click()
        expect(page.get_by_role("heading", name=who)).to_be_visible()
        wait_all_pushed(page)  # (before the next start reloads the page)

    capture("Dana Ortiz", "Lumen Labs")
    capture("Rosa Chen", "costa project")  # a known one, typed in other case
    records = [r for r in server.records(user).values() if not r["deleted"]]
    orgs = {r["fields"]["name"]: r["id"] for r in records if r["entity"] == "organization"}
    assert sorted(orgs) == ["Costa Project", "Lumen Labs"]  # one added, none twice
    people = {r["fields"]["name"]: r for r in records if r["entity"] == "person"}
    talks = {r["fields"]["person_id"]: r for r in records if r["entity"] == "conversation"}
    for name, org in (("Dana Ortiz", orgs["Lumen Labs"]), ("Rosa Chen", costa)):
        person = people[name]
        assert person["fields"]["organization_id"] == org
        assert talks[person["id"]]["fields"]["organization_id"] == org
        assert talks[person["id"]]["fields"]["notes"] == "Runs the ALD line."
