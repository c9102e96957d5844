"""Shortlists and campaigns from Slack, end to end: slash commands, modals and buttons
through the sandbox's signed requests, the services and both databases."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.db import transaction
from bot.models import Campaign, CampaignStep, Candidate, Enrollment, Suppression
from bot.sandbox import COLLEAGUE, RECRUITER
from handlers import campaign_blocks as cb
from handlers import campaign_form, shortlist_blocks
from handlers.shortlist_commands import ProgressMessage
from outreach.campaigns import CampaignSpec, StepSpec
from outreach.schedule import SendWindow
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import THREE_STEPS, connect, seed_shortlist
from tests.e2e.test_connect import TEAM

CSV = """email,first_name,last_name,timezone,country,company
jane@example.com,Jane,Doe,Europe/Berlin,DE,Initech
jane@,Bad,Row,,,
raj@example,Raj,,,,
li@example.com,Li,Wei,,SG,Hooli
"""
PEOPLE = [
    ("jana@talent.example", "Jana", "Europe/Berlin", "DE"),
    ("omar@talent.example", "Omar", "America/New_York", "US"),
]


def reply(bot: RunningBot, before: int) -> dict[str, Any]:
    """The next body the bot posted to a response_url after the first ``before``."""
    slack = bot.sandbox.slack
    return slack.wait_for(lambda: slack.responses()[before:])[-1]


def command(bot: RunningBot, text: str, user: str = RECRUITER.slack_id) -> dict[str, Any]:
    """``/scaleup text`` and what the user sees: the ack's text, else the response."""
    before = len(bot.sandbox.slack.responses())
    answer = bot.slack.slash(user, text)
    assert answer.status_code == 200
    if answer.headers.get("content-type", "").startswith("application/json"):
        return dict(answer.json())  # ack(text=..., blocks=...)
    if answer.text:
        return {"text": answer.text}  # ack(text=...) alone: Bolt answers plain text
    return reply(bot, before)


def shown(body: dict[str, Any]) -> str:
    """Every mrkdwn text of a reply, joined: what the user reads."""
    texts = [body.get("text", "")]
    for block in body.get("blocks") or []:
        texts.append((block.get("text") or {}).get("text", ""))
        texts += [e.get("text", "") for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return "\n".join(texts)


def make_campaign(
    bot: RunningBot, mailbox_id: int, shortlist_id: int, channel: str, steps: list[StepSpec]
) -> int:
    spec = CampaignSpec(
        "Backend Q4", shortlist_id, mailbox_id, channel, steps, SendWindow(), "Europe/Berlin"
    )
    return bot.container.campaigns.create(TEAM, RECRUITER.slack_id, spec)


def campaign(bot: RunningBot, name: str = "Backend Q4") -> Campaign:
    with bot.db() as session:
        return session.scalars(select(Campaign).where(Campaign.name == name)).one()


def status_of_jana(bot: RunningBot) -> str:
    with bot.db() as session:
        return session.scalars(
            select(Enrollment.state).where(Enrollment.email == "jana@talent.example")
        ).one()


# -- shortlists ----------------------------------------------------------------------------


def test_shortlist_import_through_the_modal_reports_every_bad_row(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    assert bot.slack.slash(RECRUITER.slack_id, "shortlist create Backend Q4").status_code == 200
    view = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    assert view["callback_id"] == shortlist_blocks.SHORTLIST_MODAL
    assert json.loads(view["private_metadata"])["name"] == "Backend Q4"

    blank = bot.slack.submit_view(RECRUITER.slack_id, view, {shortlist_blocks.CSV_BLOCK: "  \n "})
    assert blank.json() == {
        "response_action": "errors",
        "errors": {shortlist_blocks.CSV_BLOCK: "Paste the CSV, header row first."},
    }
    assert bot.slack.submit_view(RECRUITER.slack_id, view, {shortlist_blocks.CSV_BLOCK: CSV}).status_code == 200

    report = (
        "Shortlist *Backend Q4*: 2 new, 0 updated candidates.\n"
        "2 rows were not imported:\n"
        "Row 3: 'jane@' is not an email address\n"
        "Row 4: 'raj@example' is not an email address"
    )
    [dm] = slack.wait_for(
        lambda: [m for m in slack.dm_messages(TEAM, RECRUITER.slack_id) if "edited" in m]
    )
    assert dm["text"] == report
    assert shown(dm).endswith(":white_check_mark: " + report)
    assert slack.calls("chat.postMessage")[-1].params["text"] == "Importing Backend Q4…"
    with bot.db() as session:
        candidates = {c.email: c.variables for c in session.scalars(select(Candidate))}
    assert candidates == {
        "jane@example.com": {"company": "Initech"},
        "li@example.com": {"company": "Hooli"},
    }


def test_a_file_problem_is_the_sentence_and_nothing_is_imported(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    bot.slack.slash(RECRUITER.slack_id, "shortlist create Empty")
    slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    bot.slack.submit(RECRUITER.slack_id, {shortlist_blocks.CSV_BLOCK: "name,company\nJane,Initech\n"})
    [dm] = slack.wait_for(
        lambda: [m for m in slack.dm_messages(TEAM, RECRUITER.slack_id) if "edited" in m]
    )
    assert dm["text"].startswith("There is no email column; the header row has name, company.")
    assert "Nothing was imported into *Empty*." in shown(dm)
    assert bot.container.shortlists.summaries(TEAM) == []


def test_progress_edits_the_message_at_most_every_two_seconds() -> None:
    now, edits = [0.0], []
    progress = ProgressMessage(edits.append, "Big", clock=lambda: now[0])
    for done, at in ((1000, 0.5), (2000, 2.1), (3000, 3.0), (4000, 4.2)):
        now[0] = at
        progress(done, 10_000)
    assert edits == [
        "Importing Big: imported 2,000 of 10,000 rows…",
        "Importing Big: imported 4,000 of 10,000 rows…",
    ]


def test_shortlist_list_and_show(bot: RunningBot) -> None:
    assert "No shortlists yet." in shown(command(bot, "shortlist list"))
    bot.container.shortlists.import_csv(TEAM, RECRUITER.slack_id, "Backend Q4", CSV)
    seed_shortlist(bot, "Frontend <UI>", PEOPLE)

    listed = shown(command(bot, "shortlist list"))
    assert "• *Backend Q4*: 2 candidates\n• *Frontend &lt;UI&gt;*: 2 candidates" in listed

    detail = shown(command(bot, "shortlist show backend q4"))
    assert "*Backend Q4*: 2 candidates\n" in detail
    assert "Columns: `email`, `first_name`, `last_name`, `timezone`, `country`, `company`" in detail
    assert "• jane@example.com · Jane Doe · Europe/Berlin · DE\n• li@example.com · Li Wei · SG" in (
        detail
    )
    missing = shown(command(bot, "shortlist show Nope"))
    assert "There is no shortlist called 'Nope'. `/scaleup shortlist list` shows them." in missing
    assert "Name the shortlist" in command(bot, "shortlist create")["text"]


# -- creating a campaign -----------------------------------------------------------------------


def test_campaign_create_says_what_is_missing_first(bot: RunningBot) -> None:
    assert command(bot, "campaign create")["text"] == (
        "Create a shortlist first with `/scaleup shortlist create NAME`."
    )
    seed_shortlist(bot, "backend", PEOPLE)
    assert command(bot, "campaign create")["text"] == (
        "Connect your Outlook mailbox first with `/scaleup connect`."
    )
    assert bot.sandbox.slack.calls("views.open") == []


def test_campaign_create_modal_errors_on_the_right_block_then_a_draft(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(bot, "backend", PEOPLE)
    make_campaign(bot, mailbox_id, shortlist_id, "C0TAKEN001", THREE_STEPS)  # "Backend Q4"
    channel = slack.add_channel(TEAM, "recruiting")

    bot.slack.slash(RECRUITER.slack_id, "campaign create", channel_id=channel)
    view = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    assert view["callback_id"] == campaign_form.CAMPAIGN_MODAL
    assert len(view["blocks"]) <= 100
    by_id = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert by_id[campaign_form.TIMEZONE]["element"]["initial_option"]["value"] == "Europe/Berlin"  # Slack tz
    assert [o["value"] for o in by_id[campaign_form.DAYS]["element"]["initial_options"]] == list("12345")
    # Only step 1 is required (the README's "1 to 5 steps").
    assert by_id[campaign_form.step_block(1, "subject")]["optional"] is False
    assert by_id[campaign_form.step_block(1, "body")]["optional"] is False
    assert all(by_id[campaign_form.step_block(n, "subject")]["optional"] for n in (2, 3, 4, 5))
    assert all(by_id[campaign_form.step_block(n, "body")]["optional"] for n in (2, 3, 4, 5))

    form: dict[str, Any] = {
        campaign_form.NAME: "Backend Q4",
        campaign_form.SHORTLIST: str(shortlist_id),
        campaign_form.CHANNEL: channel,
        **{campaign_form.step_block(n, "subject"): f"Step {n}, {{{{ first_name }}}}" for n in (1, 2, 3)},
        **{campaign_form.step_block(n, "body"): f"Hi {{{{ first_name }}}}, note {n}." for n in (1, 2, 3)},
    }

    def submit(**changes: Any) -> dict[str, Any]:
        answer = bot.slack.submit_view(RECRUITER.slack_id, view, {**form, **changes})
        assert answer.status_code == 200
        return answer.json() if answer.content else {}

    assert submit(**{campaign_form.NAME: "Backend Q5", campaign_form.DAILY_CAP: "20000"})["errors"] == {
        campaign_form.DAILY_CAP: "The daily cap must be a whole number from 1 to 10,000."
    }
    assert submit(
        **{
            campaign_form.NAME: "Backend Q5",
            campaign_form.step_block(5, "body"): "later",
            campaign_form.step_block(5, "new_thread"): ["new"],
        }
    )["errors"] == {
        campaign_form.step_block(4, "subject"): "Fill in step 4 before step 5, or leave both empty.",
        campaign_form.step_block(5, "subject"): "Step 5 goes as a new email, so it needs a subject.",
    }
    bad_template = submit(**{campaign_form.NAME: "Backend Q5", campaign_form.step_block(2, "body"): "Hi {{ first_name"})
    assert list(bad_template["errors"]) == [campaign_form.step_block(2, "body")]
    assert bad_template["errors"][campaign_form.step_block(2, "body")].startswith("Step 2 body, line 1:")
    window = submit(**{campaign_form.NAME: "Backend Q5", campaign_form.START: "17:00", campaign_form.END: "09:00"})
    assert window["errors"] == {
        campaign_form.END: "The send window must end after it starts: 09:00 is not later than 17:00."
    }
    assert submit()["errors"] == {campaign_form.NAME: "A campaign called 'Backend Q4' already exists."}
    with bot.db() as session:
        assert session.scalars(select(Campaign.name)).all() == ["Backend Q4"]

    assert submit(**{campaign_form.NAME: "Backend Q5", campaign_form.step_block(3, "new_thread"): ["new"]}) == {}
    created = campaign(bot, "Backend Q5")
    assert (created.state, created.channel_id, created.mailbox_id) == ("draft", channel, mailbox_id)
    assert (created.window_days, created.window_start, created.window_end) == (
        "1,2,3,4,5",
        "09:00",
        "17:00",
    )
    assert (created.timezone, created.daily_cap, created.min_gap_seconds) == (
        "Europe/Berlin",
        200,
        60,
    )
    with bot.db() as session:
        steps = session.scalars(
            select(CampaignStep)
            .where(CampaignStep.campaign_id == created.id)
            .order_by(CampaignStep.position)
        ).all()
        assert [(s.subject, s.wait_business_days, s.as_reply) for s in steps] == [
            ("Step 1, {{ first_name }}", 0, False),
            ("Step 2, {{ first_name }}", 3, True),
            ("Step 3, {{ first_name }}", 3, False),
        ]
    confirmation = slack.wait_for(lambda: slack.ephemeral_messages(RECRUITER.slack_id))[-1]
    assert confirmation["channel"] == channel
    assert confirmation["text"] == (
        "Campaign Backend Q5 created (draft). Preview with `/scaleup campaign preview "
        "Backend Q5`, start with `/scaleup campaign start Backend Q5`."
    )
    assert slack.last_view(RECRUITER.slack_id) is None  # the modal closed


# -- running a campaign ------------------------------------------------------------------------


def test_start_posts_the_parent_message_and_stores_its_thread(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(
        bot, "backend", [*PEOPLE, ("no@talent.example", "No", None, None)]
    )
    with transaction(bot.db) as session:
        session.add(
            Suppression(
                team_id=TEAM,
                email="no@talent.example",
                kind="dnc",
                added_at=bot.container.clock.now(),
            )
        )
    channel = slack.add_channel(TEAM, "recruiting")
    make_campaign(bot, mailbox_id, shortlist_id, channel, THREE_STEPS)

    answer = shown(command(bot, "campaign start Backend Q4"))
    assert (
        f":rocket: *Backend Q4* started: 2 candidates enrolled, 1 skipped. Replies will arrive "
        f"in the thread in <#{channel}>.\n• no@talent.example: on the do-not-contact list"
    ) in answer
    [parent] = slack.messages(channel)
    assert parent["text"].startswith(
        ":mega: Campaign *Backend Q4* started by <@U0RECRUIT1> from riley.chen@acme.test: "
        "2 candidates; first email at <!date^"
    )
    started = campaign(bot)
    assert (started.state, started.thread_ts) == ("active", parent["ts"])
    again = shown(command(bot, "campaign start backend q4"))
    assert "'backend q4' has already started (active)." in again


def test_start_refuses_when_it_cannot_post_in_the_channel(bot: RunningBot) -> None:
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(bot, "backend", PEOPLE)
    make_campaign(bot, mailbox_id, shortlist_id, "C0GONE0001", THREE_STEPS)
    answer = shown(command(bot, "campaign start Backend Q4"))
    assert (
        "*Backend Q4* did not start: nothing was sent, because I can't post its thread in "
        "<#C0GONE0001>. Invite @ScaleUp there (`/invite @ScaleUp` in the channel), then start "
        "it again."
    ) in answer
    assert (campaign(bot).state, campaign(bot).thread_ts) == ("draft", None)


def test_start_refuses_when_a_candidate_lacks_a_variable(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(bot, "backend", PEOPLE)
    steps = [StepSpec("Hi {{ first_name }}", "We love {{ company }}."), *THREE_STEPS[1:]]
    make_campaign(bot, mailbox_id, shortlist_id, slack.add_channel(TEAM, "recruiting"), steps)

    answer = shown(command(bot, "campaign start Backend Q4"))
    # No candidate has a company column: one sentence naming the columns there are.
    assert answer.startswith(
        "The templates use {{ company }}, but the shortlist has no such column. It has: "
        "country, email, first_name, last_name, timezone (and every template has sender_name, "
        "sender_email and sender_first_name)."
    )
    assert "lacks" not in answer
    assert campaign(bot).state == "draft"


def test_pause_resume_stop_status_list_and_who_may_click(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(bot, "backend", PEOPLE)
    make_campaign(bot, mailbox_id, shortlist_id, slack.add_channel(TEAM, "recruiting"), THREE_STEPS)
    draft = shown(command(bot, "campaign status Backend Q4"))
    assert "*Backend Q4*: :white_circle: draft, not started" in draft
    assert "Start it with `/scaleup campaign start Backend Q4`." in draft
    command(bot, "campaign start Backend Q4")

    status = command(bot, "campaign status backend q4")
    assert "*Backend Q4*: :large_green_circle: running\nSender: riley.chen@acme.test" in shown(
        status
    )
    assert "Candidates: 2 active\nEmails: 2 pending, 4 waiting" in shown(status)
    [buttons] = [b for b in status["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in buttons["elements"]] == [cb.CAMPAIGN_PAUSE, cb.CAMPAIGN_STOP]

    # Someone who may not send from the mailbox cannot stop it.
    before = len(slack.responses())
    bot.slack.click(COLLEAGUE.slack_id, cb.CAMPAIGN_STOP, message=status)
    refused = reply(bot, before)
    assert refused["text"] == (
        "You can't stop 'Backend Q4': only the owner of riley.chen@acme.test, the recruiters "
        "they delegated it to and workspace admins can."
    )
    assert refused["replace_original"] is False
    assert campaign(bot).state == "active"

    before = len(slack.responses())
    bot.slack.click(RECRUITER.slack_id, cb.CAMPAIGN_PAUSE, message=status)
    paused = reply(bot, before)
    assert paused["replace_original"] is True
    assert "Paused *Backend Q4*; nothing is sent until you resume it." in shown(paused)
    assert campaign(bot).state == "paused"
    assert "*Backend Q4*: :double_vertical_bar: paused" in shown(paused)

    resumed = shown(command(bot, "campaign resume Backend Q4"))
    assert "Resumed *Backend Q4*; paused emails go out in the next send window." in resumed
    assert campaign(bot).state == "active"

    one = shown(command(bot, "campaign pause Backend Q4 Jana@Talent.example"))
    assert "Jana@Talent.example paused in *Backend Q4*" in one
    again = shown(command(bot, "campaign pause Backend Q4 jana@talent.example"))
    assert "jana@talent.example is paused in 'Backend Q4'." in again
    back = shown(command(bot, "campaign resume Backend Q4 jana@talent.example"))
    assert "jana@talent.example resumed in *Backend Q4*" in back

    stopped = shown(command(bot, "campaign stop Backend Q4"))
    assert "Stopped *Backend Q4*; 6 unsent emails cancelled." in stopped
    assert campaign(bot).state == "stopped"
    listed = shown(command(bot, "campaign list"))
    assert "• *Backend Q4*: :black_square_for_stop: stopped" in listed
    # A stopped campaign's candidates can no longer be paused or resumed one by one.
    for verb in ("pause", "resume"):
        late = shown(command(bot, f"campaign {verb} Backend Q4 jana@talent.example"))
        assert (
            "'Backend Q4' is stopped, so its candidates can no longer be paused or resumed."
            in late
        )
    assert status_of_jana(bot) == "active"
    missing = shown(command(bot, "campaign pause Nope"))
    assert "There is no campaign called 'Nope'. `/scaleup campaign list` shows them." in missing
    assert (
        command(bot, "campaign start")["text"]
        == "Name the campaign: `/scaleup campaign start NAME`."
    )
