"""The Jinja2 environments campaign templates compile and render in.

Jinja's immutable sandbox with two more walls: ``*`` and ``**`` are capped
(:data:`MAX_PRODUCT_CHARS`, :data:`MAX_EXPONENT`), and only the :data:`FILTERS` and
:data:`TESTS` of the language exist, with no globals. A missing column is an
:class:`_Absent` value: inside :func:`recording` it adds its name to the set given and acts
empty, so one render finds every gap in a row; outside it (or for anything else undefined)
it raises as Jinja's StrictUndefined does. :mod:`outreach.templates` uses :data:`TEXT` for
subjects and plain bodies and :data:`HTML` (autoescaping) for HTML bodies.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from outreach.template_language import FILTERS, TESTS

#: The longest string ``*`` may build and the largest ``**`` may raise to, should a template
#: reach the sandbox with arithmetic (the language refuses it when compiling).
MAX_PRODUCT_CHARS = 10_000
MAX_EXPONENT = 64


# The missing variables the render in progress has met, if it is recording.
_recorder: ContextVar[set[str] | None] = ContextVar("template_missing", default=None)


@contextmanager
def recording(names: set[str]) -> Iterator[None]:
    """While open, a missing column met by a render adds its name to ``names`` and acts
    empty instead of raising."""
    token = _recorder.set(names)
    try:
        yield
    finally:
        _recorder.reset(token)


class _Absent(Undefined):
    """A missing column. Where StrictUndefined raises, it records its name and acts empty,
    so one render finds every gap; anything else undefined (an unsafe attribute, an index
    out of range) raises as usual."""

    __slots__ = ()

    def _note(self) -> None:
        recorder = _recorder.get()
        plain = self._undefined_obj is missing and self._undefined_hint is None
        if recorder is None or not plain or self._undefined_exception is not UndefinedError:
            self._fail_with_undefined_error()
        recorder.add(str(self._undefined_name))

    def __str__(self) -> str:
        self._note()
        return ""

    def __iter__(self) -> Iterator[Any]:
        self._note()
        return iter(())

    def __bool__(self) -> bool:
        self._note()
        return False

    def _compare(self, *args: Any) -> bool:
        self._note()
        return False  # the candidate is flagged anyway, so the branch taken does not matter

    def _item(self, *args: Any) -> _Absent:
        self._note()
        return self

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _compare  # type: ignore[assignment]
    __getitem__ = _item  # type: ignore[assignment]
    __hash__ = Undefined.__hash__


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox with ``*`` and ``**`` capped, so ``'a' * 10**9`` cannot fill memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent over {MAX_EXPONENT} is not allowed")
        if operator == "*":
            for text, times in ((left, right), (right, left)):
                if isinstance(text, str | list | tuple) and isinstance(times, int):
                    if len(text) * times > MAX_PRODUCT_CHARS:
                        raise SecurityError("the result would be too long")
        return super().call_binop(context, operator, left, right)


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = _Sandbox(
        undefined=_Absent,
        autoescape=autoescape,
        keep_trailing_newline=True,  # send what the recruiter typed
    )
    env.globals.clear()  # no range, lipsum, cycler, joiner, namespace or dict
    env.filters = {name: env.filters[name] for name in FILTERS}
    env.tests = {name: env.tests[name] for name in TESTS}
    return env


#: Subjects and plain-text bodies.
TEXT = _environment(autoescape=False)
#: HTML bodies: every value filled in is escaped.
HTML = _environment(autoescape=True)
