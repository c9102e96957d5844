"""``scaleup db rotate-keys``: re-encrypt every stored secret under the newest key."""

from __future__ import annotations

from sqlalchemy import Engine, select

from bot.crypto import TokenCipher
from bot.db import make_session_factory, transaction
from bot.models import Mailbox, OutlookAuthFlow, Workspace


def rotate_all(engine: Engine, cipher: TokenCipher) -> dict[str, int]:
    """Rotate token caches, pending sign-in flows and bot tokens; return counts."""
    counts = {"mailbox token caches": 0, "pending sign-ins": 0, "bot tokens": 0}
    with transaction(make_session_factory(engine)) as session:
        for mailbox in session.scalars(select(Mailbox).with_for_update()):
            mailbox.token_cache_enc = cipher.rotate(mailbox.token_cache_enc)
            counts["mailbox token caches"] += 1
        for flow in session.scalars(select(OutlookAuthFlow).with_for_update()):
            flow.flow_enc = cipher.rotate(flow.flow_enc)
            counts["pending sign-ins"] += 1
        for workspace in session.scalars(select(Workspace).with_for_update()):
            if workspace.bot_token_enc:
                workspace.bot_token_enc = cipher.rotate(workspace.bot_token_enc)
                counts["bot tokens"] += 1
    return counts
