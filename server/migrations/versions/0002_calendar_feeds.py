"""calendar feeds: a user's secret iCalendar URL, stored as the hash of its token

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_calendar_feeds")),
    )
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_feeds_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_feeds_user_id"))
    op.drop_table("calendar_feeds")
