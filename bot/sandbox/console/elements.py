"""What Block Kit elements hold: their kinds, the value they show, and a posted form read
back into the values a modal submission carries."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from bot.sandbox.slack import JSON

__all__ = ["REQUIRED", "form_values", "options", "plain", "shown", "values_of"]

REQUIRED = "Please complete this required field."
TEXT_KINDS = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}
OPTION_KINDS = {"static_select", "radio_buttons", "overflow"}
MULTI_OPTION_KINDS = {"multi_static_select", "checkboxes"}
# Typed as text: a channel id, or anything for external selects (the bot supplies options).
ID_KINDS = {"conversations_select", "channels_select", "external_select"}
MULTI_ID_KINDS = {"multi_conversations_select", "multi_channels_select", "multi_external_select"}
HTML_TYPES = {"datepicker": "date", "timepicker": "time", "number_input": "number"}
INITIAL = {  # element type -> key of the value it shows before anyone touches it
    **dict.fromkeys(TEXT_KINDS, "initial_value"),
    **dict.fromkeys(OPTION_KINDS | {"external_select"}, "initial_option"),
    **dict.fromkeys(MULTI_OPTION_KINDS | {"multi_external_select"}, "initial_options"),
    "users_select": "initial_user",
    "multi_users_select": "initial_users",
    "conversations_select": "initial_conversation",
    "multi_conversations_select": "initial_conversations",
    "channels_select": "initial_channel",
    "multi_channels_select": "initial_channels",
    "datepicker": "initial_date",
    "timepicker": "initial_time",
}


def plain(obj: Any) -> str:
    """The text of a text object (plain or mrkdwn), as typed."""
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def options(element: JSON) -> list[tuple[str, str]]:
    """(value, label) of every option, groups flattened."""
    found = list(element.get("options", []))
    for group in element.get("option_groups", []):
        found += group.get("options", [])
    return [(str(o.get("value", "")), plain(o.get("text"))) for o in found]


def shown(element: JSON) -> Any:
    """What an input shows before anyone touches it: text, an option value or a list."""
    initial = element.get(INITIAL.get(element.get("type", ""), ""))
    if isinstance(initial, dict):
        return initial.get("value")
    if isinstance(initial, list):
        return [o.get("value") if isinstance(o, dict) else o for o in initial]
    return initial


def values_of(value: Any) -> list[Any]:
    """A shown value as a list: a multi-select's list, one value, or nothing."""
    return value if isinstance(value, list) else [] if value is None else [value]


def id_hint(kind: str) -> str:
    """The placeholder of a field where a channel id is typed by hand."""
    return "a channel id, e.g. C0…" if "channel" in kind or "conversation" in kind else ""


def form_values(view: JSON, form: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The modal's fields as :func:`~bot.sandbox.slack_driver.state_values` takes them, and
    the required ones left empty (which the Slack client refuses to submit)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input" or "block_id" not in block:
            continue
        block_id, kind = block["block_id"], block["element"].get("type", "")
        name = f"f.{block_id}"
        value: Any
        if kind in MULTI_ID_KINDS:
            value = [v.strip() for v in form.get(name, "").split(",") if v.strip()]
        elif kind.startswith("multi_") or kind == "checkboxes":
            value = [v for v in form.getlist(name) if v]
        elif kind in TEXT_KINDS:
            value = form.get(name, "")
        else:
            value = form.get(name, "").strip() or None
        if not block.get("optional") and value in (None, "", []):
            errors[block_id] = REQUIRED
        values[block_id] = value
    return values, errors
