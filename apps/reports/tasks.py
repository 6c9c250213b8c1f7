from __future__ import annotations

from celery import shared_task

from apps.reports import services


@shared_task(name="reports.build_job")
def report_job_task(job_id: int) -> str:
    """One org's report inside a batch (idempotent: the job row is claimed first)."""
    return services.report_job_run(job_id=job_id)


@shared_task(name="reports.quarterly_sweep")
def quarterly_sweep_task() -> int:
    """Daily: start each root's scheduled batch for the closed quarter on the rule day."""
    return len(services.quarterly_sweep())


@shared_task(name="reports.jobs_sweep")
def report_jobs_sweep_task() -> int:
    """Every 10 minutes: re-publish report jobs of unfinished batches whose task was lost."""
    return services.report_jobs_sweep()
