"""Shared fixtures: databases (SQLite and PostgreSQL), the sandbox and a running bot."""

from __future__ import annotations

import os
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """An empty database URL: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/scaleup.db"
    url: str = request.getfixturevalue("postgres_server")
    _fresh_schema(url)
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
