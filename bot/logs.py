"""Logging setup. Secrets never reach the log: nothing here logs tokens or caches, and
third-party loggers that could (HTTP wire logs) stay at INFO or above."""

from __future__ import annotations

import logging
import os


def configure_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("LOG_LEVEL") or "INFO").upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # urllib3 and MSAL log request URLs and bodies at DEBUG, which can include codes.
    floor = max(logging.INFO, logging.getLogger().level)
    for noisy in ("urllib3", "msal", "slack_sdk", "slack_bolt", "werkzeug"):
        logging.getLogger(noisy).setLevel(floor)
    for chatty in ("apscheduler", "alembic.runtime.plugins"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, floor))
