"""state enums: the database refuses an outbox, enrollment or campaign state it does not know

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-14 10:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The values as this revision knows them (outreach/states.py may grow; a later revision
# then replaces the constraint), so the migration reads the same whatever the code says.
STATES = {
    "outbox": (
        "waiting", "pending", "paused", "claimed", "drafted", "sending",
        "sent", "failed", "unknown", "cancelled",
    ),
    "enrollments": (
        "starting", "active", "paused", "replied", "bounced", "unsubscribed",
        "failed", "completed", "stopped",
    ),
    "campaigns": ("draft", "starting", "active", "paused", "stopped", "completed"),
}  # fmt: skip


def upgrade() -> None:
    # On SQLite each table is copied into a new one (env.py turns foreign keys off first,
    # so dropping the old copy deletes nothing that references it).
    for table, values in STATES.items():
        allowed = ", ".join(f"'{value}'" for value in values)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(f"ck_{table}_state"), f"state IN ({allowed})")


def downgrade() -> None:
    for table in reversed(STATES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_state"), type_="check")
