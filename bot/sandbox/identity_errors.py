"""The errors the sandbox identity platform answers with, in Entra's words and shape.

Every AADSTS code the sandbox gives is in :data:`AADSTS`; :class:`Fault` turns one into
Entra's JSON body (``error``, ``error_description`` starting ``AADSTSnnnn:``,
``error_codes``, ``suberror``, ``timestamp``, ``trace_id``, ``correlation_id``).

:data:`POLICIES` are the per-user conditions a real tenant imposes, which the sandbox can
switch on for one user (:meth:`~bot.sandbox.identity.IdentityPlatform.set_policy`): each
answers at sign-in (the authorize redirect carries ``error``/``error_description``) and at
the next refresh (the token endpoint's error). Codes and wording:
https://learn.microsoft.com/entra/identity-platform/reference-error-codes and
https://learn.microsoft.com/entra/identity/enterprise-apps/application-sign-in-unexpected-user-consent-error
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

# Every AADSTS error the sandbox answers with: code -> (OAuth error, Entra's wording).
AADSTS: dict[int, tuple[str, str]] = {
    50011: (
        "invalid_request",
        "The redirect URI '{redirect_uri}' specified in the request does not match the "
        "redirect URIs configured for the application '{client_id}'.",
    ),
    50049: ("invalid_instance", "Unknown or invalid instance."),
    50057: ("invalid_grant", "The user account is disabled."),
    50076: (
        "interaction_required",
        "Due to a configuration change made by your administrator, or because you moved to a "
        "new location, you must use multi-factor authentication to access '{resource}'.",
    ),
    50079: (
        "interaction_required",
        "Due to a configuration change made by your administrator, or because you moved to a "
        "new location, you must enroll in multi-factor authentication to access '{resource}'.",
    ),
    50173: (
        "invalid_grant",
        "The provided grant has expired due to it being revoked, a fresh auth token is "
        "needed. The user might have changed or reset their password.",
    ),
    54005: (
        "invalid_grant",
        "OAuth2 Authorization code was already redeemed, please retry with a new valid "
        "code or use an existing refresh token.",
    ),
    65001: (
        "invalid_grant",
        "The user or administrator has not consented to use the application with ID "
        "'{client_id}'. Send an interactive authorization request for this user and resource.",
    ),
    65004: ("access_denied", "User declined to consent to access the app."),
    70002: ("invalid_grant", "The authorization code was not issued to this application."),
    70003: ("unsupported_grant_type", "The app requested an unsupported grant type."),
    70008: (
        "invalid_grant",
        "The provided authorization code or refresh token has expired due to inactivity. "
        "Send a new interactive authorization request for this user and resource.",
    ),
    90094: ("consent_required", "The grant requires admin permission."),
    501481: (
        "invalid_grant",
        "The Code_Verifier does not match the code_challenge supplied in the authorization "
        "request.",
    ),
    700016: (
        "unauthorized_client",
        "Application with identifier '{client_id}' was not found in the directory '{tenant_id}'.",
    ),
    700054: ("unsupported_response_type", "response_type '{response_type}' is not enabled."),
    900144: ("invalid_request", "The request must contain the following parameter: '{name}'."),
    900561: ("invalid_request", "The endpoint only accepts {allowed} requests."),
    7000215: (
        "invalid_client",
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app "
        "'{client_id}'.",
    ),
    7000218: (
        "invalid_client",
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
    ),
    9002325: (
        "invalid_request",
        "Proof Key for Code Exchange is required: send a code_challenge with "
        "code_challenge_method=S256.",
    ),
}

GRAPH_RESOURCE = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph's app id


@dataclass(frozen=True)
class Policy:
    """A tenant condition on one user: what sign-in and refresh answer while it holds.

    ``suberror`` is what Entra adds at the token endpoint; MSAL passes it on, and uses it
    to classify the error (``consent_required``, ``basic_action``, ``additional_action``).
    """

    at_sign_in: int  # AADSTS code in the authorize redirect
    sign_in_error: str  # the redirect's OAuth ``error``
    at_refresh: int  # AADSTS code from the token endpoint
    suberror: str | None


POLICIES: dict[str, Policy] = {
    # The tenant lets only admins consent to mail scopes: "Need admin approval" at sign-in;
    # an existing grant that lost its consent fails the refresh with 65001.
    "admin_consent": Policy(90094, "consent_required", 65001, "consent_required"),
    # Conditional Access asks for MFA the app's refresh cannot satisfy.
    "mfa": Policy(50076, "interaction_required", 50076, "basic_action"),
    # The user must first register an MFA method (outside the sign-in flow).
    "mfa_enrollment": Policy(50079, "interaction_required", 50079, "additional_action"),
    # An admin disabled the account (accountEnabled = false).
    "disabled": Policy(50057, "access_denied", 50057, None),
}


class Fault(Exception):
    """An OAuth error as Entra reports it: one of :data:`AADSTS`, or (code None) a bare one.

    ``error`` overrides the table's OAuth error (the authorize endpoint names some
    conditions differently from the token endpoint).
    """

    def __init__(
        self,
        code: int | None,
        status: int = 400,
        error: str = "",
        *,
        suberror: str | None = None,
        **fill: str,
    ) -> None:
        known, message = AADSTS[code] if code else (error, fill.pop("message", ""))
        super().__init__(f"AADSTS{code}: {message.format(**fill)}" if code else message)
        self.error, self.code, self.status = error or known, code, status
        self.suberror = suberror

    def body(self) -> dict[str, object]:
        """The JSON body Entra sends with this error."""
        body: dict[str, object] = {
            "error": self.error,
            "error_description": str(self),
            "error_codes": [self.code] if self.code else [],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": str(uuid.uuid4()),
            # MSAL sends client-request-id; Entra echoes it so logs on both sides join up.
            "correlation_id": request.headers.get("client-request-id") or str(uuid.uuid4()),
        }
        if self.suberror:
            body["suberror"] = self.suberror
        return body


def policy_fault(name: str, client_id: str, *, at_sign_in: bool) -> Fault:
    """The error :data:`POLICIES` ``name`` gives app ``client_id`` at sign-in or at refresh."""
    policy = POLICIES[name]
    if at_sign_in:
        return Fault(
            policy.at_sign_in,
            error=policy.sign_in_error,
            resource=GRAPH_RESOURCE,
            client_id=client_id,
        )
    return Fault(
        policy.at_refresh, suberror=policy.suberror, resource=GRAPH_RESOURCE, client_id=client_id
    )


def fault_response(fault: Fault) -> tuple[Response, int]:
    return jsonify(fault.body()), fault.status


def http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    if isinstance(exc, MethodNotAllowed):
        fault = Fault(900561, status, allowed=", ".join(exc.valid_methods or []))
    else:
        error = exc.name.lower().replace(" ", "_")
        fault = Fault(None, status, error, message=exc.description or exc.name)
    return jsonify(fault.body()), status


def crash(exc: Exception) -> tuple[Response, int]:
    # Logged here and answered as JSON: a client of the sandbox never sees a stack trace.
    logging.getLogger("scaleup.sandbox.identity").error("identity platform failed", exc_info=exc)
    fault = Fault(None, 500, "server_error", message="The sandbox identity platform failed.")
    return jsonify(fault.body()), 500
