"""Fixtures for the Playwright journeys: one Chromium per session, a fresh page per test.

The browser is Debian's Chromium (/usr/bin/chromium), driven by the `playwright` Python
package directly (no pytest-playwright, never `playwright install`). The site is Django's
live server over an in-memory SQLite database shared with the test thread, so every test
that opens a page needs transactional database access (`e2e_org` asks for it).

Skipping: CRM_SKIP_E2E=1 (set by scripts/test.sh when Chromium or the CJK font is missing)
skips the suite, but never when CI=true: there a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

CHROMIUM = os.environ.get("CRM_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"

DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 375, "height": 812},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
# Tests wait for the page, not for the clock; a step that takes longer than this is a bug.
TIMEOUT_MS = 10_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CRM_SKIP_E2E") != "1" or _in_ci():
        return
    reason = "CRM_SKIP_E2E=1: Chromium or the CJK font is missing (see scripts/test.sh)"
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    # Remember each phase's outcome on the item so `page` can screenshot a failure.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        message = (
            f"{CHROMIUM} not found: install it with `apt-get install chromium fonts-wqy-microhei`"
        )
        if _in_ci():
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def e2e_org(transactional_db: None) -> SimpleNamespace:
    """The demo-like organisation, committed so the live server thread can see it.

    (The root `org` fixture uses `db`, whose rows live in a transaction the server never sees.)
    """
    from crm.access.tests.factories import build_org

    return build_org()


def _open_page(
    browser: Any, device: str, request: pytest.FixtureRequest, artifacts_dir: Path
) -> Iterator[Any]:
    prefix = f"{_slug(request.node.originalname)}-{device}-"
    # Screenshots of an earlier run of this test would mislead (a FAILED.png that no longer is).
    for old in artifacts_dir.glob(f"{prefix}*.png"):
        old.unlink()
    context = browser.new_context(locale="zh-CN", **DEVICES[device])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.crm_device = device  # read by `shot` to name the files
    try:
        yield page
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            # The page may be gone; the test report already has the real error.
            with contextlib.suppress(Exception):
                page.screenshot(path=str(artifacts_dir / f"{prefix}FAILED.png"), full_page=True)
        context.close()


@pytest.fixture(params=sorted(DEVICES))
def page(
    request: pytest.FixtureRequest, browser: Any, artifacts_dir: Path, live_server: Any
) -> Iterator[Any]:
    """A fresh browser page (own cookies), once at desktop and once at phone size."""
    yield from _open_page(browser, request.param, request, artifacts_dir)


@pytest.fixture
def desktop_page(
    request: pytest.FixtureRequest, browser: Any, artifacts_dir: Path, live_server: Any
) -> Iterator[Any]:
    yield from _open_page(browser, "desktop", request, artifacts_dir)


@pytest.fixture
def phone_page(
    request: pytest.FixtureRequest, browser: Any, artifacts_dir: Path, live_server: Any
) -> Iterator[Any]:
    yield from _open_page(browser, "phone", request, artifacts_dir)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


@pytest.fixture
def shot(request: pytest.FixtureRequest, artifacts_dir: Path) -> Callable[[Any, str], Path]:
    """shot(page, "step") saves test-artifacts/e2e/<test>-<device>-<step>.png (full page)."""
    base = _slug(request.node.originalname)

    def take(page: Any, step: str) -> Path:
        device = getattr(page, "crm_device", "page")
        path = artifacts_dir / f"{base}-{device}-{_slug(step)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sign_in(live_server: Any) -> Callable[[Any, Any], None]:
    """sign_in(page, user): the page's browser context gets a session for `user` directly.

    For journeys about something other than logging in: saves the login form's round trips
    (test_login.py covers the form itself).
    """
    from django.conf import settings
    from django.test import Client

    def go(page: Any, user: Any) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.clear_cookies()
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )

    return go
