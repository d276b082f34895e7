"""Helpers for the headless-browser tests: a real uvicorn server on a free loopback port, and Debian's
system Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from policyqa import localserver

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "tests" / "artifacts" / "screenshots"
CHROMIUM_PATH = os.environ.get("POLICYQA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE_VIEWPORT = {"width": 390, "height": 844}
SERVER_START_TIMEOUT_S = 120.0


@contextlib.contextmanager
def running_server(app_target: str, env: Mapping[str, str], factory: bool = False) -> Iterator[str]:
    """Run `uvicorn app_target` in a subprocess on a free loopback port; yield its base URL."""
    with localserver.running_server(
        env, timeout_s=SERVER_START_TIMEOUT_S, access_log=True, app=app_target, factory=factory
    ) as base_url:
        yield base_url


def launch_chromium(playwright: Any) -> Any:
    """Launch the system Chromium headless with the flags CI needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True)


def phone_context(browser: Any, base_url: str) -> Any:
    """A phone-sized browser context (390x844, touch, zh-CN) allowed to use the clipboard."""
    context = browser.new_context(
        base_url=base_url,
        viewport=PHONE_VIEWPORT,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        user_agent=(
            "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.47"
        ),
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    return context


def screenshot(page: Any, name: str, full_page: bool = False) -> Path:
    """Save a PNG under tests/artifacts/screenshots/ and return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
