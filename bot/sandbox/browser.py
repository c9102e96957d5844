"""A scripted browser that clicks through the sandbox sign-in and consent pages.

Tests and the demo use it where a recruiter would use a real browser: open the
``auth_uri`` MSAL built, type a username, press Accept or Cancel, and carry the answer
to the bot's redirect URI (a POST for ``form_post``, a GET for ``query``). It reads the
pages with the standard library's HTML parser, as a browser reads forms, so the identity
server's HTML is exercised rather than bypassed. :meth:`ConsentBrowser.open_slack` does the
same for the sandbox Slack's Sign in with Slack page, where the browser chooses a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import requests


class SignInError(Exception):
    """The identity platform showed an error page instead of a sign-in page."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ConsentRejected(Exception):
    """The consent page came back with an error, e.g. an unknown username."""

    def __init__(self, page: ConsentPage) -> None:
        super().__init__(page.error)
        self.page = page


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, list[str]] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)  # radio name -> values


class _PageParser(HTMLParser):
    """Collects forms, the text of elements with an ``id``, and the ``#scopes`` items."""

    _VOID = frozenset({"input", "br", "meta", "img", "hr", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.texts: dict[str, str] = {}
        self.scopes: list[str] = []
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(_Form(at.get("action", ""), at.get("method", "get").upper()))
        elif tag in ("input", "button") and self.forms and "name" in at:
            kind = at.get("type", "submit" if tag == "button" else "text")
            if kind == "submit":
                self.forms[-1].buttons.setdefault(at["name"], []).append(at.get("value", ""))
            elif kind == "radio":
                self.forms[-1].choices.setdefault(at["name"], []).append(at.get("value", ""))
            else:
                self.forms[-1].fields[at["name"]] = at.get("value", "")
        if tag == "li" and any(i == "scopes" for _, i in self._open):
            self.scopes.append("")
        if tag not in self._VOID:
            self._open.append((tag, at.get("id")))

    def handle_endtag(self, tag: str) -> None:
        while self._open:  # Tolerate unclosed tags the way browsers do.
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, ident in self._open:
            if ident:
                self.texts[ident] = self.texts.get(ident, "") + data
        if self.scopes and self._open and self._open[-1][0] == "li":
            self.scopes[-1] += data.strip()


@dataclass(frozen=True)
class Redirect:
    """Where the identity platform sends the browser next, with what.

    ``params`` go in the query string of a GET, ``data`` in the body of a POST.
    """

    url: str
    method: Literal["GET", "POST"]
    params: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    #: The browser's session (its cookies), which :meth:`follow` uses as a browser would.
    browser_session: requests.Session | None = field(default=None, repr=False, compare=False)

    @property
    def auth_response(self) -> dict[str, str]:
        """The fields MSAL's ``acquire_token_by_auth_code_flow`` takes, in either mode."""
        return self.data if self.method == "POST" else self.params

    def follow(self, session: requests.Session | None = None) -> requests.Response:
        """Make the request to the redirect target, as the browser would: with the
        browser's cookies, or those of ``session`` (another browser).

        Redirects the target answers with are not followed: the caller sees them.
        """
        session = session or self.browser_session
        send = session.request if session else requests.request
        return send(
            self.method,
            self.url,
            params=self.params or None,
            data=self.data or None,
            allow_redirects=False,
            timeout=10,
        )


@dataclass
class ConsentPage:
    """The sign-in and consent page: what it asks for, and its two buttons."""

    url: str
    app_name: str
    client_id: str
    scopes: list[str]
    username: str
    error: str | None
    _form: _Form = field(repr=False)
    _browser: ConsentBrowser = field(repr=False)

    def accept(self, username: str | None = None) -> Redirect:
        """Sign in as ``username`` (default: the pre-filled one) and consent."""
        return self._submit("accept", self.username if username is None else username)

    def cancel(self) -> Redirect:
        """Decline consent; the app gets ``access_denied``."""
        return self._submit("cancel", self.username)

    def _submit(self, action: str, username: str) -> Redirect:
        data = {**self._form.fields, "username": username, "action": action}
        target = urljoin(self.url, self._form.action)
        browser = self._browser
        return browser._handle(
            browser.session.post(
                target, data=data, verify=browser.verify, allow_redirects=False, timeout=10
            )
        )


@dataclass
class SlackSignInPage:
    """Sign in with Slack's authorize page: the people the browser may continue as."""

    url: str
    people: list[str]  # Slack user ids
    error: str | None
    _form: _Form = field(repr=False)
    _browser: ConsentBrowser = field(repr=False)

    def choose(self, user_id: str) -> Redirect:
        """Continue as ``user_id``; Slack sends the browser back to the app with a code."""
        return self._submit({"user": user_id, "action": "allow"})

    def cancel(self) -> Redirect:
        return self._submit({"action": "cancel"})

    def _submit(self, extra: dict[str, str]) -> Redirect:
        browser = self._browser
        response = browser.session.post(
            urljoin(self.url, self._form.action),
            data={**self._form.fields, **extra},
            allow_redirects=False,
            timeout=10,
        )
        if not response.is_redirect:
            raise SignInError(f"HTTP {response.status_code}: {response.text[:200]}", 400)
        page = browser._parse(response)
        assert isinstance(page, Redirect)
        return page


class ConsentBrowser:
    """Drives the sandbox identity platform over HTTPS, trusting the CA at ``verify``."""

    def __init__(self, verify: str) -> None:
        self.session = requests.Session()
        # Passed per request, not as session.verify: requests lets REQUESTS_CA_BUNDLE
        # override a session's verify (psf/requests#3829), and this CA is in no bundle.
        self.verify = verify

    def open(self, auth_uri: str) -> ConsentPage:
        """Load the authorize URL; raises :class:`SignInError` on an error page."""
        response = self.session.get(auth_uri, verify=self.verify, allow_redirects=False, timeout=10)
        page = self._parse(response)
        if isinstance(page, Redirect):  # An authorize error the app is told about directly.
            message = page.auth_response.get("error_description") or f"sent to {page.url}"
            raise SignInError(message, response.status_code)
        return page

    def open_slack(self, url: str) -> SlackSignInPage:
        """Open a link that goes through Sign in with Slack (following the bot's redirect)
        and return Slack's page; raises :class:`SignInError` when there is none."""
        response = self.session.get(url, allow_redirects=False, timeout=10)
        for _ in range(3):
            if not response.is_redirect:
                break
            target = urljoin(response.url, response.headers["Location"])
            response = self.session.get(target, allow_redirects=False, timeout=10)
        parser = _PageParser()
        parser.feed(response.text)
        if response.status_code != 200 or not parser.forms or "user" not in parser.forms[0].choices:
            raise SignInError(
                parser.texts.get("error", "").strip() or response.text[:300],
                response.status_code,
            )
        form = parser.forms[0]
        return SlackSignInPage(
            response.url,
            form.choices["user"],
            parser.texts.get("error", "").strip() or None,
            form,
            self,
        )

    def _handle(self, response: requests.Response) -> Redirect:
        page = self._parse(response)
        if isinstance(page, ConsentPage):
            raise ConsentRejected(page)
        return page

    def _parse(self, response: requests.Response) -> ConsentPage | Redirect:
        if response.is_redirect:
            parts = urlsplit(urljoin(response.url, response.headers["Location"]))
            return Redirect(
                urlunsplit(parts._replace(query="")),
                "GET",
                params=dict(parse_qsl(parts.query)),
                browser_session=self.session,
            )
        parser = _PageParser()
        parser.feed(response.text)
        error = parser.texts.get("error", "").strip() or None
        if response.status_code != 200 or not parser.forms:
            raise SignInError(error or f"HTTP {response.status_code}", response.status_code)
        form = parser.forms[0]
        if "action" not in form.buttons:  # No buttons to press: the form_post answer page.
            return Redirect(
                urljoin(response.url, form.action),
                "POST",
                data=form.fields,
                browser_session=self.session,
            )
        return ConsentPage(
            url=response.url,
            app_name=parser.texts.get("app-name", "").strip(),
            client_id=parser.texts.get("client-id", "").strip(),
            scopes=parser.scopes,
            username=form.fields.pop("username", ""),
            error=error,
            _form=form,
            _browser=self,
        )
