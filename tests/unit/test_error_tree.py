"""The domain's exceptions live in one module, each with its message, all in one tree.

``outreach/errors.py`` documents the whole tree at its top (httpx's model) and each class
carries its message in the docstring (procrastinate's model). A class defined elsewhere,
or missing from the diagram, is an error a reader of errors.py would not know exists.
Private control-flow exceptions (``_Name``) that never leave their module are exempt.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

OUTREACH = Path(__file__).resolve().parents[2] / "outreach"
ERRORS = OUTREACH / "errors.py"

BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _classes() -> list[tuple[Path, ast.ClassDef]]:
    found = []
    for path in sorted(OUTREACH.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [(path, node) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    return found


def _exception_classes() -> list[tuple[Path, ast.ClassDef]]:
    """Every class in outreach/ deriving, directly or not, from an exception."""
    classes = _classes()
    exceptions = set(BUILTIN_EXCEPTIONS)
    grew = True
    while grew:
        grew = False
        for _, node in classes:
            if node.name not in exceptions and any(
                _base_name(base) in exceptions for base in node.bases
            ):
                exceptions.add(node.name)
                grew = True
    return [
        (path, node)
        for path, node in classes
        if any(_base_name(base) in exceptions for base in node.bases)
    ]


def _tree_diagram() -> set[str]:
    doc = ast.get_docstring(ast.parse(ERRORS.read_text(encoding="utf-8"))) or ""
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", doc))


def test_the_scan_finds_the_tree() -> None:
    names = {node.name for _, node in _exception_classes()}
    assert {"OutreachError", "GraphTimeout", "ConnectError"} <= names


def test_every_public_exception_is_defined_in_errors_py() -> None:
    outside = [
        f"{path.relative_to(OUTREACH.parent)}:{node.lineno} {node.name}"
        for path, node in _exception_classes()
        if path != ERRORS and not node.name.startswith("_")
    ]
    assert outside == [], "define these in outreach/errors.py:\n" + "\n".join(outside)


def test_every_exception_has_its_message_in_a_docstring() -> None:
    bare = [
        f"{path.relative_to(OUTREACH.parent)}:{node.lineno} {node.name}"
        for path, node in _exception_classes()
        if not (ast.get_docstring(node) or "").strip()
    ]
    assert bare == [], "these exceptions have no docstring:\n" + "\n".join(bare)


def test_every_exception_is_in_the_tree_at_the_top_of_errors_py() -> None:
    diagram = _tree_diagram()
    missing = [
        node.name
        for path, node in _exception_classes()
        if path == ERRORS and node.name not in diagram
    ]
    assert missing == [], "add these to the tree in errors.py's docstring: " + ", ".join(missing)


def test_private_exceptions_are_named_in_the_docstring_too() -> None:
    diagram = _tree_diagram()
    private = [node.name for _, node in _exception_classes() if node.name.startswith("_")]
    assert private, "the scan should see the private control-flow exceptions"
    assert [name for name in private if name not in diagram] == []
