"""Storage tables (SQLAlchemy 2). Queries use Core on these tables; Alembic migrates them.

Domain records live in one table, `records`, as a JSON document of wire fields plus the
merge metadata the sync engine needs (per-field stamps, the delete stamp, merged_into). The
schema of each entity is `sync.ENTITIES`, so adding a field never needs a migration.
Times are integer milliseconds since the epoch, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


ID = String(36)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    last_seen_ms: Mapped[int | None] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger)


class Store(Base):
    __tablename__ = "stores"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The store's change sequence: every record write takes the next number. Writers hold the
    # row lock while they take numbers, so numbers commit in order and a pull never skips one.
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # A fresh epoch invalidates every cursor (a restored backup, a rebuilt store).
    epoch: Mapped[str] = mapped_column(String(32))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class Membership(Base):
    __tablename__ = "memberships"
    store_id: Mapped[str] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # owner | editor | viewer


class PairingCode(Base):
    __tablename__ = "pairing_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    issued_by: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    expires_ms: Mapped[int] = mapped_column(BigInteger)
    used_ms: Mapped[int | None] = mapped_column(BigInteger)


class CalendarFeed(Base):
    """A user's secret calendar feed URL: only the hash of its token is kept."""

    __tablename__ = "calendar_feeds"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class Client(Base):
    """One app install writing to one store: its last processed mutation id."""

    __tablename__ = "clients"
    store_id: Mapped[str] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    last_mutation_id: Mapped[int] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class Record(Base):
    """One domain record (organization, person, …, conflict) of one store."""

    __tablename__ = "records"
    # A store that exists, as a foreign key would say, kept by triggers instead: checked once
    # per statement on PostgreSQL, not per row (migration 0005 says how).
    store_id: Mapped[str] = mapped_column(ID, primary_key=True)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Every field of the entity's schema as a JSON object: pull sends this text as it is.
    fields: Mapped[str] = mapped_column(Text)
    # Merge metadata as JSON: per-field stamps, per-element stamps of sets, the delete stamp.
    meta: Mapped[str] = mapped_column(Text)
    updated_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_records_store_seq", "store_id", "seq", unique=True),)


class TextHistory(Base):
    """Earlier values of text fields, so a concurrent edit can be merged against its base."""

    __tablename__ = "text_history"
    store_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    record_id: Mapped[str] = mapped_column(ID, primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(Text)  # NULL: pruned, unknown
    # The text as the client sent it, when a merge stored something else: its own base later.
    written: Mapped[str | None] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger, index=True)


class RecordRef(Base):
    """Which records refer to which (a `*_id` field of one naming another), so a merge finds
    the records to re-point through this index instead of reading every record's JSON."""

    __tablename__ = "record_refs"
    store_id: Mapped[str] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    target_id: Mapped[str] = mapped_column(ID, primary_key=True)
    record_id: Mapped[str] = mapped_column(ID, primary_key=True)


class StreamTicket(Base):
    """A short-lived, single-use, single-store pass to open the live event stream.

    `EventSource` cannot send the Bearer header, so the app trades its token for one of these
    and puts it in the stream's URL; only its hash is stored, and opening the stream uses it up.
    """

    __tablename__ = "stream_tickets"
    ticket_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    # The app install that asked: pokes for its own pushes are not sent back to it.
    client_id: Mapped[str | None] = mapped_column(String(100))
    expires_ms: Mapped[int] = mapped_column(BigInteger, index=True)
