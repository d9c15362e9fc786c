"""Indexes for listing jobs newest first and for the job filters' pickers.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_jobs_workspace_newest": ["workspace_id", "id"],
    "ix_jobs_workspace_deployment": ["workspace_id", "deployment"],
    "ix_jobs_workspace_experiment": ["workspace_id", "experiment_name"],
    "ix_jobs_workspace_created_by": ["workspace_id", "created_by"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "jobs", columns, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="jobs")
