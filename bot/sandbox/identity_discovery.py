"""Entra's two discovery documents, as the sandbox identity platform serves them.

MSAL reads both before it signs anyone in (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc,
"Find your app's OpenID configuration document URI"):

- **Instance discovery**, ``GET /common/discovery/instance?authorization_endpoint=…``: is this
  host an Entra instance, where is the tenant's OpenID configuration, and which hosts are
  aliases of it (``api-version=1.1`` adds ``metadata``). MSAL asks it to validate an authority
  it does not know, and for the aliases of an account's environment. An authorize URL on
  another host is ``invalid_instance`` (AADSTS50049).
- **OpenID configuration**, ``GET /{tenant}/v2.0/.well-known/openid-configuration``. For the
  multi-tenant forms ``organizations`` and ``common`` the issuer is the template
  ``https://{host}/{tenantid}/v2.0``: the signed-in user's tenant fills it in, so the ID token's
  ``iss`` names the user's tenant, not ``organizations``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, jsonify, request

from bot.sandbox.identity_errors import Fault

#: Authority path segments that stand for "whichever tenant the user belongs to".
MULTI_TENANT = frozenset({"common", "organizations", "consumers"})
RESERVED_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


def issuer(tenant: str, tenant_id: str) -> str:
    """The ``iss`` of a token issued under the authority path segment ``tenant``."""
    return f"{request.url_root}{tenant_id if tenant.lower() in MULTI_TENANT else tenant}/v2.0"


def openid_configuration(tenant: str) -> dict[str, object]:
    # Built from the request: the port is only known once the server is up.
    base = f"{request.url_root}{tenant}"
    multi = tenant.lower() in MULTI_TENANT
    return {
        "issuer": f"{request.url_root}{{tenantid}}/v2.0" if multi else f"{base}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise"],
        "scopes_supported": sorted(RESERVED_SCOPES),
        "id_token_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": "iss aud sub oid tid preferred_username name email nonce".split(),
        "tenant_region_scope": None,
        "cloud_instance_name": "sandbox.scaleup.test",
    }


def instance_discovery() -> tuple[Response, int]:
    """``/common/discovery/instance``: where the authorize endpoint's tenant is described."""
    endpoint = request.args.get("authorization_endpoint", "")
    if not endpoint:
        raise Fault(900144, name="authorization_endpoint")
    parts = urlsplit(endpoint)
    here = urlsplit(request.url_root).hostname
    # MSAL sends the authority's host without its port (msal/authority.py), as Entra's
    # instances have none; the host alone decides.
    if parts.scheme != "https" or parts.hostname != here:
        raise Fault(50049)
    segments = [s for s in parts.path.split("/") if s]
    tenant = segments[0] if segments else "common"
    version = "v2.0/" if "v2.0" in segments else ""  # a v1 authorize URL gets v1's document
    body: dict[str, object] = {
        "tenant_discovery_endpoint": (
            f"{request.url_root}{tenant}/{version}.well-known/openid-configuration"
        ),
        "api-version": "1.1",
        "metadata": [{"preferred_network": here, "preferred_cache": here, "aliases": [here]}],
    }
    return jsonify(body), 200
