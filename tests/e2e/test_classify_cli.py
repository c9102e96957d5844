"""``scaleup classify FILE…`` in its own process: one JSON line per file, in order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
NONHUMAN = ROOT / "tests" / "fixtures" / "mail" / "nonhuman"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )


def test_classify_prints_one_json_line_per_file_in_order(tmp_path: Path) -> None:
    reply = tmp_path / "reply.json"
    reply.write_text(json.dumps({
        "subject": "RE: Staff Engineer at Acme",
        "from": {"emailAddress": {"name": "Jana", "address": "jana@example.org"}},
        "receivedDateTime": "2025-03-03T10:00:00Z",
        "uniqueBody": {"contentType": "html", "content": "<p>Not interested, thanks.</p>"},
    }))
    files = [
        str(NONHUMAN / "lhost-postfix-01.eml"),
        str(reply),
        str(NONHUMAN / "rfc3834-01.eml"),
        str(NONHUMAN / "lhost-outlook-01.eml"),
    ]
    done = run("classify", *files)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    bounce, human, away, full = lines
    assert (bounce["kind"], bounce["bounce_type"]) == ("bounce", "hard")
    assert "kijitora@example.org" in bounce["failed_recipients"]
    assert (human["kind"], human["interest"]) == ("reply", "not_interested")
    assert (away["kind"], away["return_date"]) == ("auto_reply", "2005-05-05")
    assert (full["kind"], full["bounce_type"]) == ("bounce", "soft")
    assert all(line["reasons"] for line in lines)


def test_an_unreadable_file_gets_an_error_line_and_the_others_are_kept(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    done = run("classify", str(tmp_path / "missing.eml"), str(broken), str(NONHUMAN / "arf-01.eml"))
    assert done.returncode == 1
    missing, bad, arf = (json.loads(line) for line in done.stdout.splitlines())
    assert missing["error"].startswith("cannot read the file")
    assert bad["error"].startswith("not a Graph message JSON")
    assert arf["kind"] == "unsubscribe"


def test_help_lists_classify() -> None:
    assert "classify" in run("--help").stdout
