"""The permission rule, action by role, against a real database (SQLite and PostgreSQL).

Two layers: :func:`outreach.permissions.decide` itself, and every domain method that
changes something, called as each role, so a method that forgets the rule fails here.

The cast of each workspace: Sam owns the mailbox "alpha" sends from; one recruiter is
delegated for "Alpha" (this campaign, another case), one for "beta" (another campaign),
one for every campaign; a stranger; a workspace admin. Everyone has a mailbox of their
own (so a test send has somewhere to go). The do-not-contact entry was added by Sam.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bot.db import make_session_factory, transaction
from bot.models import (
    Campaign,
    Candidate,
    Delegation,
    Enrollment,
    Mailbox,
    OutboxMessage,
    Shortlist,
    Suppression,
)
from handlers.mrkdwn import marked
from outreach.campaigns import Campaigns, CampaignSpec, StepSpec
from outreach.delegations import Delegations
from outreach.errors import NotAllowed
from outreach.keys import MailboxKey
from outreach.notify import RecordingNotifier
from outreach.permissions import (
    Action,
    Actor,
    CampaignTarget,
    DelegationTarget,
    DncTarget,
    allowed,
    decide,
)
from outreach.schedule import SendWindow
from outreach.suppressions import Suppressions
from tests.fakes import MONDAY, FakeClock

CAST = {
    "owner": "U0OWNER001",
    "delegate for this campaign": "U0THIS0001",
    "delegate for another campaign": "U0OTHER001",
    "delegate for all campaigns": "U0ALL00001",
    "stranger": "U0STRANGE1",
    "admin": "U0ADMIN001",
}
ROLES = list(CAST)
DELEGATED = {
    "delegate for this campaign": "Alpha",
    "delegate for another campaign": "beta",
    "delegate for all campaigns": "",
}
CANDIDATE = "jana@talent.example"
LISTED = "blocked@talent.example"  # on the do-not-contact list, added by the owner

SENDERS = {"owner", "delegate for this campaign", "delegate for all campaigns"}
EVERYONE = set(ROLES)
#: Who may do what. Admins may only stop harm (pause, stop, pause a candidate) and lift
#: a do-not-contact entry; a delegate may give up their own access.
EXPECTED: dict[str, set[str]] = {
    "create": SENDERS,
    "start": SENDERS,
    "pause": SENDERS | {"admin"},
    "resume": SENDERS,
    "stop": SENDERS | {"admin"},
    "preview": SENDERS,
    "test": SENDERS,
    "pause a candidate": SENDERS | {"admin"},
    "resume a candidate": SENDERS,
    "add dnc": EVERYONE,
    "remove dnc": {"owner", "admin"},  # the owner added it
    "revoke": {"owner", "delegate for this campaign"},  # the delegation revoked is theirs
}


@dataclass
class Services:
    campaigns: Campaigns
    suppressions: Suppressions
    delegations: Delegations
    engine: Engine

    def session(self) -> Any:
        return make_session_factory(self.engine)()


@pytest.fixture
def services(engine: Engine) -> Services:
    db, clock = make_session_factory(engine), FakeClock(MONDAY)
    return Services(
        Campaigns(db, clock),
        Suppressions(db, clock),
        Delegations(db, clock, RecordingNotifier()),
        engine,
    )


def seed(s: Services, team: str, *, campaign: bool = True) -> int:
    """The cast of one workspace ``team`` and, unless told not to, "alpha" in draft; the
    id of the owner's mailbox."""
    now = MONDAY
    with transaction(make_session_factory(s.engine)) as session:
        boxes = {}
        for role, user in CAST.items():
            box = Mailbox(
                team_id=team,
                owner_user_id=user,
                email=f"{user.lower()}.{team.lower()}@acme.test",
                sender_name=role,
                ms_user_id=user,
                ms_home_account_id=user,
                state="connected",
                token_cache_enc="-",
                connected_at=now,
                updated_at=now,
            )
            session.add(box)
            boxes[role] = box
        session.flush()
        owner_box = boxes["owner"].id
        for role, name in DELEGATED.items():
            session.add(
                Delegation(
                    mailbox_id=owner_box,
                    delegate_user_id=CAST[role],
                    campaign_name=name,
                    created_at=now,
                )
            )
        shortlist = Shortlist(
            team_id=team, name="backend", created_by=CAST["owner"], created_at=now, updated_at=now
        )
        session.add(shortlist)
        session.flush()
        session.add(
            Candidate(
                shortlist_id=shortlist.id,
                email=CANDIDATE,
                first_name="Jana",
                variables={},
                updated_at=now,
            )
        )
        shortlist_id = shortlist.id
    if campaign:
        s.campaigns.create(team, CAST["owner"], spec("alpha", owner_box, shortlist_id))
    s.suppressions.add_dnc(team, CAST["owner"], LISTED)
    return owner_box


def spec(name: str, mailbox_id: int, shortlist_id: int) -> CampaignSpec:
    steps = [StepSpec("Hi {{ first_name }}", "Would you talk?"), StepSpec("Again", "Still?")]
    window = SendWindow(start=time(0), end=time(23, 59), days=frozenset(range(1, 8)))
    return CampaignSpec(name, shortlist_id, mailbox_id, "C0CHANNEL1", steps, window, "UTC")


def shortlist_of(s: Services, team: str) -> int:
    with s.session() as session:
        return int(session.scalars(select(Shortlist.id).where(Shortlist.team_id == team)).one())


# What each action needs first, done by the owner.
def started(s: Services, team: str) -> None:
    s.campaigns.start(team, CAST["owner"], "alpha")


def paused(s: Services, team: str) -> None:
    started(s, team)
    s.campaigns.pause(team, CAST["owner"], "alpha")


def candidate_paused(s: Services, team: str) -> None:
    started(s, team)
    s.campaigns.pause_candidate(team, CAST["owner"], "alpha", CANDIDATE)


SETUP: dict[str, Callable[[Services, str], None]] = {
    "pause": started,
    "stop": started,
    "pause a candidate": started,
    "resume": paused,
    "resume a candidate": candidate_paused,
}


def act(s: Services, action: str, team: str, role: str, owner_box: int) -> object:
    user, admin = CAST[role], role == "admin"
    calls: dict[str, Callable[[], object]] = {
        "create": lambda: s.campaigns.create(
            team, user, spec("alpha", owner_box, shortlist_of(s, team))
        ),
        "start": lambda: s.campaigns.start(team, user, "alpha"),
        "pause": lambda: s.campaigns.pause(team, user, "alpha", is_admin=admin),
        "resume": lambda: s.campaigns.resume(team, user, "alpha"),
        "stop": lambda: s.campaigns.stop(team, user, "alpha", is_admin=admin),
        "preview": lambda: s.campaigns.preview(team, user, "alpha"),
        "test": lambda: s.campaigns.send_test(team, user, "alpha"),
        "pause a candidate": lambda: s.campaigns.pause_candidate(
            team, user, "alpha", CANDIDATE, is_admin=admin
        ),
        "resume a candidate": lambda: s.campaigns.resume_candidate(team, user, "alpha", CANDIDATE),
        "add dnc": lambda: s.suppressions.add_dnc(team, user, "new@talent.example"),
        "remove dnc": lambda: s.suppressions.remove_dnc(team, user, LISTED, is_admin=admin),
        "revoke": lambda: s.delegations.revoke(
            team, user, CAST["delegate for this campaign"], key_of(s, owner_box)
        ),
    }
    return calls[action]()


def key_of(s: Services, mailbox_id: int) -> MailboxKey:
    with s.session() as session:
        return MailboxKey(mailbox_id, session.get_one(Mailbox, mailbox_id).connected_at)


def snapshot(s: Services, team: str) -> list[list[tuple[Any, ...]]]:
    """Everything of ``team`` an action could change, as sorted rows."""
    boxes = select(Mailbox.id).where(Mailbox.team_id == team)
    queries = [
        select(Campaign.name, Campaign.state).where(Campaign.team_id == team),
        select(Enrollment.email, Enrollment.state).where(Enrollment.team_id == team),
        select(OutboxMessage.state, func.count())
        .where(OutboxMessage.mailbox_id.in_(boxes))
        .group_by(OutboxMessage.state),
        select(Suppression.email).where(Suppression.team_id == team),
        select(Delegation.delegate_user_id, Delegation.campaign_name).where(
            Delegation.mailbox_id.in_(boxes)
        ),
    ]
    with s.session() as session:
        return [sorted(tuple(row) for row in session.execute(query)) for query in queries]


@pytest.mark.parametrize("action", list(EXPECTED))
def test_each_domain_change_follows_the_rule_for_every_role(
    services: Services, action: str
) -> None:
    """Each role acts in a workspace of its own, set up alike; refused means NotAllowed
    and nothing changed, allowed means the call went through."""
    outcome: dict[str, str] = {}
    for n, role in enumerate(ROLES):
        team = f"T0ROLE{n:04}"
        owner_box = seed(services, team, campaign=action != "create")
        if action in SETUP:
            SETUP[action](services, team)
        before = snapshot(services, team)
        try:
            act(services, action, team, role, owner_box)
        except NotAllowed as exc:
            outcome[role] = "refused"
            assert snapshot(services, team) == before, f"{role}: refused but changed"
            assert str(exc)  # a sentence, not an empty error
        else:
            outcome[role] = "allowed"
    assert outcome == {r: "allowed" if r in EXPECTED[action] else "refused" for r in ROLES}


_DECIDED: dict[str, tuple[Action, Callable[[int], Any]]] = {
    "create": (Action.CREATE, lambda box: CampaignTarget(TEAM, box, "alpha")),
    "start": (Action.START, lambda box: CampaignTarget(TEAM, box, "alpha")),
    "pause": (Action.PAUSE, lambda box: CampaignTarget(TEAM, box, "alpha")),
    "resume": (Action.RESUME, lambda box: CampaignTarget(TEAM, box, "alpha")),
    "stop": (Action.STOP, lambda box: CampaignTarget(TEAM, box, "alpha")),
    "preview": (Action.PREVIEW, lambda box: CampaignTarget(TEAM, box, "alpha")),
    "test": (Action.TEST, lambda box: CampaignTarget(TEAM, box, "alpha")),
    "pause a candidate": (Action.PAUSE_CANDIDATE, lambda box: CampaignTarget(TEAM, box, "ALPHA")),
    "resume a candidate": (Action.RESUME_CANDIDATE, lambda box: CampaignTarget(TEAM, box, "alpha")),
    "add dnc": (Action.ADD_DNC, lambda box: DncTarget(TEAM, "new@talent.example")),
    "remove dnc": (Action.REMOVE_DNC, lambda box: DncTarget(TEAM, LISTED, CAST["owner"])),
    "revoke": (
        Action.REVOKE_DELEGATION,
        lambda box: DelegationTarget(box, CAST["delegate for this campaign"]),
    ),
}
TEAM = "T0DECIDE01"


def test_decide_gives_the_same_table(services: Services) -> None:
    owner_box = seed(services, TEAM)
    with services.session() as session:
        table = {
            name: {
                role
                for role in ROLES
                if allowed(
                    session, Actor(TEAM, CAST[role], role == "admin"), action, target(owner_box)
                )
            }
            for name, (action, target) in _DECIDED.items()
        }
    assert table == EXPECTED


def test_nothing_crosses_workspaces(services: Services) -> None:
    owner_box = seed(services, TEAM)
    with services.session() as session:
        for action in (Action.START, Action.STOP):
            target = CampaignTarget(TEAM, owner_box, "alpha")
            with pytest.raises(NotAllowed):  # the owner's id, but from another workspace
                decide(session, Actor("T0ELSEWHER", CAST["owner"], is_admin=True), action, target)
        revoke = DelegationTarget(owner_box, CAST["delegate for this campaign"])
        assert not allowed(
            session, Actor("T0ELSEWHER", CAST["owner"]), Action.REVOKE_DELEGATION, revoke
        )
        entry = DncTarget(TEAM, LISTED, CAST["owner"])
        assert not allowed(
            session, Actor("T0ELSEWHER", "U0ADMIN001", True), Action.REMOVE_DNC, entry
        )


def test_refusals_are_sentences_naming_the_object(services: Services) -> None:
    owner_box = seed(services, TEAM)
    box_email = f"u0owner001.{TEAM.lower()}@acme.test"
    with services.session() as session:

        def refusal(role: str, action: Action, target: Any) -> str:
            with pytest.raises(NotAllowed) as caught:
                decide(session, Actor(TEAM, CAST[role], role == "admin"), action, target)
            return marked(caught.value.sentence)  # as Slack shows it: commands in backticks

        beta = CampaignTarget(TEAM, owner_box, "beta")
        assert refusal("delegate for this campaign", Action.STOP, beta) == (
            f"You can't stop 'beta': {box_email} was delegated to you for other campaigns "
            "only. Ask its owner to run `/scaleup delegate` for 'beta'."
        )
        assert refusal("stranger", Action.STOP, beta) == (
            f"You can't stop 'beta': only the owner of {box_email}, the recruiters they "
            "delegated it to and workspace admins can."
        )
        assert refusal("admin", Action.START, beta) == (
            f"You can't start 'beta': only the owner of {box_email} and the recruiters they "
            "delegated it to can."
        )
        assert refusal("stranger", Action.REMOVE_DNC, DncTarget(TEAM, LISTED, CAST["owner"])) == (
            f"You can't take {LISTED} off the do-not-contact list: only workspace admins and "
            "the person who added it can."
        )
        unsubscribed = DncTarget(TEAM, LISTED, None)  # nobody added it by hand
        assert not allowed(session, Actor(TEAM, CAST["owner"]), Action.REMOVE_DNC, unsubscribed)
        with pytest.raises(ValueError):
            decide(session, Actor(TEAM, CAST["owner"]), Action.STOP, unsubscribed)
