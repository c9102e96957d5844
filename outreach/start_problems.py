"""What stops a campaign from starting, gathered over a whole shortlist in bounded memory.

Every candidate is checked, but only the first :data:`SHOWN` candidates with gaps in their
row are kept (and counted beyond), and each step's subject or body that would be too
large is named once, with its first candidate and how many more share the problem: a
template that is too long for 10,000 candidates is one line, not 10,000.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from outreach.errors import MessageTooLarge, RenderProblem
from outreach.sentences import Code, Sentence
from outreach.templates import CompiledCampaign, MissingVariables, Sender, describe_missing

SHOWN = 20


@dataclass(frozen=True)
class CandidateProblems:
    """One candidate's gaps (None when the row has all it needs) and too-large emails."""

    gap: MissingVariables | None = None
    too_large: tuple[MessageTooLarge, ...] = ()


def candidate_problems(
    compiled: CompiledCampaign, row: Mapping[str, str], sender: Sender
) -> CandidateProblems:
    """Render every step for one candidate and keep only what is wrong; the emails go."""
    missing: set[str] = set()
    errors: list[str] = []
    too_large: list[MessageTooLarge] = []
    for index in range(len(compiled)):
        try:
            compiled.render(index, row, sender)
        except RenderProblem as exc:
            missing.update(exc.problem.missing)
            errors += exc.problem.errors
        except MessageTooLarge as exc:
            too_large.append(exc)
    gap = None
    if missing or errors:
        gap = MissingVariables(row.get("email", "?"), tuple(sorted(missing)), tuple(errors))
    return CandidateProblems(gap, tuple(too_large))


@dataclass
class StartProblems:
    """Problems over a whole shortlist, bounded: see the module's docstring."""

    gaps: list[MissingVariables] = field(default_factory=list)
    gap_count: int = 0
    #: Every variable some candidate lacks, and every column a candidate row has: bounded
    #: by the template and the shortlist's header, not by the number of candidates.
    missing_names: set[str] = field(default_factory=set)
    columns: set[str] = field(default_factory=set)
    #: (step, part) → its first too-large email and how many candidates have one.
    too_large: dict[tuple[int, str], tuple[MessageTooLarge, int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.gap_count or self.too_large)

    def add(self, found: CandidateProblems) -> None:
        """Count one candidate's problems, keeping what :meth:`refusal` will show."""
        if found.gap is not None:
            self.gap_count += 1
            self.missing_names.update(found.gap.missing)
            if len(self.gaps) < SHOWN:
                self.gaps.append(found.gap)
        for exc in found.too_large:
            first, count = self.too_large.get((exc.step, exc.part), (exc, 0))
            self.too_large[(exc.step, exc.part)] = (first, count + 1)

    def refusal(self, name: str) -> Sentence:
        """Why ``name`` did not start, one line per problem; the filter to type as code."""
        lines: list[str | Sentence] = []
        if self.gap_count:
            lines += [
                Sentence(
                    f"'{name}' did not start: some candidates lack template variables. "
                    "Add the columns to the shortlist or use ",
                    Code("| default(...)"),
                    " in the template.",
                ),
                describe_missing(self.gaps, limit=SHOWN),
            ]
            if (rest := self.gap_count - len(self.gaps)) > 0:
                lines.append(f"…and {rest:,} more candidate{'s' if rest > 1 else ''}")
        if self.too_large:
            lines.append(
                ("Some" if lines else f"'{name}' did not start: some")
                + " emails would be too large. Shorten the template, or the candidates' "
                "columns it repeats; Gmail cuts off a body longer than about 102 KB."
            )
            described = []
            for (step, part), (first, count) in sorted(self.too_large.items()):
                who = first.email + (f" and {count - 1:,} more" if count > 1 else "")
                described.append(
                    MissingVariables(who, errors=(f"step {step}'s {part} {first.measure()}",))
                )
            lines.append(describe_missing(described, limit=len(described)))
        return Sentence.join("\n", lines)
