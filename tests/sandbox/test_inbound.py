"""The sandbox plays the candidate over HTTP (``POST /sandbox/inbound/<kind>``), and the
sandbox Graph serves every message as MIME (``GET /me/messages/{id}/$value``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.sandbox.directory import Directory, SandboxUser
from bot.sandbox.graph import GraphSandbox
from bot.sandbox.mailstore import MailStore
from bot.sandbox.server import RunningServer, serve
from outreach.classify import classify
from outreach.mailmessage import from_mime

CLIENT = "scaleup-inbound-test"
SCOPES = ("User.Read", "Mail.ReadWrite", "Mail.Send")
CANDIDATE = "mei@talent.example"
NONHUMAN = Path(__file__).parents[1] / "fixtures" / "mail" / "nonhuman"


@dataclass
class Outside:
    server: RunningServer
    directory: Directory
    store: MailStore
    alice: SandboxUser
    graph: requests.Session

    @property
    def api(self) -> str:
        return self.server.url + "/v1.0"

    def inbound(self, kind: str, **fields: Any) -> requests.Response:
        return requests.post(f"{self.server.url}/sandbox/inbound/{kind}", json=fields, timeout=10)

    def arrived(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Deliver through HTTP; the message as Graph shows it, with its headers."""
        response = self.inbound(kind, **fields)
        assert response.status_code == 201, response.text
        made = response.json()
        message: dict[str, Any] = self.graph.get(
            f"{self.api}/me/messages/{made['id']}",
            params={
                "$select": "subject,from,conversationId,internetMessageId,body,"
                "internetMessageHeaders"
            },
        ).json()
        assert message["internetMessageId"] == made["internetMessageId"]
        assert message["conversationId"] == made["conversationId"]
        message["headers"] = {h["name"]: h["value"] for h in message["internetMessageHeaders"]}
        return message

    def mime(self, message_id: str) -> requests.Response:
        return self.graph.get(f"{self.api}/me/messages/{message_id}/$value")


@pytest.fixture
def outside() -> Iterator[Outside]:
    directory = Directory()
    alice = directory.add_user("alice@contoso.test", "Alice Recruiter")
    store = MailStore(directory)
    server = serve(GraphSandbox(directory, store).wsgi_app, name="graph-inbound-test")
    directory.consent(alice.id, CLIENT, SCOPES)
    token, _, _ = directory.issue_tokens(alice.id, CLIENT)
    graph = requests.Session()
    graph.headers["Authorization"] = f"Bearer {token}"
    yield Outside(server, directory, store, alice, graph)
    graph.close()
    server.stop()


def sent(box: Outside, subject: str = "Senior Python role") -> dict[str, Any]:
    """Alice emails the candidate; her Sent Items copy."""
    message = {
        "subject": subject,
        "body": {"contentType": "Text", "content": "Hi Mei, are you open to a chat?"},
        "toRecipients": [{"emailAddress": {"address": CANDIDATE}}],
    }
    assert box.graph.post(f"{box.api}/me/sendMail", json={"message": message}).status_code == 202
    [copy] = box.graph.get(
        f"{box.api}/me/mailFolders/sentitems/messages",
        params={"$select": "id,subject,conversationId,internetMessageId"},
    ).json()["value"]
    result: dict[str, Any] = copy
    return result


# -- each kind of inbound mail -------------------------------------------------------------
def test_a_reply_answers_the_sent_message_in_its_conversation(outside: Outside) -> None:
    ours = sent(outside)
    got = outside.arrived(
        "reply", to="alice@contoso.test", in_reply_to=ours["internetMessageId"], text="Yes!"
    )

    assert got["from"]["emailAddress"]["address"] == CANDIDATE
    assert got["subject"] == "RE: Senior Python role"
    assert got["headers"]["In-Reply-To"] == ours["internetMessageId"]
    assert ours["internetMessageId"] in got["headers"]["References"]
    assert got["conversationId"] == ours["conversationId"]
    assert got["body"]["content"].strip() == "Yes!"


def test_a_references_only_reply_from_another_address_with_its_own_subject(
    outside: Outside,
) -> None:
    ours = sent(outside)
    got = outside.arrived(
        "reply",
        to="alice@contoso.test",
        in_reply_to=ours["internetMessageId"],
        text="Mei here, from home.",
        references_only=True,
        subject="About the role",
        **{"from": "mei.private@home.example"},
    )

    assert got["from"]["emailAddress"]["address"] == "mei.private@home.example"
    assert got["subject"] == "About the role"
    assert "In-Reply-To" not in got["headers"]
    assert got["headers"]["References"] == ours["internetMessageId"]
    assert got["conversationId"] == ours["conversationId"]  # Exchange threads by References


def test_a_free_standing_message_answers_nothing(outside: Outside) -> None:
    ours = sent(outside)
    got = outside.arrived(
        "message",
        to="alice@contoso.test",
        subject="Hello",
        text="A new conversation.",
        **{"from": CANDIDATE},
    )

    assert got["subject"] == "Hello" and got["from"]["emailAddress"]["address"] == CANDIDATE
    assert "In-Reply-To" not in got["headers"] and "References" not in got["headers"]
    assert got["conversationId"] != ours["conversationId"]


def test_raw_mime_arrives_as_delivered_or_made_an_answer(outside: Outside) -> None:
    raw = (NONHUMAN / "lhost-outlook-01.eml").read_bytes()
    plain = outside.inbound("mime", to="alice@contoso.test", raw=raw.decode())
    assert plain.status_code == 201, plain.text
    served = outside.mime(plain.json()["id"])
    assert served.content == raw

    ours = sent(outside)
    got = outside.arrived(
        "mime", to="alice@contoso.test", raw=raw.decode(), in_reply_to=ours["internetMessageId"]
    )
    assert got["headers"]["In-Reply-To"] == ours["internetMessageId"]
    assert got["conversationId"] == ours["conversationId"]
    assert got["subject"] == "Delivery Status Notification (Failure)"


@pytest.mark.parametrize(
    ("kind", "status", "bounce_type"), [("hard", "5.1.1", "hard"), ("soft", "4.2.2", "soft")]
)
def test_an_exchange_ndr_names_the_failed_recipient_and_its_status(
    outside: Outside, kind: str, status: str, bounce_type: str
) -> None:
    ours = sent(outside)
    got = outside.arrived(
        "bounce", to="alice@contoso.test", in_reply_to=ours["internetMessageId"], type=kind
    )

    assert got["subject"] == "Undeliverable: Senior Python role"
    assert got["from"]["emailAddress"]["address"] == "postmaster@contoso.test"
    assert got["headers"]["Content-Type"].startswith("multipart/report;")
    mime = outside.mime(got["id"]).content
    assert f"Status: {status}".encode() in mime and f"rfc822;{CANDIDATE}".encode() in mime
    verdict = classify(from_mime(mime))
    assert (verdict.kind, verdict.bounce_type) == ("bounce", bounce_type)
    assert verdict.failed_recipients == [CANDIDATE]
    assert verdict.original_message_id == ours["internetMessageId"]


def test_an_out_of_office_reply_says_when_the_candidate_is_back(outside: Outside) -> None:
    ours = sent(outside)
    got = outside.arrived(
        "out-of-office",
        to="alice@contoso.test",
        in_reply_to=ours["internetMessageId"],
        until="2026-03-13",
    )

    assert got["subject"] == "Automatic reply: Senior Python role"
    assert got["from"]["emailAddress"]["address"] == CANDIDATE
    assert got["headers"]["Auto-Submitted"] == "auto-replied"
    assert "until 13 March 2026" in got["body"]["content"]
    assert got["conversationId"] == ours["conversationId"]


# -- refusals: one sentence each, nothing delivered -------------------------------------------
@pytest.mark.parametrize(
    ("kind", "fields", "said"),
    [
        ("reply", {"to": "nobody@contoso.test", "text": "Hi"}, "not a mailbox of the sandbox"),
        (
            "message",
            {"to": "nobody@elsewhere.example", "from": CANDIDATE, "subject": "Hi", "text": "Hi"},
            "not a mailbox of the sandbox",
        ),
        ("reply", {"to": "alice@contoso.test", "text": "Hi"}, "sent no message <nope@x>"),
        ("bounce", {"to": "alice@contoso.test"}, "sent no message <nope@x>"),
        (
            "out-of-office",
            {"to": "alice@contoso.test", "until": "2026-03-13"},
            "sent no message <nope@x>",
        ),
        ("postcard", {"to": "alice@contoso.test"}, "Unknown inbound kind 'postcard'"),
        ("reply", {"to": "alice@contoso.test"}, "'text' is missing"),
        ("bounce", {"to": "alice@contoso.test", "type": "medium"}, "hard or soft"),
        ("out-of-office", {"to": "alice@contoso.test", "until": "soon"}, "YYYY-MM-DD"),
    ],
)
def test_a_request_that_cannot_become_mail_is_refused_with_a_sentence(
    outside: Outside, kind: str, fields: dict[str, Any], said: str
) -> None:
    sent(outside)
    fields = {"in_reply_to": "<nope@x>", **fields}
    response = outside.inbound(kind, **fields)

    assert response.status_code == 400
    error = response.json()["error"]
    assert said in error and error.endswith(".")
    assert outside.store.inbox("alice@contoso.test") == []


def test_a_body_that_is_not_a_json_object_is_refused(outside: Outside) -> None:
    response = requests.post(
        f"{outside.server.url}/sandbox/inbound/reply", data="to=alice", timeout=10
    )
    assert response.status_code == 400
    assert response.json()["error"] == "The body must be a JSON object of the mail's fields."


# -- $value ----------------------------------------------------------------------------------
def test_value_serves_received_mime_as_delivered_labelled_text_plain(outside: Outside) -> None:
    raw = (NONHUMAN / "rhost-outlook-01.eml").read_bytes()
    message = outside.store.deliver_mime("alice@contoso.test", raw)

    served = outside.mime(message.id)

    assert served.status_code == 200
    assert served.headers["Content-Type"].startswith("text/plain")
    assert served.headers["request-id"]
    assert served.content == raw
    # The delivery-status part Graph's JSON leaves out is there: a soft bounce.
    verdict = classify(from_mime(served.content))
    assert (verdict.kind, verdict.bounce_type) == ("bounce", "soft")


def test_value_writes_sent_items_drafts_and_tenant_mail_from_their_properties(
    outside: Outside,
) -> None:
    ours = sent(outside, subject="Rôle senior")
    draft = outside.graph.post(
        f"{outside.api}/me/messages",
        json={"subject": "Draft", "body": {"contentType": "HTML", "content": "<p>Hi</p>"}},
    ).json()

    to_self = {
        "subject": "Note to self",
        "body": {"contentType": "Text", "content": "Call Mei back."},
        "toRecipients": [{"emailAddress": {"address": "alice@contoso.test"}}],
    }
    outside.graph.post(f"{outside.api}/me/sendMail", json={"message": to_self})
    [received] = outside.store.inbox("alice@contoso.test")

    copy = message_from_bytes(outside.mime(ours["id"]).content, policy=policy.default)
    written = message_from_bytes(outside.mime(draft["id"]).content, policy=policy.default)
    delivered = message_from_bytes(outside.mime(received.id).content, policy=policy.default)

    assert copy["Subject"] == "Rôle senior" and copy["To"] == CANDIDATE
    assert copy["From"] == "Alice Recruiter <alice@contoso.test>"
    assert copy["Message-ID"] == ours["internetMessageId"]
    body = copy.get_body()
    assert body is not None and "are you open to a chat?" in body.get_content()
    assert written["Subject"] == "Draft" and written.get_content_type() == "text/html"
    assert "Received" not in written and "<p>Hi</p>" in written.get_content()
    assert delivered["Message-ID"] == received.internet_message_id and delivered["Received"]
    assert delivered["Subject"] == "Note to self" and "Call Mei back." in delivered.get_content()


def test_value_is_refused_under_mail_folders_for_an_unknown_id_and_to_read_basic(
    outside: Outside,
) -> None:
    ours = sent(outside)
    in_folder = outside.graph.get(
        f"{outside.api}/me/mailFolders/sentitems/messages/{ours['id']}/$value"
    )
    unknown = outside.mime("AAMkAGone=")
    outside.directory.consent(outside.alice.id, CLIENT + "-basic", ("Mail.ReadBasic",))
    token, _, _ = outside.directory.issue_tokens(outside.alice.id, CLIENT + "-basic")
    basic = requests.get(
        f"{outside.api}/me/messages/{ours['id']}/$value",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )

    assert (in_folder.status_code, in_folder.json()["error"]["code"]) == (
        405,
        "ErrorInvalidRequest",
    )
    assert unknown.status_code in (400, 404)
    assert basic.status_code == 403
