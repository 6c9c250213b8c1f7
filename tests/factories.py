"""Test data builders. Orgs are created through the service so tree invariants hold."""

from __future__ import annotations

import datetime as dt
import itertools

import factory

from apps.accounts.models import Role, RoleGrant, User
from apps.members.models import Gender, Member, MemberStatus
from apps.organizations.models import Org, OrgCategory, OrgType
from apps.organizations.services import org_create

_codes = itertools.count(1)


def make_org(
    parent: Org | None = None, *, org_type: str = OrgType.BRANCH, name: str | None = None, **attrs
) -> Org:
    n = next(_codes)
    attrs.setdefault("category", OrgCategory.GOVERNMENT)
    attrs.setdefault("founded_on", dt.date(2015, 1, 1))
    return org_create(
        actor=None,
        parent=parent,
        name=name or f"测试{OrgType(org_type).label}{n}",
        code=f"T{n:06d}",
        org_type=org_type,
        **attrs,
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-12345")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_user(role: str | None = None, org: Org | None = None, **kwargs) -> User:
    user = UserFactory(**kwargs)
    if role is not None:
        RoleGrant.objects.create(user=user, org=org, role=role)
    return user


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    name = factory.Sequence(lambda n: f"党员{n:04d}")
    gender = Gender.MALE
    birth_date = dt.date(1985, 5, 1)
    status = MemberStatus.FULL
    joined_on = dt.date(2010, 7, 1)
    confirmed_on = dt.date(2011, 7, 1)


__all__ = ["MemberFactory", "Role", "UserFactory", "make_org", "make_user"]
