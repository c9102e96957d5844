"""The web process: Slack's request URL, the Outlook sign-in pages and health checks."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from markupsafe import escape
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import text

from bot.db import SessionFactory
from outreach.connections import MailboxConnections
from outreach.errors import ConnectError, GraphError, MailboxError
from outreach.slack_sign_in import SlackStep, browser_cookie_name

log = logging.getLogger(__name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · ScaleUp</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1d1c1d}}
h1{{font-size:1.4rem}} .ok{{color:#007a5a}} .bad{{color:#b00020}}</style></head>
<body><h1 class="{css}">{title}</h1><p>{message}</p><p>You can close this tab and go back to Slack.</p></body></html>
"""


#: Sent with every sign-in page and redirect: never cached, never framed, no Referer that
#: would carry a code or state to the next site.
SIGN_IN_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
}
_SIGN_IN_PATHS = ("/outlook/", "/slack/oidc/")


SIGN_IN_OFF = (
    "Sign in with Slack is not set up here. Run /scaleup connect in Slack for a new link."
)


def _redirect(url: str) -> Response:
    return Response("", status=302, headers={"Location": url})


def page(title: str, message: str, *, ok: bool, status: int = 200) -> Response:
    body = _PAGE.format(title=escape(title), message=escape(message), css="ok" if ok else "bad")
    return Response(body, status=status, mimetype="text/html")


def create_web_app(
    bolt: App,
    connections: MailboxConnections,
    db: SessionFactory,
    slack_step: SlackStep | None = None,
    *,
    secure_cookies: bool = False,
) -> Flask:
    """The WSGI app served by gunicorn (``scaleup web``) or by ``scaleup dev``.

    ``slack_step`` is None when Sign in with Slack is not configured; ``secure_cookies``
    (PUBLIC_URL is https) marks the sign-in cookie ``Secure``.
    """
    web = Flask("scaleup")
    slack = SlackRequestHandler(bolt)

    @web.after_request
    def sign_in_headers(response: Response) -> Response:
        if request.path.startswith(_SIGN_IN_PATHS):
            response.headers.update(SIGN_IN_HEADERS)
        return response

    @web.post("/slack/events")
    def slack_events() -> Response:
        return slack.handle(request)

    @web.get("/slack/install")
    def slack_install() -> Response:
        return slack.handle(request)

    @web.get("/slack/oauth_redirect")
    def slack_oauth_redirect() -> Response:
        return slack.handle(request)

    @web.route("/outlook/callback", methods=["GET", "POST"])
    def outlook_callback() -> Response:
        params = request.form if request.method == "POST" else request.args
        # The cookie of the browser that passed Sign in with Slack, if this sign-in went
        # through it: Microsoft answers with a top-level GET (response_mode=query), so a
        # SameSite=Lax cookie comes along.
        cookie = browser_cookie_name(params.get("state", ""))
        try:
            status = connections.complete_connect(
                {k: v for k, v in params.items()}, request.cookies.get(cookie)
            )
        except ConnectError as exc:
            refused = page("Mailbox not connected", exc.message, ok=False, status=400)
            refused.delete_cookie(cookie, path="/outlook")
            return refused
        except (GraphError, MailboxError):
            log.exception("Graph failed while connecting a mailbox")
            return page(
                "Mailbox not connected",
                "Microsoft did not answer as expected. Nothing was stored; run "
                "/scaleup connect in Slack to try again in a few minutes.",
                ok=False,
                status=502,
            )
        done = page(
            "Outlook connected",
            f"ScaleUp can now send from {status.email} as “{status.sender_name}”. "
            "A confirmation is waiting in Slack.",
            ok=True,
        )
        done.delete_cookie(cookie, path="/outlook")
        return done

    @web.get("/outlook/start")
    def outlook_start() -> Response:
        """A sign-in link that needs Sign in with Slack first: off to Slack."""
        if slack_step is None:
            return page("Sign-in link not valid", SIGN_IN_OFF, ok=False, status=404)
        try:
            return _redirect(slack_step.start(request.args.get("state", "")))
        except ConnectError as exc:
            return page("Mailbox not connected", exc.message, ok=False, status=400)

    @web.get("/slack/oidc/callback")
    def slack_oidc_callback() -> Response:
        """Slack's answer: the same person goes on to Microsoft, anyone else stops here."""
        if slack_step is None:
            return page("Sign-in link not valid", SIGN_IN_OFF, ok=False, status=404)
        try:
            passed = slack_step.finish(dict(request.args.items()))
        except ConnectError as exc:
            return page("Mailbox not connected", exc.message, ok=False, status=400)
        onward = _redirect(passed.microsoft_url)
        # Only this browser may finish the Microsoft step (a forwarded Microsoft link
        # lacks the cookie); the bot keeps only the value's hash.
        onward.set_cookie(
            passed.cookie_name,
            passed.cookie_value,
            max_age=passed.max_age,
            path="/outlook",
            secure=secure_cookies,
            httponly=True,
            samesite="Lax",
        )
        return onward

    @web.get("/healthz")
    def healthz() -> tuple[dict[str, str], int]:
        try:
            with db() as session:
                session.execute(text("SELECT 1"))
        except Exception:  # any database failure means "not healthy"; say so, don't crash
            log.exception("health check failed")
            return {"status": "unhealthy", "database": "unreachable"}, 503
        return {"status": "ok", "database": "ok"}, 200

    return web
