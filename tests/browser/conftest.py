"""Browser tests: Playwright for Python driving Debian's Chromium.

Playwright's own browser download is not reachable from our machines, so the tests launch
the system Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) by ``executable_path`` and
install it with ``apt-get install -y chromium`` when it is missing. Under ``CI=true`` they
must run: a Chromium that cannot be installed fails the session. Elsewhere they skip,
saying why. Screenshots go to ``tests/artifacts/`` (ignored by git).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
#: As the machine notes say: without the background-networking flags Chromium keeps
#: trying Google's hosts, which the closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--ignore-certificate-errors",  # the sandbox Microsoft sign-in has a self-signed CA
]


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", *args], env=env, capture_output=True, text=True, timeout=900, check=False
    )


def install_chromium() -> str | None:
    """None when Chromium is there (installed with apt-get if it was missing), else why not."""
    if CHROMIUM.exists():
        return None
    if shutil.which("apt-get") is None:
        return f"{CHROMIUM} is missing and there is no apt-get to install it"
    if os.geteuid() != 0:
        return f"{CHROMIUM} is missing and only root may run apt-get install -y chromium"
    done = _apt_get("install", "-y", "chromium")
    if done.returncode != 0:  # a fresh machine may have no package lists yet
        _apt_get("update")
        done = _apt_get("install", "-y", "chromium")
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        return f"apt-get install -y chromium failed: {' '.join(tail) or done.returncode}"
    if not CHROMIUM.exists():
        return f"apt-get installed chromium, but there is no {CHROMIUM} (set CHROMIUM)"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright ``Browser``) for the session."""
    reason = install_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        reason = reason or f"the playwright package is not installed ({exc})"
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true requires the browser tests to run: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context and page; its screenshots go to ``tests/artifacts/``."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(
        ignore_https_errors=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
