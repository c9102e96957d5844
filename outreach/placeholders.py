"""Templates as recruiters type them: other tools' placeholders, Word's quotes, loose names.

A recruiter moving from another outreach tool writes its placeholders out of habit, and
Jinja would send them to the candidate literally. :func:`foreign_placeholders` finds them in
the text outside ScaleUp's own ``{{ }}``/``{% %}`` tags:

=====================  ==========================================
``{first_name}``       Python format strings, Lemlist/Woodpecker
``{{{first_name}}}``   Mustache/Handlebars (HubSpot, Mailchimp)
``*|FNAME|*``          Mailchimp merge tags
``%FirstName%``        Outlook/Salesforce-era mail merges
``«First_Name»``       Word mail merge fields (``<<First_Name>>`` typed)
``[Company]``          hand-made templates (a capitalised word in brackets, not a link)
``{!Contact.Name}``    Salesforce
``${firstName}``       JavaScript template strings
=====================  ==========================================

Each is named with the variable it probably means: a shortlist column whose name matches
regardless of case, spaces and underscores, else the usual meaning of the tool's name
(``FNAME`` → ``first_name``), else the name in snake case.

Word's "smart quotes" inside a tag (``{{ first_name | default(“there”) }}``) are made
straight by :func:`straighten_quotes` before parsing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from outreach.sentences import Code, Sentence

_TRIPLE = re.compile(r"\{\{\{\s*([^{}]{1,60}?)\s*\}\}\}")
_TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_FOREIGN = (
    re.compile(r"\*\|\s*([A-Za-z][\w:]{0,40})\s*\|\*"),
    re.compile(r"\{!\s*([A-Za-z][\w.]{0,60})\s*\}"),
    re.compile(r"\$\{\s*([A-Za-z_][\w.]{0,40})\s*\}"),
    re.compile(r"(?<![{$!])\{\s*([A-Za-z_][\w .-]{0,40}?)\s*\}"),
    re.compile(r"%([A-Za-z][A-Za-z0-9_]{0,40})%"),
    re.compile(r"«\s*([^«»\n]{1,40}?)\s*»"),
    re.compile(r"<<\s*([A-Za-z][\w ]{0,40}?)\s*>>"),
    re.compile(r"\[\s*([A-Z][A-Za-z0-9_ ]{0,40}?)\s*\](?![(:])"),
)
# Curly double and single quotes, as Word and macOS type them.
_SMART = str.maketrans(
    dict.fromkeys("\u201c\u201d\u201e\u201f", '"') | dict.fromkeys("\u2018\u2019\u201a", "'")
)
# Names other tools use → the variable they mean here (compared squashed: see _squash).
_USUAL = {
    **dict.fromkeys(("fname", "firstname", "first", "givenname", "contactfirstname"), "first_name"),
    **dict.fromkeys(("lname", "lastname", "last", "surname", "familyname"), "last_name"),
    **dict.fromkeys(("company", "companyname", "organization", "organisation", "account",
                     "accountname", "org"), "company"),
    **dict.fromkeys(("email", "emailaddress", "mail"), "email"),
    **dict.fromkeys(("signature", "sender", "sendername", "myname", "yourname"), "sender_name"),
    **dict.fromkeys(("senderfirstname", "myfirstname"), "sender_first_name"),
}  # fmt: skip


@dataclass(frozen=True)
class Foreign:
    """A placeholder from another tool: as written, and the variable it probably means."""

    written: str
    variable: str

    def sentence(self) -> Sentence:
        """What the recruiter reads under the field: both placeholders as code."""
        return Sentence(
            Code(self.written),
            " looks like a placeholder from another tool: write ",
            Code(f"{{{{ {self.variable} }}}}"),
        )


def straighten_quotes(source: str) -> str:
    """``source`` with curly quotes made straight inside ``{{ }}`` and ``{% %}`` only."""
    return _TAGS.sub(lambda found: found[0].translate(_SMART), source)


def foreign_placeholders(source: str, columns: Iterable[str] = ()) -> list[Foreign]:
    """Every placeholder of another tool in ``source``, in order, each named once.

    ``columns`` are the shortlist's variable names when known, to name the right one.
    """
    index = {_squash(column): column for column in columns}
    found: dict[str, Foreign] = {}
    for start, written, name in _matches(source):
        del start
        if written not in found:
            found[written] = Foreign(written, probable_variable(name, index))
    return list(found.values())


def probable_variable(name: str, columns: dict[str, str]) -> str:
    """The variable ``name`` (another tool's) most likely means; ``columns`` squashed → name."""
    key = _squash(name.rsplit(".", 1)[-1])
    if key in columns:
        return columns[key]
    usual = _USUAL.get(key)
    if usual:
        return usual
    return re.sub(r"\W+", "_", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name)).strip("_").lower()


def same_name(a: str, b: str) -> bool:
    """Whether two variable names match regardless of case, spaces and underscores."""
    return _squash(a) == _squash(b)


def _squash(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.casefold())


def _matches(source: str) -> Iterator[tuple[int, str, str]]:
    found = [(m.start(), m[0], m[1]) for m in _TRIPLE.finditer(source)]
    text = _TRIPLE.sub(lambda m: " " * len(m[0]), source)
    text = _TAGS.sub(lambda m: " " * len(m[0]), text)  # ScaleUp's own tags are not foreign
    for pattern in _FOREIGN:
        found += [(m.start(), m[0], m[1]) for m in pattern.finditer(text)]
    yield from sorted(found)
