"""The sandbox Graph over real loopback HTTP, driven with ``requests`` as the bot drives Graph."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.sandbox.directory import Directory, SandboxUser
from bot.sandbox.graph import GraphSandbox
from bot.sandbox.graph_faults import Faults
from bot.sandbox.mailstore import MailStore
from bot.sandbox.server import RunningServer, serve
from tests.fakes import MONDAY
from tests.fakes import FakeClock as WallClock

CLIENT = "scaleup-test-client"
ALL_SCOPES = ("User.Read", "Mail.ReadWrite", "Mail.Send", "MailboxSettings.ReadWrite")
NDR_CLASS = "String 0x001A"
MARKER = "String {00020386-0000-0000-C000-000000000046} Name X-Outreach-Id"
_FIXTURE_DIRS = [
    Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "mail" / "nonhuman",
    Path("/work/shared/fixtures/mail/nonhuman"),
]


class FakeClock:
    """Monotonic time that tests can move forward instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Sandbox:
    server: RunningServer
    directory: Directory
    store: MailStore
    faults: Faults
    clock: FakeClock
    alice: SandboxUser
    bob: SandboxUser
    sessions: list[requests.Session] = field(default_factory=list)

    @property
    def api(self) -> str:
        return self.server.url + "/v1.0"

    def session(self, user: SandboxUser, scopes: tuple[str, ...] = ALL_SCOPES) -> requests.Session:
        self.directory.consent(user.id, CLIENT + "-" + "-".join(scopes), scopes)
        token, _, _ = self.directory.issue_tokens(user.id, CLIENT + "-" + "-".join(scopes))
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        self.sessions.append(session)
        return session


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    directory = Directory()
    alice = directory.add_user("alice@contoso.test", "Alice Recruiter", aliases=["al@contoso.test"])
    bob = directory.add_user("bob@contoso.test", "Bob Candidate")
    clock = FakeClock()
    faults = Faults(seed=1, clock=clock)
    store = MailStore(directory)
    server = serve(GraphSandbox(directory, store, faults=faults).wsgi_app, name="graph-test")
    box = Sandbox(server, directory, store, faults, clock, alice, bob)
    yield box
    for session in box.sessions:
        session.close()
    server.stop()


def fixture_mail(name: str) -> bytes:
    for folder in _FIXTURE_DIRS:
        if (folder / name).exists():
            return (folder / name).read_bytes()
    pytest.skip(f"mail fixture {name} is not present (shared/fixtures/mail/nonhuman)")


def to(*addresses: str) -> list[dict[str, Any]]:
    return [{"emailAddress": {"address": a}} for a in addresses]


def create_draft(box: Sandbox, session: requests.Session, **extra: Any) -> dict[str, Any]:
    body = {
        "subject": "Senior Python role",
        "body": {"contentType": "Text", "content": "Hi Bob, are you open to a chat?"},
        "toRecipients": to(box.bob.mail),
        **extra,
    }
    response = session.post(f"{box.api}/me/messages", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def error_of(response: requests.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}
    return error


# -- identity and access -----------------------------------------------------------------------
def test_me_default_properties_leave_out_proxy_addresses(sandbox: Sandbox) -> None:
    me = sandbox.session(sandbox.alice).get(f"{sandbox.api}/me").json()

    assert me["id"] == sandbox.alice.id
    assert me["mail"] == "alice@contoso.test"
    assert me["displayName"] == "Alice Recruiter"
    assert "proxyAddresses" not in me


def test_me_select_returns_only_selected_properties(sandbox: Sandbox) -> None:
    session = sandbox.session(sandbox.alice)
    me = session.get(
        f"{sandbox.api}/me", params={"$select": "id,mail,userPrincipalName,proxyAddresses"}
    ).json()

    assert {k for k in me if not k.startswith("@")} == {
        "id",
        "mail",
        "userPrincipalName",
        "proxyAddresses",
    }
    assert me["proxyAddresses"] == ["SMTP:alice@contoso.test", "smtp:al@contoso.test"]
    bad = session.get(f"{sandbox.api}/me", params={"$select": "id,nope"})
    assert bad.status_code == 400


def test_requests_without_a_valid_token_get_401(sandbox: Sandbox) -> None:
    missing = requests.get(f"{sandbox.api}/me/messages", timeout=5)
    session = sandbox.session(sandbox.alice)
    sandbox.directory.expire_access_tokens(sandbox.alice.id)
    expired = session.get(f"{sandbox.api}/me")

    for response in (missing, expired):
        assert response.status_code == 401
        assert error_of(response)["code"] == "InvalidAuthenticationToken"


def test_a_missing_scope_or_another_mailbox_is_403(sandbox: Sandbox) -> None:
    profile_only = sandbox.session(sandbox.alice, ("User.Read",))
    no_scope = profile_only.get(f"{sandbox.api}/me/messages")
    alice = sandbox.session(sandbox.alice)
    others = alice.get(f"{sandbox.api}/users/{sandbox.bob.mail}/messages")
    own_by_alias = alice.get(
        f"{sandbox.api}/users('al@contoso.test')/mailFolders('Inbox')/messages"
    )

    assert no_scope.status_code == 403 and error_of(no_scope)["code"] == "ErrorAccessDenied"
    assert others.status_code == 403 and error_of(others)["code"] == "ErrorAccessDenied"
    assert own_by_alias.status_code == 200


# -- drafts and sending ------------------------------------------------------------------------
def test_sending_a_draft_gives_the_sent_copy_a_new_id(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    draft = create_draft(sandbox, alice)
    assert draft["isDraft"] is True
    assert draft["internetMessageId"].endswith("@sandbox.scaleup.local>")

    sent = alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send")
    gone = alice.get(f"{sandbox.api}/me/messages/{draft['id']}")
    found = alice.get(
        f"{sandbox.api}/me/mailFolders('SentItems')/messages",
        params={
            "$filter": f"internetMessageId eq '{draft['internetMessageId']}'",
            "$select": "id,conversationId,internetMessageId,sentDateTime,isDraft",
        },
    ).json()["value"]

    assert sent.status_code == 202 and sent.content == b""
    assert gone.status_code == 404 and error_of(gone)["code"] == "ErrorItemNotFound"
    assert len(found) == 1
    copy = found[0]
    assert copy["id"] != draft["id"]
    assert copy["conversationId"] == draft["conversationId"]
    assert copy["isDraft"] is False and copy["sentDateTime"]
    assert set(copy) == {
        "@odata.etag",
        "id",
        "conversationId",
        "internetMessageId",
        "sentDateTime",
        "isDraft",
    }
    delivered = sandbox.store.inbox(sandbox.bob.mail)
    assert [m.internet_message_id for m in delivered] == [draft["internetMessageId"]]
    assert delivered[0].header("From") == "Alice Recruiter <alice@contoso.test>"


def test_custom_headers_follow_graphs_rules(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    not_x = alice.post(
        f"{sandbox.api}/me/messages",
        json={
            "subject": "x",
            "internetMessageHeaders": [{"name": "In-Reply-To", "value": "<a@b>"}],
        },
    )
    six = alice.post(
        f"{sandbox.api}/me/messages",
        json={
            "subject": "x",
            "internetMessageHeaders": [{"name": f"X-Custom-{n}", "value": "v"} for n in range(6)],
        },
    )
    draft = create_draft(
        sandbox, alice, internetMessageHeaders=[{"name": "X-Outreach-Id", "value": "o-1"}]
    )
    selected = alice.get(
        f"{sandbox.api}/me/messages/{draft['id']}", params={"$select": "internetMessageHeaders"}
    ).json()
    patched = alice.patch(
        f"{sandbox.api}/me/messages/{draft['id']}",
        json={"internetMessageHeaders": [{"name": "X-Other", "value": "v"}]},
    )

    assert not_x.status_code == 400
    assert error_of(not_x) | {"innerError": None} == {
        "code": "InvalidInternetMessageHeader",
        "message": "The internet message header name 'In-Reply-To' should start with 'x-' or 'X-'.",
        "innerError": None,
    }
    assert six.status_code == 400
    assert error_of(six)["code"] == "InvalidInternetMessageHeaderCollection"
    assert error_of(six)["message"] == (
        "Maximum number of headers in one message should be less than or equal to 5."
    )
    assert "internetMessageHeaders" not in draft
    assert selected["internetMessageHeaders"] == [{"name": "X-Outreach-Id", "value": "o-1"}]
    assert patched.status_code == 400


def test_only_drafts_accept_changes_to_recipients_and_body(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    draft = create_draft(sandbox, alice)
    update = alice.patch(
        f"{sandbox.api}/me/messages/{draft['id']}",
        json={
            "toRecipients": to("carol@outside.example"),
            "subject": "Changed",
            "internetMessageId": "<custom-1@scaleup.example>",
        },
    )
    assert update.status_code == 200, update.text
    assert update.json()["toRecipients"][0]["emailAddress"]["address"] == "carol@outside.example"
    alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send")
    copy = alice.get(
        f"{sandbox.api}/me/mailFolders/sentitems/messages",
        params={"$filter": "internetMessageId eq '<custom-1@scaleup.example>'"},
    ).json()
    sent_id = copy["value"][0]["id"]

    refused = alice.patch(f"{sandbox.api}/me/messages/{sent_id}", json={"subject": "Later"})
    tagged = alice.patch(f"{sandbox.api}/me/messages/{sent_id}", json={"categories": ["Outreach"]})

    assert refused.status_code == 400
    assert error_of(refused)["code"] == "ErrorInvalidPropertyUpdateSentMessage"
    assert tagged.status_code == 200 and tagged.json()["categories"] == ["Outreach"]
    assert [m.subject for m in sandbox.store.inbox("carol@outside.example")] == ["Changed"]


def test_send_mail_returns_202_and_honours_save_to_sent_items(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    kept = alice.post(
        f"{sandbox.api}/me/sendMail",
        json={
            "message": {"subject": "Kept", "toRecipients": to(sandbox.bob.mail)},
        },
    )
    unsaved = alice.post(
        f"{sandbox.api}/me/sendMail",
        json={
            "message": {"subject": "Not kept", "toRecipients": to(sandbox.bob.mail)},
            "saveToSentItems": False,
        },
    )
    from_alias = alice.post(
        f"{sandbox.api}/me/sendMail",
        json={
            "message": {
                "subject": "Alias",
                "toRecipients": to(sandbox.bob.mail),
                "from": {"emailAddress": {"address": "al@contoso.test"}},
            },
        },
    )
    send_as = alice.post(
        f"{sandbox.api}/me/sendMail",
        json={
            "message": {
                "subject": "Spoof",
                "toRecipients": to(sandbox.bob.mail),
                "from": {"emailAddress": {"address": sandbox.bob.mail}},
            },
        },
    )

    assert [r.status_code for r in (kept, unsaved, from_alias)] == [202, 202, 202]
    assert kept.content == b""
    assert [m.subject for m in sandbox.store.sent_items(sandbox.alice.mail)] == ["Kept", "Alias"]
    inbox = sandbox.store.inbox(sandbox.bob.mail)
    assert [m.subject for m in inbox] == ["Kept", "Not kept", "Alias"]
    assert inbox[2].from_ is not None and inbox[2].from_.address == "alice@contoso.test"
    assert send_as.status_code == 403 and error_of(send_as)["code"] == "ErrorSendAsDenied"


# -- threading -----------------------------------------------------------------------------------
def test_create_reply_threads_the_answer_under_the_original(sandbox: Sandbox) -> None:
    alice, bob = sandbox.session(sandbox.alice), sandbox.session(sandbox.bob)
    draft = create_draft(sandbox, alice)
    alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send")
    received = bob.get(f"{sandbox.api}/me/mailFolders('inbox')/messages").json()["value"][0]

    reply = bob.post(
        f"{sandbox.api}/me/messages/{received['id']}/createReply",
        json={"comment": "Yes, happy to talk."},
    )
    assert reply.status_code == 201
    answer = reply.json()
    both = bob.post(
        f"{sandbox.api}/me/messages/{received['id']}/createReply",
        json={"comment": "x", "message": {"body": {"content": "y"}}},
    )
    bob.post(f"{sandbox.api}/me/messages/{answer['id']}/send")
    back = sandbox.store.inbox(sandbox.alice.mail)

    assert answer["subject"] == "RE: Senior Python role"
    assert answer["isDraft"] is True
    assert answer["toRecipients"] == [
        {"emailAddress": {"name": "Alice Recruiter", "address": "alice@contoso.test"}}
    ]
    assert answer["conversationId"] == received["conversationId"]
    assert both.status_code == 400
    assert len(back) == 1
    assert back[0].header("In-Reply-To") == draft["internetMessageId"]
    assert back[0].header("References") == draft["internetMessageId"]
    assert back[0].conversation_id == draft["conversationId"]
    assert back[0].unique_body == "Yes, happy to talk."


def test_follow_up_replies_to_the_sent_copy_then_retargets_the_candidate(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    draft = create_draft(sandbox, alice)
    alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send")
    sent = sandbox.store.sent_items(sandbox.alice.mail)[0]

    follow_up = alice.post(
        f"{sandbox.api}/me/messages/{sent.id}/createReply", json={"comment": "Just bumping this."}
    ).json()
    addressed_to_self = follow_up["toRecipients"][0]["emailAddress"]["address"]
    alice.patch(
        f"{sandbox.api}/me/messages/{follow_up['id']}", json={"toRecipients": to(sandbox.bob.mail)}
    )
    alice.post(f"{sandbox.api}/me/messages/{follow_up['id']}/send")
    first, second = sandbox.store.inbox(sandbox.bob.mail)

    assert addressed_to_self == "alice@contoso.test"
    assert second.in_reply_to == first.internet_message_id
    assert second.conversation_id == first.conversation_id


def test_inbound_mail_joins_a_conversation_by_references_else_by_subject(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    draft = create_draft(sandbox, alice)
    alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send")

    threaded = sandbox.store.deliver(
        sandbox.alice.mail,
        from_address="Jane <jane@candidate.example>",
        subject="Changed subject",
        body="Sounds good!\n\nOn Monday, Alice wrote:\n> are you open",
        in_reply_to=draft["internetMessageId"],
    )
    loose_1 = sandbox.store.deliver(
        sandbox.alice.mail,
        from_address="x@other.example",
        subject="RE: Quarterly numbers",
        body="one",
    )
    loose_2 = sandbox.store.deliver(
        sandbox.alice.mail,
        from_address="y@other.example",
        subject="Fw: quarterly NUMBERS",
        body="two",
    )
    by_conversation = alice.get(
        f"{sandbox.api}/me/messages",
        params={
            "$filter": f"conversationId eq '{draft['conversationId']}'",
            "$select": "id,subject",
        },
    ).json()["value"]

    assert threaded.conversation_id == draft["conversationId"]
    assert threaded.unique_body == "Sounds good!"
    assert loose_1.conversation_id == loose_2.conversation_id != draft["conversationId"]
    assert sorted(m["subject"] for m in by_conversation) == [
        "Changed subject",
        "Senior Python role",
    ]


# -- received MIME -------------------------------------------------------------------------------
def test_a_multipart_report_bounce_keeps_its_headers_and_names_the_failed_address(
    sandbox: Sandbox,
) -> None:
    alice = sandbox.session(sandbox.alice)
    sandbox.store.deliver_mime(sandbox.alice.mail, fixture_mail("rfc3464-01.eml"))
    message = sandbox.store.inbox(sandbox.alice.mail)[0]
    graph = alice.get(
        f"{sandbox.api}/me/messages/{message.id}",
        params={
            "$select": "subject,toRecipients,body,internetMessageHeaders,from",
            "$expand": f"singleValueExtendedProperties($filter=id eq '{NDR_CLASS}')",
        },
    ).json()
    headers = {h["name"]: h["value"] for h in graph["internetMessageHeaders"]}

    assert graph["subject"] == "Returned mail: see transcript for details"
    assert graph["toRecipients"][0]["emailAddress"]["address"] == "userunknown@bouncehammer.jp"
    assert graph["from"]["emailAddress"]["address"] == "MAILER-DAEMON@smtpgw.example.jp"
    assert graph["body"]["content"].startswith(
        "Your message to <nekochan> was automatically rejected"
    )
    assert headers["Content-Type"].startswith("multipart/report; report-type=delivery-status;")
    assert headers["Auto-Submitted"] == "auto-generated (failure)"
    assert [h["name"] for h in graph["internetMessageHeaders"]] == [
        "Return-Path",
        "Received",
        "Date",
        "From",
        "Message-Id",
        "To",
        "MIME-Version",
        "Content-Type",
        "Subject",
        "Auto-Submitted",
    ]
    assert graph["singleValueExtendedProperties"] == [
        {"id": NDR_CLASS, "value": "REPORT.IPM.Note.NDR"}
    ]


def test_non_utf8_charsets_and_quoted_printable_are_decoded(sandbox: Sandbox) -> None:
    office365 = sandbox.store.deliver_mime(
        sandbox.alice.mail, fixture_mail("lhost-office365-01.eml")
    )
    workmail = sandbox.store.deliver_mime(
        sandbox.alice.mail, fixture_mail("lhost-amazonworkmail-01.eml")
    )
    kddi = sandbox.store.deliver_mime(sandbox.alice.mail, fixture_mail("lhost-kddi-01.eml"))

    assert office365.subject == "Undeliverable: Nyaan"
    assert "The email address wasn\u2019t found" in office365.body  # windows-1252 =92
    assert office365.message_class == "REPORT.IPM.Note.NDR"
    assert office365.header("X-MS-Exchange-Message-Is-Ndr") == ""
    assert workmail.subject == "Delivery Status Notification (Failure)"  # iso-8859-15 Q word
    assert (
        workmail.header("Subject") == "=?iso-8859-15?Q?Delivery_Status_Notification_=28Failure=29?="
    )
    assert "following recipients:\r\nkijitora@example.jp" in workmail.body
    assert kddi.subject == "メールエラー通知"
    assert kddi.body.startswith(
        "送信先のメールボックスが一杯のため"
    )  # labelled ISO-2022-JP, really UTF-8


def test_a_latin1_base64_html_alternative_is_read_as_html(sandbox: Sandbox) -> None:
    mime = EmailMessage()
    mime["From"] = "Zoë <zoe@candidate.example>"
    mime["To"] = sandbox.alice.mail
    mime["Subject"] = "Réponse"
    mime["Message-ID"] = "<latin-1@candidate.example>"
    mime.set_content("Très intéressée.".encode("latin-1"), "text", "plain", cte="base64")
    mime.add_alternative("<p>Très intéressée.</p>".encode("latin-1"), "text", "html", cte="base64")
    for part in mime.iter_parts():
        part.set_param("charset", "iso-8859-1")
    alice = sandbox.session(sandbox.alice)

    message = sandbox.store.deliver_mime(sandbox.alice.mail, mime.as_bytes())
    as_text = alice.get(
        f"{sandbox.api}/me/messages/{message.id}",
        params={"$select": "body"},
        headers={"Prefer": 'outlook.body-content-type="text"'},
    )

    assert message.subject == "Réponse"
    assert message.from_ is not None and message.from_.name == "Zoë"
    assert message.body_type == "html" and "<p>Très intéressée.</p>" in message.body
    assert as_text.json()["body"] == {"contentType": "text", "content": "Très intéressée."}
    assert as_text.headers["Preference-Applied"] == 'outlook.body-content-type="text"'


def test_bounces_and_out_of_office_replies_come_back_to_the_sender(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    sandbox.store.reject("gone@candidate.example")
    sandbox.store.set_auto_reply(sandbox.bob.mail, "I am away until Monday.")
    for address in ("gone@candidate.example", sandbox.bob.mail, sandbox.bob.mail):
        alice.post(
            f"{sandbox.api}/me/sendMail",
            json={"message": {"subject": "Role", "toRecipients": to(address)}},
        )
    ndrs = alice.get(
        f"{sandbox.api}/me/mailFolders/inbox/messages",
        params={
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{NDR_CLASS}' "
            "and ep/value eq 'REPORT.IPM.Note.NDR')",
        },
    ).json()["value"]
    inbox = sandbox.store.inbox(sandbox.alice.mail)

    assert len(ndrs) == 1
    assert ndrs[0]["subject"] == "Undeliverable: Role"
    assert ndrs[0]["toRecipients"][0]["emailAddress"]["address"] == "gone@candidate.example"
    assert [m.subject for m in inbox] == ["Undeliverable: Role", "Automatic reply: Role"]
    assert inbox[1].header("Auto-Submitted") == "auto-replied"


# -- querying ------------------------------------------------------------------------------------
def test_filters_and_paging(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    for n in range(5):
        sandbox.store.deliver(
            sandbox.alice.mail, from_address="c@candidate.example", subject=f"Reply {n}", body="hi"
        )
    create_draft(sandbox, alice)
    url = f"{sandbox.api}/me/messages"

    page = alice.get(
        url,
        params={
            "$filter": "isDraft eq false and receivedDateTime ge 2000-01-01T00:00:00Z",
            "$top": "2",
            "$select": "subject",
        },
    ).json()
    rest = alice.get(page["@odata.nextLink"]).json()
    last = alice.get(rest["@odata.nextLink"]).json()
    unsupported = alice.get(url, params={"$filter": "bodyPreview eq 'hi'"})
    inefficient = alice.get(
        url, params={"$filter": "isDraft eq false", "$orderby": "receivedDateTime desc"}
    )

    subjects = [m["subject"] for p in (page, rest, last) for m in p["value"]]
    assert sorted(subjects) == [f"Reply {n}" for n in range(5)]
    assert "@odata.nextLink" not in last
    assert unsupported.status_code == 400
    assert error_of(unsupported)["code"] == "ErrorInvalidUrlQueryFilter"
    assert inefficient.status_code == 400 and error_of(inefficient)["code"] == "InefficientFilter"


def test_an_extended_property_marks_the_sent_copy(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    draft = create_draft(
        sandbox, alice, singleValueExtendedProperties=[{"id": MARKER, "value": "step-42"}]
    )
    alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send")

    found = alice.get(
        f"{sandbox.api}/me/mailFolders('sentitems')/messages",
        params={
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{MARKER}' and ep/value eq 'step-42')",
        },
    ).json()["value"]

    assert [m["internetMessageId"] for m in found] == [draft["internetMessageId"]]
    assert sandbox.store.inbox(sandbox.bob.mail)[0].header("X-Outreach-Id") == "step-42"


def test_delta_pages_then_reports_only_changes(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    first = [
        sandbox.store.deliver(
            sandbox.alice.mail, from_address="c@candidate.example", subject=f"Reply {n}", body="hi"
        )
        for n in range(5)
    ]
    url = f"{sandbox.api}/me/mailFolders('inbox')/messages/delta"
    prefer = {"Prefer": "odata.maxpagesize=2"}

    pages = [alice.get(url, params={"$select": "subject,isRead"}, headers=prefer).json()]
    while "@odata.nextLink" in pages[-1]:
        pages.append(alice.get(pages[-1]["@odata.nextLink"], headers=prefer).json())
    sandbox.store.deliver(
        sandbox.alice.mail, from_address="c@candidate.example", subject="Late", body="x"
    )
    alice.patch(f"{sandbox.api}/me/messages/{first[0].id}", json={"isRead": True})
    alice.delete(f"{sandbox.api}/me/messages/{first[1].id}")
    changes = alice.get(pages[-1]["@odata.deltaLink"]).json()
    quiet = alice.get(changes["@odata.deltaLink"]).json()
    bogus = alice.get(url, params={"$deltatoken": "not-a-token"})

    assert [len(p["value"]) for p in pages] == [2, 2, 1]
    assert all(
        set(m) == {"@odata.type", "@odata.etag", "id", "subject", "isRead"}
        for p in pages
        for m in p["value"]
    )
    assert "@odata.deltaLink" in pages[-1]
    by_id = {m["id"]: m for m in changes["value"]}
    assert by_id[first[0].id]["isRead"] is True
    assert by_id[first[1].id]["@removed"] == {"reason": "deleted"}
    assert [
        m["subject"] for m in changes["value"] if "subject" in m and m["id"] != first[0].id
    ] == ["Late"]
    assert len(changes["value"]) == 3
    assert quiet["value"] == []
    assert bogus.status_code == 410 and error_of(bogus)["code"] == "SyncStateNotFound"


def test_master_categories(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    url = f"{sandbox.api}/me/outlook/masterCategories"
    created = alice.post(url, json={"displayName": "Outreach: Replied", "color": "preset4"})
    duplicate = alice.post(url, json={"displayName": "outreach: replied", "color": "preset7"})
    bad_color = alice.post(url, json={"displayName": "Other", "color": "preset25"})
    names = [c["displayName"] for c in alice.get(url).json()["value"]]

    assert created.status_code == 201
    assert created.json()["color"] == "preset4"
    assert duplicate.status_code == 409
    assert bad_color.status_code == 400
    assert "Outreach: Replied" in names and "Other" not in names


# -- faults --------------------------------------------------------------------------------------
def test_a_429_blocks_the_mailbox_until_retry_after_has_passed(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    sandbox.faults.configure(throttle_rate=1.0, retry_after=3)
    throttled = alice.get(f"{sandbox.api}/me/messages")
    sandbox.faults.configure(throttle_rate=0.0)
    too_early = alice.get(f"{sandbox.api}/me/messages")
    sandbox.clock.advance(3.0)
    on_time = alice.get(f"{sandbox.api}/me/messages")

    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert error_of(throttled)["code"] == "TooManyRequests"
    assert too_early.status_code == 429
    assert on_time.status_code == 200
    assert sandbox.faults.early_retries(sandbox.alice.mail) == 1
    assert [r.early_retry for r in sandbox.faults.log()] == [False, True, False]


def test_a_fifth_concurrent_request_for_a_mailbox_is_refused(sandbox: Sandbox) -> None:
    sessions = [sandbox.session(sandbox.alice) for _ in range(5)]
    sandbox.faults.configure(latency=0.3)
    barrier = threading.Barrier(5)
    statuses: list[requests.Response] = []

    def call(session: requests.Session) -> None:
        barrier.wait()
        statuses.append(session.get(f"{sandbox.api}/me/messages", timeout=5))

    threads = [threading.Thread(target=call, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    refused = [r for r in statuses if r.status_code == 429]
    assert sorted(r.status_code for r in statuses) == [200, 200, 200, 200, 429]
    assert error_of(refused[0]) | {"innerError": None} == {
        "code": "ApplicationThrottled",
        "message": "Application is over its MailboxConcurrency limit.",
        "innerError": None,
    }
    assert sandbox.faults.peak_concurrency(sandbox.alice.mail) == 5
    assert [r.fault for r in sandbox.faults.log()].count("concurrency") == 1


def test_a_send_that_times_out_was_still_sent(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    draft = create_draft(sandbox, alice)
    sandbox.faults.configure(timeout_after_effect_rate=1.0, timeout_stall=0.5)

    with pytest.raises(requests.exceptions.ReadTimeout):
        alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send", timeout=0.2)

    assert [m.internet_message_id for m in sandbox.store.sent_items(sandbox.alice.mail)] == [
        draft["internetMessageId"]
    ]
    assert len(sandbox.store.inbox(sandbox.bob.mail)) == 1


def test_fail_next_answers_one_matching_request(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    drafts = [create_draft(sandbox, alice) for _ in range(2)]
    sandbox.faults.fail_next("POST", r"/send$", 504, after_effect=True)

    first = alice.post(f"{sandbox.api}/me/messages/{drafts[0]['id']}/send")
    second = alice.post(f"{sandbox.api}/me/messages/{drafts[1]['id']}/send")

    assert (first.status_code, second.status_code) == (504, 202)
    assert len(sandbox.store.sent_items(sandbox.alice.mail)) == 2


def test_a_503_carries_retry_after_but_does_not_block_the_mailbox(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    sandbox.faults.configure(unavailable_rate=1.0, retry_after=7)
    down = alice.get(f"{sandbox.api}/me/messages")
    sandbox.faults.configure(unavailable_rate=0.0)
    back = alice.get(f"{sandbox.api}/me/messages")

    assert down.status_code == 503 and down.headers["Retry-After"] == "7"
    assert error_of(down)["code"] == "ServiceUnavailable"
    assert back.status_code == 200
    assert sandbox.faults.early_retries() == 0


def test_reply_and_reply_all_send_at_once(sandbox: Sandbox) -> None:
    alice, bob = sandbox.session(sandbox.alice), sandbox.session(sandbox.bob)
    alice.post(
        f"{sandbox.api}/me/sendMail",
        json={
            "message": {
                "subject": "Panel",
                "toRecipients": to(sandbox.bob.mail),
                "ccRecipients": to("hm@outside.example"),
            }
        },
    )
    received = sandbox.store.inbox(sandbox.bob.mail)[0]

    one = bob.post(f"{sandbox.api}/me/messages/{received.id}/reply", json={"comment": "Thanks"})
    everyone = bob.post(
        f"{sandbox.api}/me/messages/{received.id}/replyAll", json={"comment": "All"}
    )

    assert (one.status_code, everyone.status_code) == (202, 202)
    assert [m.subject for m in sandbox.store.inbox(sandbox.alice.mail)] == [
        "RE: Panel",
        "RE: Panel",
    ]
    assert [m.subject for m in sandbox.store.inbox("hm@outside.example")] == ["Panel", "RE: Panel"]
    assert len(sandbox.store.sent_items(sandbox.bob.mail)) == 2


def test_well_known_folders_resolve_by_any_spelling(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    listed = alice.get(f"{sandbox.api}/me/mailFolders").json()["value"]
    ids = {f["displayName"]: f["id"] for f in listed}
    spellings = ["inbox", "Inbox", "('inbox')", "('INBOX')", "/" + ids["Inbox"]]
    resolved = [
        alice.get(f"{sandbox.api}/me/mailFolders{'' if s[0] in '(/' else '/'}{s}").json()["id"]
        for s in spellings
    ]
    unknown = alice.get(f"{sandbox.api}/me/mailFolders/nosuchfolder")

    assert set(ids) >= {"Inbox", "Drafts", "Sent Items"}
    assert resolved == [ids["Inbox"]] * len(spellings)
    assert alice.get(f"{sandbox.api}/me/mailFolders('sentitems')").json()["id"] == ids["Sent Items"]
    assert unknown.status_code == 400 and error_of(unknown)["code"] == "ErrorInvalidIdMalformed"


def test_delta_filtered_by_received_time_keeps_the_filter_in_its_token(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    sandbox.store.deliver(
        sandbox.alice.mail, from_address="c@candidate.example", subject="Old", body="x"
    )
    url = f"{sandbox.api}/me/mailFolders/inbox/messages/delta"
    future = alice.get(url, params={"$filter": "receivedDateTime ge 2999-01-01T00:00:00Z"}).json()
    past = alice.get(url, params={"$filter": "receivedDateTime gt 2000-01-01T00:00:00Z"}).json()
    sandbox.store.deliver(
        sandbox.alice.mail, from_address="c@candidate.example", subject="New", body="x"
    )
    bad = alice.get(url, params={"$filter": "subject eq 'Old'"})

    assert future["value"] == []
    assert [m["subject"] for m in past["value"]] == ["Old"]
    assert alice.get(future["@odata.deltaLink"]).json()["value"] == []
    assert [m["subject"] for m in alice.get(past["@odata.deltaLink"]).json()["value"]] == ["New"]
    assert bad.status_code == 400


def test_errors_carry_the_request_ids_of_their_response(sandbox: Sandbox) -> None:
    response = sandbox.session(sandbox.alice).get(
        f"{sandbox.api}/me/messages/AAMkAnotthere=", headers={"client-request-id": "abc-123"}
    )

    inner = error_of(response)["innerError"]
    assert response.status_code == 404
    assert inner["request-id"] == response.headers["request-id"]
    assert inner["client-request-id"] == response.headers["client-request-id"] == "abc-123"


def test_read_basic_hides_bodies_and_unknown_properties_are_refused(sandbox: Sandbox) -> None:
    sandbox.store.deliver(
        sandbox.alice.mail, from_address="c@candidate.example", subject="Hi", body="Secret"
    )
    basic = sandbox.session(sandbox.alice, ("Mail.ReadBasic",))
    alice = sandbox.session(sandbox.alice)

    listed = basic.get(f"{sandbox.api}/me/messages").json()["value"][0]
    typo = alice.post(
        f"{sandbox.api}/me/messages", json={"subject": "x", "toRecipient": to("a@b.example")}
    )

    assert listed["subject"] == "Hi"
    assert not {"body", "bodyPreview", "uniqueBody"} & set(listed)
    assert typo.status_code == 400 and error_of(typo)["code"] == "RequestBodyRead"
    assert "'toRecipient'" in error_of(typo)["message"]


# -- asynchronous sending and Exchange's sending limits ---------------------------------------------
FLAGS = "Integer 0x0E07"  # PR_MESSAGE_FLAGS: 0x1 read, 0x4 submitted, 0x8 unsent


def store_clock(box: Sandbox) -> WallClock:
    clock = WallClock(MONDAY)
    box.store.clock = clock.now
    return clock


def flags_of(box: Sandbox, session: requests.Session, message_id: str) -> requests.Response:
    return session.get(
        f"{box.api}/me/messages/{message_id}",
        params={"$expand": f"singleValueExtendedProperties($filter=id eq '{FLAGS}')"},
    )


def test_a_delivery_delay_keeps_the_sent_draft_in_drafts_marked_as_submitted(
    sandbox: Sandbox,
) -> None:
    clock = store_clock(sandbox)
    sandbox.store.configure_delivery(delay=600)
    alice = sandbox.session(sandbox.alice)
    draft = create_draft(sandbox, alice)
    before = flags_of(sandbox, alice, draft["id"]).json()["singleValueExtendedProperties"]

    sent = alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send")
    clock.advance(seconds=599)
    waiting = flags_of(sandbox, alice, draft["id"])

    assert sent.status_code == 202
    assert before == [{"id": FLAGS, "value": "9"}]  # read, unsent
    assert waiting.status_code == 200 and waiting.json()["isDraft"] is True
    assert waiting.json()["singleValueExtendedProperties"] == [{"id": FLAGS, "value": "13"}]
    assert sandbox.store.sent_items(sandbox.alice.mail) == []
    assert sandbox.store.inbox(sandbox.bob.mail) == []
    assert sandbox.store.pending_sends() == 1

    clock.advance(seconds=1)
    assert alice.get(f"{sandbox.api}/me/messages/{draft['id']}").status_code == 404
    [copy] = sandbox.store.sent_items(sandbox.alice.mail)
    assert copy.internet_message_id == draft["internetMessageId"] and copy.sent == clock.now()
    assert [m.subject for m in sandbox.store.inbox(sandbox.bob.mail)] == ["Senior Python role"]
    assert sandbox.store.pending_sends() == 0


def test_a_sent_draft_can_leave_drafts_before_its_copy_reaches_sent_items(
    sandbox: Sandbox,
) -> None:
    clock = store_clock(sandbox)
    sandbox.store.configure_delivery(delay=900, draft_lingers=60)
    alice = sandbox.session(sandbox.alice)
    draft = create_draft(sandbox, alice)
    alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send")

    clock.advance(seconds=60)
    assert alice.get(f"{sandbox.api}/me/messages/{draft['id']}").status_code == 404
    assert sandbox.store.drafts(sandbox.alice.mail) == []
    assert sandbox.store.sent_items(sandbox.alice.mail) == []  # in neither folder
    clock.advance(seconds=840)
    assert len(sandbox.store.sent_items(sandbox.alice.mail)) == 1
    assert len(sandbox.store.inbox(sandbox.bob.mail)) == 1


def test_send_mail_and_reply_wait_in_drafts_too_and_a_second_send_goes_out_again(
    sandbox: Sandbox,
) -> None:
    clock = store_clock(sandbox)
    sandbox.store.configure_delivery(delay=300)
    alice = sandbox.session(sandbox.alice)
    mail = alice.post(
        f"{sandbox.api}/me/sendMail",
        json={"message": {"subject": "Direct", "toRecipients": to(sandbox.bob.mail)}},
    )
    draft = create_draft(sandbox, alice)
    alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send")
    again = alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send")

    assert mail.status_code == 202 and again.status_code == 202
    assert {m.subject for m in sandbox.store.drafts(sandbox.alice.mail)} == {
        "Direct",
        "Senior Python role",
    }
    clock.advance(seconds=300)
    assert sandbox.store.drafts(sandbox.alice.mail) == []
    # Undocumented for real Graph; the sandbox sends a resent draft twice, so it shows.
    subjects = sorted(m.subject for m in sandbox.store.sent_items(sandbox.alice.mail))
    assert subjects == ["Direct", "Senior Python role", "Senior Python role"]


def test_the_flag_and_the_marker_can_be_switched_off_to_try_the_fallbacks(
    sandbox: Sandbox,
) -> None:
    clock = store_clock(sandbox)
    sandbox.store.configure_delivery(delay=60, report_submitted=False, keep_extended_on_sent=False)
    alice = sandbox.session(sandbox.alice)
    draft = create_draft(
        sandbox, alice, singleValueExtendedProperties=[{"id": MARKER, "value": "step-7"}]
    )
    alice.post(f"{sandbox.api}/me/messages/{draft['id']}/send")
    waiting = flags_of(sandbox, alice, draft["id"]).json()["singleValueExtendedProperties"]
    clock.advance(seconds=60)
    by_marker = alice.get(
        f"{sandbox.api}/me/mailFolders/sentitems/messages",
        params={
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{MARKER}' "
            "and ep/value eq 'step-7')"
        },
    ).json()["value"]
    by_id = alice.get(
        f"{sandbox.api}/me/mailFolders/sentitems/messages",
        params={"$filter": f"internetMessageId eq '{draft['internetMessageId']}'"},
    ).json()["value"]

    assert waiting == [{"id": FLAGS, "value": "9"}]  # no MSGFLAG_SUBMIT
    assert by_marker == [] and len(by_id) == 1


def test_over_a_sending_limit_send_is_accepted_and_bounces_to_the_sender(
    sandbox: Sandbox,
) -> None:
    clock = store_clock(sandbox)
    sandbox.store.configure_delivery(messages_per_minute=2, recipients_per_day=5)
    alice = sandbox.session(sandbox.alice)

    def send(subject: str, *recipients: str) -> int:
        message = {"subject": subject, "toRecipients": to(*recipients)}
        return alice.post(f"{sandbox.api}/me/sendMail", json={"message": message}).status_code

    statuses = [send("One", sandbox.bob.mail), send("Two", "c1@x.example", "c2@x.example")]
    statuses.append(send("Three", "c3@x.example"))  # the third in a minute
    clock.advance(seconds=60)
    statuses.append(send("Four", "c4@x.example", "c5@x.example", "c6@x.example"))  # 6 of 5
    statuses.append(send("Five", "c4@x.example", "c5@x.example"))  # 5 of 5
    clock.advance(hours=24)
    statuses.append(send("Six", "c6@x.example"))

    assert statuses == [202] * 6
    sent = [m.subject for m in sandbox.store.sent_items(sandbox.alice.mail)]
    assert sent == ["One", "Two", "Five", "Six"]
    assert sandbox.store.inbox("c3@x.example") == []
    ndrs = alice.get(
        f"{sandbox.api}/me/mailFolders/inbox/messages",
        params={
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{NDR_CLASS}' "
            "and ep/value eq 'REPORT.IPM.Note.NDR')",
            "$select": "subject,from,toRecipients,body,receivedDateTime",
        },
    ).json()["value"]
    ndrs.sort(key=lambda n: n["receivedDateTime"])
    assert [n["subject"] for n in ndrs] == ["Undeliverable: Three", "Undeliverable: Four"]
    assert ndrs[0]["from"]["emailAddress"] == {
        "name": "Microsoft Outlook",
        "address": "postmaster@contoso.test",
    }
    assert [r["emailAddress"]["address"] for r in ndrs[1]["toRecipients"]] == [
        "c4@x.example",
        "c5@x.example",
        "c6@x.example",
    ]
    quota = "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"
    assert (
        quota in ndrs[0]["body"]["content"]
        and "2 messages per minute" in ndrs[0]["body"]["content"]
    )
    assert "5 recipients per day" in ndrs[1]["body"]["content"]


def test_exchange_online_limits_are_the_default(sandbox: Sandbox) -> None:
    assert (
        sandbox.store.delivery.messages_per_minute,
        sandbox.store.delivery.recipients_per_day,
    ) == (
        30,
        10_000,
    )
    assert sandbox.store.delivery.delay == 0


def test_create_reply_may_be_told_to_refuse_extended_properties(sandbox: Sandbox) -> None:
    alice = sandbox.session(sandbox.alice)
    original = create_draft(sandbox, alice)
    alice.post(f"{sandbox.api}/me/messages/{original['id']}/send")
    [copy] = sandbox.store.sent_items(sandbox.alice.mail)
    marker = [{"id": MARKER, "value": "step-9"}]
    sandbox.faults.configure(reject_extended_in_create_reply=True)

    refused = alice.post(
        f"{sandbox.api}/me/messages/{copy.id}/createReply",
        json={"message": {"singleValueExtendedProperties": marker}},
    )
    bare = alice.post(f"{sandbox.api}/me/messages/{copy.id}/createReply", json={})
    patched = alice.patch(
        f"{sandbox.api}/me/messages/{bare.json()['id']}",
        json={"singleValueExtendedProperties": marker},
    )

    assert refused.status_code == 400 and error_of(refused)["code"] == "ErrorInvalidProperty"
    assert bare.status_code == 201 and patched.status_code == 200
    assert len(sandbox.store.drafts(sandbox.alice.mail)) == 1
