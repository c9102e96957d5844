"""connect trust: the Sign in with Slack step of a pending Outlook sign-in

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outlook_auth_flows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slack_state", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("slack_nonce", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("slack_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_outlook_auth_flows_slack_state"), ["slack_state"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outlook_auth_flows", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outlook_auth_flows_slack_state"), type_="unique")
        batch_op.drop_column("slack_verified_at")
        batch_op.drop_column("slack_nonce")
        batch_op.drop_column("slack_state")
