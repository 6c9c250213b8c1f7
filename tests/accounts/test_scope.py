import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.accounts import scope
from apps.members.models import Member

pytestmark = pytest.mark.django_db


def test_staff_sees_only_their_subtree(tree, users):
    visible = set(scope.orgs_visible_to(users.staff).values_list("name", flat=True))
    assert visible == {"甲镇党委", "甲村党支部", "乙村党支部", "甲村第一党小组"}


def test_outsider_gets_404_not_403(tree, users):
    with pytest.raises(Http404):
        scope.get_org_or_404(users.outsider, tree.branch_a.pk)


def test_read_only_role_gets_403_on_write(tree, users):
    with pytest.raises(PermissionDenied):
        scope.require(users.staff, "branch_write", tree.branch_a)
    scope.require(users.secretary, "branch_write", tree.branch_a)


def test_scoped_ids_rejects_any_id_outside(tree, users):
    with pytest.raises(Http404):
        scope.scoped_ids(
            scope.orgs_visible_to(users.secretary),
            users.secretary,
            [tree.branch_a.pk, tree.branch_c.pk],
            path_field="path",
        )


def test_member_role_sees_own_branch_only_and_no_member_list(tree, users):
    assert list(scope.orgs_visible_to(users.member)) == [tree.branch_a]
    assert not scope.scoped(Member.objects.all(), users.member, path_field="branch__path").exists()


def test_merge_moves_member_grants_and_lapses_office_holders(tree, users, client_for):
    from apps.core.models import AuditEntry
    from apps.organizations import services as org_services

    org_services.org_merge(actor=users.admin, org=tree.branch_a, into=tree.branch_b)

    # The ordinary member followed their record to 乙村党支部 and still sees their home card.
    assert list(users.member.grants.values_list("org_id", flat=True)) == [tree.branch_b.pk]
    assert Member.objects.get(user=users.member).branch_id == tree.branch_b.pk
    home = client_for(users.member).get("/accounts/home/").content.decode()
    assert "乙村党支部" in home
    # The old branch's secretary no longer reaches anything of the merged branch.
    sec = client_for(users.secretary)
    assert sec.get(f"/organizations/{tree.branch_b.pk}/").status_code == 404
    entry = AuditEntry.objects.get(verb="grants_follow_merge")
    assert entry.changes["member_grants_moved"][1] == ["member"]
    assert sorted(entry.changes["grants_lapsed"][1]) == [
        "committee（支委）",
        "secretary（支部书记）",
    ]
