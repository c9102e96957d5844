from __future__ import annotations

from pathlib import Path

import pytest

from handlers.mrkdwn import esc_message, marked
from outreach.errors import (
    InvalidColumnName,
    OutreachError,
    RenderProblem,
    TemplateSyntaxProblem,
    UnknownVariables,
    UnsafeTemplate,
)
from outreach.template_sandbox import TEXT
from outreach.templates import (
    CompiledCampaign,
    MissingVariables,
    RenderedEmail,
    Sender,
    StepTemplate,
    compile_steps,
    describe_missing,
    variable_name,
)

SENDER = Sender(name="Riley Chen", email="riley@acme.test")
SAY = 'use column names and filters, like {{ first_name | default("there") }}'


def one_step(body: str, subject: str = "Hello", html: bool = False) -> CompiledCampaign:
    return compile_steps([StepTemplate(subject=subject, body=body, html=html)])


def on_slack(problem: TemplateSyntaxProblem) -> tuple[str, ...]:
    """Each problem as Slack shows it before escaping: placeholders in backticks."""
    return tuple(marked(line) for line in problem.problems)


def refusal(template: str) -> tuple[str, ...]:
    with pytest.raises(TemplateSyntaxProblem) as caught:
        one_step(template)
    assert isinstance(caught.value, OutreachError)
    return on_slack(caught.value)


def test_check_lists_every_missing_variable_per_candidate_across_steps() -> None:
    campaign = compile_steps(
        [
            StepTemplate("Hi {{ first_name }}", "I saw {{ company }}. {{ city | default('') }}"),
            StepTemplate("Re: {{ job_title }}", "{{ first_name }}, about {{ company }}?"),
            StepTemplate("Last note", "{{ sender_first_name }} at {{ sender_email }}"),
        ]
    )
    rows = [
        (
            "ok@x.test",
            {"email": "ok@x.test", "first_name": "Ann", "company": "A", "job_title": "Dev"},
        ),
        ("two@x.test", {"email": "two@x.test", "First Name": "Bo"}),
        ("all@x.test", {"email": "all@x.test"}),
    ]

    assert campaign.check(rows, SENDER) == [
        MissingVariables("two@x.test", ("company", "job_title")),
        MissingVariables("all@x.test", ("company", "first_name", "job_title")),
    ]
    assert campaign.variables() == {"first_name", "company", "city", "job_title"}
    assert len(campaign) == 3


def test_default_and_is_defined_make_a_variable_optional() -> None:
    campaign = one_step(
        "{% if company is defined %}At {{ company }}. {% endif %}Bye",
        subject="Hi {{ first_name | default('there') }}",
    )

    assert campaign.check([("a@x.test", {"email": "a@x.test"})], SENDER) == []
    assert campaign.render(0, {"email": "a@x.test"}, SENDER) == RenderedEmail(
        "Hi there", "Bye", False
    )
    full = {"email": "a@x.test", "first_name": "Zoë", "company": "Acme"}
    assert campaign.render(0, full, SENDER) == RenderedEmail("Hi Zoë", "At Acme. Bye", False)


def test_empty_and_blank_cells_count_as_missing() -> None:
    campaign = one_step("Dear {{ first_name }}", subject="Hi {{ first_name | default('there') }}")
    rows = [
        ("e@x.test", {"email": "e@x.test", "first_name": ""}),
        ("b@x.test", {"first_name": "  "}),
    ]

    assert campaign.check(rows, SENDER) == [
        MissingVariables("e@x.test", ("first_name",)),
        MissingVariables("b@x.test", ("first_name",)),
    ]
    with pytest.raises(RenderProblem) as caught:
        campaign.render(0, {"email": "e@x.test", "first_name": ""}, SENDER)
    assert str(caught.value) == "Step 1 cannot be sent: e@x.test lacks first_name."
    assert caught.value.problem == MissingVariables("e@x.test", ("first_name",))


def test_a_condition_on_a_missing_variable_flags_it() -> None:
    campaign = one_step("{% if company %}At {{ company }}{% endif %}{{ role == 'cto' }}")

    assert campaign.check([("a@x.test", {"company": "", "role": " "})], SENDER) == [
        MissingVariables("a@x.test", ("company", "role"))
    ]


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        (
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            f"calling functions or methods is not allowed; {SAY}",
        ),
        ("{{ ''.__class__.__mro__ }}", f"`.__class__` is not allowed; {SAY}"),
        ("{{ self.__init__.__globals__ }}", f"`.__init__` is not allowed; {SAY}"),
        ("{{ cycler.__init__.__globals__.os }}", f"`.__init__` is not allowed; {SAY}"),
        ("{{ lipsum.__globals__ }}", f"`.__globals__` is not allowed; {SAY}"),
        (
            "{{ first_name['__class__'] }}",
            "only numbers are allowed in [ ], like {{ first_name[0] }}",
        ),
        ("{{ first_name.upper() }}", f"calling functions or methods is not allowed; {SAY}"),
        ("{{ self }}", "there is no column called `self`"),
    ],
)
def test_sandbox_escapes_are_refused_when_compiling(template: str, problem: str) -> None:
    assert refusal(template) == (f"Step 1 body, line 1: {problem}",)


def test_a_refused_template_runs_no_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    attack = f"{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}"

    with pytest.raises(TemplateSyntaxProblem) as caught:
        compile_steps([StepTemplate(subject=attack, body=attack, html=True)])

    assert on_slack(caught.value) == (
        f"Step 1 subject, line 1: calling functions or methods is not allowed; {SAY}",
        f"Step 1 body, line 1: calling functions or methods is not allowed; {SAY}",
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ first_name | safe }}", "there is no filter named 'safe'; use capitalize, d, default, lower, title, trim, upper"),
        ("{{ x is callable }}", "there is no test named 'callable'; use defined, undefined, none, eq, ne, in"),
        ("{% autoescape false %}{{ x }}{% endautoescape %}", f"{{% autoescape %}} is not allowed; {SAY}"),
        ("{% for c in first_name %}{{ c }}{% endfor %}", f"{{% for %}} is not allowed; {SAY}"),
        ("{% set x = 'a' %}", f"{{% set %}} is not allowed; {SAY}"),
        ("{% include 'other' %}", f"{{% include %}} is not allowed; {SAY}"),
        ("{{ 9 ** 9 ** 9 }}", "arithmetic is not allowed"),
        ("{{ 'x' * 1000000000 }}", "arithmetic is not allowed"),
        ("{{ {'a': 1} }}", f"this kind of expression is not allowed; {SAY}"),
    ],
)  # fmt: skip
def test_constructs_outside_the_small_language_are_refused(template: str, problem: str) -> None:
    assert refusal(template) == (f"Step 1 body, line 1: {problem}",)


def test_indexing_by_number_is_allowed() -> None:
    campaign = one_step("{{ first_name[0] }}.{{ first_name[-1] }}.{{ first_name[1:3] }}")

    assert campaign.render(0, {"first_name": "Łukasz"}, SENDER).body == "Ł.z.uk"


def test_syntax_errors_are_reported_for_every_broken_step() -> None:
    steps = [
        StepTemplate("Fine {{ first_name }}", "Fine"),
        StepTemplate("Fine", "Hi\n\n{{ first_name }"),
        StepTemplate("{% if first_name %}Hi", "{{ first_name | nope }}"),
    ]

    with pytest.raises(TemplateSyntaxProblem) as caught:
        compile_steps(steps)

    assert on_slack(caught.value) == (
        "Step 2 body, line 3: unexpected '}'",
        "Step 3 subject, line 1: Unexpected end of template. ScaleUp was looking for the "
        "following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be "
        "closed is 'if'.",
        "Step 3 body, line 1: there is no filter named 'nope'; use capitalize, d, default, "
        "lower, title, trim, upper",
    )
    assert str(caught.value).startswith("Some templates need fixing:\nStep 2 body, line 3: ")


def test_candidate_values_are_escaped_in_html_bodies_only() -> None:
    campaign = compile_steps(
        [
            StepTemplate("Hi {{ first_name }}", "<p>Hi {{ first_name }}</p>\n{{ sender_name }}", html=True),
            StepTemplate("Hi {{ first_name }}", "Hi {{ first_name }}"),
        ]
    )  # fmt: skip
    row = {"first_name": "<script>alert(1)</script>"}
    sender = Sender(name="AT&T Talent", email="talent@att.test")

    assert campaign.render(0, row, sender) == RenderedEmail(
        subject="Hi <script>alert(1)</script>",
        body="<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>\nAT&amp;T Talent",
        html=True,
    )
    assert campaign.render(1, row, sender) == RenderedEmail(
        "Hi <script>alert(1)</script>", "Hi <script>alert(1)</script>", False
    )


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Current Company", "current_company"),
        ("Job-Title", "job_title"),
        ("first_name", "first_name"),
        ("  First   Name ", "first_name"),
        ("LinkedIn URL", "linkedin_url"),
        ("Salary (€)", "salary"),
        ("Prénom", "prénom"),
        ("2nd Round", "column_2nd_round"),
        ("In", "column_in"),
    ],
)
def test_variable_names_are_lowercase_snake_case(header: str, name: str) -> None:
    assert variable_name(header) == name


def test_a_header_without_letters_or_digits_is_refused() -> None:
    with pytest.raises(InvalidColumnName) as caught:
        variable_name("!!!")
    assert str(caught.value) == "Column '!!!' has no letters or digits: rename it in the CSV."


def test_columns_are_reached_by_their_variable_names() -> None:
    campaign = one_step("{{ current_company }} / {{ prénom }} / {{ sender_name }}")
    row = {"Current Company": "Acme", "Prénom": "Zoë", "Sender Name": "Mallory", "!!!": "x"}

    assert campaign.render(0, row, SENDER).body == "Acme / Zoë / Riley Chen"


@pytest.mark.parametrize("name", ["Zoë", "Łukasz", "李"])
def test_unicode_values_render_unchanged(name: str) -> None:
    campaign = compile_steps(
        [
            StepTemplate("Hi {{ first_name }}", "Dear {{ first_name }},"),
            StepTemplate("Hi {{ first_name }}", "<b>{{ first_name }}</b>", html=True),
        ]
    )

    assert campaign.render(0, {"first_name": name}, SENDER) == RenderedEmail(
        f"Hi {name}", f"Dear {name},", False
    )
    assert campaign.render(1, {"first_name": name}, SENDER).body == f"<b>{name}</b>"


def test_filters_handle_unicode() -> None:
    campaign = one_step("{{ a | upper }} {{ b | title }} {{ c | lower }} [{{ d | trim }}]")
    row = {"a": "Zoë", "b": "łukasz", "c": "ŁUKASZ", "d": " 李 "}

    assert campaign.render(0, row, SENDER).body == "ZOË Łukasz łukasz [李]"


def test_subject_is_one_trimmed_line() -> None:
    campaign = one_step("body", subject="  Hi {{ first_name }}\n  about\r\n{{ role }} ")
    row = {"first_name": "Ann\r\nBcc: x@evil.test", "role": "the role"}

    assert campaign.render(0, row, SENDER).subject == "Hi Ann Bcc: x@evil.test about the role"


def test_text_body_keeps_its_newlines() -> None:
    campaign = one_step("Hi {{ first_name }},\n\n{{ sender_first_name }}\n")

    assert campaign.render(0, {"first_name": "Ann"}, SENDER).body == "Hi Ann,\n\nRiley\n"


def test_other_render_failures_are_reported_per_candidate() -> None:
    campaign = one_step("{% if years > 5 %}Senior{% endif %}")

    assert campaign.check([("a@x.test", {"years": "7"}), ("b@x.test", {})], SENDER) == [
        MissingVariables(
            "a@x.test",
            errors=(
                "step 1 body cannot be filled in "
                "('>' not supported between instances of 'str' and 'int')",
            ),
        ),
        MissingVariables("b@x.test", ("years",)),
    ]


def test_describe_missing_is_a_short_slack_list() -> None:
    problems = [MissingVariables(f"c{i}@x.test", ("company", "first_name")) for i in range(14)]
    problems[1] = MissingVariables("b@x.test", errors=("step 2 body cannot be filled in ('>' …)",))

    assert esc_message(describe_missing(problems, limit=2)) == (
        "c0@x.test lacks company, first_name\n"
        "b@x.test: step 2 body cannot be filled in ('&gt;' …)\n"
        "…and 12 more candidates"
    )
    assert describe_missing(problems[:3], limit=2).endswith("\n…and 1 more candidate")
    assert describe_missing([]) == ""


def test_ten_thousand_candidates_by_three_steps_check_quickly() -> None:
    campaign = compile_steps(
        [
            StepTemplate("Hi {{ first_name | default('there') }}", "At {{ company }}, {{ sender_name }}"),
            StepTemplate("Re: {{ job_title }}", "Following up, {{ first_name }}.", html=True),
            StepTemplate("Last note", "<p>{{ first_name | title }}</p>", html=True),
        ]
    )  # fmt: skip
    rows = [
        (f"c{i}@x.test", {"Email": f"c{i}@x.test", "First Name": "Zoë", "Company": "Acme", "Job Title": "" if i % 2 else "Dev"})
        for i in range(10_000)
    ]  # fmt: skip

    problems = campaign.check(rows, SENDER)

    assert len(problems) == 5_000
    assert problems[0] == MissingVariables("c1@x.test", ("job_title",))


def test_the_sandbox_underneath_stops_what_the_checks_would_miss() -> None:
    # Built around compile_steps on purpose: the second wall must hold on its own.
    escape = TEXT.from_string("{{ ''.__class__.__mro__ }}")
    campaign = CompiledCampaign([(TEXT.from_string("Hi"), escape, False)], frozenset())

    with pytest.raises(UnsafeTemplate) as caught:
        campaign.render(0, {}, SENDER)
    assert str(caught.value) == (
        "A template tried to reach something other than the candidate's columns and was stopped."
    )
    with pytest.raises(UnsafeTemplate):
        campaign.check([("a@x.test", {})], SENDER)


# --- bounded compilation: every Jinja failure is the field's sentence -----------------------

DEEP = "nests more than 10 levels deep; simplify it."


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{%if a%}" * 10_000 + "x", f"Step 1 body {DEEP}"),
        ("{%if a%}" * 5_000 + "x" + "{%endif%}" * 5_000, f"Step 1 body {DEEP}"),
        ("{{ " + "(" * 10_000 + "a" + ")" * 10_000 + " }}", f"Step 1 body {DEEP}"),
        ("{{ " + "[" * 10_000 + " }}", f"Step 1 body {DEEP}"),
        (
            "{{ " + "-" * 10_000 + "a }}",
            "Step 1 body has a tag longer than 200 words and signs; split it up.",
        ),
        (
            "{{ a " + "and a " * 5_000 + "}}",
            "Step 1 body has a tag longer than 200 words and signs; split it up.",
        ),
        ("{% if a %}" * 21 + "x" + "{% endif %}" * 21, f"Step 1 body {DEEP}"),
        # Before: Python's IndentationError from Jinja's generated code escaped.
        ("{% if a %}" * 100 + "x" + "{% endif %}" * 100, f"Step 1 body {DEEP}"),
        ("x" * 100_001, "Step 1 body is longer than 100,000 characters."),
    ],
)
def test_bombs_give_the_fields_sentence_and_no_exception(body: str, problem: str) -> None:
    assert refusal(body) == (problem,)


def test_nesting_within_the_limit_still_works() -> None:
    body = "{% if a %}" * 10 + "{{ (((a))) }}" + "{% endif %}" * 10
    assert one_step(body).render(0, {"a": "yes"}, SENDER).body == "yes"


def test_arithmetic_bombs_are_refused_and_the_sandbox_caps_them_too() -> None:
    assert refusal("{{ 'a' * 10**9 }}") == ("Step 1 body, line 1: arithmetic is not allowed",)
    for bomb in ("{{ 'a' * 10**9 }}", "{{ 'ab' * 100000 }}", "{{ 2 ** 10000000 }}"):
        # Built around compile_steps on purpose: the second wall must hold on its own.
        campaign = CompiledCampaign(
            [(TEXT.from_string("Hi"), TEXT.from_string(bomb), False)], frozenset()
        )
        with pytest.raises(UnsafeTemplate):
            campaign.render(0, {}, SENDER)
    small = CompiledCampaign(
        [(TEXT.from_string("Hi"), TEXT.from_string("{{ '-' * 3 }}"), False)], frozenset()
    )
    assert small.render(0, {}, SENDER).body == "---"


# --- templates as recruiters type them ----------------------------------------------------

INPUTS = Path(__file__).parents[1] / "inputs"


def test_other_tools_placeholders_are_named_with_the_variable_meant() -> None:
    """Before: all four went out to the candidate literally."""
    text = (INPUTS / "foreign-placeholders.txt").read_text()
    subject = text.split("Subject: ", 1)[1].split("\n", 1)[0]
    body = text.split("Body:\n", 1)[1].split("\n\nToday", 1)[0]
    with pytest.raises(TemplateSyntaxProblem) as caught:
        compile_steps([StepTemplate(subject, body)], columns=["email", "first_name", "company"])
    assert on_slack(caught.value) == (
        "Step 1 subject: `{first_name}` looks like a placeholder from another tool: "
        "write `{{ first_name }}`",
        "Step 1 body: `*|FNAME|*` looks like a placeholder from another tool: write `{{ first_name }}`",
        "Step 1 body: `[Company]` looks like a placeholder from another tool: write `{{ company }}`",
        "Step 1 body: `%SIGNATURE%` looks like a placeholder from another tool: "
        "write `{{ sender_name }}`",
    )


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("{{{name}}}", "name"),
        ("«First_Name»", "first_name"),
        ("<<Last Name>>", "last_name"),
        ("%FirstName%", "first_name"),
        ("{!Contact.FirstName}", "first_name"),
        ("${firstName}", "first_name"),
        ("{ Company Name }", "company"),
        ("*|COMPANY|*", "company"),
    ],
)
def test_more_foreign_placeholders(written: str, meant: str) -> None:
    assert refusal(f"Hi {written},") == (
        f"Step 1 body: `{written}` looks like a placeholder from another tool: write `{{{{ {meant} }}}}`",
    )


def test_text_that_only_looks_a_little_like_placeholders_is_left_alone() -> None:
    body = "Save 50% or 20% [1] see [here](https://x.test) [sic] {{ first_name }} {% if a %}{% endif %}"
    assert (
        one_step(body).render(0, {"first_name": "Jo", "a": "x"}, SENDER).body.startswith("Save 50%")
    )


def test_variable_names_match_columns_regardless_of_case_spaces_and_underscores() -> None:
    campaign = one_step("{{ FirstName }} at {{ Company }} ({{ first_name }}, {{ Job_Title }})")
    row = {"email": "a@x.test", "First Name": "Jana", "company": "Initech", "Job Title": "CTO"}
    assert campaign.render(0, row, SENDER).body == "Jana at Initech (Jana, CTO)"
    assert campaign.check([("a@x.test", row)], SENDER) == []


def test_an_unknown_variable_is_one_error_naming_the_shortlists_columns() -> None:
    """Before: one "lacks compnay" line per candidate."""
    campaign = one_step("Hi {{ first_name }} at {{ compnay }} {{ team | default('') }}")
    rows = [
        (f"c{n}@x.test", {"email": f"c{n}@x.test", "first_name": "A", "company": "B"})
        for n in range(500)
    ]
    with pytest.raises(UnknownVariables) as caught:
        campaign.check(rows, SENDER)
    assert marked(caught.value.sentence) == (
        "The templates use {{ compnay }} (did you mean company?), but the shortlist has no such "
        "column. It has: company, email, first_name (and every template has sender_name, "
        "sender_email and sender_first_name). Names match regardless of case, spaces and "
        "underscores; use `| default(...)` for a value some candidates lack."
    )


def test_a_blank_cell_of_a_known_column_is_still_per_candidate() -> None:
    campaign = one_step("Hi {{ first_name }}")
    rows = [("a@x.test", {"first_name": ""}), ("b@x.test", {"first_name": "B"})]
    assert campaign.check(rows, SENDER) == [MissingVariables("a@x.test", ("first_name",))]


def test_word_smart_quotes_inside_tags_are_straightened() -> None:
    campaign = one_step(
        "Hi {{ first_name | default(\u201cthere\u201d) }}, \u201cquoted\u201d {{ x | default(\u2018y\u2019) }}"
    )
    body = campaign.render(0, {}, SENDER).body
    assert body == "Hi there, \u201cquoted\u201d y"
