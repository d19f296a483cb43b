"""record_refs: merges find referrers through an index; login failures move to memory

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:00:00
"""

import msgspec
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The reference fields of each entity, as of this migration (sync/_schema.py).
_REFS = {
    "person": ("organization_id",),
    "conversation": ("person_id", "organization_id"),
    "referral": ("from_person_id", "to_person_id", "conversation_id"),
    "followup": ("person_id", "organization_id"),
}
_BATCH = 2_000


def upgrade() -> None:
    op.create_table(
        "record_refs",
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_record_refs_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_id", "target_id", "record_id", name=op.f("pk_record_refs")),
    )
    _backfill()
    op.drop_table("login_failures")


def _backfill() -> None:
    """Index the references of records stored already, decoding their JSON in Python (a
    PostgreSQL jsonb cast would fail on a stored "\\u0000")."""
    conn = op.get_bind()
    refs = sa.table(
        "record_refs", sa.column("store_id"), sa.column("target_id"), sa.column("record_id")
    )
    after = ("", "")
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT store_id, id, entity, fields FROM records"
                " WHERE (store_id > :s OR (store_id = :s AND id > :i))"
                " ORDER BY store_id, id LIMIT :n"
            ),
            {"s": after[0], "i": after[1], "n": _BATCH},
        ).all()
        if not rows:
            return
        found = set()
        for store_id, record_id, entity, fields in rows:
            names = _REFS.get(entity)
            if not names:
                continue
            try:
                values = msgspec.json.decode(fields)
            except msgspec.DecodeError:
                continue
            for name in names:
                target = values.get(name) if isinstance(values, dict) else None
                if isinstance(target, str) and len(target) == 36:
                    found.add((store_id, target, record_id))
        if found:
            conn.execute(
                refs.insert(),
                [{"store_id": s, "target_id": t, "record_id": r} for s, t, r in sorted(found)],
            )
        after = (rows[-1][0], rows[-1][1])


def downgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_login_failures")),
    )
    op.drop_table("record_refs")
