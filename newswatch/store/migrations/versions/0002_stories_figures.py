"""Stories across outlets (MinHash/LSH bands), figures, and paragraph texts.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from newswatch.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("paragraphs") as batch:
        batch.add_column(sa.Column("text", sa.Text(), nullable=True))
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column(
            "development_id",
            sa.Integer(),
            sa.ForeignKey(
                "developments.id",
                ondelete="SET NULL",
                name="fk_stories_development_id_developments",
            ),
        ),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
    )
    op.create_table(
        "story_bands",
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column(
            "story_id",
            sa.Integer(),
            sa.ForeignKey("stories.id", ondelete="CASCADE", name="fk_story_bands_story_id_stories"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("topic", "band", "key", "story_id", name="pk_story_bands"),
    )
    op.create_table(
        "story_sources",
        sa.Column(
            "story_id",
            sa.Integer(),
            sa.ForeignKey(
                "stories.id", ondelete="CASCADE", name="fk_story_sources_story_id_stories"
            ),
            nullable=False,
        ),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("added", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("story_id", "url", name="pk_story_sources"),
    )
    op.create_table(
        "figures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("measure", sa.String(200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("qualifier", sa.String(40), nullable=True),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_figures"),
    )
    op.create_index("ix_figures_topic_measure_id", "figures", ["topic", "measure", "id"])


def downgrade() -> None:
    op.drop_index("ix_figures_topic_measure_id", table_name="figures")
    for table in ("figures", "story_sources", "story_bands", "stories"):
        op.drop_table(table)
    with op.batch_alter_table("paragraphs") as batch:
        batch.drop_column("text")
