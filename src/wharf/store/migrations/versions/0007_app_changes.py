"""App changes after create: the app event list, application groups, build rollouts.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wharf.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=63), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("created_at", wharf.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_app_events_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_events")),
    )
    with op.batch_alter_table("app_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_events_app_id"), ["app_id"], unique=False)
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group", sa.String(length=63), nullable=True))
        batch_op.create_index(batch_op.f("ix_apps_group"), ["group"], unique=False)
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rollout", sa.String(length=16), nullable=True))
    # A webhook that starts a build queues it: the result now says so.
    op.execute("UPDATE webhook_deliveries SET result = 'queued' WHERE result = 'built'")


def downgrade() -> None:
    op.execute("UPDATE webhook_deliveries SET result = 'built' WHERE result = 'queued'")
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.drop_column("rollout")
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apps_group"))
        batch_op.drop_column("group")
    with op.batch_alter_table("app_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_events_app_id"))
    op.drop_table("app_events")
