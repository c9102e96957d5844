"""Migrations run identically on SQLite and PostgreSQL and match the models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from bot.db import downgrade, upgrade
from bot.models import Base


def test_migrations_match_models_and_round_trip(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert {"workspaces", "mailboxes", "outlook_auth_flows", "audit_log"} <= tables
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert {"mailboxes"} <= set(inspect(engine).get_table_names())


_ROWS = [
    "INSERT INTO mailboxes (id, team_id, owner_user_id, email, sender_name, ms_user_id,"
    " ms_home_account_id, state, token_cache_enc, connected_at, updated_at)"
    " VALUES (1, 'T1', 'U1', 'r@x.test', 'R', 'm', 'h', 'connected', '', :at, :at)",
    "INSERT INTO shortlists (id, team_id, name, created_by, created_at, updated_at)"
    " VALUES (1, 'T1', 'list', 'U1', :at, :at)",
    "INSERT INTO candidates (id, shortlist_id, email, variables, updated_at)"
    " VALUES (1, 1, 'c@x.test', '{}', :at)",
    "INSERT INTO campaigns (id, team_id, name, created_by, shortlist_id, mailbox_id,"
    " channel_id, state, window_days, window_start, window_end, timezone, daily_cap,"
    " min_gap_seconds, created_at) VALUES (1, 'T1', 'alpha', 'U1', 1, 1, 'C1', 'active',"
    " '1,2,3,4,5', '09:00', '17:00', 'UTC', 200, 60, :at)",
    "INSERT INTO enrollments (id, campaign_id, candidate_id, team_id, email, state,"
    " enrolled_at, updated_at) VALUES (1, 1, 1, 'T1', 'c@x.test', 'replied', :at, :at)",
    "INSERT INTO outbox (id, dedupe_key, mailbox_id, enrollment_id, step_position, to_email,"
    " subject, body, body_html, reply_as_followup, state, due_at, attempts, created_at)"
    " VALUES (1, 'step:1:1', 1, 1, 1, 'c@x.test', 's', 'b', false, false, 'sent', :at, 1, :at)",
    "INSERT INTO replies (id, team_id, mailbox_id, graph_message_id, internet_message_id,"
    " enrollment_id, outbox_id, from_email, kind, signal, reasons, text, undo, received_at,"
    " created_at) VALUES (1, 'T1', 1, 'g', '<m@x>', 1, 1, 'c@x.test', 'reply', 'in-reply-to',"
    " '{}', '', '{}', :at, :at)",
]


def test_the_state_checks_keep_every_row(engine: Engine) -> None:
    """Migration 0007 rebuilds three tables on SQLite: nothing that references them goes."""
    downgrade(engine, "0006")
    with engine.begin() as conn:
        for insert in _ROWS:
            conn.execute(text(insert), {"at": datetime(2026, 12, 1, tzinfo=UTC)})
    upgrade(engine)
    with engine.connect() as conn:
        reply = conn.execute(text("SELECT enrollment_id, outbox_id FROM replies")).one()
        states = conn.execute(
            text("SELECT o.state, e.state, c.state FROM outbox o, enrollments e, campaigns c")
        ).one()
    assert tuple(reply) == (1, 1)
    assert tuple(states) == ("sent", "replied", "active")


@pytest.mark.parametrize(
    ("table", "row"),
    [("outbox", 1), ("enrollments", 1), ("campaigns", 1)],
)
def test_the_database_refuses_an_unknown_state(engine: Engine, table: str, row: int) -> None:
    downgrade(engine, "0006")
    with engine.begin() as conn:
        for insert in _ROWS:
            conn.execute(text(insert), {"at": datetime(2026, 12, 1, tzinfo=UTC)})
    upgrade(engine)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET state = 'shipped' WHERE id = {row}"))
    with engine.begin() as conn:  # a known state is still fine
        conn.execute(text(f"UPDATE {table} SET state = 'paused' WHERE id = {row}"))
