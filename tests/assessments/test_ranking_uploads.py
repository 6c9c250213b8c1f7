"""Rankings are paged (page and API); evidence and rectification files are checked for type,
content and size with Chinese messages, and nothing is saved when refused."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.assessments import services as svc
from apps.assessments.models import CyclePhase, Evidence, Indicator
from tests.factories import make_org


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def big_cycle(tree, users, branch_template):
    """town_a with 33 more branches (35 in all): two pages of 30 on the page."""
    for i in range(33):
        make_org(tree.town_a, name=f"第{i + 1:02d}支部")
    cycle = svc.cycle_open(
        actor=users.staff, org=tree.town_a, year=2026, branch_template=branch_template
    )
    svc.cycle_advance(actor=users.staff, cycle=cycle, to_phase=CyclePhase.MIDTERM)
    return cycle


def test_ranking_page_shows_30_per_page_numbered_across_pages(client_for, users, big_cycle):
    c = client_for(users.staff)
    first = c.get(f"/assessments/cycles/{big_cycle.pk}/").content.decode()
    assert "第 1 / 2 页，共 35 个党组织" in first
    second = c.get(f"/assessments/cycles/{big_cycle.pk}/?page=2").content.decode()
    assert "第 2 / 2 页" in second and '<td class="text-muted small">31</td>' in second
    assert '<td class="text-muted small">36</td>' not in second
    # a bad page number shows the first page, never an error
    assert c.get(f"/assessments/cycles/{big_cycle.pk}/?page=x").status_code == 200


def test_ranking_api_is_paged(api_for, users, big_cycle):
    api = api_for(users.staff)
    data = api.get(f"/api/v1/assessments/cycles/{big_cycle.pk}/?page=2&page_size=20").json()
    assert (data["ranking_count"], data["ranking_pages"], data["ranking_page"]) == (35, 2, 2)
    assert [r["rank"] for r in data["ranking"]] == list(range(21, 36))
    assert api.get(f"/api/v1/assessments/cycles/{big_cycle.pk}/?page=abc").status_code == 400


@pytest.fixture
def open_card(tree, users, branch_template):
    cycle = svc.cycle_open(
        actor=users.staff, org=tree.town_a, year=2026, branch_template=branch_template
    )
    for phase in (CyclePhase.MIDTERM, CyclePhase.SELF_ASSESSMENT):
        svc.cycle_advance(actor=users.staff, cycle=cycle, to_phase=phase)
    card = cycle.assessments.get(org=tree.branch_a)
    d1 = Indicator.objects.get(template=branch_template, code="D1")
    return card, d1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("台账.exe", b"MZ\x90\x00", "只能上传 JPG、PNG 图片，PDF"),
        ("台账.pdf", b"GIF89a....", "文件内容与扩展名“.pdf”不符"),
        ("台账.pdf", b"", "文件为空"),
        ("照片.png", b"\x89PNG\r\n\x1a\n" + b"0" * (10 * 1024 * 1024), "不能超过10MB"),
    ],
)
def test_evidence_refused_with_a_chinese_message(users, open_card, name, content, message):
    card, d1 = open_card
    with pytest.raises(ValidationError, match=message):
        svc.evidence_add(
            actor=users.secretary,
            assessment=card,
            indicator_id=d1.pk,
            file=SimpleUploadedFile(name, content),
        )
    assert not Evidence.objects.exists()


def test_evidence_accepted_keeps_the_original_name_stored_safely(users, open_card, client_for):
    card, d1 = open_card
    ev = svc.evidence_add(
        actor=users.secretary,
        assessment=card,
        indicator_id=d1.pk,
        file=SimpleUploadedFile("活动室 照片.jpg", b"\xff\xd8\xff\xe0rest"),
    )
    assert ev.note == "活动室 照片.jpg" and ev.file.name.endswith(".jpg")
    assert "活动室" not in ev.file.name
    # the page shows the refusal as a message, not an error page
    page = client_for(users.secretary).post(
        f"/assessments/scorecards/{card.pk}/evidence/",
        {"indicator": d1.pk, "file": SimpleUploadedFile("a.docx", b"not a zip")},
        follow=True,
    )
    assert page.status_code == 200 and "文件内容与扩展名“.docx”不符" in page.content.decode()
    assert Evidence.objects.count() == 1


def test_rectification_file_checked_too(tree, users, open_card):
    card, _ = open_card
    problem = svc.problem_raise(
        actor=users.staff, cycle=card.cycle, org=tree.branch_a, origin="midterm", description="x"
    )
    with pytest.raises(ValidationError, match="只能上传"):
        svc.problem_progress_add(
            actor=users.secretary,
            problem=problem,
            note="已整改",
            file=SimpleUploadedFile("a.zip", b"PK\x03\x04"),
        )
    assert not problem.progress.exists()
