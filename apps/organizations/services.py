"""Writes to the organization tree, committees (班子) and terms (换届).

Every service is keyword-only, runs in one transaction and writes its audit entry inside it.
Bad input and broken rules raise `ValidationError` with a Chinese message (a dict keyed by the
field to blame where there is one). Nothing with members or records is hard-deleted: merging and
abolishing set `abolished_on` (and `merged_into`).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core.audit import audit_log, diff, snapshot
from apps.core.models import AuditAction
from apps.core.periods import add_years, local_today
from apps.organizations.models import (
    BRANCH_TYPES,
    CommitteePosition,
    Org,
    OrgParentLink,
    OrgType,
    Position,
    SetupForm,
    Term,
    TermState,
)
from apps.organizations.rules import check_parent_allowed, default_term_years
from apps.organizations.signals import org_merged

MAX_JOINT_UNITS = 5

# Fields an edit may change. Structure (parent, path) changes only through move/merge.
EDITABLE_FIELDS = [
    "name",
    "short_name",
    "code",
    "org_type",
    "category",
    "setup_form",
    "joint_units",
    "founded_on",
    "address",
    "contact_name",
    "contact_phone",
]


# --- tree -------------------------------------------------------------------------------


@transaction.atomic
def org_create(
    *,
    actor,
    parent: Org | None,
    name: str,
    code: str,
    org_type: str,
    founded_on: dt.date | None = None,
    **attrs,
) -> Org:
    """Create an org under `parent` (a root when parent is None)."""
    if parent is not None:
        parent = Org.objects.select_for_update().get(pk=parent.pk)
        if not parent.is_active:
            raise ValidationError(
                {"parent": [f"上级组织“{parent.name}”已撤销，不能在其下新建组织。"]}
            )
    check_parent_allowed(parent_type=parent.org_type if parent else None, child_type=org_type)
    if Org.objects.filter(code=code).exists():
        raise ValidationError({"code": [f"组织代码“{code}”已被使用。"]})
    fields = {"name": name, "code": code, "org_type": org_type, "founded_on": founded_on, **attrs}
    org = Org(**fields)
    _check_joint_units(org)
    org.full_clean(exclude=["path", "depth", "numchild", "parent"], validate_unique=False)
    if parent is None:
        org = Org.objects.add_root(instance=org)
    else:
        org.parent = parent
        org = Org.objects.add_child(parent, instance=org)
    OrgParentLink.objects.create(
        org=org,
        parent=parent,
        valid_from=founded_on or local_today(),
        changed_by=_user(actor),
        reason="成立",
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=org,
        verb="org_create",
        changes=diff({}, {**snapshot(org, EDITABLE_FIELDS), "parent": parent}),
    )
    return org


@transaction.atomic
def org_update(*, actor, org: Org, **changes) -> Org:
    """Rename or edit an org's attributes (not its place in the tree). Audits the diff."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            {"non_field_errors": [f"不能修改这些字段：{', '.join(sorted(unknown))}"]}
        )
    org = Org.objects.select_for_update().get(pk=org.pk)
    before = snapshot(org, EDITABLE_FIELDS)
    for key, value in changes.items():
        setattr(org, key, value)
    if org.code != before["code"] and Org.objects.filter(code=org.code).exclude(pk=org.pk).exists():
        raise ValidationError({"code": [f"组织代码“{org.code}”已被使用。"]})
    if org.org_type != before["org_type"]:
        parent = org.parent
        check_parent_allowed(
            parent_type=parent.org_type if parent else None, child_type=org.org_type
        )
        for child_type in set(
            org.children.filter(abolished_on__isnull=True).values_list("org_type", flat=True)
        ):
            try:
                check_parent_allowed(parent_type=org.org_type, child_type=child_type)
            except ValidationError:
                raise ValidationError(
                    {
                        "org_type": [
                            f"改为{OrgType(org.org_type).label}后，现有下级{OrgType(child_type).label}将不符合设置规则。"
                        ]
                    }
                ) from None
        if (
            before["org_type"] in BRANCH_TYPES
            and org.org_type not in BRANCH_TYPES
            and org.members.exists()
        ):
            raise ValidationError({"org_type": ["该支部仍有党员，不能改为非支部类型。"]})
    _check_joint_units(org)
    org.full_clean(exclude=["path", "depth", "numchild", "parent"], validate_unique=False)
    changed = diff(before, snapshot(org, EDITABLE_FIELDS))
    if changed:
        org.save(update_fields=[*changes.keys(), "updated_at"])
        audit_log(
            actor=actor, action=AuditAction.UPDATE, obj=org, verb="org_update", changes=changed
        )
    return org


def _is_in_subtree(node: Org, root: Org) -> bool:
    return node.path.startswith(root.path)


def _relink(*, org: Org, new_parent: Org, on: dt.date, actor, reason: str) -> None:
    """Move `org` (and its subtree) under `new_parent`, keep `parent` equal to the path parent,
    and close the current parent link / open a new one dated `on`."""
    org.refresh_from_db()
    Org.objects.move(org, new_parent, "last-child")
    Org.objects.filter(pk=org.pk).update(parent=new_parent)
    org.refresh_from_db()
    current = (
        OrgParentLink.objects.select_for_update().filter(org=org, valid_to__isnull=True).first()
    )
    if current is not None:
        if current.valid_from > on:
            raise ValidationError(
                {"on": [f"变更日期不能早于现隶属关系的起始日期（{current.valid_from:%Y-%m-%d}）。"]}
            )
        current.valid_to = on
        current.save(update_fields=["valid_to"])
    OrgParentLink.objects.create(
        org=org, parent=new_parent, valid_from=on, changed_by=_user(actor), reason=reason
    )


def _check_move_target(*, org: Org, target: Org, field: str) -> None:
    if target.pk == org.pk:
        raise ValidationError({field: ["不能选择该组织本身。"]})
    if _is_in_subtree(target, org):
        raise ValidationError({field: [f"不能移到自身的下级组织“{target.name}”之下。"]})
    if not target.is_active:
        raise ValidationError({field: [f"“{target.name}”已撤销，不能作为目标组织。"]})


@transaction.atomic
def org_move(
    *, actor, org: Org, new_parent: Org, on: dt.date | None = None, reason: str = ""
) -> Org:
    """Move `org` with its whole subtree under `new_parent` (as its last child)."""
    on = on or local_today()
    org = Org.objects.select_for_update().get(pk=org.pk)
    new_parent = Org.objects.select_for_update().get(pk=new_parent.pk)
    if not org.is_active:
        raise ValidationError({"non_field_errors": ["已撤销的组织不能调整隶属关系。"]})
    if org.parent_id is None:
        raise ValidationError({"non_field_errors": ["根组织不能调整隶属关系。"]})
    _check_move_target(org=org, target=new_parent, field="parent")
    if org.parent_id == new_parent.pk:
        raise ValidationError({"parent": [f"“{org.name}”已在“{new_parent.name}”之下。"]})
    check_parent_allowed(parent_type=new_parent.org_type, child_type=org.org_type)
    old_parent = org.parent
    _relink(org=org, new_parent=new_parent, on=on, actor=actor, reason=reason or "调整隶属关系")
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=org,
        verb="org_move",
        reason=reason,
        changes={"parent": [old_parent, new_parent], "on": [None, on]},
    )
    return org


@transaction.atomic
def org_merge(*, actor, org: Org, into: Org, on: dt.date | None = None, reason: str = "") -> Org:
    """Merge `org` into `into`: its children move under `into`, its members (branch or party
    group) move to `into`, other apps move their open items (signal `org_merged`); then `org`
    is abolished with `merged_into` set. Returns `into`."""
    from apps.members.models import Member

    on = on or local_today()
    org = Org.objects.select_for_update().get(pk=org.pk)
    into = Org.objects.select_for_update().get(pk=into.pk)
    if not org.is_active:
        raise ValidationError({"non_field_errors": [f"“{org.name}”已撤销。"]})
    _check_move_target(org=org, target=into, field="into")
    if org.org_type == OrgType.PARTY_GROUP:
        if into.org_type != OrgType.PARTY_GROUP and into.org_type not in BRANCH_TYPES:
            raise ValidationError({"into": ["党小组只能并入党小组或党支部。"]})
    elif org.org_type in BRANCH_TYPES:
        if into.org_type not in BRANCH_TYPES:
            raise ValidationError({"into": ["党支部只能并入另一个党支部（党员须编入支部）。"]})
    elif into.org_type in BRANCH_TYPES or into.org_type == OrgType.PARTY_GROUP:
        raise ValidationError(
            {"into": [f"{OrgType(org.org_type).label}不能并入{OrgType(into.org_type).label}。"]}
        )
    children = list(org.children.filter(abolished_on__isnull=True).order_by("path"))
    for child in children:
        try:
            check_parent_allowed(parent_type=into.org_type, child_type=child.org_type)
        except ValidationError:
            raise ValidationError(
                {
                    "into": [
                        f"下级组织“{child.name}”（{child.get_org_type_display()}）不能设在{into.get_org_type_display()}之下。"
                    ]
                }
            ) from None
    for child in children:
        _relink(org=child, new_parent=into, on=on, actor=actor, reason=f"因“{org.name}”并入而转移")

    moved_members = 0
    if org.org_type == OrgType.PARTY_GROUP:
        members = Member.objects.filter(party_group=org)
        if into.org_type == OrgType.PARTY_GROUP:
            moved_members = members.update(party_group=into, branch_id=into.parent_id)
        else:
            moved_members = members.update(party_group=None, branch=into)
    else:
        moved_members = Member.objects.filter(branch=org).update(branch=into)

    _close_open_items(org=org, on=on, note=f"并入“{into.name}”")
    org_merged.send(sender=Org, org=org, into=into, on=on, actor=actor)
    _abolish_row(org=org, on=on, actor=actor, merged_into=into)
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=org,
        verb="org_merge",
        reason=reason,
        changes={
            "merged_into": [None, into],
            "abolished_on": [None, on],
            "children_moved": [None, [c.name for c in children]],
            "members_moved": [None, moved_members],
        },
    )
    return into


@transaction.atomic
def org_abolish(*, actor, org: Org, on: dt.date | None = None, reason: str = "") -> Org:
    """Abolish (撤销) an org that no longer has active children or party members."""
    from apps.members.models import Member

    on = on or local_today()
    org = Org.objects.select_for_update().get(pk=org.pk)
    if not org.is_active:
        raise ValidationError(
            {"non_field_errors": [f"“{org.name}”已于{org.abolished_on:%Y-%m-%d}撤销。"]}
        )
    active_children = org.children.filter(abolished_on__isnull=True).count()
    if active_children:
        raise ValidationError(
            {
                "non_field_errors": [
                    f"“{org.name}”还有{active_children}个未撤销的下级组织，请先撤销、转移或合并它们。"
                ]
            }
        )
    members = Member.objects.party_members().filter(branch=org).count() + (
        Member.objects.party_members().filter(party_group=org).count()
        if org.org_type == OrgType.PARTY_GROUP
        else 0
    )
    if members:
        raise ValidationError(
            {
                "non_field_errors": [
                    f"“{org.name}”还有{members}名党员，请先转出党员或将其并入其他组织。"
                ]
            }
        )
    if org.founded_on and on < org.founded_on:
        raise ValidationError({"on": [f"撤销日期不能早于成立日期（{org.founded_on:%Y-%m-%d}）。"]})
    _close_open_items(org=org, on=on, note="组织撤销")
    _abolish_row(org=org, on=on, actor=actor, merged_into=None)
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=org,
        verb="org_abolish",
        reason=reason,
        changes={"abolished_on": [None, on]},
    )
    return org


def _close_open_items(*, org: Org, on: dt.date, note: str) -> None:
    """End the committee positions and close the open term of an org that ceases to exist."""
    for position in CommitteePosition.objects.filter(org=org, ended_on__isnull=True):
        position.ended_on = max(on, position.started_on)
        position.save(update_fields=["ended_on", "updated_at"])
    Term.objects.filter(org=org).exclude(state=TermState.CLOSED).update(
        state=TermState.CLOSED, note=note
    )


def _abolish_row(*, org: Org, on: dt.date, actor, merged_into: Org | None) -> None:
    if org.founded_on and on < org.founded_on:
        raise ValidationError({"on": [f"撤销日期不能早于成立日期（{org.founded_on:%Y-%m-%d}）。"]})
    Org.objects.filter(pk=org.pk).update(abolished_on=on, merged_into=merged_into)
    org.abolished_on, org.merged_into = on, merged_into
    # The abolished org keeps its place in the tree (history), but its parent link ends.
    OrgParentLink.objects.filter(org=org, valid_to__isnull=True).update(valid_to=on)


# --- committee (班子) --------------------------------------------------------------------

COMMITTEE_POSITIONS = frozenset(Position) - {Position.GROUP_LEADER}


@transaction.atomic
def committee_position_assign(
    *, actor, org: Org, member, position: str, started_on: dt.date, term: Term | None = None
) -> CommitteePosition:
    """A member record takes a position (书记, 组织委员... or 党小组组长 in a 党小组)."""
    org = Org.objects.select_for_update().get(pk=org.pk)
    if not org.is_active:
        raise ValidationError({"non_field_errors": ["已撤销的组织不能任命班子成员。"]})
    if position not in Position.values:
        raise ValidationError({"position": ["请选择有效的职务。"]})
    if org.org_type == OrgType.PARTY_GROUP and position != Position.GROUP_LEADER:
        raise ValidationError({"position": ["党小组只设组长。"]})
    if org.org_type != OrgType.PARTY_GROUP and position == Position.GROUP_LEADER:
        raise ValidationError({"position": ["党小组组长只能在党小组中任命。"]})
    if not _member_within(member, org):
        raise ValidationError({"member": [f"{member.name}不是本组织（或其下级组织）的党员。"]})
    if not member.has_vote:
        raise ValidationError(
            {"member": [f"{member.name}不是正式党员，没有被选举权，不能担任班子成员。"]}
        )
    if position == Position.SECRETARY:
        current = CommitteePosition.objects.filter(
            org=org, position=Position.SECRETARY, ended_on__isnull=True
        ).first()
        if current is not None:
            raise ValidationError(
                {
                    "position": [
                        f"本组织已有书记（{current.member.name}，{current.started_on:%Y-%m-%d}起），请先办理其离任。"
                    ]
                }
            )
    if CommitteePosition.objects.filter(
        org=org, member=member, position=position, ended_on__isnull=True
    ).exists():
        raise ValidationError({"member": [f"{member.name}已担任{Position(position).label}。"]})
    if term is None:
        term = Term.objects.filter(org=org).exclude(state=TermState.CLOSED).first()
    held = CommitteePosition(
        org=org, member=member, position=position, started_on=started_on, term=term
    )
    held.full_clean(validate_constraints=False)
    held.save()
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=held,
        verb="committee_position_assign",
        changes={
            "member": [None, member],
            "position": [None, position],
            "started_on": [None, started_on],
        },
    )
    return held


def _member_within(member, org: Org) -> bool:
    if member.party_group_id == org.pk:
        return True
    branch = member.branch
    return branch is not None and branch.path.startswith(org.path)


@transaction.atomic
def committee_position_end(
    *, actor, position: CommitteePosition, ended_on: dt.date, reason: str = ""
) -> CommitteePosition:
    position = CommitteePosition.objects.select_for_update().get(pk=position.pk)
    if position.ended_on is not None:
        raise ValidationError(
            {"non_field_errors": [f"该任职已于{position.ended_on:%Y-%m-%d}结束。"]}
        )
    if ended_on < position.started_on:
        raise ValidationError(
            {"ended_on": [f"离任日期不能早于任职日期（{position.started_on:%Y-%m-%d}）。"]}
        )
    position.ended_on = ended_on
    position.save(update_fields=["ended_on", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=position,
        verb="committee_position_end",
        reason=reason,
        changes={"ended_on": [None, ended_on]},
    )
    return position


# --- terms (换届) -------------------------------------------------------------------------


@transaction.atomic
def term_start(
    *, actor, org: Org, elected_on: dt.date, term_years: int | None = None, note: str = ""
) -> Term:
    """Record a new term (届) elected on `elected_on`; the previous open term is closed.
    The term keeps its own length: changing the default later does not touch it."""
    org = Org.objects.select_for_update().get(pk=org.pk)
    if not org.is_active:
        raise ValidationError({"non_field_errors": ["已撤销的组织不能新建届次。"]})
    if org.org_type == OrgType.PARTY_GROUP:
        raise ValidationError({"non_field_errors": ["党小组不实行任期制。"]})
    years = term_years if term_years is not None else default_term_years(org.category)
    if not 1 <= int(years) <= 10:
        raise ValidationError({"term_years": ["任期年限应在1至10年之间。"]})
    previous = Term.objects.select_for_update().filter(org=org).order_by("-number").first()
    if previous is not None and elected_on <= previous.elected_on:
        raise ValidationError(
            {"elected_on": [f"选举日期应晚于上一届的选举日期（{previous.elected_on:%Y-%m-%d}）。"]}
        )
    if previous is not None and previous.state != TermState.CLOSED:
        previous.state = TermState.CLOSED
        previous.save(update_fields=["state", "updated_at"])
    if previous is not None:  # 换届: the old term's reminders are withdrawn, same transaction
        from apps.notifications.rules import reminders_term_changed

        reminders_term_changed(term=previous)
    term = Term.objects.create(
        org=org,
        number=(previous.number + 1) if previous else 1,
        elected_on=elected_on,
        term_years=int(years),
        ends_on=add_years(elected_on, int(years)),
        note=note,
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=term,
        verb="term_start",
        changes={
            "number": [None, term.number],
            "elected_on": [None, elected_on],
            "term_years": [None, term.term_years],
        },
    )
    return term


def _term_step(
    *, actor, term: Term, allowed: set[str], message: str, verb: str, state: str, updates: dict
) -> Term:
    term = Term.objects.select_for_update().get(pk=term.pk)
    if term.state not in allowed:
        raise ValidationError(
            {"non_field_errors": [f"{message}（当前状态：{term.get_state_display()}）"]}
        )
    before = {"state": term.state, **{k: getattr(term, k) for k in updates}}
    term.state = state
    for key, value in updates.items():
        setattr(term, key, value)
    term.save(update_fields=["state", *updates.keys(), "updated_at"])
    from apps.notifications.rules import reminders_term_changed

    reminders_term_changed(term=term)  # reminders the new state makes moot, same transaction
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=term,
        verb=verb,
        changes=diff(before, {"state": state, **updates}),
    )
    return term


_OPEN_STATES = {TermState.ACTIVE, TermState.EXTENSION_APPROVED}


@transaction.atomic
def term_request_submit(*, actor, term: Term, on: dt.date) -> Term:
    """The org asks its superior for approval to hold the election (换届请示)."""
    if on < term.elected_on:
        raise ValidationError({"on": ["请示日期不能早于本届选举日期。"]})
    return _term_step(
        actor=actor,
        term=term,
        allowed=_OPEN_STATES,
        message="只有任期内或已批准延期的届次可以提交换届请示",
        verb="term_request_submit",
        state=TermState.REQUEST_SUBMITTED,
        updates={"request_submitted_on": on},
    )


@transaction.atomic
def term_request_approve(*, actor, term: Term, on: dt.date) -> Term:
    if term.request_submitted_on and on < term.request_submitted_on:
        raise ValidationError({"on": ["批复日期不能早于请示日期。"]})
    return _term_step(
        actor=actor,
        term=term,
        allowed={TermState.REQUEST_SUBMITTED},
        message="只有已提交的换届请示可以批复",
        verb="term_request_approve",
        state=TermState.REQUEST_APPROVED,
        updates={"request_approved_on": on},
    )


@transaction.atomic
def term_election_record(*, actor, term: Term, held_on: dt.date) -> Term:
    if term.request_approved_on and held_on < term.request_approved_on:
        raise ValidationError({"held_on": ["选举日期不能早于换届请示批复日期。"]})
    if held_on <= term.elected_on:
        raise ValidationError({"held_on": ["新一届选举日期应晚于本届选举日期。"]})
    return _term_step(
        actor=actor,
        term=term,
        allowed={TermState.REQUEST_APPROVED},
        message="换届请示批复后才能登记选举",
        verb="term_election_record",
        state=TermState.ELECTION_HELD,
        updates={"election_held_on": held_on},
    )


@transaction.atomic
def term_result_approve(*, actor, term: Term, on: dt.date, term_years: int | None = None) -> Term:
    """The superior approves the election result: this term closes and the new one starts
    (elected on the election date). Returns the new term."""
    if term.election_held_on and on < term.election_held_on:
        raise ValidationError({"on": ["批复日期不能早于选举日期。"]})
    term = _term_step(
        actor=actor,
        term=term,
        allowed={TermState.ELECTION_HELD},
        message="登记选举后才能批复选举结果",
        verb="term_result_approve",
        state=TermState.RESULT_APPROVED,
        updates={"result_approved_on": on},
    )
    return term_start(
        actor=actor, org=term.org, elected_on=term.election_held_on, term_years=term_years
    )


@transaction.atomic
def term_extend(*, actor, term: Term, until: dt.date, reason: str = "") -> Term:
    """The superior approves a delayed election: at most one year past the term's end."""
    latest = add_years(term.ends_on, 1)
    if until <= term.ends_on:
        raise ValidationError(
            {"until": [f"延期日期应晚于任期届满日期（{term.ends_on:%Y-%m-%d}）。"]}
        )
    if until > latest:
        raise ValidationError({"until": [f"延期一般不超过1年，最迟可延至{latest:%Y-%m-%d}。"]})
    allowed = {
        TermState.ACTIVE,
        TermState.EXTENSION_APPROVED,
        TermState.REQUEST_SUBMITTED,
        TermState.REQUEST_APPROVED,
    }
    term = _term_step(
        actor=actor,
        term=term,
        allowed=allowed,
        message="该届次当前不能延期",
        verb="term_extend",
        state=TermState.EXTENSION_APPROVED,
        updates={"extension_until": until},
    )
    if reason:
        Term.objects.filter(pk=term.pk).update(note=reason[:300])
        term.note = reason[:300]
    return term


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


__all__ = [
    "OrgType",
    "SetupForm",
    "committee_position_assign",
    "committee_position_end",
    "org_abolish",
    "org_create",
    "org_merge",
    "org_move",
    "org_update",
    "term_election_record",
    "term_extend",
    "term_request_approve",
    "term_request_submit",
    "term_result_approve",
    "term_start",
]


def _check_joint_units(org: Org) -> None:
    units = org.joint_units or []
    if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
        raise ValidationError({"joint_units": ["联建单位应为单位名称列表。"]})
    if len(units) > MAX_JOINT_UNITS:
        raise ValidationError(
            {
                "joint_units": [
                    f"联合党支部覆盖的单位一般不超过{MAX_JOINT_UNITS}个（现为{len(units)}个）。"
                ]
            }
        )
