"""Sentences the domain writes for people, with the parts a person types marked.

A message is plain text but for the parts a person reads as written and types back: a
command (``/scaleup campaign list``) or a template placeholder (``{{ first_name }}``),
marked :class:`Code`, and the name a report is about, marked :class:`Strong`. ``str()``
of a :class:`Sentence` is plain text (a web page, a modal's error field, a log line);
how a surface shows the marked parts is the surface's business: ``handlers/mrkdwn.py``
puts code in backticks for Slack.

An exception's docstring is its message (:mod:`outreach.errors`); there a span in
backticks is code, which :meth:`Sentence.from_docstring` reads.

This module imports nothing from ``outreach``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    """Text a person types exactly as shown: a command, a placeholder, a filter."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Strong:
    """The name a message is about, to stand out (a shortlist's name in its report)."""

    text: str

    def __str__(self) -> str:
        return self.text


Part = str | Code | Strong


class Sentence:
    """Text made of plain parts and marked ones; ``str()`` is the plain text.

    Built from strings, marked parts and other sentences (flattened); adjacent plain
    strings are joined and empty ones dropped, so equal text with equal marks compares
    equal. ``+`` appends, on either side.
    """

    __slots__ = ("parts",)

    def __init__(self, *parts: Part | Sentence) -> None:
        flat: list[Part] = []
        for part in parts:
            for piece in part.parts if isinstance(part, Sentence) else (part,):
                if isinstance(piece, str) and flat and isinstance(flat[-1], str):
                    flat[-1] += piece
                elif piece != "":
                    flat.append(piece)
        self.parts: tuple[Part, ...] = tuple(flat)

    @classmethod
    def from_docstring(cls, doc: str) -> Sentence:
        """``doc`` with each span in backticks made :class:`Code`: "Run `/scaleup connect`."."""
        pieces = doc.split("`")
        if len(pieces) % 2 == 0:  # an odd backtick is a character, not a mark
            return cls(doc)
        return cls(*(Code(p) if i % 2 else p for i, p in enumerate(pieces)))

    @classmethod
    def join(cls, separator: str, items: Iterable[Part | Sentence]) -> Sentence:
        """``items`` one after another with ``separator`` between them, like ``str.join``."""
        joined: list[Part | Sentence] = []
        for item in items:
            joined += [separator, item] if joined else [item]
        return cls(*joined)

    def __str__(self) -> str:
        return "".join(str(part) for part in self.parts)

    def __repr__(self) -> str:
        return f"Sentence{self.parts!r}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sentence) and self.parts == other.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __add__(self, other: Part | Sentence) -> Sentence:
        return Sentence(self, other)

    def __radd__(self, other: Part | Sentence) -> Sentence:
        return Sentence(other, self)

    def __bool__(self) -> bool:
        return bool(self.parts)


#: Anything a message may be: plain text or a sentence with marked parts.
Text = str | Sentence
