"""How fast ``outreach.classify`` reads mail, and how often it is right, in one run.

Corpus: the 80 real bounces and auto-replies of tests/fixtures/mail/nonhuman/ plus the
hand-written human replies of tests/fixtures/mail/human/replies.py, as raw MIME.
Baseline: ``email.message_from_bytes`` alone on the same bytes, the same number of
times, in the same process. Prints both rates in files/s, their ratio, and the
confusion figures against the issue's targets. Run with
``python -m benchmarks.classify_throughput [--repeat N]``.
"""

from __future__ import annotations

import argparse
import email
import runpy
import time
from collections import Counter
from pathlib import Path

from outreach.classify import classify
from outreach.mailmessage import from_mime

MAIL = Path(__file__).parents[1] / "tests" / "fixtures" / "mail"
NONHUMAN = MAIL / "nonhuman"
#: The human replies are a corpus written as Python data; it is read from its file, as the
#: .eml corpus is, not imported from the test package.
HUMAN = runpy.run_path(str(MAIL / "human" / "replies.py"))
REPLIES, as_message = HUMAN["REPLIES"], HUMAN["as_message"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20, help="passes over the corpus")
    args = parser.parse_args()
    nonhuman = [(p.name, p.read_bytes()) for p in sorted(NONHUMAN.glob("*.eml"))]
    human = [(r, as_message(r[0], r[1], r[2]).as_bytes()) for r in REPLIES]
    corpus = [raw for _, raw in nonhuman] + [raw for _, raw in human]
    for raw in corpus:  # warm-up: imports and dateparser's language data load once
        classify(from_mime(raw))

    started = time.perf_counter()
    for _ in range(args.repeat):
        for raw in corpus:
            email.message_from_bytes(raw)
    baseline = len(corpus) * args.repeat / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(args.repeat):
        for raw in corpus:
            classify(from_mime(raw))
    rate = len(corpus) * args.repeat / (time.perf_counter() - started)
    print(f"corpus: {len(nonhuman)} non-human + {len(human)} human messages, x{args.repeat}")
    print(f"baseline email.message_from_bytes: {baseline:,.0f} files/s")
    print(f"classify (parse + classify):       {rate:,.0f} files/s")
    print(f"ratio classify / baseline:          {rate / baseline:.3f}")

    kinds = Counter()
    as_human = bounces = bounces_found = 0
    for name, raw in nonhuman:
        verdict = classify(from_mime(raw))
        kinds[verdict.kind] += 1
        as_human += verdict.kind == "reply"
        if name.startswith(("lhost-", "rhost-", "rfc3464-")):
            bounces += 1
            bounces_found += verdict.kind == "bounce"
    replies = [r for r, _ in human if r[3] == "reply"]
    kept = right = clear = labelled = 0
    for r, raw in human:
        verdict = classify(from_mime(raw))
        labelled += verdict.kind == r[3]
        if r[3] == "reply":
            kept += verdict.kind == "reply"
            if r[5]:
                clear += 1
                right += verdict.interest == r[4]
    print(f"non-human kinds: {dict(kinds)}")
    print(f"non-human taken as human replies: {as_human}/{len(nonhuman)} = {as_human / len(nonhuman):.1%} (target <= 0.5 %)")
    print(f"bounce recall: {bounces_found}/{bounces} = {bounces_found / bounces:.1%} (target >= 99 %)")
    print(f"human replies kept as replies: {kept}/{len(replies)} = {kept / len(replies):.1%} (target >= 97 %)")
    print(f"interest right on clear answers: {right}/{clear} = {right / clear:.1%} (target >= 85 %)")
    print(f"hand-written messages given their expected kind: {labelled}/{len(human)}")


if __name__ == "__main__":
    main()
