"""profiles: templates of named fields, and the values bound to a user or an agent

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 04:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "profile_templates",
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id"),
    )
    op.create_table(
        "profiles",
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("subject_kind", sa.String(length=8), nullable=False),
        sa.Column("subject_id", sa.String(length=100), nullable=False),
        sa.Column("template_id", sa.String(length=100), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("update_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "subject_kind", "subject_id", "template_id"),
    )


def downgrade() -> None:
    op.drop_table("profiles")
    op.drop_table("profile_templates")
