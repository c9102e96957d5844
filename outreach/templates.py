"""Campaign email templates: Jinja2 in a sandbox, filled in from a candidate's row.

A template sees the candidate's columns under :func:`variable_name` names (``email``,
``first_name``, ``last_name``, ``timezone``, ``country``, and "Current Company" as
``current_company``) and the sender's ``sender_name``, ``sender_email`` and
``sender_first_name``, which win over a column of the same name.

An empty or blank cell counts as missing, like an absent column: a recruiter who left a
cell empty rarely meant "say nothing here", so the row is flagged before sending unless
the template says what to do (``{{ first_name | default("there") }}`` or
``{% if company is defined %}…{% endif %}``).

The language is deliberately small: ``{{ column }}``, the :data:`FILTERS`, ``{% if %}``,
comparisons, ``and``/``or``/``not``, ``~`` and ``[0]`` indexing. Attributes, calls, loops,
``set``, macros, includes, arithmetic and ``autoescape`` are refused when the campaign is
created, so a template can neither reach Python objects nor grow its output beyond its
parts; the Jinja sandbox (:mod:`outreach.template_sandbox`) stays underneath as a
second wall.

Errors (in :mod:`outreach.errors`), all :class:`TemplateProblem`:
:class:`TemplateSyntaxProblem` (templates cannot be accepted; every problem listed),
:class:`RenderProblem` (a step cannot be filled in for one candidate),
:class:`UnsafeTemplate` (the sandbox stopped a template) and :class:`InvalidColumnName`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Template, TemplateError, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from outreach.errors import (
    InvalidColumnName,
    MessageTooLarge,
    RenderProblem,
    TemplateSyntaxProblem,
    UnknownVariables,
    UnsafeTemplate,
)
from outreach.placeholders import foreign_placeholders, same_name, straighten_quotes
from outreach.sentences import Sentence
from outreach.template_language import FILTERS, TESTS, refusals, too_big
from outreach.template_sandbox import HTML, TEXT, recording

__all__ = ["FILTERS", "TESTS"]
from outreach.message_size import render_capped

#: Variables every render has, so a shortlist never needs a column for them.
ALWAYS_PRESENT = frozenset({"email", "sender_name", "sender_email", "sender_first_name"})
MAX_TEMPLATE_CHARS = 100_000


@dataclass(frozen=True)
class StepTemplate:
    """One step as the recruiter wrote it; ``html`` means the body is HTML."""

    subject: str
    body: str
    html: bool = False


@dataclass(frozen=True)
class Sender:
    """The mailbox owner the email goes out as."""

    name: str
    email: str

    def variables(self) -> dict[str, str]:
        """The ``sender_*`` variables; a blank display name falls back to the address."""
        name = self.name.strip() or self.email
        return {
            "sender_name": name,
            "sender_email": self.email,
            "sender_first_name": name.split()[0],
        }


@dataclass(frozen=True)
class RenderedEmail:
    """One step filled in for one candidate; the subject is a single trimmed line."""

    subject: str
    body: str
    html: bool


@dataclass(frozen=True)
class MissingVariables:
    """What stops a candidate's emails: the variables their row lacks, and other failures."""

    email: str
    missing: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    def sentence(self) -> str:
        """``"jane@x.com lacks company, first_name"``, then any other failure."""
        lacks = [f"{self.email} lacks {', '.join(self.missing)}"] if self.missing else []
        text = "; ".join(lacks + list(self.errors))
        return text if self.missing else f"{self.email}: {text}"


@lru_cache(maxsize=4096)
def variable_name(column_header: str) -> str:
    """The template variable for a CSV column: "Current Company" → ``current_company``.

    Lower-cased; each run of characters other than letters and digits becomes one ``_``;
    non-ASCII letters stay (Jinja accepts them). A name that would start with a digit or
    is a template keyword gets a ``column_`` prefix ("2nd Round" → ``column_2nd_round``).
    Raises :class:`InvalidColumnName` when nothing is left.
    """
    name = re.sub(r"[\W_]+", "_", unicodedata.normalize("NFKC", column_header).lower()).strip("_")
    if not name:
        raise InvalidColumnName(column_header)
    return f"column_{name}" if name[0].isdigit() or name in _RESERVED else name


_RESERVED = frozenset("and or not in is if else true false none self loop caller varargs".split())


def compile_steps(steps: Sequence[StepTemplate], columns: Iterable[str] = ()) -> CompiledCampaign:
    """Parse and check every step once; :class:`TemplateSyntaxProblem` lists all problems.

    Problems include other tools' placeholders (``{first_name}``, ``*|FNAME|*``…, see
    :mod:`outreach.placeholders`), named with the variable meant; ``columns`` (the
    shortlist's variable names, when known) help name it. Any failure of Jinja itself,
    deep nesting included, is a problem of its step, never an exception.
    """
    problems: list[str | Sentence] = []
    names: set[str] = set()
    compiled = []
    known = tuple(columns)
    for number, step in enumerate(steps, start=1):
        subject = _compile(TEXT, step.subject, f"Step {number} subject", problems, names, known)
        body_env = HTML if step.html else TEXT
        body = _compile(body_env, step.body, f"Step {number} body", problems, names, known)
        if subject is not None and body is not None:
            compiled.append((subject, body, step.html))
    if problems:
        raise TemplateSyntaxProblem(problems)
    return CompiledCampaign(compiled, frozenset(names - ALWAYS_PRESENT))


class CompiledCampaign:
    """Every step of a campaign, parsed once, ready to render many times."""

    def __init__(
        self, steps: Sequence[tuple[Template, Template, bool]], names: frozenset[str]
    ) -> None:
        self._steps = tuple(steps)
        self._names = names
        self._used = names | ALWAYS_PRESENT

    def __len__(self) -> int:
        """The number of steps."""
        return len(self._steps)

    def variables(self) -> set[str]:
        """The variables the templates use that candidates' rows provide (or may, if optional)."""
        return set(self._names)

    def render(
        self, step_index: int, candidate: Mapping[str, str], sender: Sender
    ) -> RenderedEmail:
        """Step ``step_index`` (from 0) for one candidate, or :class:`RenderProblem`."""
        context = _context(candidate, sender.variables(), self._used)
        problem, (subject, body) = self._fill(context.get("email", "?"), context, [step_index])
        if problem:
            raise RenderProblem(step_index + 1, problem)
        return RenderedEmail(" ".join(subject.split()), body, self._steps[step_index][2])

    def check(
        self, candidates: Iterable[tuple[str, Mapping[str, str]]], sender: Sender
    ) -> list[MissingVariables]:
        """Render every step for every candidate; one entry per candidate that would fail.

        An entry lists every variable the candidate lacks across all steps (one used only
        under ``default`` or ``is defined`` is optional) and every other failure. A required
        variable that no candidate's row has as a column (blank or not) raises one
        :class:`UnknownVariables` naming the columns there are, instead of an entry each.
        """
        fields, every_step = sender.variables(), range(len(self._steps))
        columns: set[str] = set()
        problems: list[MissingVariables] = []
        for email, row in candidates:
            columns.update(_column_names(row))
            found = self._fill(email, _context(row, fields, self._used), every_step)[0]
            if found:
                problems.append(found)
        missing_everywhere = {name for problem in problems for name in problem.missing}
        raise_if_unknown(missing_everywhere, columns, sender)
        return problems

    def _fill(
        self, email: str, context: dict[str, str], indexes: Iterable[int]
    ) -> tuple[MissingVariables | None, list[str]]:
        names: set[str] = set()
        errors: list[str] = []
        out: list[str] = []
        with recording(names):
            for index in indexes:
                for part, template in zip(("subject", "body"), self._steps[index][:2], strict=True):
                    try:
                        out.append(
                            render_capped(template, context, step=index + 1, part=part, email=email)
                        )
                    except SecurityError as exc:
                        raise UnsafeTemplate() from exc
                    except MessageTooLarge:
                        raise  # not a gap in the row: the caller reports sizes on their own
                    except Exception as exc:  # any failure is reported for this candidate
                        errors.append(f"step {index + 1} {part} cannot be filled in ({exc})")
                        out.append("")
        if names or errors:
            return MissingVariables(email, tuple(sorted(names)), tuple(errors)), out
        return None, out


def describe_missing(problems: Sequence[MissingVariables], limit: int = 20) -> str:
    """The problems as lines of plain text, at most ``limit`` of them, then "…and N more"."""
    lines = [problem.sentence() for problem in problems[:limit]]
    if (rest := len(problems) - len(lines)) > 0:
        lines.append(f"…and {rest} more candidate{'s' if rest > 1 else ''}")
    return "\n".join(lines)


def _context(
    row: Mapping[str, str], sender_fields: Mapping[str, str], used: frozenset[str]
) -> dict[str, str]:
    """The row's filled cells under their variable names, and under each name in ``used``
    that matches one regardless of case, spaces and underscores (``FirstName``)."""
    context: dict[str, str] = {}
    for header, value in row.items():
        if not value or value.isspace():
            continue  # an empty cell is missing, not ""
        try:
            context.setdefault(variable_name(header), value)
        except InvalidColumnName:
            continue  # no template can name it
    context |= dict(sender_fields)
    for name in used - context.keys():
        match = next((key for key in context if same_name(name, key)), None)
        if match is not None:
            context[name] = context[match]
    return context


def raise_if_unknown(missing: Iterable[str], columns: Iterable[str], sender: Sender) -> None:
    """Raise one :class:`UnknownVariables` if a variable some candidate lacks is no column
    of the shortlist at all (``columns`` as :func:`column_names` gives them), rather than
    letting every candidate report it missing."""
    known = set(columns) | sender.variables().keys()
    unknown = sorted(name for name in missing if not any(same_name(name, c) for c in known))
    if unknown:
        raise UnknownVariables(unknown, sorted(set(columns)))


def column_names(row: Mapping[str, str]) -> Iterator[str]:
    """The template variable names of a candidate row's columns (unusable headers skipped)."""
    yield from _column_names(row)


def _column_names(row: Mapping[str, str]) -> Iterator[str]:
    for header in row:
        try:
            yield variable_name(header)
        except InvalidColumnName:
            continue


def _compile(
    env: ImmutableSandboxedEnvironment,
    source: str,
    where: str,
    problems: list[str | Sentence],
    names: set[str],
    columns: tuple[str, ...],
) -> Template | None:
    """``source`` compiled, or None with its problems added; no exception escapes."""
    found: list[str | Sentence] = []
    try:
        if len(source) > MAX_TEMPLATE_CHARS:
            found.append(f"{where} is longer than {MAX_TEMPLATE_CHARS:,} characters.")
            return None
        found += [
            Sentence(f"{where}: ", f.sentence()) for f in foreign_placeholders(source, columns)
        ]
        excess = too_big(env, source)
        if excess:
            found.append(f"{where} {excess}.")
        if found:
            return None
        tree = env.parse(straighten_quotes(source))
        found += [Sentence(f"{where}, line {line}: ", reason) for line, reason in refusals(tree)]
        if found:
            return None
        names.update(meta.find_undeclared_variables(tree))
        return env.from_string(tree)
    except TemplateSyntaxError as exc:
        message = exc.message or "cannot be read"
        found.append(f"{where}, line {exc.lineno}: {message.replace('Jinja was', 'ScaleUp was')}")
    except TemplateError as exc:
        found.append(f"{where}: {exc.message}")
    except (RecursionError, MemoryError, SyntaxError, ValueError, OverflowError):
        # Past the checks above only by a construct they do not count; still one sentence.
        found.append(f"{where} is nested too deeply or too large to read; simplify it.")
    finally:
        problems += found
    return None
