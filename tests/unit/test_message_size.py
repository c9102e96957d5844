"""The size limit of one rendered email, and the bounded list of what stops a start."""

from __future__ import annotations

import pytest

from handlers.mrkdwn import marked
from outreach.errors import MessageTooLarge
from outreach.message_size import MAX_BODY_BYTES, size_text
from outreach.start_problems import StartProblems, candidate_problems
from outreach.templates import CompiledCampaign, Sender, StepTemplate, compile_steps

SENDER = Sender(name="Riley Chen", email="riley@acme.test")


def steps(*bodies: str, subject: str = "Hello {{ first_name }}") -> CompiledCampaign:
    return compile_steps([StepTemplate(subject, body) for body in bodies])


def row(**columns: str) -> dict[str, str]:
    return {"email": "jane@talent.example", "first_name": "Jane", **columns}


def test_an_email_within_the_limit_renders_as_before() -> None:
    body = "Hi {{ first_name }},\n" + "{{ bio }}\n" * 99
    email = steps(body).render(0, row(bio="b" * 1_000), SENDER)
    assert email.body == "Hi Jane,\n" + ("b" * 1_000 + "\n") * 99
    assert len(email.body.encode()) < MAX_BODY_BYTES


def test_a_body_past_the_limit_names_step_part_candidate_and_size() -> None:
    compiled = steps("Short.", "{{ bio }}" * 120)
    with pytest.raises(MessageTooLarge) as caught:
        compiled.render(1, row(bio="b" * 1_000), SENDER)
    assert caught.value.message == (
        "Step 2's body for jane@talent.example would be 120 KB, more than the 100 KB limit."
    )


def test_size_counts_utf8_bytes_and_stops_measuring_at_ten_times_the_limit() -> None:
    with pytest.raises(MessageTooLarge) as wide:  # "é" is two bytes: 120,000 bytes
        steps("{{ bio }}" * 60).render(0, row(bio="é" * 1_000), SENDER)
    assert wide.value.size == 120_000
    with pytest.raises(MessageTooLarge) as huge:
        steps("{{ bio }}" * 5_000).render(0, row(bio="b" * 1_000), SENDER)
    assert "would be more than 1 MB; the limit is 100 KB" in huge.value.message


def test_a_subject_longer_than_an_email_line_is_refused() -> None:
    compiled = steps("Body", subject="{{ bio }}")
    with pytest.raises(MessageTooLarge) as caught:
        compiled.render(0, row(bio="s" * 999), SENDER)
    assert caught.value.message == (
        "Step 1's subject for jane@talent.example would be 999 bytes, more than the "
        "998 bytes limit."
    )


def test_size_text() -> None:
    assert [size_text(n) for n in (998, 1_000, 340_123, 1_000_000, 2_500_000)] == [
        "998 bytes",
        "1 KB",
        "340 KB",
        "1 MB",
        "2.5 MB",
    ]


def test_problems_keep_twenty_gaps_and_one_line_per_step_too_large() -> None:
    compiled = steps("{{ company }}", "{{ bio }}" * 120)
    problems = StartProblems()
    for n in range(500):
        columns = {"email": f"c{n}@x.example", "first_name": "C", "bio": "b" * 1_000}
        problems.add(candidate_problems(compiled, columns, SENDER))
    assert (problems.gap_count, len(problems.gaps)) == (500, 20)
    refusal = marked(problems.refusal("Backend <Q4>")).splitlines()
    assert refusal[0].startswith("'Backend <Q4>' did not start: some candidates lack")
    assert refusal[1:3] == ["c0@x.example lacks company", "c1@x.example lacks company"]
    assert refusal[21] == "…and 480 more candidates"
    assert refusal[22].startswith("Some emails would be too large.")
    assert refusal[23:] == [
        "c0@x.example and 499 more: step 2's body would be 120 KB, more than the 100 KB limit"
    ]
