"""sign-in binding: the browser that passed Sign in with Slack, and the mailbox a sign-in replaces

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outlook_auth_flows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("browser_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("replaces", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outlook_auth_flows", schema=None) as batch_op:
        batch_op.drop_column("replaces")
        batch_op.drop_column("browser_hash")
