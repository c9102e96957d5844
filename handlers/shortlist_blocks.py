"""Block Kit for shortlists: the import modal, the progress line, list and show.
Pure functions of data, like :mod:`handlers.campaign_blocks`."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.blocks import Block, context, count, esc, modal, paragraphs, text
from handlers.limits import TEXT_BUDGET, clip, fit_lines
from outreach.shortlists import ShortlistSummary

SHORTLIST_MODAL = "shortlist_modal"
CSV_BLOCK = "csv"
CSV_HINT = (
    "Columns: email (required), first_name, last_name, timezone, country; any other "
    "column becomes a template variable. Paste up to 3,000 characters."
)


def shortlist_modal(name: str, channel_id: str | None) -> Block:
    """Paste a CSV; the name and where the command was typed ride in private_metadata."""
    return modal(
        SHORTLIST_MODAL,
        "Import shortlist",
        "Import",
        {"name": name, "channel_id": channel_id},
        [
            text(f"Candidates for *{esc(name)}*. Importing again updates them by email."),
            {
                "type": "input",
                "block_id": CSV_BLOCK,
                "label": {"type": "plain_text", "text": "CSV with a header row"},
                "hint": {"type": "plain_text", "text": CSV_HINT},
                "element": {
                    "type": "plain_text_input",
                    "action_id": CSV_BLOCK,
                    "multiline": True,
                    "max_length": 3000,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "email,first_name,company\njane@example.com,Jane,Initech",
                    },
                },
            },
        ],
    )


def importing(name: str, done: int | None = None, total: int | None = None) -> str:
    if done is None or total is None:
        return f"Importing {esc(name)}…"
    return f"Importing {esc(name)}: imported {done:,} of {total:,} rows…"


def shortlist_list(summaries: Sequence[ShortlistSummary]) -> list[Block]:
    if not summaries:
        return [text("No shortlists yet. Import one with `/scaleup shortlist create NAME`.")]
    lines = [f"• *{esc(s.name)}*: {count(s.candidates, 'candidate')}" for s in summaries]
    head = f"*Shortlists* ({len(summaries):,})" if len(summaries) > 1 else "*Shortlists*"
    shown = fit_lines(lines, TEXT_BUDGET - 200, "shortlist")
    return [*paragraphs("\n".join([head, *shown])), _show_hint()]


def _show_hint() -> Block:
    return context("`/scaleup shortlist show NAME` lists a shortlist's candidates.")


def shortlist_show(
    summary: ShortlistSummary, columns: Sequence[str], sample: Sequence[dict[str, str]]
) -> list[Block]:
    """Count, columns and the first candidates (``sample`` rows of core fields)."""
    head = f"*{esc(summary.name)}*: {count(summary.candidates, 'candidate')}"
    if columns:
        named = ", ".join(f"`{esc(clip(c, 60))}`" for c in columns[:40])
        more = f" and {len(columns) - 40:,} more" if len(columns) > 40 else ""
        head += f"\nColumns: {named}{more}"
    rows = [
        "• "
        + esc(row["email"])
        + "".join(
            f" · {esc(clip(row[k], 100))}" for k in ("name", "timezone", "country") if row.get(k)
        )
        for row in sample
    ]
    first = [f"*First {len(rows)}:*", *rows] if rows else []
    return paragraphs("\n".join([head, *first]))
