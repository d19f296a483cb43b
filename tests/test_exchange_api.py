"""The HTTP side of import, restore and the calendar feed, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import icalendar
from sqlalchemy import select

from server.database import write_transaction
from server.models import CalendarFeed
from tests.conftest import make_account
from tests.test_import import LINKEDIN


def _uid() -> str:
    return str(uuid.uuid4())


async def _push(client, account, *mutations: tuple[str, dict]) -> None:
    """Push mutations as the account's device (a client id of its own per call)."""
    client_id = f"c-{uuid.uuid4().hex[:8]}"
    now = time.time_ns() // 1_000_000
    body = {
        "client_id": client_id,
        "mutations": [
            {"id": n, "hlc": f"{now}-{n:04x}-{client_id}", "name": name, "args": args}
            for n, (name, args) in enumerate(mutations, start=1)
        ],
    }
    r = await client.post(f"/api/stores/{account.store_id}/push", json=body, headers=account.auth)
    assert r.status_code == 200, r.text
    assert all(x["status"] == "applied" for x in r.json()["results"]), r.json()


async def _pull(client, account) -> list[dict]:
    r = await client.post(
        f"/api/stores/{account.store_id}/pull",
        json={"client_id": "c-reader", "cursor": "", "limit": 5000},
        headers=account.auth,
    )
    return r.json()["changes"]


# ----- import -----------------------------------------------------------------------------


async def test_preview_then_import_with_progress_lines(client, account):
    body = {"format": "linkedin", "content": LINKEDIN.decode()}
    url = f"/api/stores/{account.store_id}/import"
    preview = await client.post(f"{url}/preview", json=body, headers=account.auth)
    assert preview.status_code == 200, preview.text
    p = preview.json()
    assert p["people"] == {"created": 6, "updated": 0, "skipped": 0}
    assert p["organizations"] == {"created": 4, "matched": 0}
    assert p["refused"] == [{"row": "line 9", "reason": "no first or last name"}]
    assert await _pull(client, account) == []  # a preview writes nothing
    done = await client.post(url, json=body, headers=account.auth)
    assert done.status_code == 200
    assert done.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in done.text.splitlines()]
    assert lines[0] == {"done": 0, "total": p["mutations"]}
    assert lines[-2] == {"done": p["mutations"], "total": p["mutations"]}
    summary = lines[-1]["summary"]
    assert summary["people"] == p["people"]
    assert summary["rejected"] == []
    people = [c for c in await _pull(client, account) if c["entity"] == "person"]
    assert len(people) == 6
    again = await client.post(f"{url}/preview", json=body, headers=account.auth)
    assert again.json()["people"] == {"created": 0, "updated": 0, "skipped": 6}


async def test_an_import_stopped_midway_ends_its_stream_with_an_error_line(
    client, account, monkeypatch
):
    from server import guards, importers

    async def busy_after_one_batch(engine, store_id, user_id, plan, progress, live):
        await progress(1, len(plan.mutations))
        raise guards.Busy("the database is busy with other writes: nothing was changed")

    monkeypatch.setattr(importers, "apply", busy_after_one_batch)
    body = {"format": "linkedin", "content": LINKEDIN.decode()}
    done = await client.post(f"/api/stores/{account.store_id}/import", json=body,
                             headers=account.auth)  # fmt: skip
    assert done.status_code == 200  # the stream had begun
    lines = [json.loads(line) for line in done.text.splitlines()]
    assert lines[1]["done"] == 1
    assert lines[-1] == {
        "error": "the database is busy with other writes: nothing was changed",
        "status": 503,
    }


async def test_import_refuses_a_bad_file_a_viewer_and_a_stranger(client, engine, account):
    url = f"/api/stores/{account.store_id}/import"
    bad = await client.post(
        url, json={"format": "csv", "content": "Email\nx@y.example\n"}, headers=account.auth
    )
    assert bad.status_code == 400
    assert "no name column" in bad.json()["detail"]
    unknown = await client.post(
        f"{url}/preview", json={"format": "xls", "content": ""}, headers=account.auth
    )
    assert unknown.status_code == 400
    viewer = await make_account(engine)
    async with write_transaction(engine) as conn:
        from server import accounts

        await accounts.share_store(conn, account.store_id, viewer.email, "viewer")
    body = {"format": "linkedin", "content": LINKEDIN.decode()}
    refused = await client.post(url, json=body, headers=viewer.auth)
    assert refused.status_code == 403
    stranger = await make_account(engine)
    hidden = await client.post(f"{url}/preview", json=body, headers=stranger.auth)
    assert hidden.status_code == 404
    nobody = await client.post(f"{url}/preview", json=body)
    assert nobody.status_code == 401
    assert await _pull(client, account) == []


# ----- restore ----------------------------------------------------------------------------


async def test_restore_over_http_makes_a_new_store_of_the_caller(client, engine, account):
    org, person = _uid(), _uid()
    await _push(
        client,
        account,
        ("set", {"entity": "organization", "id": org, "base": 0, "fields": {"name": "Acme"}}),
        (
            "set",
            {
                "entity": "person",
                "id": person,
                "base": 0,
                "fields": {"name": "Dana", "organization_id": org, "emails": ["d@acme.example"]},
            },
        ),
    )
    from server import exporters

    async with engine.connect() as conn:
        backup = await exporters.backup(conn, account.store_id)
    r = await client.post(
        "/api/restore", params={"name": "Copy"}, content=backup, headers=account.auth
    )
    assert r.status_code == 201, r.text
    store = r.json()
    assert store["name"] == "Copy"
    assert store["role"] == "owner" and store["id"] != account.store_id
    stores = (await client.get("/api/stores", headers=account.auth)).json()
    assert store["id"] in [s["id"] for s in stores]
    changes = await client.post(
        f"/api/stores/{store['id']}/pull",
        json={"client_id": "c-reader", "cursor": "", "limit": 100},
        headers=account.auth,
    )
    restored = {c["id"]: c["fields"] for c in changes.json()["changes"]}
    assert restored[person]["organization_id"] == org
    assert restored[person]["emails"] == ["d@acme.example"]
    bad = await client.post("/api/restore", content=b'{"format": "nope"}', headers=account.auth)
    assert bad.status_code == 400
    assert "not a Grapevine backup" in bad.json()["detail"]


# ----- calendar ---------------------------------------------------------------------------


def _events(body: bytes) -> dict[str, icalendar.Event]:
    """The feed's events by UID, after the RFC 5545 checks a strict reader makes."""
    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))  # folded lines, in octets
    cal = icalendar.Calendar.from_ical(body)
    assert cal["version"] == "2.0" and cal["prodid"]
    for event in cal.walk("VEVENT"):
        assert {"UID", "DTSTAMP", "DTSTART", "SUMMARY", "SEQUENCE", "STATUS"} <= set(event)
        assert not event.errors, event.errors
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


async def test_the_calendar_feed_carries_conversations_and_follow_ups(client, account):
    person, conversation, followup, done = _uid(), _uid(), _uid(), _uid()
    at = "2026-12-03T12:30:00Z"
    await _push(
        client,
        account,
        ("set", {"entity": "person", "id": person, "base": 0, "fields": {"name": "Dana Ortiz"}}),
        (
            "set",
            {
                "entity": "conversation",
                "id": conversation,
                "base": 0,
                "fields": {
                    "person_id": person,
                    "kind": "lunch",
                    "at": at,
                    "place": "Café Lumen, 5th & Pine, upstairs in the reading room by the windows",
                    "duration_min": 60,
                },
            },
        ),
        (
            "set",
            {
                "entity": "followup",
                "id": followup,
                "base": 0,
                "fields": {"person_id": person, "due": "2026-12-05", "kind": "thank_you"},
            },
        ),
        (
            "set",
            {
                "entity": "followup",
                "id": done,
                "base": 0,
                "fields": {"person_id": person, "due": "2026-12-01", "done_at": at},
            },
        ),
    )
    made = await client.post("/api/calendar", headers=account.auth)
    assert made.status_code == 201
    path = made.json()["path"]
    assert path.startswith("/calendar/cal_") and path.endswith(".ics")
    assert (await client.get("/api/calendar", headers=account.auth)).json()["active"] is True
    feed = await client.get(path)  # no device token: calendar apps cannot send one
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    events = _events(feed.content)
    lunch = events[f"{conversation}.{account.store_id}@grapevine"]
    assert str(lunch["summary"]) == "Lunch with Dana Ortiz"
    assert str(lunch["location"]).startswith("Café Lumen, 5th & Pine, upstairs")
    assert lunch.decoded("dtstart") == dt.datetime(2026, 12, 3, 12, 30, tzinfo=dt.UTC)
    assert lunch.decoded("dtend") - lunch.decoded("dtstart") == dt.timedelta(hours=1)
    assert str(lunch["status"]) == "CONFIRMED"
    thanks = events[f"{followup}.{account.store_id}@grapevine"]
    assert thanks.decoded("dtstart") == dt.date(2026, 12, 5)  # all day
    assert thanks.decoded("dtend") == dt.date(2026, 12, 6)
    assert str(thanks["summary"]) == "Thank Dana Ortiz"
    assert str(events[f"{done}.{account.store_id}@grapevine"]["status"]) == "CANCELLED"
    sequence = int(lunch["sequence"])

    # An update keeps the UID and raises SEQUENCE; a deleted conversation is cancelled.
    await _push(
        client,
        account,
        (
            "set",
            {"entity": "conversation", "id": conversation, "base": 1, "fields": {"place": "Zoom"}},
        ),
    )
    moved = _events((await client.get(path)).content)[
        f"{conversation}.{account.store_id}@grapevine"
    ]
    assert str(moved["location"]) == "Zoom"
    assert int(moved["sequence"]) > sequence
    await _push(
        client, account, ("delete", {"entity": "conversation", "id": conversation, "base": 2})
    )
    gone = _events((await client.get(path)).content)[f"{conversation}.{account.store_id}@grapevine"]
    assert str(gone["status"]) == "CANCELLED"
    assert int(gone["sequence"]) > int(moved["sequence"])


async def test_a_revoked_or_replaced_feed_url_answers_404(client, engine, account):
    first = (await client.post("/api/calendar", headers=account.auth)).json()["path"]
    assert (await client.get(first)).status_code == 200
    token = first.removeprefix("/calendar/").removesuffix(".ics")
    async with engine.connect() as conn:
        stored = (await conn.execute(select(CalendarFeed.token_hash))).scalars().all()
    assert token not in stored  # only its hash is kept
    second = (await client.post("/api/calendar", headers=account.auth)).json()["path"]
    assert (await client.get(first)).status_code == 404
    assert (await client.get(second)).status_code == 200
    assert (await client.delete("/api/calendar", headers=account.auth)).status_code == 204
    assert (await client.get(second)).status_code == 404
    assert (await client.get("/api/calendar", headers=account.auth)).json()["active"] is False
    assert (await client.get("/calendar/cal_guess.ics")).status_code == 404
    assert (await client.post("/api/calendar")).status_code == 401


async def test_a_feed_shows_only_its_owners_stores(client, engine, account, other_account):
    person = _uid()
    await _push(
        client,
        other_account,
        ("set", {"entity": "person", "id": person, "base": 0, "fields": {"name": "Secret"}}),
        (
            "set",
            {
                "entity": "followup",
                "id": _uid(),
                "base": 0,
                "fields": {"person_id": person, "due": "2026-12-05"},
            },
        ),
    )
    path = (await client.post("/api/calendar", headers=account.auth)).json()["path"]
    assert _events((await client.get(path)).content) == {}
