import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.core.models import AuditEntry
from apps.members.models import Member, MemberStatus
from apps.organizations import selectors, services
from apps.organizations.models import (
    CommitteePosition,
    Org,
    OrgParentLink,
    OrgType,
    Position,
    Term,
    TermState,
)
from tests.factories import MemberFactory, make_org

pytestmark = pytest.mark.django_db

D = dt.date


def fresh(org: Org) -> Org:
    return Org.objects.get(pk=org.pk)


def assert_tree_consistent():
    """path parent == parent FK, numchild == children count, one open link == parent."""
    for org in Org.objects.all():
        parent_path = org.path[: (org.depth - 1) * Org.steplen]
        expected_parent = Org.objects.get(path=parent_path) if org.depth > 1 else None
        assert org.parent == expected_parent, org
        assert org.numchild == Org.objects.filter(parent=org).count(), org
        link = OrgParentLink.objects.filter(org=org, valid_to__isnull=True).first()
        if org.abolished_on is None:
            assert link is not None and link.parent_id == org.parent_id, org


# --- create / update -----------------------------------------------------------------------


def test_parent_rules_party_group_only_under_a_branch_and_nothing_under_it(tree):
    with pytest.raises(ValidationError, match="党小组不能设在基层党委之下"):
        make_org(tree.town_a, org_type=OrgType.PARTY_GROUP)
    with pytest.raises(ValidationError, match="党小组下不能再设立下级组织"):
        make_org(tree.group_a, org_type=OrgType.PARTY_GROUP)
    with pytest.raises(ValidationError, match="党小组下不能再设立下级组织"):
        make_org(tree.group_a, org_type=OrgType.BRANCH)
    with pytest.raises(ValidationError, match="党支部不能设在党支部之下"):
        make_org(tree.branch_a, org_type=OrgType.BRANCH)
    for kind in (OrgType.BRANCH, OrgType.JOINT_BRANCH, OrgType.TEMP_BRANCH):
        branch = make_org(tree.town_a, org_type=kind)
        make_org(branch, org_type=OrgType.PARTY_GROUP)  # allowed under every branch kind


def test_deep_grid_branches_and_building_groups_fit(tree):
    community = make_org(tree.town_a, org_type=OrgType.PRIMARY_COMMITTEE, name="社区党委")
    general = make_org(community, org_type=OrgType.GENERAL_BRANCH, name="网格党总支")
    grid = make_org(general, name="第一网格党支部")
    group = make_org(grid, org_type=OrgType.PARTY_GROUP, name="1号楼党小组")
    assert fresh(group).depth == 6
    assert_tree_consistent()


def test_update_audits_the_diff_and_rejects_duplicate_code(tree):
    services.org_update(actor=None, org=tree.branch_a, name="甲村第一党支部", address="甲村村委会")
    entry = AuditEntry.objects.filter(verb="org_update").get()
    assert entry.changes == {
        "name": ["甲村党支部", "甲村第一党支部"],
        "address": ["", "甲村村委会"],
    }
    with pytest.raises(ValidationError, match="已被使用"):
        services.org_update(actor=None, org=tree.branch_a, code=tree.branch_b.code)
    assert fresh(tree.branch_a).code != tree.branch_b.code


def test_joint_branch_lists_at_most_five_units(tree):
    with pytest.raises(ValidationError, match="不超过5个"):
        make_org(
            tree.town_a,
            org_type=OrgType.JOINT_BRANCH,
            setup_form="joint",
            joint_units=list("ABCDEF"),
        )
    make_org(
        tree.town_a, org_type=OrgType.JOINT_BRANCH, setup_form="joint", joint_units=list("ABCDE")
    )


# --- move ------------------------------------------------------------------------------


def test_move_subtree_keeps_parent_fk_and_dated_history(tree):
    services.org_move(
        actor=None, org=tree.branch_a, new_parent=tree.town_b, on=D(2024, 4, 1), reason="区划调整"
    )
    branch_a, group_a = fresh(tree.branch_a), fresh(tree.group_a)
    assert branch_a.parent == tree.town_b
    assert branch_a.path.startswith(fresh(tree.town_b).path)
    assert group_a.path.startswith(branch_a.path) and group_a.parent == branch_a
    links = list(OrgParentLink.objects.filter(org=tree.branch_a).order_by("valid_from"))
    assert [(lk.parent_id, lk.valid_from, lk.valid_to) for lk in links] == [
        (tree.town_a.pk, D(2015, 1, 1), D(2024, 4, 1)),
        (tree.town_b.pk, D(2024, 4, 1), None),
    ]
    assert AuditEntry.objects.filter(verb="org_move", object_id=str(tree.branch_a.pk)).count() == 1
    assert_tree_consistent()


def test_move_refused_under_itself_or_its_own_descendant(tree):
    with pytest.raises(ValidationError, match="不能选择该组织本身"):
        services.org_move(actor=None, org=tree.town_a, new_parent=tree.town_a)
    with pytest.raises(ValidationError, match="不能移到自身的下级组织“甲村党支部”之下"):
        services.org_move(actor=None, org=tree.town_a, new_parent=tree.branch_a)
    with pytest.raises(ValidationError, match="党支部不能设在党支部之下"):
        services.org_move(actor=None, org=tree.branch_b, new_parent=tree.branch_c)
    assert fresh(tree.town_a).parent == tree.county
    assert OrgParentLink.objects.filter(org=tree.town_a).count() == 1
    assert not AuditEntry.objects.filter(verb="org_move").exists()


def test_subtree_as_of_a_past_date_follows_the_history(tree):
    services.org_move(actor=None, org=tree.branch_a, new_parent=tree.town_b, on=D(2024, 4, 1))
    q1 = set(
        selectors.subtree_as_of(org=tree.town_a, on=D(2024, 3, 31)).values_list("name", flat=True)
    )
    q2 = set(
        selectors.subtree_as_of(org=tree.town_a, on=D(2024, 4, 1)).values_list("name", flat=True)
    )
    assert q1 == {"甲镇党委", "甲村党支部", "甲村第一党小组", "乙村党支部"}
    assert q2 == {"甲镇党委", "乙村党支部"}
    b_then = set(
        selectors.subtree_as_of(org=tree.town_b, on=D(2024, 3, 31)).values_list("name", flat=True)
    )
    assert b_then == {"乙镇党委", "丙村党支部"}
    # not yet founded
    late = make_org(tree.town_a, founded_on=D(2025, 1, 1), name="新支部")
    assert late not in selectors.subtree_as_of(org=tree.town_a, on=D(2024, 12, 31))
    assert late in selectors.subtree_as_of(org=tree.town_a, on=D(2025, 1, 1))
    parents = selectors.parent_map_as_of(on=D(2024, 3, 31))
    assert parents[tree.branch_a.pk] == tree.town_a.pk and late.pk not in parents


# --- merge / abolish --------------------------------------------------------------------


def test_merge_moves_children_members_and_abolishes(tree):
    alice = MemberFactory(branch=tree.branch_a, party_group=tree.group_a, name="甲")
    bob = MemberFactory(branch=tree.branch_a, name="乙", status=MemberStatus.APPLICANT)
    secretary = MemberFactory(branch=tree.branch_a, name="丙")
    services.committee_position_assign(
        actor=None,
        org=tree.branch_a,
        member=secretary,
        position=Position.SECRETARY,
        started_on=D(2020, 1, 1),
    )
    services.term_start(actor=None, org=tree.branch_a, elected_on=D(2021, 1, 1))
    services.org_merge(actor=None, org=tree.branch_a, into=tree.branch_b, on=D(2024, 7, 1))

    branch_a = fresh(tree.branch_a)
    assert branch_a.abolished_on == D(2024, 7, 1) and branch_a.merged_into == tree.branch_b
    assert fresh(tree.group_a).parent == tree.branch_b
    assert set(Member.objects.filter(branch=tree.branch_b)) == {alice, bob, secretary}
    assert Member.objects.get(pk=alice.pk).party_group == tree.group_a  # the group came along
    assert not CommitteePosition.objects.filter(org=tree.branch_a, ended_on__isnull=True).exists()
    assert Term.objects.get(org=tree.branch_a).state == TermState.CLOSED
    assert Org.objects.filter(pk=tree.branch_a.pk).exists()  # nothing hard-deleted
    group_links = OrgParentLink.objects.filter(org=tree.group_a).order_by("valid_from")
    assert [lk.parent_id for lk in group_links] == [tree.branch_a.pk, tree.branch_b.pk]
    # the merged branch belonged to town_a until the merge day
    assert branch_a in selectors.subtree_as_of(org=tree.town_a, on=D(2024, 6, 30))
    assert branch_a not in selectors.subtree_as_of(org=tree.town_a, on=D(2024, 7, 1))
    assert AuditEntry.objects.filter(verb="org_merge").count() == 1
    assert_tree_consistent()


def test_merge_party_group_into_another_group(tree):
    group_b = make_org(tree.branch_b, org_type=OrgType.PARTY_GROUP)
    alice = MemberFactory(branch=tree.branch_a, party_group=tree.group_a)
    services.org_merge(actor=None, org=tree.group_a, into=group_b)
    alice.refresh_from_db()
    assert (alice.party_group, alice.branch) == (group_b, tree.branch_b)


def test_merge_refusals(tree):
    with pytest.raises(ValidationError, match="党支部只能并入另一个党支部"):
        services.org_merge(actor=None, org=tree.branch_a, into=tree.town_b)
    with pytest.raises(ValidationError, match="不能移到自身的下级组织"):
        services.org_merge(actor=None, org=tree.town_a, into=tree.branch_a)
    with pytest.raises(ValidationError, match="不能并入党支部"):
        services.org_merge(actor=None, org=tree.town_a, into=tree.branch_c)
    assert fresh(tree.town_a).abolished_on is None
    services.org_merge(actor=None, org=tree.town_a, into=tree.town_b, on=D(2024, 1, 1))
    assert set(Org.objects.filter(parent=tree.town_b).values_list("name", flat=True)) == {
        "甲村党支部",
        "乙村党支部",
        "丙村党支部",
    }
    with pytest.raises(ValidationError, match="已撤销"):
        services.org_move(actor=None, org=tree.branch_c, new_parent=fresh(tree.town_a))
    assert_tree_consistent()


def test_abolish_refused_with_active_children_or_members(tree):
    with pytest.raises(ValidationError, match="还有1个未撤销的下级组织"):
        services.org_abolish(actor=None, org=tree.branch_a)
    MemberFactory(branch=tree.branch_b)
    MemberFactory(branch=tree.branch_b, status=MemberStatus.PROBATIONARY)
    with pytest.raises(ValidationError, match="还有2名党员"):
        services.org_abolish(actor=None, org=tree.branch_b)
    assert fresh(tree.branch_b).abolished_on is None
    services.org_abolish(actor=None, org=tree.group_a, on=D(2024, 1, 1))
    services.org_abolish(actor=None, org=tree.branch_a, on=D(2024, 1, 2))
    assert fresh(tree.branch_a).abolished_on == D(2024, 1, 2)
    assert not OrgParentLink.objects.filter(org=tree.branch_a, valid_to__isnull=True).exists()
    with pytest.raises(ValidationError, match="已于2024-01-02撤销"):
        services.org_abolish(actor=None, org=tree.branch_a)


# --- committee ------------------------------------------------------------------------------


def test_secretary_is_single_holder_and_positions_have_dates(tree):
    a, b = MemberFactory(branch=tree.branch_a), MemberFactory(branch=tree.branch_a)
    held = services.committee_position_assign(
        actor=None,
        org=tree.branch_a,
        member=a,
        position=Position.SECRETARY,
        started_on=D(2022, 1, 1),
    )
    with pytest.raises(ValidationError, match="本组织已有书记"):
        services.committee_position_assign(
            actor=None,
            org=tree.branch_a,
            member=b,
            position=Position.SECRETARY,
            started_on=D(2023, 1, 1),
        )
    with pytest.raises(ValidationError, match="离任日期不能早于任职日期"):
        services.committee_position_end(actor=None, position=held, ended_on=D(2021, 12, 31))
    services.committee_position_end(actor=None, position=held, ended_on=D(2022, 12, 31))
    services.committee_position_assign(
        actor=None,
        org=tree.branch_a,
        member=b,
        position=Position.SECRETARY,
        started_on=D(2023, 1, 1),
    )
    assert (
        CommitteePosition.objects.filter(org=tree.branch_a, position=Position.SECRETARY).count()
        == 2
    )


def test_position_needs_a_full_member_of_the_org(tree):
    outsider = MemberFactory(branch=tree.branch_c)
    probationary = MemberFactory(branch=tree.branch_a, status=MemberStatus.PROBATIONARY)
    with pytest.raises(ValidationError, match="不是本组织"):
        services.committee_position_assign(
            actor=None,
            org=tree.branch_a,
            member=outsider,
            position=Position.SECRETARY,
            started_on=D(2022, 1, 1),
        )
    with pytest.raises(ValidationError, match="没有被选举权"):
        services.committee_position_assign(
            actor=None,
            org=tree.branch_a,
            member=probationary,
            position=Position.ORGANIZATION,
            started_on=D(2022, 1, 1),
        )
    with pytest.raises(ValidationError, match="党小组只设组长"):
        services.committee_position_assign(
            actor=None,
            org=tree.group_a,
            member=MemberFactory(branch=tree.branch_a, party_group=tree.group_a),
            position=Position.SECRETARY,
            started_on=D(2022, 1, 1),
        )
    # a town committee's secretary comes from a branch below it
    services.committee_position_assign(
        actor=None,
        org=tree.town_a,
        member=MemberFactory(branch=tree.branch_b),
        position=Position.SECRETARY,
        started_on=D(2022, 1, 1),
    )
