"""Today on a phone, offline: one-tap steps are queued at once and undone with one more tap,
a due follow-up is snoozed a week, and what is coming up includes scheduled conversations."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.browser import go_offline, go_online, sign_in, wait_all_pushed, wait_synced
from tests.test_conversations import iso, new_id, outbox, push, steps

pytestmark = pytest.mark.browser


def test_today_steps_undo_snooze_and_coming_up(server, user, phone):
    lena, dev, talk, due, later, ana, ben = (new_id() for _ in range(7))
    now = dt.datetime.now(dt.UTC)
    today = dt.date.today()
    push(
        server,
        user,
        [
            ("person", lena, {"name": "Lena Park", "stage": "talked"}),
            ("person", dev, {"name": "Dev Raman", "stage": "identified"}),
            ("person", ana, {"name": "Ana Diaz", "stage": "contacted"}),
            ("person", ben, {"name": "Ben Ortiz", "stage": "identified"}),
            (
                "referral",
                new_id(),
                {"from_person_id": lena, "to_person_id": ben, "status": "suggested"},
            ),
            (
                "conversation",
                talk,
                {
                    "person_id": lena,
                    "at": iso(now - dt.timedelta(days=3)),
                    "asked_for_referrals": True,
                },
            ),
            (
                "followup",
                due,
                {
                    "person_id": dev,
                    "kind": "connect",
                    "note": "Connect with Dev",
                    "due": (today - dt.timedelta(days=1)).isoformat(),
                },
            ),
            (
                "conversation",
                later,
                {
                    "person_id": dev,
                    "kind": "call",
                    "place": "Zoom",
                    "at": iso(now + dt.timedelta(days=9)),
                },
            ),
        ],
    )
    page = phone.new_page()
    sign_in(page, server, user)
    wait_synced(page)
    go_offline(phone, page)

    thanks = steps(page).locator("li", has_text="Thank Lena Park")
    expect(thanks).to_contain_text("3 days ago")  # a late thank-you says how late
    # Dev has a follow-up planned: it is his one step (no "Reach out to Dev Raman" beside it)
    expect(steps(page)).not_to_contain_text("Reach out to Dev Raman")

    # One tap: queued at once (it survives a reload), and one more undoes it.
    thanks.get_by_role("button", name="Thanked").click()
    expect(steps(page)).not_to_contain_text("Thank Lena Park")
    assert any(m["args"]["fields"].get("thanked_at") for m in outbox(page))
    page.locator(".toast").get_by_role("button", name="Undo").click()
    expect(steps(page).locator("li", has_text="Thank Lena Park")).to_be_visible()
    page.reload()
    expect(steps(page).locator("li", has_text="Thank Lena Park")).to_be_visible()

    # Snooze the overdue follow-up a week: it leaves Next steps for Coming up.
    connect = steps(page).locator("li", has_text="Connect with Dev")
    connect.get_by_role("button", name="Snooze a week").click()
    expect(steps(page)).not_to_contain_text("Connect with Dev")
    coming = page.get_by_role("list", name="Coming up")
    expect(coming).to_contain_text("Connect with Dev")
    # The call scheduled in 9 days is coming up too, and opens.
    call = coming.get_by_role("link", name="Call with Dev Raman")
    expect(call).to_be_visible()
    expect(coming).to_contain_text("Zoom")

    go_online(phone, page)
    wait_all_pushed(page)
    records = server.records(user)
    assert records[talk]["fields"].get("thanked_at") is None  # undone, on the server too
    snoozed = (today + dt.timedelta(days=7)).isoformat()
    assert records[due]["fields"]["due"] == snoozed
    call.click()
    expect(page).to_have_url(f"{server.url}/conversations/{later}")
    # Contacted, with no conversation yet: the person page does not say "Not contacted yet".
    page.goto(f"{server.url}/people/{ana}")
    expect(page.locator(".last-contacted")).to_have_text("Contacted: no conversation yet")
    # A referral marked contacted moves the person named on from "identified" too.
    page.goto(f"{server.url}/people/{lena}")
    given = page.get_by_role("list", name="Referred you to")
    given.get_by_label("Referral status: Ben Ortiz").select_option("contacted")
    given.get_by_role("link", name="Ben Ortiz").click()
    expect(page.locator(".last-contacted")).to_have_text("Contacted: no conversation yet")
    wait_all_pushed(page)
    assert server.records(user)[ben]["fields"]["stage"] == "contacted"
