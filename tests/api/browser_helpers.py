"""Helpers for the headless-browser tests: a real uvicorn server on a free loopback port, a second static
site (another origin) for the embed demo, Debian's system Chromium driven by Playwright (never
`playwright install`), and axe-core (the copy bundled in the PyPI package axe-playwright-python)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import os
import threading
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
DESKTOP_VIEWPORT = {"width": 1366, "height": 900}
SERVER_START_TIMEOUT_S = 120.0
FAILING_IMPACTS = ("serious", "critical")
PHONE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.47"
)


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


def phone_context(browser: Any, base_url: str, color_scheme: str = "light") -> Any:
    """A phone-sized browser context (390x844, touch, zh-CN) allowed to use the clipboard."""
    return new_context(browser, base_url, "phone", color_scheme)


def new_context(browser: Any, base_url: str, device: str = "phone", color_scheme: str = "light") -> Any:
    """A browser context: `device` "phone" (390x844, touch, WeChat's user agent) or "desktop" (1366x900),
    `color_scheme` "light" or "dark"; zh-CN, allowed to use the clipboard on `base_url`."""
    phone = device == "phone"
    context = browser.new_context(
        base_url=base_url,
        viewport=PHONE_VIEWPORT if phone else DESKTOP_VIEWPORT,
        device_scale_factor=1,  # committed screenshots stay small; layout is the same as at 2x
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN",
        color_scheme=color_scheme,
        **({"user_agent": PHONE_USER_AGENT} if phone else {}),
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    return context


def screenshot(page: Any, name: str, full_page: bool = False) -> Path:
    """Save a PNG under tests/artifacts/screenshots/ and return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    return path


@functools.cache
def axe_source() -> str | None:
    """The axe-core script (axe.min.js from the axe-playwright-python package), or None if not installed."""
    spec = importlib.util.find_spec("axe_playwright_python")
    if spec is None or spec.origin is None:
        return None
    return (Path(spec.origin).parent / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(target: Any, exclude: list[str] | None = None) -> list[dict[str, Any]]:
    """Run axe-core in a page or frame (frames are checked on their own); return the serious and
    critical violations as {id, impact, help, targets}."""
    source = axe_source()
    assert source is not None, "axe-core is missing: pip install axe-playwright-python"
    target.evaluate(source)
    context = {"include": [["html"]], "exclude": [[selector] for selector in exclude]} if exclude else None
    results = target.evaluate(
        "([context]) => axe.run(context || document, {resultTypes: ['violations'], iframes: false})",
        [context],
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in results["violations"]
        if v["impact"] in FAILING_IMPACTS
    ]


@contextlib.contextmanager
def static_site(directory: Path) -> Iterator[str]:
    """Serve `directory` on a free loopback port (another origin than the app); yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer((localserver.HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{localserver.HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
