"""What Slack says about the person acting, for the permission rule in
:mod:`outreach.permissions`: whether they are a workspace admin or owner."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


def is_workspace_admin(client: WebClient, user_id: str) -> bool:
    """``is_admin`` or ``is_owner`` of ``users.info``; False when Slack does not answer,
    so a lookup that fails never grants anything."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as exc:
        log.warning("users.info %s failed: %s", user_id, exc.response.get("error"))
        return False
    except (KeyError, TypeError):
        return False
    return bool(user.get("is_admin") or user.get("is_owner"))
