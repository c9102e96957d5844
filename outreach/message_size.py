"""How large one rendered email may be, and rendering that stops once it is too large.

A template's output grows with the candidate's values (a 1,000-character column used a
hundred times is a 100 KB body), so a shortlist of long values could otherwise turn a
start into gigabytes of memory and database. The limits, in UTF-8 bytes:

- body: :data:`MAX_BODY_BYTES` = 100,000. Gmail shows "[Message clipped]" and hides the
  rest of a message whose body passes about 102 KB (Spam Resource, "What is Gmail
  clipping", 2022; Campaign Monitor's forum measured the cut at 102 KB), so a longer
  recruiting email would not be read whole anyway; 30 such emails a minute also stay far
  inside Graph's 150 MB of uploads per 5 minutes per mailbox.
- subject: :data:`MAX_SUBJECT_BYTES` = 998, the longest line RFC 5322 §2.1.1 allows.

:func:`render_capped` raises :class:`MessageTooLarge` (an
:class:`~outreach.errors.OutreachError`) without ever holding more than the limit.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping

from jinja2 import Template

from outreach.errors import MessageTooLarge

MAX_BODY_BYTES = 100_000
MAX_SUBJECT_BYTES = 998
#: Past this many times the limit a render stops measuring: "more than 1 MB" is enough.
MEASURE_UP_TO = 10


def measure(size: int, limit: int) -> str:
    """How ``size`` bytes compare with ``limit``: ``"would be 340 KB, more than the 100 KB
    limit"``, or past :data:`MEASURE_UP_TO` times the limit, ``"would be more than 1 MB;
    the limit is 100 KB"``."""
    if size > limit * MEASURE_UP_TO:
        return f"would be more than {size_text(limit * MEASURE_UP_TO)}; the limit is {size_text(limit)}"
    return f"would be {size_text(size)}, more than the {size_text(limit)} limit"


def size_text(size: int) -> str:
    """``998`` → ``"998 bytes"``, ``340_123`` → ``"340 KB"``, ``1_000_000`` → ``"1 MB"``."""
    if size < 1_000:
        return f"{size:,} bytes"
    if size < 1_000_000:
        return f"{size / 1_000:,.0f} KB"
    return f"{size / 1_000_000:,.1f} MB".replace(".0 MB", " MB")


def render_capped(
    template: Template, context: Mapping[str, str], *, step: int, part: str, email: str
) -> str:
    """``template`` filled in with ``context``, or :class:`MessageTooLarge` for step
    ``step``'s ``part`` (``subject`` or ``body``) of ``email``.

    Jinja yields the output piece by piece; past the limit the pieces are only counted,
    never joined, and counting stops at :data:`MEASURE_UP_TO` times the limit.
    """
    limit = MAX_SUBJECT_BYTES if part == "subject" else MAX_BODY_BYTES
    pieces: list[str] = []
    size = 0
    output = template.generate(context)
    try:
        for piece in output:
            size += len(piece) if piece.isascii() else len(piece.encode())
            if size > limit * MEASURE_UP_TO:
                break
            if size > limit:
                pieces.clear()
            else:
                pieces.append(piece)
    finally:
        if isinstance(output, Generator):
            output.close()  # a render stopped half way leaves nothing running
    if size > limit:
        raise MessageTooLarge(step, part, email, size, limit, measure(size, limit))
    return "".join(pieces)
