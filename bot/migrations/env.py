"""Alembic environment: the engine is handed in by ``bot.db.upgrade`` (or built from env)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from bot.db import make_engine
from bot.models import Base
from bot.settings import Settings

config = context.config
engine: Engine | None = config.attributes.get("engine")
if engine is None:
    engine = make_engine(Settings.from_env().database_url)

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode changes a SQLite table by copying it, dropping the old one and renaming
        # the copy. With foreign keys on, that DROP first deletes every row, cascading to
        # the rows that reference it (an outbox rebuild would take the replies with it).
        # The pragma only takes effect outside a transaction: set it before the first.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        before = context.get_context().get_current_revision()
        with context.begin_transaction():
            context.run_migrations()
        if sqlite and context.get_context().get_current_revision() != before:
            # Checked before the commit, so a migration that left a dangling reference is
            # rolled back (finally), and only when one ran: a start never pays for the scan.
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migrations left dangling foreign keys: {broken}")
        connection.commit()
    finally:
        if sqlite:
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
