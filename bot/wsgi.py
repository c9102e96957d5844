"""``gunicorn bot.wsgi:app``: the web process built from the environment."""

from __future__ import annotations

from bot.container import build
from bot.logs import configure_logging
from bot.settings import Settings

configure_logging()
_settings = Settings.from_env()
_settings.check()
_settings.require_real_services()
app = build(_settings).web
