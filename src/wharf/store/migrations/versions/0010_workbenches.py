"""Notebook workbenches: one user's JupyterLab in one workspace.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wharf.store.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workbenches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.Column("cpu", sa.String(length=16), nullable=True),
        sa.Column("memory", sa.String(length=16), nullable=True),
        sa.Column("idle_timeout_seconds", sa.Integer(), nullable=True),
        sa.Column("source_secret", sa.String(length=63), nullable=True),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=True),
        sa.Column("sealed_token", sa.Text(), nullable=True),
        sa.Column("environment_key", sa.String(length=64), nullable=True),
        sa.Column("last_activity", UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_workbenches_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workbenches_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workbenches")),
        sa.UniqueConstraint(
            "workspace_id", "user_id", "name", name=op.f("uq_workbenches_workspace_id_user_id_name")
        ),
    )
    op.create_index(op.f("ix_workbenches_user_id"), "workbenches", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_workbenches_user_id"), table_name="workbenches")
    op.drop_table("workbenches")
