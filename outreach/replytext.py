"""What a person wrote in a reply: the new text, an opt-out, their interest.

The new text is the reply without the quoted history and the signature, cut by
``mail-parser-reply`` (chosen over ``quotequail``: it also removes signatures, knows
the reply headers of 13+ languages, and installs without lxml). Every rule below reads
only that new text, so our own email quoted underneath ("unsubscribe" in its footer,
"interested?" in its question) never counts.

Interest rules, in order (each match is named in ``reasons``):

1. Negative phrases ("not interested", "no thanks", "not looking", "kein Interesse",
   "pas intéressé", "no me interesa"…) are found first and cut out of the text, so
   "not interested" cannot also match "interested".
2. Positive phrases ("sounds interesting", "happy to chat", "let's talk",
   "interessiert", "ça m'intéresse", "me interesa"…) are then looked for; a positive
   phrase with a negation word ("not", "nicht", "pas", "no", "non", "niet", "não"…) in
   the three words before it, within its clause, counts as negative ("not really
   interested"; but "No problem, happy to chat" is positive).
3. Only negatives → ``not_interested``; only positives → ``interested``; both → the
   clause after the last "but / aber / mais / pero / ma / maar / mas" decides ("sounds
   interesting but I'm not looking" is not interested); both without such a word, or
   neither → ``unknown``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailparser_reply import EmailReplyParser

# mail-parser-reply has no Portuguese; every language it has costs a little time
_PARSER = EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl", "da", "sv", "pl", "cs"])

UNSUBSCRIBE = re.compile(
    r"\b(unsubscribe|remove me|please remove|take me off|opt[- ]?out|"
    r"stop (e-?mailing|emailing|contacting|sending|writing to|messaging) me|"
    r"(do not|don'?t|never) (e-?mail|contact|write to|message) me|"
    r"abmelden|austragen|entfernen sie mich|(kontaktieren|schreiben) sie mich nicht mehr|"
    r"keine (weiteren )?(e-?mails|nachrichten) mehr|"
    r"d[ée]sabonner|d[ée]sinscri|retirez[- ]moi|supprimez[- ]moi|"
    r"ne (plus )?me (contactez|[ée]crivez) plus|ne plus me contacter|"
    r"darme de baja|dar de baja|d[ée]nme de baja|elim[ií]n(e|en)me|no me (contacte|contacten|escriba|escriban) m[aá]s|"
    r"dejen? de (escribirme|enviarme|contactarme)|"
    r"cancellami|rimuovetemi|rimuovermi|disiscriver|non (contattatemi|scrivetemi) pi[uù]|"
    r"afmelden|uitschrijven|verwijder (mij|me)|(mail|contacteer) me niet meer|"
    r"descadastr|cancelar (a )?inscri[cç][aã]o|remov(a|am)[- ]me|n[aã]o me (contate|contactem|enviem) mais|"
    r"parem de me (enviar|contatar))\b",
    re.I,
)
_NEGATIVE = re.compile(
    r"\b(not (really |currently |at all )?interested|no interest|not (currently |actively )?looking|"
    r"no,? thanks?|no thank you|not for me|not a (good )?fit|not open to|pass on this|"
    r"happy (where i am|in my (current )?(role|job|position))|not (the )?right time|not (right )?now|not at (the|this) (moment|time)|"
    r"kein(e)? (interesse|bedarf)|nicht interessiert|kein wechsel|nein,? danke|"
    r"pas int[ée]ress[ée]e?s?|pas d'int[ée]r[êe]t|non merci|"
    r"no (me )?interesa|no estoy interesad[oa]|no,? gracias|"
    r"non (mi )?interessa|non sono interessat[oa]|no,? grazie|"
    r"niet ge[ïi]nteresseerd|geen interesse|nee,? bedankt|"
    r"n[aã]o (tenho|estou) interess|sem interesse|n[aã]o,? obrigad[oa])\b",
    re.I,
)
_POSITIVE = re.compile(
    r"\b(interested|interesting|sounds? (great|good)|happy to (chat|talk|speak|connect)|"
    r"let'?s (talk|chat|speak|connect)|(would|i'?d) love to|tell me more|send (me )?(more )?details|"
    r"i'?m open to|open to (a |an )?(chat|call|conversation)|when can we|"
    r"(available|free) for a (call|chat)|schedule a (call|chat)|book a (call|time)|call me|"
    r"interessiert|interesse|klingt (interessant|gut|spannend)|gerne|lass uns|"
    r"int[ée]ress[ée]e?|m'int[ée]resse|avec plaisir|volontiers|discutons|"
    r"me interesa|interesad[oa]|hablemos|con gusto|"
    r"mi interessa|interessat[oa]|volentieri|sentiamoci|"
    r"ge[ïi]nteresseerd|klinkt (interessant|goed)|graag|"
    r"tenho interesse|interessad[oa]|vamos conversar|com prazer)\b",
    re.I,
)
_NEGATOR = re.compile(
    r"\b(not|no|never|n't|nicht|kein|keine|pas|ne|non|niet|geen|n[aã]o|nunca|nie)\b|n't\b",
    re.I,
)
_BUT = re.compile(r"\b(but|however|aber|jedoch|mais|pero|sin embargo|ma|per[oò]|maar|mas|por[ée]m)\b", re.I)


@dataclass
class Interest:
    """``label`` is ``interested``, ``not_interested`` or ``unknown``."""

    label: str
    reasons: list[str] = field(default_factory=list)


def new_text(text: str) -> str:
    """The reply's own words: quoted history and signature removed (mail-parser-reply)."""
    if not text.strip():
        return ""
    try:
        replies = _PARSER.read(text=text).replies
    except Exception:  # the parser's regexes can fail on odd input; the cut below remains
        return cut_quoted(text)
    for reply in replies:
        body = (reply.body or "").strip()
        if body and not body.startswith(">"):
            return cut_quoted(body)
    return ""


def cut_quoted(text: str) -> str:
    """``text`` up to its first ``>``-quoted line and the attribution line ending in ``:``
    just above it ("Em seg., 3 de mar. ... escreveu:"), for the clients and languages
    whose reply headers mail-parser-reply does not know."""
    lines = text.splitlines()
    for at, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            above = at - 1
            while above >= 0 and not lines[above].strip():
                above -= 1
            end = above if above >= 0 and lines[above].rstrip().endswith(":") else at
            return "\n".join(lines[:end]).strip()
    return text.strip()


def unsubscribe_phrase(text: str) -> str | None:
    """The opt-out phrase in ``text`` ("remove me", "abmelden"…), or None."""
    found = UNSUBSCRIBE.search(text)
    return found.group(0) if found else None


def interest(text: str) -> Interest:
    """Interest of the new text ``text`` by the rules in this module's docstring."""
    spans = [(m.start(), m.group(0)) for m in _NEGATIVE.finditer(text)]
    rest = _NEGATIVE.sub(lambda m: " " * len(m.group(0)), text)
    positives: list[tuple[int, str]] = []
    for match in _POSITIVE.finditer(rest):
        clause = re.split(r"[.,;:!?\n]", rest[max(0, match.start() - 40) : match.start()])[-1]
        before = clause.split()[-3:]
        if any(_NEGATOR.search(word) for word in before):
            spans.append((match.start(), " ".join([*before, match.group(0)])))
        else:
            positives.append((match.start(), match.group(0)))
    if spans and positives:
        buts = list(_BUT.finditer(text))
        if not buts:
            return Interest("unknown", [f'mixed: "{spans[0][1]}" and "{positives[0][1]}"'])
        cut = buts[-1].start()
        after_neg = [w for at, w in spans if at > cut]
        after_pos = [w for at, w in positives if at > cut]
        if after_pos and not after_neg:
            return Interest("interested", [f'"{after_pos[0]}" after "{buts[-1].group(0)}"'])
        if after_neg and not after_pos:
            return Interest("not_interested", [f'"{after_neg[0]}" after "{buts[-1].group(0)}"'])
        return Interest("unknown", [f'mixed: "{spans[0][1]}" and "{positives[0][1]}"'])
    if spans:
        return Interest("not_interested", [f'"{spans[0][1].strip()}"'])
    if positives:
        return Interest("interested", [f'"{positives[0][1]}"'])
    return Interest("unknown", ["no interest wording"])
