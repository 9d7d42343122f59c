"""Source health: when a source last found something new, its alarm, and health notices.

Revision ID: 0006_source_health
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from newswatch.store.schema import TS

revision = "0006_source_health"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_state") as batch:
        batch.add_column(sa.Column("last_new_at", TS, nullable=True))
        batch.add_column(sa.Column("last_development_at", TS, nullable=True))
        batch.add_column(sa.Column("alarm", sa.String(20), nullable=True))
        batch.add_column(sa.Column("alarm_at", TS, nullable=True))
    op.create_table(
        "health_notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("episode", TS, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("claim_token", sa.String(40), nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_health_notices"),
        sa.UniqueConstraint(
            "source",
            "channel",
            "kind",
            "episode",
            name="uq_health_notices_source_channel_kind_episode",
        ),
    )
    op.create_index(
        "ix_health_notices_channel_status_next",
        "health_notices",
        ["channel", "status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("health_notices")
    with op.batch_alter_table("source_state") as batch:
        for name in ("alarm_at", "alarm", "last_development_at", "last_new_at"):
            batch.drop_column(name)
