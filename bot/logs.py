"""Logging setup. Secrets and request bodies never reach the log: nothing here logs
tokens or caches, third-party loggers that could (HTTP wire logs) stay at INFO or above,
and Bolt's messages that quote a request body are cut before any handler sees them."""

from __future__ import annotations

import logging
import os

# Bolt logger -> the start of each of its messages that goes on to quote the request body
# (slack_bolt/middleware/request_verification, slack_bolt/logger/messages.py). Our
# request guard refuses such requests before Bolt sees them; this is the second fence.
_BODY_QUOTING = {
    "slack_bolt.RequestVerification": ("Invalid request signature detected",),
    "slack_bolt.App": ("Unhandled request", "A global middleware"),
}


class _CutRequestBodies(logging.Filter):
    """Keeps the first words of a Bolt message that would quote a body; drops the rest."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self._prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        for prefix in self._prefixes:
            if message.startswith(prefix):
                record.msg, record.args = f"{prefix} (request body not logged)", None
        return True


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
    # Bolt sets its loggers' levels itself (from the root's), but keeps their filters.
    for name, prefixes in _BODY_QUOTING.items():
        bolt_logger = logging.getLogger(name)
        if not any(isinstance(f, _CutRequestBodies) for f in bolt_logger.filters):
            bolt_logger.addFilter(_CutRequestBodies(prefixes))
