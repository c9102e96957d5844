"""The small template language ScaleUp accepts, and the bounds on what a template may be.

:func:`refusals` walks a parsed template and names every construct outside the language
(attributes, calls, loops, arithmetic…; see :mod:`outreach.templates`). :func:`too_big`
reads the template's tokens, before anything parses it, and refuses one that nests blocks
or brackets more than :data:`MAX_NESTING` deep or has a tag of more than
:data:`MAX_TAG_TOKENS` tokens: Jinja's parser and compiler recurse on nesting, and Python
refuses generated code nested past 20 blocks, so a template of 10,000 ``{% if %}`` or
``((((`` would otherwise end in ``RecursionError`` or ``SyntaxError``. Lexing is linear
and stops at the first excess.
"""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import Environment, nodes

from outreach.sentences import Code, Sentence

FILTERS = ("capitalize", "d", "default", "lower", "title", "trim", "upper")
TESTS = ("defined", "undefined", "none", "eq", "ne", "in")
MAX_NESTING = 10
MAX_TAG_TOKENS = 200
_OPENING = frozenset({"if", "for", "macro", "call", "filter", "with", "block", "autoescape"})
_SAY = 'use column names and filters, like {{ first_name | default("there") }}'


def too_big(env: Environment, source: str) -> str | None:
    """Why ``source`` nests too deeply or has an over-long tag, or None; never raises for
    a broken template (the parser reports that)."""
    blocks = brackets = tokens = 0
    expect_tag = False
    try:
        for _line, kind, value in env.lex(source):
            if kind in ("block_begin", "variable_begin"):
                tokens, expect_tag = 0, kind == "block_begin"
                continue
            if kind == "whitespace":
                continue
            tokens += 1
            if tokens > MAX_TAG_TOKENS:
                return f"has a tag longer than {MAX_TAG_TOKENS} words and signs; split it up"
            if expect_tag and kind == "name":
                blocks += value in _OPENING
                blocks -= value.startswith("end") and value[3:] in _OPENING
                expect_tag = False
            elif kind == "operator" and value in "([{":
                brackets += 1
            elif kind == "operator" and value in ")]}":
                brackets -= 1
            if blocks > MAX_NESTING or brackets > MAX_NESTING:
                return f"nests more than {MAX_NESTING} levels deep; simplify it"
    except Exception:  # a lexing error: the parser names it with its line
        return None
    return None


# The language: output, {% if %}, names, literals, known filters and tests, comparisons,
# and/or/not, ~. Scope only wraps {% autoescape %}, refused below it.
_ALLOWED = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.If,
    nodes.CondExpr, nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not,
    nodes.Concat, nodes.Keyword, nodes.Tuple, nodes.List, nodes.Filter, nodes.Test,
    nodes.Scope,
)  # fmt: skip
_ARITHMETIC = (
    nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow,
    nodes.Neg, nodes.Pos,
)  # fmt: skip
# Statement nodes whose tag is not their class name, for the refusal message.
_TAGS: dict[type[nodes.Node], str] = {
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.CallBlock: "call",
    nodes.FilterBlock: "filter",
    nodes.FromImport: "from",
    nodes.ScopedEvalContextModifier: "autoescape",
}


def refusals(node: nodes.Node) -> Iterator[tuple[int, str | Sentence]]:
    """Every construct outside the small language, with its line; the outermost only."""
    if isinstance(node, nodes.Getattr):
        while isinstance(node.node, nodes.Getattr):
            node = node.node  # name a chain's first attribute: that is where it went wrong
        yield node.lineno, Sentence(Code(f".{node.attr}"), f" is not allowed; {_SAY}")
    elif isinstance(node, nodes.Getitem):
        arg = node.arg
        parts = [arg.start, arg.stop, arg.step] if isinstance(arg, nodes.Slice) else [arg]
        if all(_whole_number(part) for part in parts):
            yield from refusals(node.node)
        else:
            yield node.lineno, "only numbers are allowed in [ ], like {{ first_name[0] }}"
    elif isinstance(node, nodes.Filter | nodes.Test) and node.name not in _known(node)[1]:
        kind, known = _known(node)
        yield node.lineno, f"there is no {kind} named '{node.name}'; use {', '.join(known)}"
    elif isinstance(node, nodes.Name) and node.name == "self":
        yield node.lineno, Sentence("there is no column called ", Code("self"))
    elif isinstance(node, _ALLOWED):
        for child in node.iter_child_nodes():
            yield from refusals(child)
    elif isinstance(node, nodes.Call):
        yield node.lineno, f"calling functions or methods is not allowed; {_SAY}"
    elif isinstance(node, _ARITHMETIC):
        yield node.lineno, "arithmetic is not allowed"
    elif isinstance(node, nodes.Stmt):
        tag = _TAGS.get(type(node), type(node).__name__.lower())
        yield node.lineno, f"{{% {tag} %}} is not allowed; {_SAY}"
    else:
        yield node.lineno, f"this kind of expression is not allowed; {_SAY}"


def _whole_number(node: nodes.Node | None) -> bool:
    """Whether ``node`` is a literal like ``2`` or ``-1``, or absent (``[:2]``)."""
    inner = node.node if isinstance(node, nodes.Neg) else node
    return inner is None or (isinstance(inner, nodes.Const) and type(inner.value) is int)


def _known(node: nodes.Filter | nodes.Test) -> tuple[str, tuple[str, ...]]:
    return ("filter", FILTERS) if isinstance(node, nodes.Filter) else ("test", TESTS)
