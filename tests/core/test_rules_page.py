import pytest

from apps.core.models import AuditEntry, RuleSetting
from apps.core.rules import registry, rule_value

pytestmark = pytest.mark.django_db


def _int_rule():
    return next(rule for rule in registry().values() if rule.kind is int)


def test_rules_page_is_for_administrators(client_for, users):
    assert client_for(users.staff).get("/settings/rules/").status_code == 403
    assert client_for(users.secretary).get("/settings/rules/").status_code == 403
    page = client_for(users.admin).get("/settings/rules/")
    assert page.status_code == 200 and "规则参数" in page.content.decode()


def test_bad_value_gives_chinese_error_and_changes_nothing(client_for, users):
    rule = _int_rule()
    response = client_for(users.admin).post("/settings/rules/", {"key": rule.key, "value": "abc"})
    assert response.status_code == 400
    assert f"“{rule.label}”的取值无效" in response.content.decode()
    assert (
        not RuleSetting.objects.exists() and not AuditEntry.objects.filter(verb="rule_set").exists()
    )
    assert rule_value(rule.key) == rule.default


def test_good_value_is_saved_and_audited(client_for, users):
    rule = _int_rule()
    new = (
        (rule.min_value or 0) + 1 if rule.default != (rule.min_value or 0) + 1 else rule.default + 1
    )
    response = client_for(users.admin).post(
        "/settings/rules/", {"key": rule.key, "value": str(new)}
    )
    assert response.status_code == 302
    assert rule_value(rule.key) == new
    assert AuditEntry.objects.filter(verb="rule_set", object_id=rule.key).exists()


def test_dict_rules_are_edited_as_json(client_for, users):
    rule = next((r for r in registry().values() if r.kind is dict), None)
    if rule is None:
        pytest.skip("no dict rule registered")
    client = client_for(users.admin)
    bad = client.post("/settings/rules/", {"key": rule.key, "value": "{not json"})
    assert bad.status_code == 400 and "取值无效" in bad.content.decode()
    assert client.post("/settings/rules/", {"key": rule.key, "value": "[1, 2]"}).status_code == 400
    import json

    good = client.post("/settings/rules/", {"key": rule.key, "value": json.dumps(rule.default)})
    assert good.status_code == 302
    assert rule_value(rule.key) == rule.default
