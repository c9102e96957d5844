"""The database schema: typed SQLAlchemy 2 models. Migrations live in bot/migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from outreach.states import CampaignState, EnrollmentState, OutboxState

# Stable constraint names, so migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def state_type(states: type[StrEnum]) -> Enum:
    """A state column: the enum's values as VARCHAR(16), members when loaded.

    The CHECK that refuses any other value is ``ck_<table>_state`` (migration 0007)."""
    return Enum(
        states,
        native_enum=False,
        length=16,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        create_constraint=True,
        name="state",
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Workspace(Base):
    """A Slack workspace the app is installed in (multi-workspace mode keeps its bot token)."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), unique=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    team_name: Mapped[str | None] = mapped_column(String(255))
    app_id: Mapped[str | None] = mapped_column(String(32))
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_scopes: Mapped[str | None] = mapped_column(Text)
    #: Fernet-encrypted xoxb token; NULL in single-workspace mode (it comes from the env).
    bot_token_enc: Mapped[str | None] = mapped_column(Text)
    installed_by: Mapped[str | None] = mapped_column(String(32))
    installed_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SlackOAuthState(Base):
    """A single-use state of the Slack "Add to Slack" flow."""

    __tablename__ = "slack_oauth_states"

    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime]


class Mailbox(Base):
    """An Outlook mailbox a Slack user connected, with its encrypted MSAL token cache."""

    __tablename__ = "mailboxes"
    __table_args__ = (UniqueConstraint("team_id", "owner_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    owner_user_id: Mapped[str] = mapped_column(String(32))
    #: The primary SMTP address, lower-cased; one Slack user per mailbox.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    sender_name: Mapped[str] = mapped_column(String(255))
    ms_user_id: Mapped[str] = mapped_column(String(64))
    ms_home_account_id: Mapped[str] = mapped_column(String(255))
    #: ``connected`` or ``needs_reconnect``.
    state: Mapped[str] = mapped_column(String(24))
    token_cache_enc: Mapped[str] = mapped_column(Text)
    connected_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)


class OutlookAuthFlow(Base):
    """A pending "Sign in with Microsoft": single use, bound to a team and user, 10 minutes."""

    __tablename__ = "outlook_auth_flows"

    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    sender_name: Mapped[str] = mapped_column(String(255))
    #: Fernet-encrypted MSAL flow dict: it holds the PKCE code_verifier.
    flow_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    #: The pending Sign in with Slack step (its own single-use state and nonce), set when
    #: the browser opens the link; cleared when Slack's answer comes back.
    slack_state: Mapped[str | None] = mapped_column(String(128), unique=True)
    slack_nonce: Mapped[str | None] = mapped_column(String(128))
    #: When Sign in with Slack proved the browser is the flow's own Slack user.
    slack_verified_at: Mapped[datetime | None]
    #: SHA-256 (hex) of the cookie given to the browser that passed Sign in with Slack;
    #: the Microsoft callback must come from that browser.
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    #: The mailbox this sign-in replaces once it succeeds: ``{"mailbox": id, "connected":
    #: ISO 8601, "named": fingerprint of what the confirmation named, "email": its address}``.
    replaces: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditEntry(Base):
    """Who did what, when. Holds ids, never tokens or mail content."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_team_at", "team_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    team_id: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SlackEventSeen(Base):
    """Events API ``event_id``s already handled: Slack retries deliveries up to three times."""

    __tablename__ = "slack_events_seen"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


# -- campaigns (issue 3) ------------------------------------------------------------------


class Suppression(Base):
    """An address not to email in a workspace: do-not-contact, unsubscribed or bounced."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("team_id", "email", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    #: ``dnc`` (added by a person or an unsubscribe request) or ``bounced``.
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str | None] = mapped_column(String(32))
    added_at: Mapped[datetime]


class Shortlist(Base):
    """A named list of candidates in a workspace."""

    __tablename__ = "shortlists"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Candidate(Base):
    """One row of a shortlist; importing again updates it by email."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("shortlist_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shortlist_id: Mapped[int] = mapped_column(
        ForeignKey("shortlists.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class Campaign(Base):
    """A multi-step sequence sent to a shortlist from one mailbox."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[str] = mapped_column(String(32))
    shortlist_id: Mapped[int] = mapped_column(ForeignKey("shortlists.id", ondelete="RESTRICT"))
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    #: ``draft → starting → active ⇄ paused → stopped | completed``; changed only by
    #: :mod:`outreach.campaign_state`.
    state: Mapped[CampaignState] = mapped_column(state_type(CampaignState))
    window_days: Mapped[str] = mapped_column(String(16))  # ISO weekdays, "1,2,3,4,5"
    window_start: Mapped[str] = mapped_column(String(5))  # "09:00"
    window_end: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    daily_cap: Mapped[int]
    min_gap_seconds: Mapped[int]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]


class CampaignStep(Base):
    """Step N of a campaign: what to send and how long to wait after step N-1."""

    __tablename__ = "campaign_steps"
    __table_args__ = (UniqueConstraint("campaign_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    position: Mapped[int]
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    wait_business_days: Mapped[int]
    as_reply: Mapped[bool]


class Enrollment(Base):
    """A candidate in a campaign, and where their sequence stands."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("campaign_id", "candidate_id"),
        Index("ix_enrollments_team_email_state", "team_id", "email", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    #: :class:`~outreach.states.EnrollmentState`; changed only by :mod:`outreach.sequencing`.
    state: Mapped[EnrollmentState] = mapped_column(state_type(EnrollmentState))
    reason: Mapped[str | None] = mapped_column(Text)
    enrolled_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OutboxMessage(Base):
    """One email to send, exactly once: a campaign step for a candidate, a direct or test message.

    ``pending → claimed → drafted → sending → sent | failed | unknown`` (or ``cancelled``
    when the candidate replied, was paused or the campaign stopped before it went out);
    :mod:`outreach.outbox` owns these transitions.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_state_due", "state", "due_at"),
        Index("ix_outbox_mailbox_sent", "mailbox_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unique per effect: ``step:<enrollment>:<position>``, ``direct:<uuid>``, ``test:<uuid>``.
    dedupe_key: Mapped[str] = mapped_column(String(80), unique=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True
    )
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    step_position: Mapped[int | None]
    to_email: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[bool] = mapped_column(default=False)
    #: A follow-up: send it as a reply to the previous step's Sent Items copy (same thread).
    reply_as_followup: Mapped[bool] = mapped_column(default=False)
    #: :class:`~outreach.states.OutboxState`; changed only by :mod:`outreach.outbox`.
    state: Mapped[OutboxState] = mapped_column(state_type(OutboxState))
    due_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    draft_id: Mapped[str | None] = mapped_column(Text)
    internet_message_id: Mapped[str | None] = mapped_column(String(512), index=True)
    conversation_id: Mapped[str | None] = mapped_column(Text)
    send_attempted_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    #: The Slack message that queued a test or one-off email; it is updated once the
    #: email has really gone (or why not).
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))


class MailboxPacing(Base):
    """Per-mailbox dispatch state shared by every worker: who sends now, and until when not."""

    __tablename__ = "mailbox_pacing"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    #: The worker holding this mailbox's dispatch lease (one sender per mailbox at a time).
    leased_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    #: Graph said 429/503: nothing goes to this mailbox before then.
    not_before: Mapped[datetime | None]


class Delegation(Base):
    """A hiring manager lets a recruiter send from their mailbox (for every or one campaign)."""

    __tablename__ = "delegations"
    __table_args__ = (UniqueConstraint("mailbox_id", "delegate_user_id", "campaign_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    delegate_user_id: Mapped[str] = mapped_column(String(32))
    #: Empty string: every campaign (NULLs would defeat the unique constraint).
    campaign_name: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime]


# -- replies (issue 10) -------------------------------------------------------------------


class MailboxSync(Base):
    """Where reply sync stands for one mailbox: its Inbox delta link and when it is due.

    Claimed like outbox rows (``FOR UPDATE SKIP LOCKED`` and a lease), so one worker at a
    time reads a mailbox; a change notification may simply set ``due_at`` to now.
    """

    __tablename__ = "mailbox_syncs"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    #: Graph's ``@odata.deltaLink`` of the Inbox; NULL: the next sync is a full one.
    delta_link: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(index=True)
    leased_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Reply(Base):
    """A received message that answers a campaign send (nothing else is ever stored).

    ``kind`` is the classification (``reply | auto_reply | bounce | unsubscribe``);
    ``signal`` what matched it to the send (``in-reply-to``, ``references``,
    ``conversation``, ``subject``, ``bounce``); ``undo`` what its effects changed, so
    "Not a reply" can put it back.
    """

    __tablename__ = "replies"
    #: One row per message and mailbox, whatever folder moves or resyncs do to its Graph id.
    __table_args__ = (UniqueConstraint("mailbox_id", "internet_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    graph_message_id: Mapped[str] = mapped_column(String(512))
    #: The message's Message-ID (``id:<graph id>`` in the rare message without one).
    internet_message_id: Mapped[str] = mapped_column(String(512))
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    step_position: Mapped[int | None]
    from_email: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(16))
    interest: Mapped[str | None] = mapped_column(String(16))
    bounce_type: Mapped[str | None] = mapped_column(String(8))
    return_date: Mapped[str | None] = mapped_column(String(10))  # ISO date
    signal: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    text: Mapped[str] = mapped_column(Text, default="")
    web_link: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    created_at: Mapped[datetime]
    #: The recruiter's verdict from the card's buttons: ``interested`` or ``not_interested``.
    label: Mapped[str | None] = mapped_column(String(16))
    #: Set when someone clicked "Not a reply": its effects were undone.
    undone_at: Mapped[datetime | None]
    undo: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SlackPost(Base):
    """A Slack message to post (or a message to update), written in the same transaction
    as the change it reports and posted by the worker (``bot/slack_poster.py``).

    ``queued → posting → posted | failed``; a 429, a 5xx or a lost connection puts it back
    to ``queued`` with a later ``next_attempt_at``, so an outage delays it, never drops it.
    """

    __tablename__ = "slack_posts"
    __table_args__ = (
        Index("ix_slack_posts_state_next", "state", "next_attempt_at"),
        Index("ix_slack_posts_lane", "team_id", "channel", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    #: A channel id, or a user id for the bot's DM with that user. Posts to one channel go
    #: out in ``id`` order, about one a second.
    channel: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    #: Set: ``chat.update`` this message instead of posting a new one.
    update_ts: Mapped[str | None] = mapped_column(String(32))
    #: Who hears of it by DM when the bot can no longer post in ``channel``.
    fallback_user_id: Mapped[str | None] = mapped_column(String(32))
    #: The notice's class name in ``outreach.notify``, and its fields.
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Posts with one key replace each other while queued (a parent message's counters).
    coalesce_key: Mapped[str | None] = mapped_column(String(80), index=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    posted_ts: Mapped[str | None] = mapped_column(String(32))
    posted_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
