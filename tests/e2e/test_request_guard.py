"""``POST /slack/events`` reads a bounded body, checks the signature before parsing, and
answers every malformed request with a 4xx and one log line without the body."""

from __future__ import annotations

import hmac
import json
import logging
import socket
import time
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from bot.logs import configure_logging
from bot.request_guard import MAX_BODY, SlackRequestGuard
from bot.sandbox import RECRUITER, Sandbox
from tests.conftest import RunningBot, start_bot

FORM = "application/x-www-form-urlencoded"
MARKER = "BODYMARKER"


def guard_of(bot: RunningBot) -> SlackRequestGuard:
    guard = bot.container.web.wsgi_app
    assert isinstance(guard, SlackRequestGuard)
    return guard


def signed_post(bot: RunningBot, raw: bytes, content_type: str) -> requests.Response:
    """``raw`` exactly as given (it may not be UTF-8), validly signed."""
    timestamp = str(int(time.time()))
    secret = bot.sandbox.signing_secret.encode()
    signature = (
        "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw, sha256).hexdigest()
    )
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": str(signature),
    }
    return requests.post(bot.url + "/slack/events", data=raw, headers=headers, timeout=10)


def no_body_logged(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert MARKER not in record.getMessage(), f"{record.name} logged the body"
        assert record.exc_info is None, f"{record.name} logged a traceback"


def test_an_announced_22_mb_body_is_refused_before_it_is_sent(bot: RunningBot) -> None:
    # Only the headers go out: a bot that waited for the body would never answer.
    address = urlsplit(bot.url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as conn:
        conn.sendall(
            b"POST /slack/events HTTP/1.1\r\n"
            + f"Host: {address.netloc}\r\n".encode()
            + b"Content-Type: application/x-www-form-urlencoded\r\n"
            + b"X-Slack-Request-Timestamp: 1\r\nX-Slack-Signature: v0=00\r\n"
            + b"Content-Length: 22000000\r\n\r\n"
        )
        status_line = conn.makefile("rb").readline()
    assert status_line.split()[1] == b"413"
    assert guard_of(bot).largest_read == 0


def test_a_22_mb_body_with_a_bad_signature_is_refused_in_bounded_memory(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = urlencode({"payload": json.dumps({"type": "block_actions", "x": MARKER * 2_200_000})})
    assert len(body) > 22_000_000
    announced = requests.post(
        bot.url + "/slack/events",
        data=body.encode(),
        headers={
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": "1",
            "X-Slack-Signature": "v0=0",
        },
        timeout=30,
    )
    assert announced.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        raw = body.encode()
        for start in range(0, len(raw), 256 * 1024):
            yield raw[start : start + 256 * 1024]

    chunked = requests.post(
        bot.url + "/slack/events",
        data=chunks(),
        headers={
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": "1",
            "X-Slack-Signature": "v0=0",
        },
        timeout=30,
    )
    assert chunked.status_code == 413
    assert 0 < guard_of(bot).largest_read <= MAX_BODY + 1
    no_body_logged(caplog)


def test_a_large_body_with_a_bad_signature_never_reaches_the_log(
    sandbox: Sandbox, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Logging as an admin debugging production sets it up, before the app is built: Bolt
    # copies the root level into its loggers then, and logged such bodies at INFO.
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    bot, server = start_bot(
        sandbox, {"DATABASE_URL": database_url, "SCALEUP_DATA_DIR": str(tmp_path / "data")}
    )
    try:
        for size in (20_000_000, 900_000):  # over the bound, and under it
            body = urlencode({"text": MARKER * (size // len(MARKER))})
            answer = bot.slack.post(body, FORM, signature="v0=" + "0" * 64)
            assert answer.status_code in (401, 413)
            assert MARKER not in answer.text
    finally:
        server.stop()
        bot.container.close()
    no_body_logged(caplog)
    refusals = [r for r in caplog.records if r.name == "bot.request_guard"]
    assert len(refusals) == 2


def test_bolt_messages_that_carry_a_body_are_cut_before_any_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    verification = logging.getLogger("slack_bolt.RequestVerification")
    level = verification.level
    verification.setLevel(logging.INFO)  # what Bolt sets when the root is at INFO
    try:
        verification.info(
            f"Invalid request signature detected (signature: v0=1, timestamp: 1, body: {MARKER})"
        )
    finally:
        verification.setLevel(level)
    logging.getLogger("slack_bolt.App").warning(f"Unhandled request ({{'type': '{MARKER}'}})")
    assert len(caplog.records) == 2
    no_body_logged(caplog)


@pytest.mark.parametrize("timestamp", ["abc", "1.5", "0x1f", "", "99999999999999999999"])
def test_a_timestamp_that_is_not_an_integer_is_401_not_500(
    bot: RunningBot, timestamp: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = bot.slack.post(urlencode({"text": MARKER}), FORM, timestamp=timestamp)
    assert answer.status_code == 401
    no_body_logged(caplog)


def test_missing_signature_headers_are_401(bot: RunningBot) -> None:
    answer = requests.post(
        bot.url + "/slack/events", data="text=hi", headers={"Content-Type": FORM}, timeout=5
    )
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (urlencode({"payload": "[" * 100_000 + "]" * 100_000}), FORM),  # RecursionError before
        (urlencode({"payload": '{"a": ' + "[" * 70 + "]" * 70 + "}"}), FORM),
        (urlencode({"payload": '{"type": "block_actions", ' + MARKER}), FORM),
        (urlencode({"payload": '["' + MARKER + '"]'}), FORM),
        ('{"type": "event_callback", ' + MARKER, "application/json"),
        ("marker=" + MARKER + "\udcff", FORM),
        ("<xml>" + MARKER + "</xml>", "text/xml"),
    ],
    ids=["100000-deep", "deep-ish", "bad-json", "not-object", "bad-json-body", "not-utf8", "xml"],
)
def test_a_signed_malformed_request_is_4xx_with_one_log_line_and_no_body(
    bot: RunningBot, caplog: pytest.LogCaptureFixture, body: str, content_type: str
) -> None:
    caplog.set_level(logging.DEBUG)
    raw = body.encode("utf-8", "surrogateescape")
    answer = signed_post(bot, raw, content_type)
    assert 400 <= answer.status_code < 500, answer.text
    no_body_logged(caplog)
    assert len([r for r in caplog.records if r.name == "bot.request_guard"]) == 1


def test_a_valid_command_still_works(bot: RunningBot) -> None:
    answer = bot.slack.slash(RECRUITER.slack_id, "help")
    assert answer.status_code == 200
    assert "/scaleup" in answer.text
