"""Assessment background jobs. The beat entry is declared in config/celery.py.

`nightly_sweep` fans out one task per open cycle (recompute its automatic scores) and one per
tree root (the 软弱涣散 screening), so one failure never blocks the rest; every task is
idempotent (services.cycle_compute_scheduled stores nothing when nothing changed;
services.weak_screening_refresh replaces the subtree's candidates whole)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="assessments.nightly_sweep")
def nightly_sweep() -> dict:
    from apps.assessments.models import Cycle
    from apps.assessments.services import SCHEDULED_PHASES
    from apps.organizations.models import Org

    cycles = list(Cycle.objects.filter(phase__in=SCHEDULED_PHASES).values_list("pk", flat=True))
    roots = list(
        Org.objects.filter(depth=1, abolished_on__isnull=True).values_list("pk", flat=True)
    )
    for pk in cycles:
        recompute_cycle.delay(pk)
    for pk in roots:
        weak_screening.delay(pk)
    return {"cycles": len(cycles), "roots": len(roots)}


@shared_task(name="assessments.recompute_cycle")
def recompute_cycle(cycle_id: int) -> int:
    from apps.assessments.models import Cycle
    from apps.assessments.services import cycle_compute_scheduled

    cycle = Cycle.objects.filter(pk=cycle_id).first()
    return cycle_compute_scheduled(cycle=cycle) if cycle else 0


@shared_task(name="assessments.weak_screening")
def weak_screening(root_id: int) -> int:
    from apps.assessments.services import weak_screening_refresh
    from apps.organizations.models import Org

    root = Org.objects.filter(pk=root_id).first()
    return weak_screening_refresh(root=root) if root else 0
