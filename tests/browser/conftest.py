"""Browser tests: headless Chromium driven by Playwright (sync API) against pytest-django's
live_server.

Fixtures:
- `browser`: one Chromium per session (/usr/bin/chromium, no sandbox).
- `open_page(user=None, size="phone", path="/")`: a new page at 390x844 ("phone") or
  1366x900 ("desktop"), signed in as `user` (session cookie) when given, already at `path`.
- `screenshot(page, name)`: saves var/screenshots/<name>.png for humans to look at.

Everything here SKIPS with a message (never fails) when the playwright package, Chromium, a
Chinese font (`fc-list :lang=zh`) or the front-end assets (static/vendor, from `npm ci`) are
missing. Mark tests `@pytest.mark.browser` and
`@pytest.mark.django_db(transaction=True, serialized_rollback=True)`: live_server needs a
transactional database, whose tables are flushed after each test; serialized_rollback reloads
the rows that data migrations created before each test, and `_restore_migration_data` reloads
them once more at the end of the session, so a `--reuse-db` database is never left empty.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"


def _missing() -> str | None:
    """Why browser tests cannot run here (None when they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        fonts = subprocess.run(
            ["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        fonts = ""
    if not fonts.strip():
        return "no Chinese font: Chinese would render as tofu (apt-get install fonts-wqy-microhei)"
    if not (ROOT / "static" / "vendor" / "bootstrap" / "bootstrap.min.css").exists():
        return "static/vendor is missing (run `npm ci` or `make setup`)"
    return None


@pytest.fixture(scope="session", autouse=True)
def _restore_migration_data(django_db_setup, django_db_blocker):
    """After the last transactional test has flushed the tables, put back what the migrations
    created (pytest-django serialized it at set-up), for the next `--reuse-db` run."""
    yield
    from django.apps import apps
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            contents = getattr(connection, "_test_serialized_contents", None)
            if contents:
                call_command(
                    "flush",
                    verbosity=0,
                    interactive=False,
                    database=connection.alias,
                    inhibit_post_migrate=True,
                )
                connection.creation.deserialize_db_from_string(contents)
                # the flush restarted every sequence: move them past the restored ids
                statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
                with connection.cursor() as cursor:
                    for sql in statements:
                        cursor.execute(sql)


@pytest.fixture(scope="session")
def browser():
    reason = _missing()
    if reason:
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; Django must allow sync DB calls in this thread.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


def session_cookie_for(user, url: str) -> dict:
    """A session cookie signing `user` in (the same session a login would create)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": url,
    }


@pytest.fixture
def open_page(browser, live_server, django_db_serialized_rollback):
    contexts = []

    def make(user=None, *, size: str = "phone", path: str = "/"):
        context = browser.new_context(viewport=SIZES[size], locale="zh-CN", device_scale_factor=1)
        context.set_default_timeout(10_000)
        contexts.append(context)
        if user is not None:
            context.add_cookies([session_cookie_for(user, live_server.url)])
        page = context.new_page()
        page.goto(live_server.url + path)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    def take(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        return target

    return take


def assert_renders_chinese(page) -> None:
    """The page's text is Chinese and a CJK font is actually used (no tofu boxes): the width of
    a Chinese string must differ from the width of the same count of a missing glyph."""
    text = page.inner_text("body")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), "no Chinese text on the page"
    widths = page.evaluate(
        """() => {
            const probe = (s) => {
                const c = document.createElement('canvas').getContext('2d');
                c.font = '16px ' + getComputedStyle(document.body).fontFamily;
                return c.measureText(s).width;
            };
            return [probe('党建工作'), probe('\\u{10FFFD}\\u{10FFFD}\\u{10FFFD}\\u{10FFFD}')];
        }"""
    )
    assert widths[0] > 0 and widths[0] != widths[1], f"Chinese glyphs look like tofu: {widths}"
