"""Personal data reveal: the reveal capability, a reason, an audit entry; 404 outside scope."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from apps.core.models import AuditAction, AuditEntry
from apps.core.reveal import personal_data_reveal
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
ID = "110101199003071234"


@pytest.fixture
def record(tree):
    member = MemberFactory(branch=tree.branch_a, name="李党员")
    member.set_id_number(ID)
    member.save()
    return member


def test_secretary_reveals_with_reason_and_it_is_audited(users, record):
    value = personal_data_reveal(
        actor=users.secretary, obj=record, field="id_number", reason="办理组织关系转接"
    )
    assert value == ID
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL)
    assert entry.actor == users.secretary and entry.reason == "办理组织关系转接"
    assert entry.org == record.branch and entry.changes == {"field": "id_number"}


def test_without_capability_403(users, record):
    with pytest.raises(PermissionDenied):
        personal_data_reveal(actor=users.committee, obj=record, field="id_number", reason="看看")


def test_outside_scope_404(users, record):
    with pytest.raises(Http404):
        personal_data_reveal(actor=users.outsider, obj=record, field="id_number", reason="看看")


def test_reason_required_400(users, record):
    with pytest.raises(ValidationError) as exc:
        personal_data_reveal(actor=users.secretary, obj=record, field="id_number", reason="  ")
    assert exc.value.message_dict == {"reason": ["请填写查看原因。"]}
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()


def test_fragment_flow(client_for, users, record):
    client = client_for(users.secretary)
    url = f"/reveal/members.member/{record.pk}/id_number/"
    form = client.get(url)
    assert form.status_code == 200 and "查看原因" in form.content.decode()
    missing = client.post(url, {"reason": ""})
    assert missing.status_code == 400 and "请填写查看原因" in missing.content.decode()
    shown = client.post(url, {"reason": "核对信息"})
    assert shown.status_code == 200 and ID in shown.content.decode()
    assert client_for(users.committee).get(url).status_code == 403
    assert client_for(users.outsider).post(url, {"reason": "x"}).status_code == 404
    assert client.get("/reveal/members.member/999999/id_number/").status_code == 404
    assert client.get(f"/reveal/members.member/{record.pk}/name/").status_code == 404


def test_template_tag_shows_masked_value_and_button_only_with_capability(rf, users, record):
    from django.template import Context, Template

    template = Template('{% load reveal %}{% reveal member "id_number" %}')
    for user, has_button in ((users.secretary, True), (users.committee, False)):
        request = rf.get("/")
        request.user = user
        html = template.render(Context({"member": record, "request": request}))
        assert "110101********1234" in html and ID not in html
        assert ("查看" in html) is has_button
