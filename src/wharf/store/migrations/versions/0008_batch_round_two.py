"""Batch, round two: what a model version's files declare (an MLflow model's signature,
flavours and requirements), what a deployment's environment could not honour, and the steps
of a pipeline job.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server defaults only fill the rows that exist; the models set these columns.
    added = (
        ("asset_versions", "properties", "{}"),
        ("batch_deployments", "environment_notes", "{}"),
        ("jobs", "steps", "[]"),
    )
    for table, column, empty in added:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, sa.JSON(), nullable=False, server_default=empty))
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, existing_type=sa.JSON(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("steps")
    with op.batch_alter_table("batch_deployments") as batch:
        batch.drop_column("environment_notes")
    with op.batch_alter_table("asset_versions") as batch:
        batch.drop_column("properties")
