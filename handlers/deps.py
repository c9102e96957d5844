"""What listeners need, passed in at registration (no globals, easy to fake in tests)."""

from __future__ import annotations

from dataclasses import dataclass

from outreach.campaigns import Campaigns
from outreach.connections import MailboxConnections
from outreach.delegations import Delegations
from outreach.erasure import MailboxErasure
from outreach.reply_triage import Replies
from outreach.shortlists import Shortlists
from outreach.sign_in_links import SignInLinks
from outreach.suppressions import Suppressions


@dataclass(frozen=True)
class Deps:
    sign_in_links: SignInLinks
    connections: MailboxConnections
    erasure: MailboxErasure
    shortlists: Shortlists
    campaigns: Campaigns
    delegations: Delegations
    suppressions: Suppressions
    replies: Replies | None = None
