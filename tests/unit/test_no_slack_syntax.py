"""``outreach/`` speaks plain text; Slack's syntax is written (and read) in ``handlers/``.

STYLE.md: outreach/ never imports slack_bolt or slack_sdk and writes no Slack syntax (no
mrkdwn, emoji shortcodes or ``<@U…>``). This scans every string the code writes (docstrings,
which are for people reading the code, excepted) for the marks Slack would render.
A command or placeholder the user types is marked with :class:`outreach.sentences.Code`,
and ``handlers/mrkdwn.py`` decides how Slack shows it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

OUTREACH = Path(__file__).resolve().parents[2] / "outreach"

SLACK_SYNTAX = {
    "a `code` span": re.compile(r"`[^`\n]+`"),
    "*bold*": re.compile(r"(?<![\w*])\*[^*\s](?:[^*\n]*[^*\s])?\*(?![\w*])"),
    "_italic_": re.compile(r"(?<![\w])_[^_\s](?:[^_\n]*[^_\s])?_(?!\w)"),
    "~strike~": re.compile(r"(?<![\w~])~[^~\s](?:[^~\n]*[^~\s])?~(?![\w~])"),
    "an :emoji: shortcode": re.compile(r"(?<![\w:]):[a-z0-9_+\-]+:(?![\w:])"),
    "a <@user>, <#channel> or <!special> mention": re.compile(r"<[@#!]"),
    "a <link|label>": re.compile(r"<(?:https?|mailto):[^>\s]*\|"),
    "a <mailto:…> link": re.compile(r"<mailto:"),
}


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the nodes that are docstrings (module, class, function)."""
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _patterns(tree: ast.Module) -> set[int]:
    """The ids of the nodes of regular expressions: the pattern given to ``re.…(…)``."""
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.args
        ):
            found.update(id(inner) for inner in ast.walk(node.args[0]))
    return found


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string constant of ``path`` but docstrings and regular expressions; an
    f-string as one text, each replacement field shown as ``{}`` (so a span around
    ``{name}`` is seen whole)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _docstrings(tree) | _patterns(tree)
    texts: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and id(node) not in skip:
            parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
            skip.update(id(v) for v in node.values)
            texts.append((node.lineno, "".join(str(p) for p in parts)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            texts.append((node.lineno, node.value))
    return texts


def _slack_syntax() -> list[str]:
    found = []
    for path in sorted(OUTREACH.rglob("*.py")):
        for line, text in _strings(path):
            for what, pattern in SLACK_SYNTAX.items():
                for match in pattern.finditer(text):
                    found.append(f"{path.relative_to(OUTREACH.parent)}:{line} {what}: {match[0]!r}")
    return found


@pytest.mark.parametrize(
    "text",
    [
        "Run `/scaleup connect` first.",
        "*Bold* words",
        "an _italic_ word",
        ":white_check_mark: done",
        "Ask <@U123> about it",
        "see <#C123|general>",
        "<!here> look",
        "<https://example.com|example>",
        "<mailto:a@b.example|a@b.example>",
    ],
)
def test_the_scan_sees_slack_syntax(text: str) -> None:
    assert any(pattern.search(text) for pattern in SLACK_SYNTAX.values())


@pytest.mark.parametrize(
    "text",
    [
        'Use {{ first_name | default("there") }} for a value some candidates lack.',
        "Do-not-contact takes whole addresses, e.g. jane@evil.example; '*@x.com' is a pattern.",
        "first_name, last_name and sender_first_name",
        "Step 2 at 09:30 on 2024-01-01 12:00:00",
        "a * b * c",
        "<p>Hello</p> and <{}> message ids",
    ],
)
def test_the_scan_leaves_plain_text_alone(text: str) -> None:
    assert [what for what, p in SLACK_SYNTAX.items() if p.search(text)] == []


def test_outreach_writes_no_slack_syntax() -> None:
    found = _slack_syntax()
    assert found == [], "Slack syntax in outreach/ (mark code with Code):\n" + "\n".join(found)


def test_outreach_imports_no_slack_library() -> None:
    imports = []
    for path in sorted(OUTREACH.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            imports += [
                f"{path.relative_to(OUTREACH.parent)}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] in {"slack_bolt", "slack_sdk"}
            ]
    assert imports == []


def test_error_messages_in_docstrings_write_no_slack_syntax() -> None:
    """An error's docstring is its message (its first paragraph); there a span in
    backticks is code (:meth:`Sentence.from_docstring`), and nothing else of Slack's."""
    import outreach.errors as errors

    found = []
    for name, cls in vars(errors).items():
        if not (isinstance(cls, type) and issubclass(cls, errors.OutreachError)):
            continue
        message = (cls.__doc__ or "").split("\n\n", 1)[0]
        for what, pattern in SLACK_SYNTAX.items():
            if what != "a `code` span":
                found += [f"{name} {what}: {m[0]!r}" for m in pattern.finditer(message)]
    assert found == [], "Slack syntax in an error's message:\n" + "\n".join(found)
