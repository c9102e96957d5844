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
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
