"""What a person does in the console's pages, as Playwright steps the browser tests share."""

from __future__ import annotations

from typing import Any

from bot.sandbox import RECRUITER
from tests.browser.conftest import ARTIFACTS
from tests.conftest import RunningBot


def shot(page: Any, name: str) -> None:
    """A full-page screenshot, ``tests/artifacts/<name>.png``."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    # A full-page capture leaves the page scrolled where Playwright does not expect it;
    # the next click would land beside its target.
    page.evaluate("() => window.scrollTo(0, 0)")


def command(page: Any, text: str, channel: str | None = None) -> None:
    """Type ``/scaleup text`` in the console (in ``channel``, a label like ``#x``) and send."""
    compose = page.locator("section.compose form", has=page.locator("input[name=text]"))
    compose.locator("input[name=text]").fill(text)
    if channel:
        compose.locator("select[name=channel]").select_option(label=channel)
    with page.expect_navigation():
        compose.get_by_role("button", name="Send").click()


def modal(page: Any) -> Any:
    """The modal on top of the person's screen."""
    return page.locator("section.modal")


def connect_outlook(page: Any, bot: RunningBot, prefix: str) -> None:
    """``/scaleup connect``, then the sandbox Microsoft sign-in page in the tab it opens;
    screenshots ``<prefix>-microsoft-consent`` and ``<prefix>-connected``."""
    command(page, f"connect {RECRUITER.email}")
    sign_in = page.get_by_role("link", name="Sign in with Microsoft").first
    with page.context.expect_page() as opened:
        sign_in.click()
    microsoft = opened.value
    microsoft.wait_for_load_state()
    assert microsoft.url.startswith("https://")
    assert microsoft.locator("input[name=username]").input_value() == RECRUITER.email
    shot(microsoft, f"{prefix}-microsoft-consent")
    microsoft.get_by_role("button", name="Accept").click()
    microsoft.wait_for_url(f"{bot.url}/**")
    microsoft.get_by_text("Outlook connected").wait_for()
    shot(microsoft, f"{prefix}-connected")
    microsoft.close()


def move_clock(page: Any, label: str) -> None:
    """Press one of the clock control's buttons ("next business morning", "+1 hour"…)."""
    with page.expect_navigation():
        page.locator("section.clock").get_by_role("button", name=label).click()
