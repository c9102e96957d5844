"""Each state machine has one owner: no other module spells its states.

An AST scan of ``outreach/``, ``handlers/`` and ``bot/`` (not the migrations, which must
keep the values they were written with, and not docstrings) for a string literal equal to
an outbox, enrollment or campaign state *used as a state*: compared with, assigned to or
passed as something named ``state``, inside ``.state.in_(...)``, returned, a tuple or set
of states, a dict keyed by (or mapping to) states, a constant named after its value. The
values themselves are spelled once, in :mod:`outreach.states`; reading a state through its
enum member (``CampaignState.ACTIVE``) is how everyone else names one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from outreach.states import CampaignState, EnrollmentState, OutboxState

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("outreach", "handlers", "bot")
SKIPPED = ("bot/migrations/",)
#: Where the values are spelled, once.
DEFINITIONS = "outreach/states.py"

OUTBOX = frozenset(
    {"waiting", "pending", "paused", "claimed", "drafted", "sending"}
    | {"sent", "failed", "unknown", "cancelled"}
)
ENROLLMENT = frozenset(
    {"starting", "active", "paused", "replied", "bounced", "unsubscribed"}
    | {"failed", "completed", "stopped"}
)
CAMPAIGN = frozenset({"draft", "starting", "active", "paused", "stopped", "completed"})
STATES = OUTBOX | ENROLLMENT | CAMPAIGN

#: Literals that equal a state but are something else, with why (path, constant name).
NOT_STATES = {
    ("outreach/suppressions.py", "BOUNCED"): "a Suppression.kind, not an enrollment state",
    ("outreach/slack_queue.py", "FAILED"): "a SlackPost state (its owner is slack_queue)",
}


def _is_state(node: ast.AST | None) -> bool:
    """Whether ``node`` names a state: ``state``, ``x.state``, ``campaign_state``…"""
    if isinstance(node, ast.Name):
        name = node.id
    elif isinstance(node, ast.Attribute):
        name = node.attr
    else:
        return False
    return name == "state" or name.endswith("_state")


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in STATES:
        return node.value
    return None


def _literals(node: ast.AST | None) -> list[ast.Constant]:
    """The state literals of ``node`` if it is one, or a tuple/list/set of them."""
    if _literal(node) is not None:
        assert isinstance(node, ast.Constant)
        return [node]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [e for e in node.elts if _literal(e) is not None]  # type: ignore[misc]
    return []


def _constant(node: ast.AST) -> bool:
    """``ACTIVE`` or ``Thing.ACTIVE``: a name in capitals."""
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return bool(name) and name.isupper()


def _member(node: ast.AST | None) -> bool:
    """``CampaignState.ACTIVE``: a member of one of the state enums."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id.endswith("State")
    )


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _state_uses(tree: ast.AST, path: str) -> Iterator[tuple[int, str, str]]:
    """(line, literal, how it is used) for each state literal used as a state."""
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        found: list[tuple[ast.AST, str]] = []
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_state(s) for s in sides):
                found += [(c, "compared with a state") for s in sides for c in _literals(s)]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                pairs: list[tuple[ast.AST, ast.AST | None]] = [(target, node.value)]
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs = list(zip(target.elts, node.value.elts, strict=False))
                for left, right in pairs:
                    if _is_state(left):
                        found += [(c, "assigned to a state") for c in _literals(right)]
                    elif (
                        isinstance(left, ast.Name)
                        and _literal(right) is not None
                        and left.id == str(_literal(right)).upper()
                        and (path, left.id) not in NOT_STATES
                    ):
                        found.append((right, "a constant named after a state"))  # type: ignore[arg-type]
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg is not None and (
                    keyword.arg == "state" or keyword.arg.endswith("_state")
                ):
                    found += [(c, "passed as state=") for c in _literals(keyword.value)]
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("in_", "notin_"):
                if _is_state(func.value):
                    for arg in node.args:
                        found += [(c, "in .state.in_()") for c in _literals(arg)]
            if isinstance(func, ast.Attribute) and func.attr == "get":
                owner = func.value
                if isinstance(owner, ast.Name) and "state" in owner.id and node.args:
                    found += [(c, "a state's count") for c in _literals(node.args[0])]
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "state":
                    found += [(c, 'the value of a "state" key') for c in _literals(value)]
            keys = [k for k in node.keys if _literal(k) is not None]
            if len(keys) >= 2:
                found += [(k, "a key of a map by state") for k in keys if k is not None]
            values = [v for v in node.values if _literal(v) is not None]
            # Labels keyed by the enum ({CampaignState.PAUSED: "paused"}) are wording.
            labels = all(_member(k) for k in node.keys)
            if len(values) >= 2 and not labels:
                found += [(v, "a value of a map to states") for v in values]
        elif isinstance(node, ast.Tuple | ast.Set | ast.List):
            # ("waiting", "pending") or (ACTIVE, "paused"): states, or constants and states.
            literals = [e for e in node.elts if _literal(e) is not None]
            if (
                len(node.elts) >= 2
                and literals
                and all(e in literals or _constant(e) for e in node.elts)
            ):
                found += [(e, "a group of states") for e in literals]
        elif isinstance(node, ast.Return):
            value = node.value
            first = value.elts[0] if isinstance(value, ast.Tuple) and value.elts else value
            found += [(c, "returned as a state") for c in _literals(first)]
        for literal, how in found:
            if id(literal) not in skip:
                assert isinstance(literal, ast.Constant)
                yield literal.lineno, literal.value, how


def _offences() -> list[str]:
    offences = set()
    for top in SCANNED:
        for file in sorted((ROOT / top).rglob("*.py")):
            path = file.relative_to(ROOT).as_posix()
            if path == DEFINITIONS or path.startswith(SKIPPED):
                continue
            tree = ast.parse(file.read_text(encoding="utf-8"), path)
            for line, value, how in _state_uses(tree, path):
                offences.add(f'{path}:{line}: "{value}" {how}')
    return sorted(offences, key=lambda o: (o.split(":")[0], int(o.split(":")[1])))


def test_the_enums_hold_every_state() -> None:
    assert {s.value for s in OutboxState} == OUTBOX
    assert {s.value for s in EnrollmentState} == ENROLLMENT
    assert {s.value for s in CampaignState} == CAMPAIGN


def test_no_state_literal_outside_its_owner() -> None:
    offences = _offences()
    assert not offences, "state literals outside outreach/states.py:\n" + "\n".join(offences)


def test_the_scan_finds_a_state_literal() -> None:
    """The scan itself: each way of spelling a state is caught, a docstring is not."""
    source = '''
"""Mentions "sent" and "paused" freely."""
def f(row, q, by_state):
    """Returns "sent"."""
    if row.state == "sent": pass
    row.state = "paused"
    q.values(state="cancelled")
    q.where(Outbox.state.in_(("waiting", "pending")))
    _UNSENT = ("waiting", "pending", "paused")
    _LABELS = {"draft": "a draft", "active": "running"}
    ACTIVE = "active"
    row = {"state": "waiting"}
    by_state.get("bounced", 0)
    return "drafted"
'''
    found = {(line, value) for line, value, _ in _state_uses(ast.parse(source), "x.py")}
    assert {value for _, value in found} == {
        "sent", "paused", "cancelled", "waiting", "pending", "draft", "active", "bounced",
        "drafted",
    }  # fmt: skip
    assert 2 not in {line for line, _ in found} and 4 not in {line for line, _ in found}


# -- who writes a state ------------------------------------------------------------------------

#: The modules that may write a ``state``, and the machine each owns.
WRITERS = {
    "outreach/outbox.py": "the outbox",
    "outreach/sequencing.py": "the enrollments",
    "outreach/campaign_state.py": "the campaigns",
    # Machines outside the three, each with its own single writer:
    "outreach/connections.py": "a mailbox connected (Mailbox.state)",
    "outreach/tokens.py": "a mailbox that needs reconnecting (Mailbox.state)",
    "bot/slack_poster.py": "the Slack post queue (SlackPost.state)",
    "outreach/errors.py": "CampaignStateError keeps the state it refused in",
}
SKIPPED_WRITERS = ("bot/migrations/", "bot/sandbox/")


def _writes(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, how) for each write of something named ``state``, whatever the value: an
    assignment to ``x.state``, ``.values(state=…)``, ``{X.state: …}``, ``setattr(x,
    "state", …)`` and ``Model(state=…)`` for the three models."""
    models = {"OutboxMessage", "Enrollment", "Campaign"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            flat = [e for t in targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
            if any(isinstance(t, ast.Attribute) and t.attr == "state" for t in flat):
                yield node.lineno, "assigns x.state"
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            keywords = {k.arg for k in node.keywords}
            if name == "values" and "state" in keywords:
                yield node.lineno, ".values(state=…)"
            if name in models and "state" in keywords:
                yield node.lineno, f"{name}(state=…)"
            if (
                name == "setattr"
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == "state"
            ):
                yield node.lineno, 'setattr(x, "state", …)'
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                if isinstance(key, ast.Attribute) and key.attr == "state":
                    yield node.lineno, "{X.state: …}"


def test_only_the_owner_writes_a_state() -> None:
    """Whatever the value (a literal, an enum member, a variable), a state is written only
    by the module that owns its machine; everyone else asks that module."""
    offences = []
    for top in SCANNED:
        for file in sorted((ROOT / top).rglob("*.py")):
            path = file.relative_to(ROOT).as_posix()
            if path in WRITERS or path.startswith(SKIPPED_WRITERS):
                continue
            for line, how in _writes(ast.parse(file.read_text(encoding="utf-8"), path)):
                offences.append(f"{path}:{line}: {how}")
    assert not offences, "states written outside their owner:\n" + "\n".join(offences)


def test_the_write_scan_finds_each_way_of_writing() -> None:
    source = """
def f(row, q, campaign):
    row.state = OutboxState.PAUSED
    row.state, row.due_at = next_state, None
    q.values(state=PAUSED)
    q.values({OutboxMessage.state: "paused"})
    setattr(row, "state", value)
    Campaign(name="x", state=CampaignState.DRAFT)
    OutlookAuthFlow(state=token)  # an OAuth state: not a state machine
"""
    assert sorted(_writes(ast.parse(source))) == [
        (3, "assigns x.state"),
        (4, "assigns x.state"),
        (5, ".values(state=…)"),
        (6, "{X.state: …}"),
        (7, 'setattr(x, "state", …)'),
        (8, "Campaign(state=…)"),
    ]
