"""Each kind of answer lands as it should, with the campaign's numbers; every real bounce
and auto-reply of the fixtures is never a reply; unrelated mail leaves no trace."""

from __future__ import annotations

import email
from datetime import date
from pathlib import Path

from sqlalchemy import select, text

from bot.models import OutboxMessage, Reply, Suppression
from bot.sandbox import RECRUITER
from outreach.classify import classify_file
from tests.conftest import RunningBot
from tests.e2e.replies_helpers import (
    cards,
    inbound,
    outbox,
    replies,
    sent_id,
    start_and_send,
    states,
    sync,
)
from tests.e2e.test_campaign_slack import command, shown
from tests.fakes import FakeClock

PEOPLE = [
    ("yes@talent.example", "Yael", "Europe/Berlin", "DE"),
    ("no@talent.example", "Noor", "Europe/Berlin", "DE"),
    ("away@talent.example", "Ava", "Europe/Berlin", "DE"),
    ("gone@talent.example", "Gus", "Europe/Berlin", "DE"),
    ("stop@talent.example", "Stig", "Europe/Berlin", "DE"),
    ("soft@talent.example", "Sofia", "Europe/Berlin", "DE"),
]
FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "mail" / "nonhuman").glob("*.eml"))


def test_interest_out_of_office_bounces_and_unsubscribe_land_with_their_numbers(
    cbot: RunningBot, clock: FakeClock
) -> None:
    bot = cbot
    channel = start_and_send(bot, clock, PEOPLE)
    mail, box = inbound(bot), RECRUITER.email
    mail.reply(box, sent_id(bot, "yes@talent.example"), text="Yes, I'm interested! Let's talk.")
    mail.reply(box, sent_id(bot, "no@talent.example"), text="Thanks, but I'm not interested.")
    away = mail.out_of_office(box, sent_id(bot, "away@talent.example"), until=date(2026, 3, 13))
    gone = mail.bounce(box, sent_id(bot, "gone@talent.example"), hard=True)
    mail.reply(box, sent_id(bot, "stop@talent.example"), text="Please remove me from your list.")
    soft = mail.bounce(box, sent_id(bot, "soft@talent.example"), hard=False)
    bot.sandbox.graph.faults.clear_log()
    assert sync(bot).replies == 6
    # MIME ($value) is read for the mail systems' messages only, never for a person's reply.
    mime = {r.path.split("/")[-2] for r in bot.sandbox.graph.faults.log() if "$value" in r.path}
    assert mime == {away.id, gone.id, soft.id}

    assert states(bot) == {
        "yes@talent.example": "replied",
        "no@talent.example": "replied",
        "away@talent.example": "active",
        "gone@talent.example": "bounced",
        "stop@talent.example": "unsubscribed",
        "soft@talent.example": "active",
    }
    kinds = {r.from_email: (r.kind, r.interest, r.bounce_type) for r in replies(bot)}
    assert kinds["yes@talent.example"] == ("reply", "interested", None)
    assert kinds["no@talent.example"] == ("reply", "not_interested", None)
    assert kinds["away@talent.example"] == ("auto_reply", None, None)
    assert kinds["stop@talent.example"] == ("unsubscribe", None, None)
    assert sorted(
        (r.kind, r.interest, r.bounce_type) for r in replies(bot) if r.kind == "bounce"
    ) == [
        ("bounce", None, "hard"),
        ("bounce", None, "soft"),
    ]
    with bot.db() as session:
        suppressed = {(s.email, s.kind) for s in session.scalars(select(Suppression))}
    assert suppressed == {("gone@talent.example", "bounced"), ("stop@talent.example", "dnc")}

    # Out of office until Friday 13 March: step 2 waits for Monday 16 March, 09:00 Berlin.
    [_, step2, _] = outbox(bot, "away@talent.example")
    assert step2.state == "pending" and step2.due_at.isoformat() == "2026-03-16T08:00:00+00:00"
    away = shown(next(c for c in cards(bot, channel) if "away@" in c["text"]))
    assert "Out of office" in away and "until Fri 13 Mar 2026" in away and "waits until" in away
    # A bounce's card names the address that failed, and the mail system that said so.
    bounced = shown(next(c for c in cards(bot, channel) if "gone@" in c["text"]))
    postmaster = "postmaster@" + box.rsplit("@", 1)[-1]
    assert f"Gus <gone@talent.example> (bounce from {postmaster})" in bounced
    assert f"(from {postmaster})" not in bounced
    # The soft bounce is retried once, a day later; a second one counts as hard.
    retry = [r for r in outbox(bot, "soft@talent.example") if r.dedupe_key.startswith("retry:")]
    assert [(r.state, r.step_position) for r in retry] == [("pending", 1)]

    status = shown(command(bot, "campaign status Backend Q4"))
    assert "Enrolled 6 · sent step 1: 6" in status
    assert "Replied 2 · interested 1 (17% of enrolled, 50% of replies) · not interested 1" in status
    assert "Bounced 1 · unsubscribed 1 · out of office 1 · paused 0 · failed 0" in status

    clock.advance(days=1)
    from tests.e2e.campaign_helpers import dispatcher

    dispatcher(bot).tick()
    with bot.db() as session:
        resent = session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like("retry:%"))
        ).one()
    assert resent.state == "sent"
    mail.bounce(box, str(resent.internet_message_id), hard=False)
    sync(bot)
    assert states(bot)["soft@talent.example"] == "bounced"


def test_no_real_bounce_or_auto_reply_counts_as_a_reply(cbot: RunningBot, clock: FakeClock) -> None:
    bot = cbot
    start_and_send(bot, clock, PEOPLE[:1])
    imid = sent_id(bot, "yes@talent.example")
    delivered = {  # each delivered as MIME, as an answer to our email
        path.name: inbound(bot).mime(RECRUITER.email, path.read_bytes(), in_reply_to=imid)
        for path in FIXTURES
    }
    sync(bot)
    stored = replies(bot)
    # One row per Message-ID and mailbox: fixtures that share a Message-ID are one message.
    ids = [email.message_from_bytes(p.read_bytes()).get("Message-ID") for p in FIXTURES]
    assert len(stored) == len({i for i in ids if i}) + ids.count(None)
    assert [r.kind for r in stored if r.kind == "reply"] == []
    assert states(bot)["yes@talent.example"] != "replied"
    # Each comes out as its file does (a mail system's report is read as MIME, $value):
    # bounces are bounces of the same type, auto-replies auto-replies, the abuse report an
    # opt-out.
    by_id = {r.internet_message_id: r for r in stored}
    wrong = []
    for path in FIXTURES:
        verdict = classify_file(path)
        row = by_id[delivered[path.name].internet_message_id]
        if (row.kind, row.bounce_type) != (verdict.kind, verdict.bounce_type):
            wrong.append((path.name, row.kind, row.bounce_type, verdict.kind, verdict.bounce_type))
    assert wrong == []
    # The abuse report (arf-01, first) stopped the candidate as unsubscribed; the hard
    # bounces after it mark the address bounced as well.
    assert states(bot)["yes@talent.example"] == "unsubscribed"
    with bot.db() as session:
        kinds = {s.kind for s in session.scalars(select(Suppression))}
    assert kinds == {"dnc", "bounced"}


def test_ten_thousand_unrelated_messages_leave_no_trace(cbot: RunningBot, clock: FakeClock) -> None:
    bot = cbot
    start_and_send(bot, clock, PEOPLE[:1])
    store = bot.sandbox.store
    for n in range(10_000):
        store.deliver(
            RECRUITER.email,
            from_address=f"stranger{n}@elsewhere.example",
            subject=f"Quarterly numbers {n}",
            body="Unrelated.",
        )
    graph = bot.sandbox.graph
    graph.faults.clear_log()
    report = sync(bot)
    assert (report.replies, report.looked_at) == (0, 0)
    paths = [r.path for r in graph.faults.log()]
    assert paths and all(p.endswith("/messages/delta") for p in paths), set(paths)
    with bot.db() as session:
        assert session.scalars(select(Reply)).all() == []
        dump = []
        for table in ("replies", "mailbox_syncs", "audit_log", "outbox"):
            dump += [repr(tuple(row)) for row in session.execute(text(f"SELECT * FROM {table}"))]
    joined = "\n".join(dump)
    assert "stranger" not in joined and "Quarterly" not in joined and "elsewhere" not in joined
