"""Exchange Online's sending limits: the sandbox bounces past them, the dispatcher stays under.

30 messages a minute and 10,000 recipients a day per mailbox
(https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/
exchange-online-limits#sending-limits). Past them Exchange still answers 202 and then sends
the sender an NDR, so a pacing bug shows up only as bounces in the Inbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.sandbox import RECRUITER
from bot.sandbox.testing import EVERYDAY
from outreach.schedule import EXCHANGE_PER_MINUTE, MAX_DAILY_CAP
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import (
    THREE_STEPS,
    connect,
    create_campaign,
    dispatcher,
    outbox,
    seed_shortlist,
)
from tests.e2e.test_connect import TEAM
from tests.fakes import FakeClock

QUOTA = "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"


def bounces(bot: RunningBot) -> list[object]:
    return [
        m for m in bot.sandbox.store.inbox(RECRUITER.email) if m.subject.startswith("Undeliverable")
    ]


def test_a_dispatcher_sending_70_emails_as_fast_as_it_may_causes_no_bounce(
    cbot: RunningBot, clock: FakeClock
) -> None:
    mailbox_id = connect(cbot, RECRUITER)
    people = [(f"p{n:02d}@talent.example", f"P{n}", "UTC", None) for n in range(70)]
    shortlist_id = seed_shortlist(cbot, "many", people)
    create_campaign(
        cbot,
        mailbox_id,
        shortlist_id,
        steps=THREE_STEPS[:1],
        window=EVERYDAY,
        daily_cap=MAX_DAILY_CAP,
    )
    cbot.container.campaigns.start(TEAM, RECRUITER.slack_id, "Backend Q4")
    worker = dispatcher(cbot)
    sends: list[datetime] = []
    for _ in range(40):  # a tick every 5 seconds for over three minutes
        sends += [clock.now()] * worker.tick().sent
        clock.advance(seconds=5)

    assert len(sends) == 70
    assert bounces(cbot) == []
    for address, *_ in people:
        assert len(cbot.sandbox.store.inbox(address)) == 1, address
    busiest = max(sum(1 for t in sends if s <= t < s + timedelta(minutes=1)) for s in sends)
    assert busiest == EXCHANGE_PER_MINUTE  # as fast as allowed, and no faster
    assert {row.state for row in outbox(cbot)} == {"sent"}


def test_a_raw_graph_client_sending_31_in_a_minute_gets_an_ndr_for_the_31st(
    cbot: RunningBot, clock: FakeClock
) -> None:
    graph = cbot.container.tokens.graph_for(connect(cbot, RECRUITER))
    for n in range(31):
        draft = graph.create_draft(
            {
                "subject": f"Hello {n}",
                "body": {"contentType": "Text", "content": "Hi"},
                "toRecipients": [{"emailAddress": {"address": f"r{n}@talent.example"}}],
            }
        )
        graph.send_draft(draft["id"])  # 202 every time: Graph accepts, Exchange bounces
        clock.advance(seconds=1)

    [ndr] = bounces(cbot)
    assert ndr.subject == "Undeliverable: Hello 30"  # type: ignore[attr-defined]
    assert ndr.from_.name == "Microsoft Outlook"  # type: ignore[attr-defined]
    assert ndr.from_.address == "postmaster@acme.test"  # type: ignore[attr-defined]
    assert QUOTA in ndr.body and "30 messages per minute" in ndr.body  # type: ignore[attr-defined]
    assert cbot.sandbox.store.inbox("r30@talent.example") == []
    assert len(cbot.sandbox.store.inbox("r29@talent.example")) == 1
    assert len(cbot.sandbox.store.sent_items(RECRUITER.email)) == 30

    clock.advance(seconds=30)  # the first send has left the rolling minute
    draft = graph.create_draft(
        {"subject": "Later", "toRecipients": [{"emailAddress": {"address": "r30@talent.example"}}]}
    )
    graph.send_draft(draft["id"])
    assert [m.subject for m in cbot.sandbox.store.inbox("r30@talent.example")] == ["Later"]  # type: ignore[attr-defined]


def test_no_campaign_cap_reaches_past_exchanges_daily_limit(cbot: RunningBot) -> None:
    assert MAX_DAILY_CAP <= cbot.sandbox.store.delivery.recipients_per_day
    assert cbot.sandbox.store.delivery.messages_per_minute == EXCHANGE_PER_MINUTE
