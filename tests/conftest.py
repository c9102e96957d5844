"""Shared fixtures: databases (SQLite and PostgreSQL), the sandbox and a running bot."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from bot.db import make_engine, upgrade
from bot.sandbox import Sandbox
from bot.sandbox.testing import MONDAY, FakeClock, RunningBot, start_bot

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_reason() -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} does not answer ({str(exc).splitlines()[0]})"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway database on the local server for this test session; its admin URL."""
    reason = _postgres_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    name = f"scaleup_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_schema(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _reset_postgres(url: str) -> None:
    """Leave the session's PostgreSQL database at the newest migration with no rows.

    Migrating a fresh schema costs about half a second, once per test: when the schema
    already stands at the revision this session migrated to, emptying its tables (ids
    restarting) gives the same database far faster. Anything else (a test that
    downgraded and stopped half-way, the first test) gets a fresh schema, migrated."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        tables = list(
            conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            .scalars()
            .all()
        )
        version = (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if "alembic_version" in tables
            else None
        )
        emptied = version is not None and version == _MIGRATED.get("postgres")
        if emptied:
            names = ", ".join(f'"{t}"' for t in tables if t != "alembic_version")
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    if emptied:
        return
    _fresh_schema(url)
    migrated = make_engine(url)
    upgrade(migrated)
    with migrated.connect() as conn:
        _MIGRATED["postgres"] = str(
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        )
    migrated.dispose()


#: The revision the session's PostgreSQL database was last migrated to.
_MIGRATED: dict[str, str] = {}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "scaleup.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """A database at the newest migration with no rows: a SQLite file, then PostgreSQL.

    Copied from a template (SQLite) or emptied (PostgreSQL) rather than migrated per test,
    which cost about 0.2 s and 0.5 s a test; ``upgrade`` on it is then a no-op, and the
    migration tests still run every migration (tests/test_migrations.py)."""
    if request.param == "sqlite":
        path = Path(tmp_path) / "scaleup.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_server")
    _reset_postgres(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


# -- the sandbox and a running bot ------------------------------------------------------


#: Access tokens in tests live 10 minutes, Entra's shortest configurable lifetime, so a test
#: that moves its clock on makes MSAL refresh (a shorter one is under MSAL's 5-minute margin
#: and would make it refresh before every call).
TOKEN_LIFETIME = 600


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    running = Sandbox.start(tmp_path / "sandbox", token_lifetime=TOKEN_LIFETIME)
    yield running
    running.stop()


@pytest.fixture
def bot(sandbox: Sandbox, database_url: str, tmp_path: Path) -> Iterator[RunningBot]:
    running, server = start_bot(
        sandbox, {"DATABASE_URL": database_url, "SCALEUP_DATA_DIR": str(tmp_path / "data")}
    )
    yield running
    server.stop()
    running.container.close()


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand, starting on :data:`tests.fakes.MONDAY`."""
    return FakeClock(MONDAY)


@pytest.fixture
def cbot(
    sandbox: Sandbox, database_url: str, tmp_path: Path, clock: FakeClock
) -> Iterator[RunningBot]:
    """The bot reading time from ``clock``."""
    running, server = start_bot(
        sandbox,
        {"DATABASE_URL": database_url, "SCALEUP_DATA_DIR": str(tmp_path / "data")},
        clock=clock,
    )
    yield running
    server.stop()
    running.container.close()
