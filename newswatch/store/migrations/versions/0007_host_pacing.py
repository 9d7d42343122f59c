"""Per-host request slots shared across processes, so per_host_delay holds across workers.

Revision ID: 0007
Revises: 0006_source_health
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006_source_health"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_pacing",
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_host_pacing")),
    )


def downgrade() -> None:
    op.drop_table("host_pacing")
