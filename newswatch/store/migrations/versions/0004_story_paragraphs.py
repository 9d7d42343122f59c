"""Stories index their evidence paragraphs, so trimmed copies are found.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_paragraphs",
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column(
            "story_id",
            sa.Integer(),
            sa.ForeignKey(
                "stories.id", ondelete="CASCADE", name="fk_story_paragraphs_story_id_stories"
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("topic", "key", "story_id", name="pk_story_paragraphs"),
    )


def downgrade() -> None:
    op.drop_table("story_paragraphs")
