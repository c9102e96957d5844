"""One campaign-name rule, in the domain: a name the create modal takes is one the
``/scaleup campaign … NAME [EMAIL]`` commands can reach (they split on whitespace and
read a last word with "@" as an email)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.models import Campaign
from bot.sandbox import RECRUITER
from handlers import campaign_form
from outreach.campaign_lookup import campaign_name
from outreach.campaigns import CampaignSpec
from outreach.errors import InvalidCampaignName
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import THREE_STEPS, connect, seed_shortlist
from tests.e2e.test_campaign_slack import command, shown
from tests.e2e.test_connect import TEAM

RULE = InvalidCampaignName.__doc__ or ""
BAD = {
    "empty": ("   ", "Give the campaign a name."),
    "too long": ("x" * 81, "That name has 81 characters."),
    "forged 10,000": ("y" * 10_000, "That name has 10,000 characters."),
    "email word": ("preview me a@b.c", "'a@b.c' looks like an email address."),
    "at inside": ("Backend @team", "'@team' looks like an email address."),
    "control": ("Back\x00end", "That name holds an invisible character (U+0000)."),
    "zero width": ("Back\u200bend", "That name holds an invisible character (U+200B)."),
    "bidi override": ("Back\u202eend", "That name holds an invisible character (U+202E)."),
}


@pytest.mark.parametrize(("raw", "problem"), BAD.values(), ids=BAD.keys())
def test_a_name_commands_could_not_reach_is_refused_with_the_rule(raw: str, problem: str) -> None:
    with pytest.raises(InvalidCampaignName) as refused:
        campaign_name(raw)
    assert refused.value.message == f"{problem} {RULE}"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Backend  Q4", "Backend Q4"),
        ("  foo\tbar\n", "foo bar"),
        ("Q4\u00a0hires", "Q4 hires"),  # a no-break space pasted from a document
        ("x" * 80, "x" * 80),
        ("Dev 👩\u200d💻 team", "Dev 👩\u200d💻 team"),  # the joiner inside an emoji stays
    ],
)
def test_whitespace_is_collapsed_to_single_spaces(raw: str, stored: str) -> None:
    assert campaign_name(raw) == stored


def _open_modal(bot: RunningBot) -> tuple[dict[str, Any], dict[str, Any]]:
    slack = bot.sandbox.slack
    connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(bot, "backend", [("jana@talent.example", "Jana", "", "DE")])
    channel = slack.add_channel(TEAM, "recruiting")
    bot.slack.slash(RECRUITER.slack_id, "campaign create", channel_id=channel)
    view = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    form: dict[str, Any] = {
        campaign_form.SHORTLIST: str(shortlist_id),
        campaign_form.CHANNEL: channel,
        campaign_form.step_block(1, "subject"): "Hello {{ first_name }}",
        campaign_form.step_block(1, "body"): "Hi {{ first_name }}.",
    }
    return view, form


def test_the_modal_shows_the_rule_on_the_name_field_and_stores_collapsed_names(
    bot: RunningBot,
) -> None:
    view, form = _open_modal(bot)

    def submit(name: str) -> dict[str, Any]:
        answer = bot.slack.submit_view(RECRUITER.slack_id, view, {**form, campaign_form.NAME: name})
        assert answer.status_code == 200
        return answer.json() if answer.content else {}

    for raw, problem in BAD.values():
        assert submit(raw) == {
            "response_action": "errors",
            "errors": {campaign_form.NAME: f"{problem} {RULE}"},
        }, raw
    assert submit("Backend\tQ3") == {}
    with bot.db() as session:
        assert session.scalars(select(Campaign.name)).all() == ["Backend Q3"]
    for typed in ("Backend Q3", "backend  q3", "“Backend Q3”"):
        assert "Backend Q3" in shown(command(bot, f"campaign status {typed}")), typed


def test_the_domain_refuses_what_a_forged_submission_sends(bot: RunningBot) -> None:
    """The modal's max_length is Slack's, in the browser: the service checks again."""
    _view, form = _open_modal(bot)
    [(mailbox_id, _)] = bot.container.campaigns.sender_choices(TEAM, RECRUITER.slack_id)
    shortlist_id = int(form[campaign_form.SHORTLIST])
    spec = CampaignSpec("z" * 10_000, shortlist_id, mailbox_id, form[campaign_form.CHANNEL], THREE_STEPS)
    with pytest.raises(InvalidCampaignName):
        bot.container.campaigns.create(TEAM, RECRUITER.slack_id, spec)
    spaced = CampaignSpec("Backend  Q4", shortlist_id, mailbox_id, form[campaign_form.CHANNEL], THREE_STEPS)
    bot.container.campaigns.create(TEAM, RECRUITER.slack_id, spaced)
    with bot.db() as session:
        assert session.scalars(select(Campaign.name)).all() == ["Backend Q4"]
    assert "Backend Q4" in shown(command(bot, "campaign status Backend  Q4"))
    assert "Backend Q4" in shown(command(bot, "campaign status Backend Q4"))
