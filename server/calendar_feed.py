"""A per-user iCalendar feed (RFC 5545) at a secret, revocable URL.

Conversations with a time become events (with their place); follow-ups not done become
all-day events on their due date. Each event's UID is its record's id and store, so it stays
the same across edits; SEQUENCE is the record's version, so a calendar takes an edit as an
update, and a deleted conversation or a follow-up done or deleted is sent with STATUS:CANCELLED.
Only the SHA-256 of the feed token is stored: the URL is shown once, and revoking forgets it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import icalendar
import msgspec
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.accounts import hash_token, now_ms, stores_of
from server.models import CalendarFeed, Record

_decode = msgspec.json.Decoder().decode
PRODID = "-//Grapevine//Informational networking//EN"
DEFAULT_MINUTES = 30
KIND_NAMES = {
    "email": "Email",
    "call": "Call",
    "video": "Video call",
    "lunch": "Lunch",
    "coffee": "Coffee",
    "meeting": "Meeting",
    "conference": "Conference",
    "other": "Conversation",
}
FOLLOWUP_NAMES = {
    "thank_you": "Thank",
    "follow_up": "Follow up with",
    "connect": "Connect with",
    "send_info": "Send information to",
    "other": "Follow-up:",
}


def feed_path(token: str) -> str:
    return f"/calendar/{token}.ics"


async def create_feed(conn: AsyncConnection, user_id: str) -> str:
    """A new feed token for the user; any earlier feed URL stops working."""
    token = "cal_" + secrets.token_urlsafe(32)
    await conn.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))
    await conn.execute(
        insert(CalendarFeed).values(
            token_hash=hash_token(token), user_id=user_id, created_ms=now_ms()
        )
    )
    return token


async def revoke_feed(conn: AsyncConnection, user_id: str) -> bool:
    result = await conn.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))
    return result.rowcount > 0


async def feed_info(conn: AsyncConnection, user_id: str) -> int | None:
    """When the user's feed was made (ms), or None when there is none."""
    row = await conn.execute(select(CalendarFeed.created_ms).where(CalendarFeed.user_id == user_id))
    return row.scalar_one_or_none()


async def user_for_token(conn: AsyncConnection, token: str) -> str | None:
    row = await conn.execute(
        select(CalendarFeed.user_id).where(CalendarFeed.token_hash == hash_token(token))
    )
    return row.scalar_one_or_none()


def _when(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _stamp(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).replace(microsecond=0)


async def build_feed(conn: AsyncConnection, user_id: str, base_url: str = "") -> bytes:
    """The user's calendar: every store they belong to, as one VCALENDAR."""
    stores = await stores_of(conn, user_id)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "Grapevine")
    if not stores:
        return cal.to_ical()
    rows = await conn.execute(
        select(
            Record.store_id,
            Record.entity,
            Record.id,
            Record.version,
            Record.deleted,
            Record.fields,
            Record.updated_ms,
        )
        .where(
            Record.store_id.in_([s["id"] for s in stores]),
            Record.entity.in_(("person", "organization", "conversation", "followup")),
        )
        .order_by(Record.store_id, Record.entity, Record.id)
    )
    names: dict[tuple[str, str], str] = {}
    items: list[Any] = []
    for row in rows:
        fields = _decode(row.fields)
        if row.entity in ("person", "organization"):
            names[(row.store_id, row.id)] = fields.get("name") or ""
        else:
            items.append((row, fields))
    for row, fields in items:
        event = (_conversation if row.entity == "conversation" else _followup)(
            row, fields, names, base_url
        )
        if event is not None:
            cal.add_component(event)
    return cal.to_ical()


def _event(row: Any, cancelled: bool) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"{row.id}.{row.store_id}@grapevine")
    event.add("dtstamp", _stamp(row.updated_ms))
    event.add("last-modified", _stamp(row.updated_ms))
    event.add("sequence", row.version)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def _conversation(
    row: Any, fields: dict[str, Any], names: dict[tuple[str, str], str], base_url: str
) -> icalendar.Event | None:
    start = _when(fields.get("at") or "")
    if start is None:
        return None
    person = names.get((row.store_id, fields.get("person_id") or ""), "")
    org = names.get((row.store_id, fields.get("organization_id") or ""), "")
    summary = KIND_NAMES.get(fields.get("kind") or "other", "Conversation")
    summary += f" with {person}" if person else ""
    summary += f" ({org})" if org else ""
    event = _event(row, bool(row.deleted))
    event.add("summary", summary)
    event.add("dtstart", start)
    minutes = fields.get("duration_min") or DEFAULT_MINUTES
    event.add("dtend", start + dt.timedelta(minutes=minutes))
    if fields.get("place"):
        event.add("location", fields["place"])
    if base_url and fields.get("person_id"):
        event.add("url", f"{base_url}/people/{fields['person_id']}")
    event.add("transp", "OPAQUE")
    return event


def _followup(
    row: Any, fields: dict[str, Any], names: dict[tuple[str, str], str], base_url: str
) -> icalendar.Event | None:
    try:
        due = dt.date.fromisoformat(fields.get("due") or "")
    except ValueError:
        return None
    person = names.get((row.store_id, fields.get("person_id") or ""), "")
    org = names.get((row.store_id, fields.get("organization_id") or ""), "")
    verb = FOLLOWUP_NAMES.get(fields.get("kind") or "follow_up", "Follow up with")
    who = person or org
    summary = f"{verb} {who}".strip() if who else "Follow-up"
    event = _event(row, bool(row.deleted or fields.get("done_at")))
    event.add("summary", summary)
    event.add("dtstart", due)
    event.add("dtend", due + dt.timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    if fields.get("note"):
        event.add("description", fields["note"])
    if base_url and fields.get("person_id"):
        event.add("url", f"{base_url}/people/{fields['person_id']}")
    return event
