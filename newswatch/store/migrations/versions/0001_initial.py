"""The schema as first released.

A new store is created from newswatch.store.schema and stamped with the newest revision; this
baseline revision therefore has nothing to do. Later revisions alter existing stores step by step.

Revision ID: 0001
Revises:
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
