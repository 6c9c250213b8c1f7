"""Sign-in and the navigation in a real browser, at phone and desktop size."""

import pytest

from tests.browser.conftest import assert_renders_chinese

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_sign_in_through_the_form(open_page, screenshot, users, size):
    page = open_page(size=size, path="/accounts/login/")
    assert_renders_chinese(page)
    screenshot(page, f"login-{size}")
    page.fill("#id_username", "secretary")
    page.fill("#id_password", "pass-12345")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/home/")
    assert "甲村党支部" in page.inner_text("main")
    screenshot(page, f"home-secretary-{size}")


def test_failed_sign_in_shows_chinese_error(open_page, users):
    page = open_page(path="/accounts/login/")
    page.fill("#id_username", "secretary")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    assert page.locator(".alert-danger").inner_text().strip() == "用户名（手机号）或密码不正确。"


def test_offcanvas_menu_opens_on_phone(open_page, screenshot, users):
    page = open_page(users.admin, path="/accounts/home/")
    menu = page.locator("#sidenav")
    assert not menu.is_visible()
    page.click("button[data-bs-target='#sidenav']")
    menu.locator("a", has_text="用户与角色").wait_for(state="visible")
    assert menu.locator("a", has_text="审计日志").is_visible()
    screenshot(page, "menu-admin-phone")
    menu.locator("a", has_text="用户与角色").click()
    page.wait_for_url("**/accounts/users/")


def test_reveal_component_in_the_browser(open_page, screenshot, tree, users):
    from django.urls import reverse

    from tests.factories import MemberFactory

    member = MemberFactory(branch=tree.branch_a)
    member.set_id_number("110101199003071234")
    member.save()
    url = reverse("core:reveal", args=["members.member", member.pk, "id_number"])
    page = open_page(users.secretary, path="/accounts/home/")
    # put the masked component (as `{% reveal %}` renders it) into a real page with HTMX
    page.evaluate(
        """async (url) => {
            const html = await (await fetch(url + '?cancel=1')).text();
            const main = document.querySelector('#main');
            main.insertAdjacentHTML('afterbegin', html);
            htmx.process(main);
        }""",
        url,
    )
    assert "110101********1234" in page.inner_text("main")
    page.click("text=查看")
    page.fill("input[name=reason]", "核对身份信息")
    page.click("text=确定")
    page.locator("[data-revealed]").wait_for()
    assert page.locator("[data-revealed]").inner_text() == "110101199003071234"
    screenshot(page, "reveal-secretary-phone")
