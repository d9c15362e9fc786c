"""Secret env for apps: the names in clear, the values encrypted with the platform key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("secret_env_keys", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("secret_env", sa.Text(), nullable=True))
    # The server default only fills the apps that exist; the model sets the column.
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.alter_column("secret_env_keys", existing_type=sa.JSON(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_column("secret_env")
        batch_op.drop_column("secret_env_keys")
