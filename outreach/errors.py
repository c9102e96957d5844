"""Every error the domain raises. The message a user sees lives in the docstring.

OutreachError
├── InvalidEmail                 the address given is not an email address
├── InvalidCampaignName          a campaign name commands could not reach
├── WholeAddressOnly             a do-not-contact pattern (*@domain) instead of an address
├── NotAllowed                   the permission rule (outreach/permissions.py) said no
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
│   └── MailboxTaken             another Slack user connected that mailbox
├── MailboxError
│   ├── NoMailbox                the user has not connected a mailbox
│   ├── MailboxNeedsReconnect    Microsoft revoked or expired the grant
│   └── TokenUnavailable         Microsoft could not be reached to refresh a token
└── GraphError                   Microsoft Graph answered with an error
    ├── GraphAuthError           401/403
    ├── GraphNotFound            404
    ├── GraphThrottled           429/503, carries retry_after
    └── GraphTimeout             no answer in time: the effect may have happened
"""

from __future__ import annotations


class OutreachError(Exception):
    """Something went wrong."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__)

    @property
    def message(self) -> str:
        return str(self)


class InvalidEmail(OutreachError):
    """That is not an email address."""

    def __init__(self, value: str) -> None:
        super().__init__(f"'{value}' is not an email address.")
        self.value = value


class InvalidCampaignName(OutreachError):
    """A campaign name is 1 to 80 characters, with no control characters and no word containing "@" (commands read such a word as an email address)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem} {self.__doc__}")


class WholeAddressOnly(OutreachError):
    """Do-not-contact takes whole addresses, e.g. jane@evil.example."""

    def __init__(self, typed: str) -> None:
        domain = typed.rpartition("@")[2].strip("*. ") or "evil.example"
        super().__init__(
            f"Do-not-contact takes whole addresses, e.g. jane@{domain}; '{typed}' is a pattern."
        )


class NotAllowed(OutreachError):
    """You are not allowed to do that. Ask the mailbox's owner or a workspace admin."""


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
            f"Microsoft did not accept the sign-in ({detail}). "
            "Run `/scaleup connect` in Slack to try again."
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
            f"{alias} is an alias of the mailbox {primary}. ScaleUp sends only from a "
            f"mailbox's primary address: run `/scaleup connect {primary}` instead."
        )
        self.primary = primary


class WrongMailbox(ConnectError):
    """You signed in to a different mailbox than the one you asked to connect."""

    def __init__(self, requested: str, signed_in: str) -> None:
        super().__init__(
            f"You asked to connect {requested} but signed in to Microsoft as {signed_in}. "
            f"Sign in as {requested}, or run `/scaleup connect {signed_in}`."
        )


class MailboxTaken(ConnectError):
    """Another Slack user has already connected this mailbox."""

    def __init__(self, email: str) -> None:
        super().__init__(
            f"{email} is already connected by another Slack user. A mailbox can be "
            "connected by one person; they can delegate sending to you with `/scaleup delegate`."
        )


class MailboxError(OutreachError):
    """The mailbox cannot be used right now."""


class NoMailbox(MailboxError):
    """You have not connected an Outlook mailbox yet. Run `/scaleup connect` first."""


class MailboxNeedsReconnect(MailboxError):
    """Microsoft no longer accepts ScaleUp's access to this mailbox. Run `/scaleup connect` to reconnect it."""


class TokenUnavailable(MailboxError):
    """Microsoft's sign-in service could not be reached; ScaleUp will retry shortly."""


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
