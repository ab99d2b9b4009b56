"""jobs: the table of extraction jobs, named for what it holds ("task" is the API's word for
a job's id, task_id, and Celery's for a function)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 18:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {"pending": ["status", "dispatch_time"], "project_id": ["project_id"]}


def _rename(old: str, new: str) -> None:
    # Foreign keys follow a renamed table (PostgreSQL; SQLite since 3.26); indexes keep their
    # names, so they are made again under the new one.
    for suffix in INDEXES:
        op.drop_index(f"ix_{old}_{suffix}", table_name=old)
    op.rename_table(old, new)
    for suffix, columns in INDEXES.items():
        op.create_index(f"ix_{new}_{suffix}", new, columns)


def upgrade() -> None:
    _rename("tasks", "jobs")


def downgrade() -> None:
    _rename("jobs", "tasks")
