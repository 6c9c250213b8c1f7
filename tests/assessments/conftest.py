"""Fixtures for the assessment tests: the default templates are installed by migration 0002."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.accounts.models import Role
from apps.assessments.models import Template, TemplateKind
from tests.factories import make_user


@pytest.fixture
def branch_template(db):
    return Template.objects.get(is_default=True, kind=TemplateKind.BRANCH)


@pytest.fixture
def secretary_template(db):
    return Template.objects.get(is_default=True, kind=TemplateKind.SECRETARY)


@pytest.fixture
def county_staff(tree):
    """An 组织部 user at the county (superior over every branch)."""
    return make_user(Role.ORG_STAFF, tree.county, username="county_staff")


D = dt.date
