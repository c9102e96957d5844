"""The sandbox Slack console: a person acts as a seeded member and sees what the bot did."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from slack_sdk import WebClient

from bot.sandbox import RECRUITER
from bot.sandbox.console import Where, block_html, console_url, mrkdwn
from bot.sandbox.console.dates import slack_date
from bot.sandbox.console.origin import MAX_BODY, MAX_UPLOAD
from handlers import blocks
from tests.conftest import RunningBot


class Forms(HTMLParser):
    """Each form's action and fields (hidden inputs, text inputs, buttons' form= targets)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.by_id: dict[str, dict[str, str]] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((at.get("action", ""), {}))
            if "id" in at:
                self.by_id[at["id"]] = self.forms[-1][1]
        elif tag == "input" and "name" in at:
            target = self.by_id.get(at.get("form", "")) or self.forms[-1][1]
            target[at["name"]] = at.get("value", "")

    def with_field(self, action: str, **wanted: str) -> dict[str, str]:
        for found_action, fields in self.forms:
            if found_action == action and all(fields.get(k) == v for k, v in wanted.items()):
                return fields
        raise AssertionError(f"no {action} form with {wanted}")


class Person:
    """A browser on the console, signed in as nobody: it just says who it is."""

    def __init__(self, bot: RunningBot, user: str = RECRUITER.slack_id) -> None:
        self.base, self.user = console_url(bot.sandbox).rstrip("/"), user
        self.http = requests.Session()

    def page(self) -> str:
        response = self.http.get(f"{self.base}/", params={"user": self.user}, timeout=10)
        assert response.status_code == 200
        return response.text

    def post(self, path: str, **fields: str) -> str:
        response = self.http.post(
            f"{self.base}{path}", data={"user": self.user, **fields}, timeout=15
        )
        assert response.status_code == 200, response.text
        assert response.url.endswith(f"/?user={self.user}")  # redirected back to the page
        return response.text

    def until(self, seen: Callable[[str], bool], timeout: float = 5.0) -> str:
        """The page once ``seen`` holds; the bot answers on threads after its ack."""
        deadline = time.monotonic() + timeout
        while not seen(html := self.page()):
            assert time.monotonic() < deadline, html
            time.sleep(0.05)
        return html


def test_the_page_lists_the_people_and_the_banner_points_at_it(bot: RunningBot) -> None:
    html = Person(bot).page()
    for name in ("Riley Chen (recruiter)", "Sam Patel (hiring manager)", "Alex Kim"):
        assert name in html
    assert 'action="/console/command"' in html
    assert any(console_url(bot.sandbox) in line for line in bot.sandbox.banner_lines())
    post = requests.post(console_url(bot.sandbox) + "console/command", data={"user": "U0NOBODY"})
    assert post.status_code == 400


def test_help_shows_the_ack_as_escaped_html(bot: RunningBot) -> None:
    html = Person(bot).post("/console/command", text="/scaleup help")
    assert "<code>/scaleup help</code>" in html  # what the person did
    assert "<b>ScaleUp</b> runs recruiting outreach" in html
    assert "<code>/scaleup connect [email]</code>" in html


def test_connect_modal_submit_and_sign_in_link(bot: RunningBot) -> None:
    riley = Person(bot)
    riley.post("/console/command", text="connect")
    html = riley.until(lambda h: 'class="modal"' in h)
    forms = Forms(html)
    modal = forms.with_field("/console/submit")
    assert modal[f"f.{blocks.EMAIL_BLOCK}"] == RECRUITER.email  # pre-filled from the profile
    assert modal[f"f.{blocks.NAME_BLOCK}"] == RECRUITER.real_name

    # The bot's errors show beside the field, and what was typed stays.
    html = riley.post("/console/submit", **{**modal, f"f.{blocks.EMAIL_BLOCK}": "jane@"})
    assert 'class="modal"' in html
    assert re.search(r'value="jane@".*class="error"', html, re.S)

    # Submitting closes the modal; the answer carries the Microsoft sign-in link.
    riley.post("/console/submit", **modal)
    html = riley.until(lambda h: "Sign in with Microsoft</a>" in h)
    assert 'class="modal"' not in html
    link = re.search(r'<a class="button primary" href="([^"]+)"[^>]*>Sign in with Microsoft', html)
    assert link and link[1].startswith(bot.sandbox.authority)
    assert "self-signed certificate" in html


def test_a_button_click_reaches_the_bot(bot: RunningBot) -> None:
    riley = Person(bot)
    riley.post("/console/command", text="disconnect")  # nothing yet: offers "Connect Outlook"
    html = riley.until(lambda h: "Connect Outlook</button>" in h)
    click = Forms(html).with_field("/console/click", action_id=blocks.CONNECT_START)
    assert click["source"].startswith("response:")
    riley.post("/console/click", **click)
    html = riley.until(lambda h: 'class="modal"' in h)
    assert "<h2>Connect Outlook</h2>" in html
    assert "clicked “Connect Outlook”" in html
    assert bot.sandbox.slack.calls("views.open")


def test_app_home_renders_and_its_buttons_work(bot: RunningBot) -> None:
    riley = Person(bot)
    riley.post("/console/home")
    html = riley.until(lambda h: "<h3>ScaleUp outreach</h3>" in h)
    click = Forms(html).with_field("/console/click", action_id=blocks.CONNECT_START)
    assert click["source"].startswith("view:")
    riley.post("/console/click", **click)
    html = riley.until(lambda h: 'class="modal"' in h)
    view_id = Forms(html).with_field("/console/close")["view_id"]
    html = riley.post("/console/close", view_id=view_id)
    assert 'class="modal"' not in html


def test_a_text_only_ack_shows_as_a_message_to_the_person(bot: RunningBot) -> None:
    """Bolt sends ``ack(text=…)`` alone as text/plain; Slack shows it, so does the console."""
    html = Person(bot).post("/console/command", text="campaign preview")
    assert "Name the campaign: <code>/scaleup campaign preview NAME</code>." in html
    assert "answer to your command · only visible to you" in html


def test_messages_show_names_and_emoji(bot: RunningBot) -> None:
    team = bot.sandbox.workspace.team_id
    channel = bot.sandbox.slack.add_channel(team, "recruiting")
    web = WebClient(token=bot.sandbox.workspace.bot_token, base_url=bot.sandbox.slack.api_url)
    web.chat_postMessage(
        channel=channel,
        text=f"<@{RECRUITER.slack_id}> started :white_check_mark: in <#{channel}> "
        "<!date^1700000000^{date_num}|Nov 14th>",
    )
    html = Person(bot).page()
    assert "<b>@Riley Chen</b> started ✅ in <b>#recruiting</b>" in html
    assert re.search(r'<time datetime="2023-11-1\dT[^"]+" title="Nov 14th">2023-11-1\d</time>', html)


def test_the_page_polls_for_updates_that_list_new_messages(bot: RunningBot) -> None:
    riley = Person(bot)
    html = riley.page()
    drawn = re.search(r"drawn = \"([^\"]+)\", since = ([\d.]+);", html)
    assert drawn, "the page polls /console/updates"
    assert "/console/updates" in html and "<script src" not in html
    updates = f"{riley.base}/console/updates"
    quiet = riley.http.get(updates, params={"user": riley.user, "since": drawn[2]}, timeout=10)
    assert quiet.json()["state"] == drawn[1] and quiet.json()["entries"] == []

    # The worker posts in the person's DM while the page is open.
    web = WebClient(token=bot.sandbox.workspace.bot_token, base_url=bot.sandbox.slack.api_url)
    dm = web.conversations_open(users=RECRUITER.slack_id)["channel"]["id"]
    web.chat_postMessage(channel=dm, text="Step 1 went out :outbox_tray:")

    news = riley.http.get(updates, params={"user": riley.user, "since": drawn[2]}, timeout=10)
    assert news.json()["state"] != drawn[1]
    [entry] = news.json()["entries"]
    assert "Step 1 went out 📤" in entry["html"] and "your DM with ScaleUp" in entry["html"]


# ---- rendering: pure functions ----------------------------------------------------------


def test_mrkdwn_is_escaped_and_formatted() -> None:
    html = mrkdwn(
        "*bold* _it_ `&lt;code&gt;` <https://x.test/?a=1&amp;b=2|a &lt;link&gt;> "
        "<@U1> <javascript:alert(1)|no> &lt;script&gt; :warning:",
        {"U1": "Riley Chen"},
    )
    assert str(html) == (
        "<b>bold</b> <i>it</i> <code>&lt;code&gt;</code> "
        '<a href="https://x.test/?a=1&amp;b=2" target="_blank" rel="noopener">a &lt;link&gt;</a> '
        "<b>@Riley Chen</b> &lt;javascript:alert(1)|no&gt; &lt;script&gt; ⚠️"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (":white_check_mark: sent", "✅ sent"),
        (":large_green_circle: live · :tada: · :no_such_emoji:", "🟢 live · 🎉 · :no_such_emoji:"),
        ("`:x:` stays code", "<code>:x:</code> stays code"),
        ("<@U0RECRUIT1|riley> and <@U0NOBODY1>", "<b>@Riley Chen</b> and <b>@U0NOBODY1</b>"),
        ("<#C0CHANNEL1> <#C0OTHER01|hiring>", "<b>#recruiting</b> <b>#hiring</b>"),
        ("<!date^not-a-time^{date}|the fallback>", "the fallback"),
    ],
)
def test_mrkdwn_renders_emoji_mentions_and_channels(text: str, shown: str) -> None:
    assert str(mrkdwn(text, {"U0RECRUIT1": "Riley Chen"}, {"C0CHANNEL1": "recruiting"})) == shown


def test_slack_dates_use_slack_tokens() -> None:
    now = datetime(2024, 3, 5, 12, 0).astimezone()
    at = int(datetime(2024, 3, 4, 18, 39, 42).astimezone().timestamp())
    shown = slack_date(
        str(at),
        "{date_num} | {date} | {date_short} | {date_long} | {date_pretty} | {time} | "
        "{time_secs} | {ago} | {unknown}",
        now,
    )
    assert shown is not None
    assert shown[1] == (
        "2024-03-04 | March 4th, 2024 | Mar 4, 2024 | Monday, March 4th, 2024 | yesterday | "
        "6:39 PM | 6:39:42 PM | 17 hours ago | {unknown}"
    )
    assert slack_date("x", "{date}") is None


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        (
            {
                "type": "static_select",
                "action_id": "s",
                "options": [{"text": {"type": "plain_text", "text": "<One>"}, "value": "1"}],
            },
            '<option value="1">&lt;One&gt;</option>',
        ),
        ({"type": "users_select", "action_id": "u"}, '<option value="U1">Riley</option>'),
        ({"type": "channels_select", "action_id": "c"}, 'placeholder="a channel id'),
    ],
)
def test_input_elements_render_as_form_fields(element: dict[str, object], expected: str) -> None:
    block = {"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "L"}}
    html = str(block_html({**block, "element": element}, Where("U1", {"U1": "Riley"}, form="m")))
    assert expected in html
    assert 'name="f.b" form="m"' in html


def test_channels_invite_and_the_channel_picker(bot: RunningBot) -> None:
    from bot.sandbox import COLLEAGUE
    from handlers import campaign_blocks as cb
    from tests.e2e.campaign_helpers import connect, seed_shortlist
    from tests.e2e.test_connect import TEAM

    slack, bot_user = bot.sandbox.slack, bot.sandbox.workspace.bot_user_id
    private = slack.channel_id(TEAM, "exec-hiring")
    public = slack.channel_id(TEAM, "hiring-backend")
    alex = Person(bot, COLLEAGUE.slack_id).page()
    assert "#recruiting" in alex and "exec-hiring" not in alex  # private, and Alex is not in it

    riley = Person(bot)
    html = riley.page()
    assert "🔒 exec-hiring" in html
    riley.post("/console/invite", **Forms(html).with_field("/console/invite", channel=private))
    assert bot_user in slack.channel_members(TEAM, private)
    assert "(ScaleUp is in it)" in riley.page()
    refused = Person(bot, COLLEAGUE.slack_id).post("/console/invite", channel=private)
    assert "Slack refused the invitation: channel_not_found." in refused

    # The campaign modal's picker lists the channels Riley sees, starting on the one the
    # command was typed in.
    connect(bot, RECRUITER)
    seed_shortlist(bot, "backend", [("jana@talent.example", "Jana", None, None)])
    riley.post("/console/command", text="campaign create", channel=public)
    html = riley.until(lambda h: 'class="modal"' in h)
    picker = re.search(rf'<select name="f\.{cb.CHANNEL}"[^>]*>(.*?)</select>', html, re.S)
    assert picker is not None
    assert f'<option value="{public}" selected>#hiring-backend</option>' in picker[1]
    assert f'<option value="{private}">🔒 exec-hiring</option>' in picker[1]


def test_a_file_shared_in_the_dm_is_imported_through_the_signed_event(bot: RunningBot) -> None:
    riley, slack = Person(bot), bot.sandbox.slack
    upload = Forms(riley.page()).with_field("/console/upload", user=RECRUITER.slack_id)
    assert "text" in upload  # a message may go with the file
    assert 'action="/console/upload" enctype="multipart/form-data"' in riley.page()

    def share(name: str, content: bytes, text: str = "") -> requests.Response:
        return riley.http.post(
            f"{riley.base}/console/upload",
            data={"user": riley.user, "text": text},
            files={"file": (name, content, "application/octet-stream")},
            timeout=15,
        )

    linkedin = (Path(__file__).parents[1] / "inputs" / "linkedin-connections.csv").read_bytes()
    answer = share("Connections.csv", linkedin, "shortlist Backend")
    assert answer.status_code == 200 and answer.url.endswith(f"/?user={riley.user}")
    html = riley.until(lambda h: "2 new, 0 updated" in h)
    assert "shared the file Connections.csv in your DM with ScaleUp: shortlist Backend" in html
    assert "Shortlist <b>Backend</b>: 2 new, 0 updated candidates." in html
    # The bot read the file Slack stored, with its token, from the event's file object.
    [info] = [c for c in slack.calls("files.info") if c.response.get("ok")]
    assert info.response["file"]["name"] == "Connections.csv"
    assert info.response["file"]["filetype"] == "csv"
    assert info.response["file"]["size"] == len(linkedin)
    assert info.response["file"]["user"] == RECRUITER.slack_id

    # Files are larger than forms: a 2 MB file reaches the bot (which says it is no CSV).
    big = share("photo.png", b"\x89PNG" + b"x" * (2 * MAX_BODY))
    assert big.status_code == 200
    riley.until(lambda h: "<b>photo.png</b> is not a CSV file." in h)
    # ... but a body over the upload's cap is refused before it is read.
    assert share("huge.csv", b"x" * MAX_UPLOAD).status_code == 413
    # Nothing chosen: a sentence, and no event.
    events = len(slack.calls("files.info"))
    empty = share("", b"")
    assert "Choose a file that is not empty to share with ScaleUp." in empty.text
    assert len(slack.calls("files.info")) == events
    # A page elsewhere cannot make the browser share a file as Riley.
    riley.http.headers.update({"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert share("Connections.csv", linkedin).status_code == 403
