"""The end of a shortlist import in Slack: the report, and the rejected rows as a file.

A short report is the whole of :meth:`outreach.shortlists.ImportReport.text`. A long one
(more than :data:`REPORT_ROWS` rows not imported, or more text than a message holds) would
break Slack's limits (50 blocks, ~12,000 characters: ``msg_blocks_too_long``), so it shows
the counts and the first rows, says how many more there are, and the rows not imported
travel as a CSV uploaded to the DM (``files.uploadV2``) with a ``reason`` column, which the
recruiter fixes and shares back to import them (:mod:`outreach.rejects`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks import Block, esc, paragraphs
from handlers.limits import TEXT_BUDGET, fitting
from handlers.mrkdwn import esc_message
from outreach.shortlists import ImportReport

log = logging.getLogger(__name__)

REPORT_ROWS = 20  # rows not imported shown in the message; past that, the file has them
REJECTED_BUDGET = TEXT_BUDGET // 2  # characters for those rows; the notes share the rest
_UNSAFE = re.compile(r"[^\w .,()-]+")


@dataclass(frozen=True)
class RenderedReport:
    """What the import's DM message becomes, and the file to attach (None: no file)."""

    text: str
    blocks: list[Block]
    filename: str | None


def rejected_filename(name: str) -> str:
    """``Backend Q4 - not imported.csv``: the shortlist's name, safe as a file name."""
    safe = _UNSAFE.sub("_", name).strip(" ._") or "shortlist"
    return f"{safe} - not imported.csv"


def render(report: ImportReport) -> RenderedReport:
    """The report as one message within Slack's limits, plus the CSV's name when the rows
    not imported do not all fit."""
    rejected = [esc_message(r.message) for r in report.parsed.rejected]
    shown = min(REPORT_ROWS, fitting(rejected, REJECTED_BUDGET))
    if shown == len(rejected):
        summary = esc_message(report.text(REPORT_ROWS))
        return RenderedReport(summary, paragraphs(":white_check_mark: " + summary), None)
    filename = rejected_filename(report.name)
    head = esc_message(report.text(0)).split("\n", 1)[0]
    more = len(rejected) - shown
    lines = [
        f":white_check_mark: {head}",
        f"*{len(rejected):,} rows were not imported.* The first {shown}:",
        *rejected[:shown],
        f"…and {more:,} more. Every row not imported is in the file *{esc(filename)}* "
        "below, with a `reason` column: fix those rows there and share the file here to "
        "import them.",
    ]
    noted = [esc_message(c.message) for c in report.parsed.noted]
    if noted:
        lines.append(f"*{len(noted):,} rows were imported with a note:*")
        lines += noted
    summary = f"{head} {len(rejected):,} rows were not imported; they are in {filename}."
    return RenderedReport(summary, paragraphs("\n".join(lines)), filename)


def attach_rejected(
    client: WebClient, channel: str, report: ImportReport, filename: str
) -> str | None:
    """Upload the rows not imported to ``channel``; a sentence for the user if Slack refused."""
    try:
        client.files_upload_v2(
            channel=channel,
            filename=filename,
            title=filename,
            content=report.rejected_csv(),
            initial_comment=f"The rows of *{esc(report.name)}* that were not imported, "
            "each with its reason.",
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        log.warning("could not upload the rejected rows: %s", error)
        return (
            f"I could not attach the rows not imported ({esc(error)}). Fix the rows listed "
            "above and import them again; if this keeps happening, ask a workspace admin "
            "to reinstall ScaleUp so it may upload files."
        )
    return None
