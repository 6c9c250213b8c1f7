import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.rules import rule_set
from apps.members.models import MemberStatus
from apps.organizations import selectors, services
from apps.organizations.models import CommitteePosition, OrgCategory, OrgType, Position, TermState
from apps.organizations.rules import term_status
from tests.factories import MemberFactory, make_org

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2025, 6, 15)


def codes(org, today=TODAY):
    return {w.code for w in selectors.warnings_for_org(org=org, today=today)}


def members(branch, n, status=MemberStatus.FULL):
    return [MemberFactory(branch=branch, status=status) for _ in range(n)]


def committee(branch, people):
    positions = [Position.SECRETARY, Position.ORGANIZATION, Position.PUBLICITY, Position.DISCIPLINE]
    start = CommitteePosition.objects.filter(org=branch).count()
    for i, person in enumerate(people, start=start):
        services.committee_position_assign(
            actor=None,
            org=branch,
            member=person,
            position=positions[i] if i < len(positions) else Position.MEMBER,
            started_on=D(2024, 1, 1),
        )


def test_fewer_than_three_formal_members(tree):
    people = members(tree.branch_b, 2)
    members(tree.branch_b, 3, MemberStatus.PROBATIONARY)  # 预备党员 do not count
    committee(tree.branch_b, people[:1])
    assert codes(tree.branch_b) == {"few_members"}
    members(tree.branch_b, 1)
    assert codes(tree.branch_b) == set()


def test_seven_formal_members_need_a_committee_of_three_to_seven(tree):
    people = members(tree.branch_b, 6)
    committee(tree.branch_b, people[:1])
    assert codes(tree.branch_b) == set()  # 6: a secretary is enough
    people += members(tree.branch_b, 1)
    assert codes(tree.branch_b) == {"no_committee"}  # 7 formal members, committee of 1
    committee(tree.branch_b, people[1:2])  # 2
    assert codes(tree.branch_b) == {"no_committee"}
    committee(tree.branch_b, people[2:3])  # 3
    assert codes(tree.branch_b) == set()


def test_committee_larger_than_seven(tree):
    people = members(tree.branch_b, 10)
    committee(tree.branch_b, people[:7])
    assert codes(tree.branch_b) == set()
    committee(tree.branch_b, people[7:8])
    assert codes(tree.branch_b) == {"committee_size"}


def test_member_count_thresholds_50_and_100(tree):
    people = members(tree.branch_b, 50)
    committee(tree.branch_b, people[:5])
    assert codes(tree.branch_b) == set()
    members(tree.branch_b, 1, MemberStatus.PROBATIONARY)  # 51 party members
    found = selectors.warnings_for_org(org=tree.branch_b, today=TODAY)
    assert [w.code for w in found] == ["too_many_members"] and "党总支" in found[0].message
    members(tree.branch_b, 48)  # 99
    assert "党总支" in selectors.warnings_for_org(org=tree.branch_b, today=TODAY)[0].message
    members(tree.branch_b, 1)  # 100
    assert "基层党委" in selectors.warnings_for_org(org=tree.branch_b, today=TODAY)[0].message


def test_vacant_secretary_and_overdue_term(tree):
    members(tree.branch_b, 3)
    assert codes(tree.branch_b) == {"no_secretary"}
    assert codes(tree.group_a) == {"few_members"} - {"few_members"}  # party groups: none of these
    services.term_start(actor=None, org=tree.town_a, elected_on=D(2020, 6, 14), term_years=5)
    assert "term_overdue" not in codes(tree.town_a, D(2025, 6, 14))
    assert "term_overdue" in codes(tree.town_a, D(2025, 6, 15))


def test_subtree_warnings_take_a_constant_number_of_queries(tree, users):
    members(tree.branch_a, 2)
    selectors.warnings_for_subtree(
        user=users.admin, org=tree.county, today=TODAY
    )  # warm the scope cache
    with CaptureQueriesContext(connection) as small:
        selectors.warnings_for_subtree(user=users.admin, org=tree.county, today=TODAY)
    for i in range(15):
        branch = make_org(tree.town_b, name=f"新增支部{i}")
        members(branch, i % 4)
        services.term_start(actor=None, org=branch, elected_on=D(2019, 1, 1), term_years=5)
    with CaptureQueriesContext(connection) as large:
        result = selectors.warnings_for_subtree(user=users.admin, org=tree.county, today=TODAY)
    assert len(large) == len(small) <= 6
    by_org = {org.name: {w.code for w in found} for org, found in result}
    assert by_org["新增支部3"] == {"no_secretary", "term_overdue"}
    assert by_org["新增支部2"] == {"few_members", "no_secretary", "term_overdue"}
    # the staff of town_a sees only town_a's part
    staff_view = selectors.warnings_for_subtree(user=users.staff, org=tree.town_a, today=TODAY)
    assert {org.name for org, _ in staff_view} <= {"甲镇党委", "甲村党支部", "乙村党支部"}


# --- terms ----------------------------------------------------------------------------------


def test_term_years_default_per_category_and_each_term_keeps_its_own(tree):
    t1 = services.term_start(actor=None, org=tree.branch_a, elected_on=D(2018, 3, 1))
    assert (t1.term_years, t1.ends_on, t1.number) == (5, D(2023, 3, 1), 1)
    rule_set(key=f"organizations.term_years.{OrgCategory.GOVERNMENT}", value=3)
    t1.refresh_from_db()
    assert t1.term_years == 5  # changing the default does not touch existing terms
    t2 = services.term_start(actor=None, org=tree.branch_a, elected_on=D(2023, 3, 1))
    t1.refresh_from_db()
    assert (t2.term_years, t2.number, t1.state) == (3, 2, TermState.CLOSED)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2025, 1, 14), "active"),  # the day before T-6 months
        (D(2025, 1, 15), "due_soon"),  # T-6 months
        (D(2025, 7, 15), "due_soon"),  # the last day of the term
        (D(2025, 7, 16), "overdue"),  # the day after expiry
    ],
)
def test_term_state_boundaries(tree, today, expected):
    term = services.term_start(
        actor=None, org=tree.branch_a, elected_on=D(2020, 7, 15), term_years=5
    )
    assert term.ends_on == D(2025, 7, 15)
    assert term_status(term, today).code == expected


def test_term_workflow_to_a_new_term(tree, users):
    term = services.term_start(
        actor=None, org=tree.branch_a, elected_on=D(2020, 7, 15), term_years=5
    )
    with pytest.raises(ValidationError, match="只有已提交的换届请示可以批复"):
        services.term_request_approve(actor=users.staff, term=term, on=D(2025, 6, 1))
    term = services.term_request_submit(actor=users.secretary, term=term, on=D(2025, 5, 20))
    assert term_status(term, D(2025, 6, 1)).label == "已请示换届"
    assert term_status(term, D(2025, 7, 16)).overdue
    term = services.term_request_approve(actor=users.staff, term=term, on=D(2025, 6, 1))
    term = services.term_election_record(actor=users.secretary, term=term, held_on=D(2025, 7, 10))
    new = services.term_result_approve(actor=users.staff, term=term, on=D(2025, 7, 20))
    term.refresh_from_db()
    assert term.state == TermState.CLOSED and term.result_approved_on == D(2025, 7, 20)
    assert (new.number, new.elected_on, new.ends_on, new.state) == (
        2,
        D(2025, 7, 10),
        D(2030, 7, 10),
        "active",
    )


def test_extension_at_most_one_year(tree):
    term = services.term_start(
        actor=None, org=tree.branch_a, elected_on=D(2020, 7, 15), term_years=5
    )
    with pytest.raises(ValidationError, match="最迟可延至2026-07-15"):
        services.term_extend(actor=None, term=term, until=D(2026, 7, 16))
    term = services.term_extend(
        actor=None, term=term, until=D(2026, 7, 15), reason="村级组织统一换届"
    )
    assert term_status(term, D(2026, 7, 15)).code == "extension_approved"
    assert term_status(term, D(2026, 7, 16)).code == "overdue"


@time_machine.travel(dt.datetime(2025, 6, 15, 12, tzinfo=dt.UTC), tick=False)
def test_party_group_has_no_term(tree):
    with pytest.raises(ValidationError, match="党小组不实行任期制"):
        services.term_start(actor=None, org=tree.group_a, elected_on=D(2024, 1, 1))
    assert tree.group_a.org_type == OrgType.PARTY_GROUP
