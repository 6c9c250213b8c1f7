"""Accounts and core pages at phone and desktop size: they render Chinese, fit the screen (no
sideways scrolling) and are saved to var/screenshots/ for a human look."""

import pytest

from apps.core.audit import audit_log
from apps.core.models import AuditAction
from tests.browser.conftest import assert_renders_chinese

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def assert_fits(page):
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_admin_pages(open_page, screenshot, live_server, tree, users, size):
    users.secretary.set_phone("13812345678")
    users.secretary.save()
    audit_log(
        actor=users.admin,
        action=AuditAction.UPDATE,
        obj=tree.branch_a,
        verb="org_update",
        changes={"name": ["甲村支部", "甲村党支部"]},
    )
    pages = {
        "home-admin": "/accounts/home/",
        "users": "/accounts/users/",
        "user-detail": f"/accounts/users/{users.secretary.pk}/",
        "user-new": "/accounts/users/new/",
        "audit": "/accounts/audit/",
        "rules": "/settings/rules/",
    }
    page = open_page(users.admin, size=size)
    for name, path in pages.items():
        page.goto(live_server.url + path)
        assert_renders_chinese(page)
        assert_fits(page)
        screenshot(page, f"{name}-{size}")
    # a form with errors
    page.goto(live_server.url + "/accounts/users/new/")
    page.fill("#id_username", "a b")
    page.fill("#id_full_name", "张三")
    page.fill("#id_phone", "123")
    page.fill("#id_password", "1")
    page.click("main button[type=submit]")
    assert "请输入11位手机号码" in page.inner_text("main")
    assert_fits(page)
    screenshot(page, f"user-new-errors-{size}")


@pytest.mark.parametrize("role", ["staff", "committee", "member", "nobody"])
def test_home_per_role_on_phone(open_page, screenshot, users, role):
    page = open_page(getattr(users, role), path="/accounts/home/")
    assert_renders_chinese(page)
    assert_fits(page)
    screenshot(page, f"home-{role}-phone")
