"""What listeners need, passed in at registration (no globals, easy to fake in tests)."""

from __future__ import annotations

from dataclasses import dataclass

from outreach.mailboxes import Mailboxes


@dataclass(frozen=True)
class Deps:
    mailboxes: Mailboxes
