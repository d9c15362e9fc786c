"""Batch endpoints, deployments, jobs and their mini-batches.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 11:47:40.258208
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wharf.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batch_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("default_deployment", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=63), nullable=True),
        sa.Column("created_at", wharf.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wharf.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_batch_endpoints_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_endpoints")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_batch_endpoints_workspace_id_name")
        ),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("deployment", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("experiment_name", sa.String(length=255), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("resumed", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=63), nullable=True),
        sa.Column("created_at", wharf.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", wharf.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", wharf.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "first_mini_batch_at", wharf.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("first_run_at", wharf.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_jobs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint(
            "workspace_id",
            "endpoint",
            "idempotency_key",
            name=op.f("uq_jobs_workspace_id_endpoint_idempotency_key"),
        ),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_jobs_workspace_id_name")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_status"), ["status"], unique=False)

    op.create_table(
        "batch_deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("code_reference", sa.Text(), nullable=False),
        sa.Column("scoring_script", sa.String(length=1024), nullable=True),
        sa.Column("entry", sa.String(length=255), nullable=True),
        sa.Column("component", sa.JSON(), nullable=False),
        sa.Column("model_reference", sa.Text(), nullable=True),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("environment_source", sa.String(length=16), nullable=False),
        sa.Column("environment_key", sa.String(length=64), nullable=False),
        sa.Column("environment_reused", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=63), nullable=True),
        sa.Column("created_at", wharf.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wharf.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["batch_endpoints.id"],
            name=op.f("fk_batch_deployments_endpoint_id_batch_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_deployments")),
        sa.UniqueConstraint(
            "endpoint_id", "name", name=op.f("uq_batch_deployments_endpoint_id_name")
        ),
    )
    with op.batch_alter_table("batch_deployments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_batch_deployments_endpoint_id"), ["endpoint_id"], unique=False
        )

    op.create_table(
        "job_mini_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("staged_path", sa.Text(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("last_failure", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_job_mini_batches_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_mini_batches")),
        sa.UniqueConstraint("job_id", "batch_id", name=op.f("uq_job_mini_batches_job_id_batch_id")),
    )


def downgrade() -> None:
    op.drop_table("job_mini_batches")
    with op.batch_alter_table("batch_deployments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_deployments_endpoint_id"))

    op.drop_table("batch_deployments")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_status"))

    op.drop_table("jobs")
    op.drop_table("batch_endpoints")
