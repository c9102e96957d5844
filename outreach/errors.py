"""Every error the domain raises. The message a user sees lives in the docstring.

Where a message is built from data (an address, a campaign's name), the docstring says
what it says and ``__init__`` fills it in.

OutreachError
├── InvalidEmail                 the address given is not an email address
├── InvalidCampaignName          a campaign name commands could not reach
├── InvalidSendWindow            a send window with no day, or ending before it starts
├── CampaignNameTooLong          a delegation's campaign name is over 80 characters
├── WholeAddressOnly             a do-not-contact pattern (*@domain) instead of an address
├── NotAllowed                   the permission rule (outreach/permissions.py) said no
├── CannotDelegateToSelf         an owner named themselves as the delegate
├── ConnectError                 "Sign in with Microsoft" did not connect a mailbox
│   ├── SignInLinkUnknown        state never issued or already used
│   ├── SignInLinkExpired        state older than 10 minutes
│   ├── ConsentCancelled         the user pressed Cancel on Microsoft's page
│   ├── SignInFailed             Microsoft refused the code (PKCE, secret, …)
│   ├── AdminApprovalRequired    the tenant lets only admins consent to mail (AADSTS90094)
│   ├── ConsentMissing           no consent (any more) for ScaleUp's scopes (AADSTS65001)
│   ├── MfaRequired              Conditional Access wants MFA (AADSTS50076)
│   ├── MfaSetupRequired         MFA is required and the user has no method (AADSTS50079)
│   ├── AccountDisabled          the Microsoft account is disabled (AADSTS50057)
│   ├── AliasNotSupported        the address is an alias of the mailbox signed in
│   ├── WrongMailbox             signed in to a different mailbox than asked
│   ├── MailboxTaken             another Slack user connected that mailbox
│   ├── SlackSignInUnavailable   not the Slack profile email, and no Sign in with Slack
│   ├── SlackSignInCancelled     the user pressed Cancel on Slack's page
│   ├── SlackSignInFailed        Slack did not confirm who the user is
│   ├── NotYourSlackAccount      Sign in with Slack named someone else than the requester
│   ├── NotYourMailbox           not the requester's Slack email, and never proved theirs
│   ├── NotYourBrowser           the Microsoft step came back to another browser
│   ├── AnotherMailboxConnected  the requester has another mailbox connected now
│   └── ReplacedMailboxChanged   the mailbox a Replace named changed meanwhile
├── MailboxError                 the mailbox cannot be used right now
│   ├── NoMailbox                the user has not connected a mailbox
│   │   └── NothingToDelegate    …so there is nothing to delegate
│   ├── MailboxNeedsReconnect    Microsoft revoked or expired the grant
│   ├── TokenUnavailable         Microsoft could not be reached to refresh a token
│   └── MailboxRefused           Outlook refused the mailbox's requests as a whole (403)
├── MailboxGone                  a mailbox whose delegations were to go is gone
├── AlreadyYourMailbox           a Replace named an address of the mailbox connected
├── RemovalChanged               a Disconnect button's fingerprint no longer holds
├── StaleMailboxButton           a button of a mailbox no longer connected
├── NotYourMailboxButton         a button of someone else's mailbox
├── GraphError                   Microsoft Graph answered with an error
│   ├── GraphAuthError           401/403
│   ├── GraphNotFound            404
│   ├── GraphThrottled           429/503, carries retry_after
│   └── GraphTimeout             no answer in time: the effect may have happened
├── ShortlistFileInvalid         a shortlist's name or file cannot be imported
│   └── ShortlistUnreadable      the CSV reader's reason (outreach/csvdialect.py)
├── ShortlistNotFound            no shortlist by that name
├── CampaignNotFound             no campaign by that name, or a button's campaign is gone
├── CampaignStateError           the campaign's state does not allow this
├── CampaignCannotStart          some candidates' emails cannot be made; every problem
├── StartInterrupted             the campaign changed while it was starting
├── TemplateProblem              the campaign's templates have a problem
│   ├── TemplateSyntaxProblem    templates that cannot be accepted; every problem
│   ├── UnsafeTemplate           the Jinja sandbox stopped a template
│   ├── UnknownVariables         variables no shortlist column provides
│   ├── InvalidColumnName        a column name with no letters or digits
│   ├── RenderProblem            a step cannot be filled in for one candidate
│   └── CannotPreview            a preview's candidate lacks variables
├── MessageTooLarge              a rendered email over its size limit
├── NoCandidate                  a preview named no candidate of the shortlist
├── Suppressed                   a direct message to a do-not-contact or bounced address
├── EmptyMessage                 a direct message without subject or body
└── ReplyGone                    a reply card's reply is no longer stored

Two private exceptions steer control flow inside one module and never leave it, so they
stay there: ``dispatch._LostRow`` (another worker took an outbox row over) and
``sync._LostLease`` (another worker took a mailbox's reply sync over). A ``ValueError``
raised for a caller's mistake that no user input reaches (a negative wait, a naive
datetime) is a programming error, not part of this tree.

A message may mark what a person types (a command, a placeholder) as
:class:`~outreach.sentences.Code`; ``str(error)`` is plain text, and ``error.sentence``
keeps the marks for ``handlers/mrkdwn.py``. In a docstring, a span in backticks is code.

At run time this module imports only :mod:`outreach.sentences` (which imports nothing
from ``outreach``), so every module can import it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from outreach.sentences import Code, Sentence

if TYPE_CHECKING:  # only for the types of attributes: no import cycle at run time
    from outreach.keys import CampaignKey
    from outreach.removal import RemovalPreview
    from outreach.templates import MissingVariables


class OutreachError(Exception):
    """Something went wrong."""

    def __init__(self, message: str | Sentence | None = None) -> None:
        #: The message with the parts a person types marked (:mod:`outreach.sentences`);
        #: without one, the docstring's first paragraph, its backticked spans as code.
        self.sentence = (
            Sentence(message)
            if message
            else Sentence.from_docstring((self.__doc__ or "").split("\n\n")[0])
        )
        super().__init__(str(self.sentence))

    @property
    def message(self) -> str:
        """The message as plain text."""
        return str(self)


# -- what was typed ----------------------------------------------------------------------
class InvalidEmail(OutreachError):
    """That is not an email address."""

    def __init__(self, value: str) -> None:
        super().__init__(f"'{value}' is not an email address.")
        self.value = value


class InvalidCampaignName(OutreachError):
    """A campaign name is 1 to 80 characters, with no control characters and no word containing "@" (commands read such a word as an email address)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem} {self.__doc__}")


class InvalidSendWindow(OutreachError, ValueError):
    """The send window needs at least one day, and must end after it starts.

    The message names what is wrong (no day, a day outside Monday to Sunday, an hour with
    a time zone, an end not later than the start). Also a ValueError: a window is a value.
    """


class CampaignNameTooLong(OutreachError):
    """Campaign names have at most 80 characters."""


class WholeAddressOnly(OutreachError):
    """Do-not-contact takes whole addresses, e.g. jane@evil.example."""

    def __init__(self, typed: str) -> None:
        domain = typed.rpartition("@")[2].strip("*. ") or "evil.example"
        super().__init__(
            f"Do-not-contact takes whole addresses, e.g. jane@{domain}; '{typed}' is a pattern."
        )


# -- who may ---------------------------------------------------------------------------
class NotAllowed(OutreachError):
    """You are not allowed to do that. Ask the mailbox's owner or a workspace admin."""


class CannotDelegateToSelf(OutreachError):
    """You can already send from your own mailbox: name the recruiter who should send from it."""


# -- connecting a mailbox -------------------------------------------------------------------
class ConnectError(OutreachError):
    """The mailbox could not be connected. Run `/scaleup connect` in Slack to try again."""


class SignInLinkUnknown(ConnectError):
    """This sign-in link was already used or is not valid. Run `/scaleup connect` in Slack for a new one."""


class SignInLinkExpired(ConnectError):
    """This sign-in link expired (links last 10 minutes). Run `/scaleup connect` in Slack for a new one."""


class ConsentCancelled(ConnectError):
    """You cancelled the Microsoft sign-in, so no mailbox was connected. Run `/scaleup connect` in Slack whenever you are ready."""


class SignInFailed(ConnectError):
    """Microsoft did not accept the sign-in. Run `/scaleup connect` in Slack to try again."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            Sentence(
                f"Microsoft did not accept the sign-in ({detail}). Run ",
                Code("/scaleup connect"),
                " in Slack to try again.",
            )
        )


class AdminApprovalRequired(ConnectError):
    """Your organization lets only an administrator approve ScaleUp's access to mail. Ask your Microsoft 365 admin to grant admin consent to ScaleUp (Entra admin center, Enterprise applications, ScaleUp, Permissions), then run `/scaleup connect` again."""


class ConsentMissing(ConnectError):
    """Microsoft has no consent (any more) for ScaleUp to use your mailbox. Run `/scaleup connect` and accept the permissions; if Microsoft says an admin must approve them, ask your Microsoft 365 admin to grant consent to ScaleUp."""


class MfaRequired(ConnectError):
    """Your organization requires multi-factor authentication for ScaleUp. Run `/scaleup connect` again and complete Microsoft's verification step."""


class MfaSetupRequired(ConnectError):
    """Your organization requires multi-factor authentication and your account has no verification method yet. Set one up at https://aka.ms/mfasetup, then run `/scaleup connect` again."""


class AccountDisabled(ConnectError):
    """Your Microsoft account is disabled, so ScaleUp cannot use its mailbox. Ask your Microsoft 365 admin to enable it, then run `/scaleup connect` again."""


class AliasNotSupported(ConnectError):
    """Alias addresses are not supported: connect the mailbox by its primary address."""

    def __init__(self, alias: str, primary: str) -> None:
        super().__init__(
            Sentence(
                f"{alias} is an alias of the mailbox {primary}. ScaleUp sends only from a "
                "mailbox's primary address: run ",
                Code(f"/scaleup connect {primary}"),
                " instead.",
            )
        )
        self.primary = primary


class WrongMailbox(ConnectError):
    """You signed in to a different mailbox than the one you asked to connect."""

    def __init__(self, requested: str, signed_in: str) -> None:
        super().__init__(
            Sentence(
                f"You asked to connect {requested} but signed in to Microsoft as {signed_in}. "
                f"Sign in as {requested}, or run ",
                Code(f"/scaleup connect {signed_in}"),
                ".",
            )
        )


class MailboxTaken(ConnectError):
    """Another Slack user has already connected this mailbox."""

    def __init__(self, email: str) -> None:
        super().__init__(
            Sentence(
                f"{email} is already connected by another Slack user. A mailbox can be "
                "connected by one person; they can delegate sending to you with ",
                Code("/scaleup delegate"),
                ".",
            )
        )


class SlackSignInUnavailable(ConnectError):
    """This address is not your Slack profile email, and Sign in with Slack is not set up.

    The message names the profile email (or says Slack does not show it) and what a Slack
    admin sets to enable Sign in with Slack (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET).
    """

    def __init__(self, requested: str, profile_email: str | None) -> None:
        who = (
            f"Your Slack profile email is {profile_email}, not {requested}"
            if profile_email
            else f"Slack does not show ScaleUp your profile email, so it cannot tell that "
            f"{requested} is yours"
        )
        super().__init__(
            f"{who}. To connect a mailbox under another address you must confirm who you are "
            "with Sign in with Slack, which your Slack admin enables by setting "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for ScaleUp."
        )


class SlackSignInCancelled(ConnectError):
    """You cancelled Sign in with Slack, so no mailbox was connected. Open the sign-in link again when you are ready."""


class SlackSignInFailed(ConnectError):
    """Slack did not confirm who you are. Run `/scaleup connect` in Slack to try again.

    The message adds Slack's reason and that nothing was stored.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(
            Sentence(
                f"Slack did not confirm who you are ({detail}). Nothing was stored; run ",
                Code("/scaleup connect"),
                " in Slack to try again.",
            )
        )


class NotYourSlackAccount(ConnectError):
    """Sign in with Slack named a different person than the one who asked for this link.

    The message says the link was made by another Slack user, that nothing was stored,
    and how to connect the address if it is the reader's own.
    """

    def __init__(self, requested: str) -> None:
        super().__init__(
            Sentence(
                "This sign-in link was made by another Slack user, so it cannot connect "
                f"{requested} to your account. Nothing was stored. If {requested} is your "
                "mailbox, run ",
                Code(f"/scaleup connect {requested}"),
                " in Slack yourself.",
            )
        )


class NotYourMailbox(ConnectError):
    """The mailbox is not the Slack profile email of the person who asked, who never proved otherwise.

    The message says it was not connected, nothing was stored, and how to connect it if
    it is the reader's own.
    """

    def __init__(self, requested: str) -> None:
        super().__init__(
            Sentence(
                f"{requested} is not the Slack profile email of the person who asked for "
                "this link, and they did not confirm with Sign in with Slack, so it was not "
                f"connected. Nothing was stored. If {requested} is your mailbox, run ",
                Code(f"/scaleup connect {requested}"),
                " in Slack yourself.",
            )
        )


class NotYourBrowser(ConnectError):
    """This Microsoft sign-in was started in another browser, after Sign in with Slack there.

    The message says it can only be finished there, nothing was stored, and how to
    start again.
    """

    def __init__(self, requested: str) -> None:
        super().__init__(
            Sentence(
                f"This Microsoft sign-in for {requested} was started in another browser, "
                "where Sign in with Slack confirmed who asked for it, so it can only be "
                f"finished there. Nothing was stored. If {requested} is your mailbox, run ",
                Code(f"/scaleup connect {requested}"),
                " in Slack yourself.",
            )
        )


class AnotherMailboxConnected(ConnectError):
    """You have another mailbox connected; disconnect it first.

    The message names the mailbox connected now and says to confirm replacing it.
    """

    def __init__(self, current_id: int, current: str, requested: str) -> None:
        super().__init__(
            Sentence(
                f"{current} is connected to your Slack account now, so this link for "
                f"{requested} no longer applies. Nothing was changed; to switch, run ",
                Code(f"/scaleup connect {requested}"),
                f" in Slack and confirm replacing {current}.",
            )
        )
        self.current_id, self.current, self.requested = current_id, current, requested


class ReplacedMailboxChanged(ConnectError):
    """The mailbox this sign-in was to replace changed meanwhile; nothing was changed.

    The message names both mailboxes and says how to see what replacing deletes now.
    """

    def __init__(self, old: str, new: str) -> None:
        super().__init__(
            Sentence(
                f"{old} changed since you confirmed replacing it (it was disconnected, "
                f"connected again, or a campaign or message was added), so {new} was not "
                "connected and nothing was deleted. Run ",
                Code(f"/scaleup connect {new}"),
                " in Slack to see what replacing it deletes now.",
            )
        )


# -- a connected mailbox --------------------------------------------------------------------
class MailboxError(OutreachError):
    """The mailbox cannot be used right now."""


class NoMailbox(MailboxError):
    """You have not connected an Outlook mailbox yet. Run `/scaleup connect` first."""


class NothingToDelegate(NoMailbox):
    """Connect your Outlook mailbox first with `/scaleup connect`; then you can let a recruiter send from it."""


class MailboxNeedsReconnect(MailboxError):
    """Microsoft no longer accepts ScaleUp's access to this mailbox. Run `/scaleup connect` to reconnect it."""


class TokenUnavailable(MailboxError):
    """Microsoft's sign-in service could not be reached; ScaleUp will retry shortly."""


class MailboxRefused(MailboxError):
    """Outlook refused to send from this mailbox.

    Outlook refused this mailbox's request as a whole (403: a missing scope, Send As
    rights withdrawn); the message adds Graph's reason in parentheses.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(f"Outlook refused to send from this mailbox ({detail}).")
        self.detail = detail


class MailboxGone(OutreachError):
    """That mailbox is no longer connected, so there is no access to it to take back."""


class AlreadyYourMailbox(OutreachError):
    """That address belongs to the mailbox you already have connected.

    The message names the address and the mailbox: there is nothing to replace.
    """

    def __init__(self, requested: str, connected: str) -> None:
        super().__init__(
            f"{requested} is an address of your connected mailbox {connected}; nothing to replace."
        )


class RemovalChanged(OutreachError):
    """What this button would delete changed since it was shown; here is what goes now.

    The message names the mailbox and says nothing was deleted; ``preview`` is what
    disconnecting it deletes now, for a new confirmation.
    """

    def __init__(self, preview: RemovalPreview) -> None:
        super().__init__(
            f"What disconnecting {preview.email} deletes changed since this button was shown; "
            "nothing was deleted."
        )
        self.preview = preview


class StaleMailboxButton(OutreachError):
    """This button is for a mailbox that is no longer connected.

    The message names the mailbox's address.
    """

    def __init__(self, email: str) -> None:
        super().__init__(f"This button is for {email}, which is no longer connected.")
        self.email = email


class NotYourMailboxButton(OutreachError):
    """This button is for someone else's mailbox.

    The message names the mailbox and who may use the button: the person who connected
    it, or the person whose Slack email it is.
    """

    def __init__(self, email: str) -> None:
        super().__init__(
            f"This button is for {email}, which another Slack user connected; only they, or "
            f"the person whose Slack email is {email}, can do this."
        )
        self.email = email


# -- Microsoft Graph ---------------------------------------------------------------------
class GraphError(OutreachError):
    """Microsoft Graph answered with an error."""

    def __init__(self, status: int, code: str = "", message: str = "") -> None:
        super().__init__(f"Microsoft Graph error {status} {code}: {message}".strip())
        self.status = status
        self.code = code
        self.graph_message = message


class GraphAuthError(GraphError):
    """Microsoft Graph refused the access token."""


class GraphNotFound(GraphError):
    """The item does not exist in the mailbox (any more)."""


class GraphThrottled(GraphError):
    """Microsoft Graph asked us to slow down."""

    def __init__(self, status: int, code: str, message: str, retry_after: float) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


class GraphTimeout(GraphError):
    """Microsoft Graph did not answer in time; the request may or may not have taken effect."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(0, "Timeout", f"{method} {path} timed out")


# -- shortlists ------------------------------------------------------------------------------
class ShortlistFileInvalid(OutreachError):
    """The file could not be read as a shortlist."""


class ShortlistUnreadable(ShortlistFileInvalid):
    """The file as a whole cannot be imported; the message says why.

    Raised by the CSV reader (a workbook, not text, a quote never closed, no email
    column, …) and turned by :func:`outreach.csvimport.parse_shortlist` into the import's
    file errors, so it reaches a person as :class:`ShortlistFileInvalid`.
    """


class ShortlistNotFound(OutreachError):
    """There is no shortlist by that name. `/scaleup shortlist list` shows them."""

    def __init__(self, name: str) -> None:
        super().__init__(
            Sentence(
                f"There is no shortlist called '{name}'. ",
                Code("/scaleup shortlist list"),
                " shows them.",
            )
        )


# -- campaigns ---------------------------------------------------------------------------
class CampaignNotFound(OutreachError):
    """There is no such campaign in this workspace. `/scaleup campaign list` shows them.

    Named by the name typed, the message quotes it; found by a button's key, it is this.
    """

    def __init__(self, ref: str | CampaignKey) -> None:
        super().__init__(
            Sentence(
                f"There is no campaign called '{ref}'. ",
                Code("/scaleup campaign list"),
                " shows them.",
            )
            if isinstance(ref, str)
            else None
        )
        self.ref = ref


class CampaignStateError(OutreachError):
    """The campaign is not in a state that allows this."""

    def __init__(
        self, message: str | Sentence | None = None, *, campaign: str = "", state: str = ""
    ) -> None:
        super().__init__(message)
        #: The campaign's name and its state at the time, for a stale button's sentence.
        self.campaign, self.state = campaign, state


class CampaignCannotStart(OutreachError):
    """The campaign cannot start."""


class StartInterrupted(OutreachError):
    """The campaign changed while it was starting; nothing was enrolled."""


# -- templates -------------------------------------------------------------------------------
class TemplateProblem(OutreachError):
    """The campaign's email templates have a problem."""


class TemplateSyntaxProblem(TemplateProblem):
    """Some templates cannot be used as written; fix them and try again.

    The message is "Some templates need fixing:" and then each problem on its own line;
    ``problems`` holds them.
    """

    def __init__(self, problems: Sequence[str | Sentence]) -> None:
        super().__init__(Sentence("Some templates need fixing:\n", Sentence.join("\n", problems)))
        self.problems = tuple(problems)


class UnsafeTemplate(TemplateProblem):
    """A template tried to reach something other than the candidate's columns and was stopped."""


class UnknownVariables(TemplateProblem):
    """The templates use variables the shortlist has no column for.

    The message names each unknown variable (with the closest column, if one is close),
    every column the shortlist has, and how to give a value some candidates lack.
    """

    def __init__(self, unknown: Sequence[str], known: Sequence[str]) -> None:
        guesses = [
            f"{{{{ {name} }}}}" + (f" (did you mean {close[0]}?)" if close else "")
            for name in unknown
            for close in [difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.7)]
        ]
        super().__init__(
            Sentence(
                f"The templates use {', '.join(guesses)}, but the shortlist has no such column. "
                f"It has: {', '.join(known)} (and every template has sender_name, sender_email "
                "and sender_first_name). Names match regardless of case, spaces and underscores; "
                "use ",
                Code("| default(...)"),
                " for a value some candidates lack.",
            )
        )
        self.unknown, self.known = tuple(unknown), tuple(known)


class InvalidColumnName(TemplateProblem):
    """A column name has no letters or digits.

    The message quotes the column and says to rename it in the CSV.
    """

    def __init__(self, header: str) -> None:
        super().__init__(f"Column '{header}' has no letters or digits: rename it in the CSV.")


class RenderProblem(TemplateProblem):
    """A step cannot be filled in for this candidate.

    The message is "Step N cannot be sent:" and what the candidate's row lacks.
    """

    def __init__(self, step: int, problem: MissingVariables) -> None:
        super().__init__(f"Step {step} cannot be sent: {problem.sentence()}.")
        self.problem = problem


class CannotPreview(TemplateProblem):
    """The steps cannot be filled in for this candidate.

    The message names the candidate, what their row lacks, and how to give a value.
    """

    def __init__(self, name: str, problem: MissingVariables) -> None:
        super().__init__(
            Sentence(
                f"'{name}' cannot be previewed: {problem.sentence()}. Add the column to the "
                "shortlist or use ",
                Code("| default(...)"),
                " in the template.",
            )
        )
        self.problem = problem


class MessageTooLarge(OutreachError):
    """An email would be larger than an email may be.

    The message names the step, the part (subject or body) and the candidate, then
    ``measure``: "would be 340 KB, more than the 100 KB limit"
    (:func:`outreach.message_size.measure`).
    """

    def __init__(
        self, step: int, part: str, email: str, size: int, limit: int, measure: str
    ) -> None:
        self.step, self.part, self.email, self.size, self.limit = step, part, email, size, limit
        self._measure = measure
        super().__init__(f"Step {step}'s {part} for {email} {measure}.")

    def measure(self) -> str:
        """``"would be 340 KB, more than the 100 KB limit"``."""
        return self._measure


class NoCandidate(OutreachError):
    """The campaign's shortlist has no such candidate."""


# -- direct messages and replies ---------------------------------------------------------
class Suppressed(OutreachError):
    """ScaleUp won't email that address: it is on the do-not-contact list.

    Or, for an address that bounced before, says so; ``kind`` is "dnc" or "bounced".
    """

    def __init__(self, email: str, kind: str) -> None:
        why = (
            "the address bounced before"
            if kind == "bounced"
            else "it is on the do-not-contact list"
        )
        super().__init__(f"ScaleUp won't email {email}: {why}.")
        self.email, self.kind = email, kind


class EmptyMessage(OutreachError):
    """A message needs a subject and a body."""


class ReplyGone(OutreachError):
    """This reply is no longer stored: its mailbox was disconnected or its campaign deleted."""
