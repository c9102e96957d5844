from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.settings import Settings, SettingsError


def test_empty_environment_means_sandbox_everywhere() -> None:
    settings = Settings.from_env({})
    settings.check()
    assert settings.slack_sandboxed and settings.microsoft_sandboxed
    assert settings.database_url == "sqlite:///scaleup.db"
    assert settings.outlook_redirect_uri == "http://127.0.0.1:3000/outlook/callback"


def test_heroku_postgres_url_is_normalised() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgres://u:p@db:5432/app"})
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/app"


def test_bot_token_without_signing_secret_is_named() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).check()
    assert any("SLACK_SIGNING_SECRET" in p for p in caught.value.problems)


def test_every_problem_is_reported_at_once() -> None:
    env = {
        "SLACK_BOT_TOKEN": "not-a-bot-token",
        "SLACK_CLIENT_ID": "123",
        "MS_CLIENT_ID": "abc",
        "MS_AUTHORITY": "http://login.example",
        "TOKEN_ENCRYPTION_KEYS": "short",
    }
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env).check()
    text = str(caught.value)
    for fragment in (
        "SLACK_SIGNING_SECRET",
        "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET",
        "xoxb-",
        "MS_CLIENT_ID and MS_CLIENT_SECRET",
        "https://",
        "not a Fernet key",
    ):
        assert fragment in text


def test_real_microsoft_needs_encryption_keys_and_https() -> None:
    env = {"MS_CLIENT_ID": "abc", "MS_CLIENT_SECRET": "s"}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env).check()
    assert any("TOKEN_ENCRYPTION_KEYS is required" in p for p in caught.value.problems)
    assert any("PUBLIC_URL must be https" in p for p in caught.value.problems)
    ok = {
        **env,
        "TOKEN_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
        "PUBLIC_URL": "https://scaleup.example.com/",
    }
    settings = Settings.from_env(ok)
    settings.check()
    assert len(settings.token_encryption_keys) == 2
    assert settings.outlook_redirect_uri == "https://scaleup.example.com/outlook/callback"


def test_single_workspace_configuration_passes() -> None:
    Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_SIGNING_SECRET": "s"}).check()


def test_token_and_client_id_together_mean_one_workspace_with_sign_in_with_slack() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_CLIENT_ID": "1",
        "SLACK_CLIENT_SECRET": "2",
    }
    settings = Settings.from_env(env)
    settings.check()
    assert settings.slack_openid and not settings.multi_workspace
    assert not Settings.from_env({**env, "SLACK_CLIENT_ID": ""}).slack_openid
    with pytest.raises(SettingsError, match="must be set together"):
        Settings.from_env({**env, "SLACK_CLIENT_SECRET": ""}).check()


def test_a_standalone_sandbox_needs_no_https_public_url() -> None:
    """``scaleup sandbox`` prints Microsoft credentials and a loopback authority: that is
    not Entra ID, so its http redirect URI is fine; any other authority still needs https."""
    env = {
        "MS_CLIENT_ID": "abc",
        "MS_CLIENT_SECRET": "s",
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "MS_AUTHORITY": "https://127.0.0.1:3002/8b1c2f9e-0000-4000-8000-000000000000",
    }
    Settings.from_env(env).check()
    with pytest.raises(SettingsError):
        Settings.from_env({**env, "MS_AUTHORITY": "https://login.example.org/tenant"}).check()


def test_worker_timings_come_from_the_environment() -> None:
    settings = Settings.from_env({"DISPATCH_LEASE_SECONDS": "2", "SEND_GRACE_SECONDS": "0.5"})
    assert (settings.dispatch_lease_seconds, settings.send_grace_seconds) == (2.0, 0.5)
    assert Settings.from_env({}).dispatch_lease_seconds == 300.0
