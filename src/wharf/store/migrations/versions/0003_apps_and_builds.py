"""Apps and their numbered builds.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:40:17.483351
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wharf.store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "apps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("git_url", sa.Text(), nullable=False),
        sa.Column("git_ref", sa.String(length=255), nullable=False),
        sa.Column("context_dir", sa.String(length=1024), nullable=False),
        sa.Column("source_secret", sa.String(length=255), nullable=True),
        sa.Column("build_env", sa.JSON(), nullable=False),
        sa.Column("runtime_env", sa.JSON(), nullable=False),
        sa.Column("replicas", sa.Integer(), nullable=False),
        sa.Column("cpu", sa.String(length=32), nullable=True),
        sa.Column("memory", sa.String(length=32), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("next_build", sa.Integer(), nullable=False),
        sa.Column("serving_build", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=63), nullable=True),
        sa.Column("created_at", wharf.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_apps_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apps")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_apps_workspace_id_name")),
    )
    op.create_table(
        "builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("git_ref", sa.String(length=255), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("environment_key", sa.String(length=64), nullable=True),
        sa.Column("environment_reused", sa.Boolean(), nullable=True),
        sa.Column("run_summary", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=63), nullable=True),
        sa.Column("created_at", wharf.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", wharf.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", wharf.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_builds_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builds")),
        sa.UniqueConstraint("app_id", "number", name=op.f("uq_builds_app_id_number")),
    )
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_builds_app_id"), ["app_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_builds_phase"), ["phase"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_builds_phase"))
        batch_op.drop_index(batch_op.f("ix_builds_app_id"))

    op.drop_table("builds")
    op.drop_table("apps")
