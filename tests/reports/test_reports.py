"""Quarterly reports: figures, files, versions, scope, batches, the quarterly sweep."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader

from apps.core.periods import Period
from apps.dashboards.services import member_stats_refresh
from apps.notifications.models import Reminder
from apps.reports import services
from apps.reports.models import JobState, QuarterlyReport, ReportBatch, ReportJob
from tests.dashboards.conftest import AS_OF

pytestmark = pytest.mark.django_db
Q3 = Period.quarter(2026, 3)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel("2026-10-10 10:00 +0800", tick=False):
        yield


@pytest.fixture
def rolled(populated, users):
    member_stats_refresh(as_of=AS_OF)
    return populated


def _embedded_fonts(reader: PdfReader) -> dict[str, bool]:
    fonts = {}
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            embedded = descriptor is not None and any(
                k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            fonts[str(font["/BaseFont"])] = embedded
    return fonts


def test_report_figures_equal_the_dashboard_and_files_are_right(rolled, users, api_for):
    report = services.report_build(org=rolled.town_a, period=Q3, actor=users.staff)
    dashboard = (
        api_for(users.staff)
        .get(f"/api/v1/dashboards/orgs/{rolled.town_a.pk}/?quarter=2026-Q3")
        .json()
    )
    assert report.figures == dashboard["sections"]
    assert report.members_as_of == AS_OF and report.version == 1 and report.is_current

    reader = PdfReader(report.pdf.path)
    fonts = _embedded_fonts(reader)
    cjk = [name for name in fonts if "WenQuanYi" in name]
    assert cjk and all(fonts[name] for name in cjk), fonts
    text = "".join(page.extract_text() for page in reader.pages)
    for heading in (
        "基层党建工作季度督查通报",
        "基本情况",
        "发展党员各阶段人数",
        "党员状态",
        "年龄结构",
        "下级党组织党员情况",
        rolled.town_a.name,
    ):
        assert heading in text, heading

    wb = load_workbook(report.xlsx.path)
    children = next(s for s in dashboard["sections"] if s["code"] == "children")
    sheet = wb["下级党组织党员情况"]
    rows = [list(r) for r in sheet.iter_rows(min_row=4, values_only=True)]
    assert rows == children["rows"]


def test_rebuild_makes_a_new_current_version_and_keeps_the_old(rolled, users, client_for):
    first = services.report_build(org=rolled.branch_a, period=Q3)
    second = services.report_build(org=rolled.branch_a, period=Q3)
    first.refresh_from_db()
    assert (first.version, first.is_current, second.version, second.is_current) == (
        1,
        False,
        2,
        True,
    )
    assert QuarterlyReport.objects.filter(org=rolled.branch_a, is_current=True).count() == 1
    client = client_for(users.secretary)
    old = client.get(f"/reports/{first.pk}/pdf/")
    assert old.status_code == 200 and old["Content-Type"] == "application/pdf"
    assert b"".join(old.streaming_content).startswith(b"%PDF")
    page = client.get(f"/reports/{second.pk}/").content.decode()
    assert "第1版" in page and "第2版" in page and "当前" in page


def test_build_notifies_the_orgs_people(rolled, users):
    report = services.report_build(org=rolled.branch_a, period=Q3)
    services.report_notify(report=report)  # on_commit does not fire inside the test transaction
    services.report_notify(report=report)  # twice: still one reminder per person
    recipients = set(
        Reminder.objects.filter(rule="reports.ready").values_list("recipient_id", flat=True)
    )
    assert recipients == {users.secretary.pk, users.committee.pk}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("staff", 200),
        ("secretary", 200),
        ("committee", 200),
        ("admin", 200),
        ("member", 403),
        ("outsider", 404),
        ("nobody", 404),
    ],
)
def test_scope_of_report_files_and_pages(rolled, users, client_for, who, status):
    report = services.report_build(org=rolled.branch_a, period=Q3)
    client = client_for(getattr(users, who))
    assert client.get(f"/reports/{report.pk}/pdf/").status_code == status
    assert client.get(f"/reports/{report.pk}/xlsx/").status_code == status
    assert client.get(f"/reports/{report.pk}/").status_code == status


def test_list_page_shows_current_reports_and_actions(rolled, users, client_for):
    services.report_build(org=rolled.town_a, period=Q3)
    services.report_build(org=rolled.branch_b, period=Q3)
    html = (
        client_for(users.staff).get(f"/reports/?org={rolled.town_a.pk}&q=2026-Q3").content.decode()
    )
    assert "打开 PDF" in html and "生成本组织及全部下级报告" in html
    assert rolled.branch_a.name in html and "未生成" in html  # branch_a has none yet
    secretary = client_for(users.secretary).get("/reports/").content.decode()
    assert "生成本组织及全部下级报告" not in secretary


def test_subtree_batch_fans_out_one_job_per_org_and_shows_progress(
    rolled, users, client_for, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.report_batch_start(
            actor=users.staff, org=rolled.town_a, period=Q3, single=False
        )
    jobs = ReportJob.objects.filter(batch=batch)
    assert {j.org_id for j in jobs} == {
        rolled.town_a.pk,
        rolled.branch_a.pk,
        rolled.branch_b.pk,
    }  # no party group
    assert all(j.state == JobState.DONE for j in jobs)
    assert services.report_job_run(job_id=jobs[0].pk) == "skipped"  # idempotent
    assert QuarterlyReport.objects.filter(batch=batch).count() == 3
    html = client_for(users.staff).get(f"/reports/batches/{batch.pk}/").content.decode()
    assert (
        "data-done>3<" in html and "已全部处理完毕" in html and 'hx-trigger="every 2s"' not in html
    )


def test_failed_job_does_not_stop_the_batch_and_can_be_retried(
    rolled, users, monkeypatch, client_for
):
    batch = ReportBatch.objects.create(
        root=rolled.town_a, year=2026, quarter=3, created_by=users.staff
    )
    services.batch_fill(batch=batch)
    real = services.report_build

    def flaky(*, org, **kwargs):
        if org == rolled.branch_b:
            raise RuntimeError("磁盘已满")
        return real(org=org, **kwargs)

    monkeypatch.setattr(services, "report_build", flaky)
    for job in ReportJob.objects.filter(batch=batch):
        services.report_job_run(job_id=job.pk)
    failed = ReportJob.objects.get(batch=batch, org=rolled.branch_b)
    assert failed.state == JobState.FAILED and "磁盘已满" in failed.error
    assert ReportJob.objects.filter(batch=batch, state=JobState.DONE).count() == 2
    page = (
        client_for(users.staff)
        .get(f"/reports/batches/{batch.pk}/", HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "磁盘已满" in page and "重试失败的任务" in page
    monkeypatch.setattr(services, "report_build", real)
    assert services.report_batch_retry(actor=users.staff, batch=batch) == 1
    assert services.report_job_run(job_id=failed.pk) == "done"


def test_sweeper_republishes_lost_and_stuck_jobs_and_the_batch_finishes(
    rolled, users, eager_celery
):
    """A batch whose messages were lost (broker restart, a fan-out cut short) and whose worker
    died mid-job finishes on its own, with no 重试 pressed; recent messages are left alone."""
    from django.utils import timezone

    batch = ReportBatch.objects.create(
        root=rolled.town_a, year=2026, quarter=3, created_by=users.staff
    )
    services.batch_fill(batch=batch)  # rows exist, tasks never published
    lost, stuck, waiting = ReportJob.objects.filter(batch=batch).order_by("pk")
    now = timezone.now()
    ReportJob.objects.filter(pk=stuck.pk).update(
        state=JobState.RUNNING, started_at=now - dt.timedelta(hours=1)
    )
    ReportJob.objects.filter(pk=waiting.pk).update(queued_at=now - dt.timedelta(minutes=5))
    assert services.report_jobs_sweep(now=now) == 2  # the lost one and the stuck one
    states = dict(ReportJob.objects.filter(batch=batch).values_list("pk", "state"))
    assert states == {lost.pk: JobState.DONE, stuck.pk: JobState.DONE, waiting.pk: JobState.PENDING}
    later = now + dt.timedelta(hours=3)  # its message is long overdue now
    assert services.report_jobs_sweep(now=later) == 1
    assert not ReportJob.objects.filter(batch=batch).exclude(state=JobState.DONE).exists()
    assert services.report_jobs_sweep(now=later) == 0  # nothing left: idempotent


def test_who_may_start_builds(rolled, users):
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    with pytest.raises(PermissionDenied):
        services.report_batch_start(
            actor=users.secretary, org=rolled.branch_a, period=Q3, single=False
        )
    with pytest.raises(PermissionDenied):
        services.report_batch_start(actor=users.admin, org=rolled.branch_a, period=Q3, single=True)
    with pytest.raises(Http404):
        services.report_batch_start(
            actor=users.outsider, org=rolled.branch_a, period=Q3, single=True
        )
    batch = services.report_batch_start(
        actor=users.secretary, org=rolled.branch_a, period=Q3, single=True
    )
    assert batch.total == 1


def test_build_form_rejects_a_future_quarter(rolled, users, client_for):
    response = client_for(users.staff).post(
        "/reports/build/",
        {"org": rolled.town_a.pk, "quarter": "2027-Q1", "scope": "self"},
        follow=True,
    )
    assert "不能生成尚未开始的季度的报告" in response.content.decode()
    assert not ReportBatch.objects.exists()


def test_build_form_rejects_a_quarter_of_an_impossible_year(rolled, users, client_for):
    response = client_for(users.staff).post(
        "/reports/build/",
        {"org": rolled.town_a.pk, "quarter": "-5-Q1", "scope": "self"},
        follow=True,
    )
    assert response.status_code == 200 and "期间年份超出范围" in response.content.decode()
    assert not ReportBatch.objects.exists()


def test_markup_and_formulas_in_names_are_printed_as_text(rolled, users):
    rolled.branch_a.name = "<b>甲村</b> & =SUM(A1)"
    rolled.branch_a.save(update_fields=["name"])
    report = services.report_build(org=rolled.town_a, period=Q3, actor=users.staff)
    text = "".join(page.extract_text() for page in PdfReader(report.pdf.path).pages)
    assert "<b>甲村</b> & =SUM(A1)" in text
    sheet = load_workbook(report.xlsx.path)["下级党组织党员情况"]
    cell = next(
        row[0] for row in sheet.iter_rows(min_row=4) if row[0].value == rolled.branch_a.name
    )
    assert cell.data_type == "s"


def test_quarterly_sweep_runs_once_from_the_rule_day(rolled):
    assert services.quarterly_sweep(today=dt.date(2026, 10, 4)) == []
    started = services.quarterly_sweep(today=dt.date(2026, 10, 5))
    assert len(started) == 1
    batch = ReportBatch.objects.get(pk=started[0])
    assert (batch.root_id, batch.year, batch.quarter, batch.trigger) == (
        rolled.county.pk,
        2026,
        3,
        "scheduled",
    )
    assert batch.total == 6  # county, two towns, three branches (the party group has none)
    assert services.quarterly_sweep(today=dt.date(2026, 10, 6)) == []
