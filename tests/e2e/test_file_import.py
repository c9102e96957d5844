"""Shortlist CSV files shared in the DM with the bot, end to end: the ``message.im`` event
from the sandbox's Slack client, ``files.info`` and the download with the bot token, the
importer, and the DM message it keeps up to date — on both databases."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from bot.models import Candidate, Shortlist
from bot.sandbox import RECRUITER
from bot.settings import SLACK_BOT_SCOPES
from handlers import files
from handlers.shortlist_blocks import importing
from tests.conftest import RunningBot
from tests.e2e.test_campaign_slack import shown
from tests.e2e.test_connect import TEAM

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "app_manifest.yaml").read_text())
HEADER = "email,first_name,last_name,timezone,country,company"
ROWS = 10_000
INPUTS = Path(__file__).parents[1] / "inputs"
# Data row i is spreadsheet row i + 2 (the header is row 1).
BAD = {
    10: ("candidate10@", "Row 12: 'candidate10@' is not an email address"),
    5_000: ("dup", "Row 5002: duplicate of row 6 (c4@talent.example)"),
}
# Optional columns that cannot be read keep the candidate, with a note.
NOTED = {
    2_500: (
        "tz",
        "Row 2502: time zone 'Mars/Olympus' is not one I know; the campaign's time zone is used",
    ),
    9_999: ("country", "Row 10001: country 'ZZ' is not one I know; no public holidays are skipped"),
}


def big_csv() -> bytes:
    """10,000 candidates as Excel writes "CSV UTF-8" (BOM, CRLF), four of them bad."""
    lines = [HEADER]
    for i in range(ROWS):
        email, tz, country = f"c{i}@talent.example", "Europe/Berlin", "DE"
        kind = {**BAD, **NOTED}.get(i, ("", ""))[0]
        if kind == "tz":
            tz = "Mars/Olympus"
        elif kind == "dup":
            email = "c4@talent.example"
        elif kind == "country":
            country = "ZZ"
        elif kind:
            email = kind
        lines.append(f"{email},First{i},Last{i},{tz},{country},Company {i % 97}")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def dm(bot: RunningBot) -> list[dict[str, Any]]:
    return bot.sandbox.slack.dm_messages(TEAM, RECRUITER.slack_id)


def reply(bot: RunningBot, containing: str, timeout: float = 5.0) -> dict[str, Any]:
    """The bot's DM message whose text contains ``containing``, once it is there."""
    found = bot.sandbox.slack.wait_for(
        lambda: [m for m in dm(bot) if containing in m["text"]], timeout
    )
    return found[-1]


def candidates(bot: RunningBot, shortlist: str) -> int:
    with bot.db() as session:
        count = session.scalar(
            select(func.count(Candidate.id))
            .join(Shortlist, Shortlist.id == Candidate.shortlist_id)
            .where(Shortlist.name == shortlist)
        )
    return count or 0


def share(bot: RunningBot, name: str, content: bytes, filetype: str = "csv", text: str = "") -> str:
    file_id = bot.sandbox.slack.add_file(TEAM, RECRUITER.slack_id, name, content, filetype)
    assert bot.slack.share_file(RECRUITER.slack_id, file_id, text).status_code == 200
    return file_id


def test_a_10000_row_file_imports_with_a_progress_message_and_every_bad_row(
    bot: RunningBot,
) -> None:
    slack = bot.sandbox.slack
    share(bot, "Big Q4.csv", big_csv())
    report = (
        f"Shortlist *Big Q4*: {ROWS - len(BAD)} new, 0 updated candidates.\n"
        f"{len(BAD)} rows were not imported:\n"
        + "\n".join(sentence for _, sentence in BAD.values())
        + f"\n{len(NOTED)} rows were imported with a note:\n"
        + "\n".join(sentence for _, sentence in NOTED.values())
    )
    final = reply(bot, "rows were not imported", timeout=60)

    # One DM message: posted as "Importing…", edited in place, ending with the report.
    assert dm(bot) == [final]
    assert final["text"] == report
    assert shown(final).endswith(":white_check_mark: " + report)
    [posted] = [c for c in slack.calls("chat.postMessage") if c.response.get("ts") == final["ts"]]
    assert posted.params["text"] == importing("Big Q4")
    edits = [c.params["text"] for c in slack.calls("chat.update") if c.params["ts"] == final["ts"]]
    *progress, last = edits
    assert last == report
    # Edits come at most every 2 s, so a fast import may show none; any shown count up.
    counts = [
        int(m.group(1).replace(",", ""))
        for m in (
            re.fullmatch(r"Importing Big Q4: imported ([\d,]+) of 9,998 rows…", t) for t in progress
        )
        if m
    ]
    assert len(counts) == len(progress) and counts == sorted(counts)

    # The file was read with files.info and the bot token, not trusted from the event.
    [info] = slack.calls("files.info")
    assert info.token == bot.sandbox.workspace.bot_token
    assert candidates(bot, "Big Q4") == ROWS - len(BAD)
    with bot.db() as session:
        jane = session.scalars(select(Candidate).where(Candidate.email == "c9998@talent.example"))
        stored = jane.one()
    assert (stored.first_name, stored.timezone, stored.country) == (
        "First9998",
        "Europe/Berlin",
        "DE",
    )
    assert stored.variables == {"company": f"Company {9998 % 97}"}


def test_shortlist_name_in_the_message_overrides_the_file_name(bot: RunningBot) -> None:
    content = f"{HEADER}\njana@talent.example,Jana,,,DE,Initech\n".encode()
    share(bot, "export (3).csv", content, text="Here you go\nshortlist *Backend Q4*")
    final = reply(bot, "new, 0 updated")
    assert final["text"] == "Shortlist *Backend Q4*: 1 new, 0 updated candidates."
    assert candidates(bot, "Backend Q4") == 1

    # Again without the line: the file's name without its extension.
    share(bot, "export (3).csv", content)
    reply(bot, "Shortlist *export (3)*")
    assert candidates(bot, "export (3)") == 1


def test_a_file_that_is_not_csv_gets_the_sentence(bot: RunningBot) -> None:
    share(bot, "candidates.xlsx", b"PK\x03\x04 a workbook", filetype="xlsx")
    answer = reply(bot, "not a CSV file")
    assert answer["text"] == (
        "*candidates.xlsx* is not a CSV file. "
        "Send the shortlist as a .csv file (File → Save as → CSV UTF-8)."
    )
    assert bot.sandbox.slack.calls("conversations.open") == []  # no import was started
    with bot.db() as session:
        assert session.scalars(select(Shortlist)).all() == []


def test_a_file_over_the_limit_gets_the_sentence(bot: RunningBot) -> None:
    content = f"{HEADER}\n".encode() + b"x" * files.MAX_FILE_BYTES
    share(bot, "everyone.csv", content)
    answer = reply(bot, "larger than")
    assert answer["text"] == (
        "*everyone.csv* is larger than 5 MB, the most I import at once. "
        "Split it into smaller files and send each one."
    )
    assert not any("Importing" in m["text"] for m in dm(bot))
    with bot.db() as session:
        assert session.scalars(select(Shortlist)).all() == []


def test_bot_messages_edits_and_other_messages_are_ignored(bot: RunningBot) -> None:
    slack, ws = bot.sandbox.slack, bot.sandbox.workspace
    channel = slack.dm_channel(TEAM, RECRUITER.slack_id)
    content = f"{HEADER}\njana@talent.example,Jana,,,DE,Initech\n".encode()
    file_id = slack.add_file(TEAM, ws.bot_user_id, "ours.csv", content)
    shared: dict[str, Any] = {
        "type": "message",
        "subtype": "file_share",
        "channel": channel,
        "channel_type": "im",
        "text": "",
        "ts": f"{time.time():.6f}",
        "files": [slack.file_object(file_id)],
    }
    ignored: list[dict[str, Any]] = [
        {**shared, "user": ws.bot_user_id, "bot_id": ws.bot_id},  # the bot's own file
        {**shared, "user": "U0OTHERBOT", "bot_id": "B0OTHERBOT"},  # another app's
        {**shared, "user": RECRUITER.slack_id, "channel_type": "channel", "channel": "C0GENERAL1"},
        {
            "type": "message",
            "channel": channel,
            "channel_type": "im",
            "user": RECRUITER.slack_id,
            "text": "hi",
            "ts": f"{time.time():.6f}",
        },
        {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": channel,
            "channel_type": "im",
            "ts": f"{time.time():.6f}",
            "message": {
                "type": "message",
                "user": ws.bot_user_id,
                "bot_id": ws.bot_id,
                "text": "x",
            },
        },
    ]
    for event in ignored:
        assert bot.slack.event(event).status_code == 200, event
    # Then a person's file: its answer arrives after the ignored events had their turn.
    share(bot, "notes.pdf", b"%PDF-1.7", filetype="pdf")
    reply(bot, "not a CSV file")
    assert len(slack.calls("files.info")) == 1
    assert [m["text"] for m in dm(bot) if "not a CSV" not in m["text"]] == []


def test_download_uses_the_bot_token_and_stops_at_the_limit(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    file_id = slack.add_file(TEAM, RECRUITER.slack_id, "list.csv", b"email\nx@y.z\n")
    url = slack.file_object(file_id)["url_private_download"]
    token = bot.sandbox.workspace.bot_token
    assert files.download(url, token) == b"email\nx@y.z\n"
    with pytest.raises(files.FileTooLarge):
        files.download(url, token, limit=5)
    with pytest.raises(files.DownloadRefused):  # Slack's sign-in page, not the file
        files.download(url, "xoxb-not-ours")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("shortlist Backend Q4", "Backend Q4"),
        ("thanks!\nShortlist: `Data &amp; ML` ", "Data & ML"),
        ("shortlist\nBackend", None),
        ("here is the shortlist for backend", None),
        ("", None),
    ],
)
def test_shortlist_name_from_the_message(text: str, name: str | None) -> None:
    assert files.shortlist_name(text) == name


def test_name_from_the_file() -> None:
    assert files.name_from_file("Backend Q4.csv") == "Backend Q4"
    assert files.name_from_file("team.v2.csv") == "team.v2"
    assert files.name_from_file("README") == "README"
    assert files.name_from_file(".csv") == ".csv"


def test_manifest_scopes_are_the_bots_and_message_im_is_subscribed() -> None:
    manifest_scopes = MANIFEST["oauth_config"]["scopes"]["bot"]
    assert sorted(manifest_scopes) == sorted(SLACK_BOT_SCOPES)
    assert len(set(SLACK_BOT_SCOPES)) == len(SLACK_BOT_SCOPES)
    assert "message.im" in MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert {"im:history", "files:read"} <= set(SLACK_BOT_SCOPES)


def test_excel_unicode_text_shared_as_txt_is_imported(bot: RunningBot) -> None:
    """Before: "*excel-unicode-text.txt* is not a CSV file"."""
    share(bot, "Excel export.txt", (INPUTS / "excel-unicode-text.txt").read_bytes(), "text")
    final = reply(bot, "new, 0 updated")
    assert final["text"] == "Shortlist *Excel export*: 2 new, 0 updated candidates."
    with bot.db() as session:
        stored = session.scalars(select(Candidate).order_by(Candidate.email)).all()
    assert [(c.email, c.first_name, c.variables) for c in stored] == [
        ("jörg.müller@talent.example", "Jörg", {"company": "Bäckerei \u2013 Nord"}),
        ("zoe@talent.example", "Zoë", {"company": "École 42"}),
    ]


def test_a_linkedin_export_imports_its_connections_with_an_address(bot: RunningBot) -> None:
    share(bot, "Connections.csv", (INPUTS / "linkedin-connections.csv").read_bytes())
    final = reply(bot, "new, 0 updated")
    assert final["text"] == (
        "Shortlist *Connections*: 2 new, 0 updated candidates.\n"
        "1 row was not imported:\nRow 6: has no email address"
    )
    assert candidates(bot, "Connections") == 2


def test_a_text_file_that_is_no_shortlist_gets_the_sentence(bot: RunningBot) -> None:
    share(bot, "notes.txt", b"Call Jana on Monday about the backend role.\n", "text")
    answer = reply(bot, "does not look like a shortlist")
    assert answer["text"] == (
        "*notes.txt* does not look like a shortlist: none of its first lines is a header row "
        "with an email column. Send the shortlist as a .csv file (File → Save as → CSV UTF-8)."
    )
    with bot.db() as session:
        assert session.scalars(select(Shortlist)).all() == []


def test_a_long_report_fits_slack_and_the_rejected_rows_come_back_as_a_csv_to_fix(
    bot: RunningBot,
) -> None:
    """Issue 7 item 6: 300 rows with a long bad address would make a report Slack refuses
    (``msg_blocks_too_long``) and leave "Importing…"; instead the message shows the first
    rows and the rest arrive as a CSV with a ``reason`` column, which imports once fixed."""
    slack = bot.sandbox.slack
    lines = ["email,first_name,company"]
    lines += [f"{'x' * 900}{n}@,First{n},=Acme {n}" for n in range(300)]
    lines += [f"good{n}@talent.example,Good{n},Initech" for n in range(5)]
    share(bot, "Long Q4.csv", "\n".join(lines).encode())

    final = reply(bot, "rows were not imported", timeout=30)
    assert final["text"].startswith("Shortlist *Long Q4*: 5 new, 0 updated candidates.")
    assert "The first " in shown(final) and "more. Every row not imported is in the file" in shown(
        final
    )
    assert candidates(bot, "Long Q4") == 5
    uploaded = slack.wait_for(lambda: [m for m in dm(bot) if m.get("files")])
    [attached] = uploaded[0]["files"]
    assert attached["name"] == "Long Q4 - not imported.csv"
    upload_calls = [c.method for c in slack.calls() if c.method.startswith("files.")]
    assert upload_calls[-2:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]

    # The recruiter fixes the email column in the file and shares it back.
    content = files.download(attached["url_private_download"], bot.sandbox.workspace.bot_token)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == ["reason", "email", "first_name", "company"] and len(rows) == 301
    assert rows[1][0].endswith("is not an email address") and rows[1][1] == f"{'x' * 900}0@"
    assert rows[1][3] == "'=Acme 0"  # a formula-looking cell is written as text
    fixed = io.StringIO()
    writer = csv.writer(fixed)
    writer.writerow(rows[0])
    for n, row in enumerate(rows[1:]):
        writer.writerow([row[0], f"fixed{n}@talent.example", *row[2:]])
    share(bot, attached["name"], fixed.getvalue().encode(), text="shortlist Long Q4")
    again = reply(bot, "300 new, 0 updated")
    assert again["text"] == "Shortlist *Long Q4*: 300 new, 0 updated candidates."
    assert candidates(bot, "Long Q4") == 305
