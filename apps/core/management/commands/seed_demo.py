"""Build the demo county: `python manage.py seed_demo --seed N`.

Each app contributes its part in `apps/<app>/demo.py`; the steps below run in this order inside
one transaction. A step whose module or function does not exist yet is skipped. Each step draws
from its own random generator (`ctx.rng`, reseeded per step from --seed and the step name), so
the same seed gives the same county even when another app's step changes.
"""

from __future__ import annotations

import importlib
import random
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.core.periods import local_today

STEPS = [
    ("organizations", "seed_tree"),  # county, towns, ~300 branches, party groups, terms
    ("members", "seed"),  # members for every branch, pipeline, transfers, dues, hours
    ("organizations", "seed_committees"),  # committees (班子) from the members
    ("accounts", "seed"),  # demo sign-ins, one per role
    ("meetings", "seed"),  # two years of meetings
    ("assessments", "seed"),
    ("notifications", "seed"),
    ("reports", "seed"),
]


@dataclass
class DemoContext:
    rng: random.Random
    today: date
    scale: float = 1.0
    # Shared between app seeders: e.g. "county", "branches", "members_by_branch", "signins"
    data: dict[str, Any] = field(default_factory=dict)
    signins: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (role label, username, password)
    log: Any = print


class Command(BaseCommand):
    help = "Load the demo county (deterministic for a given --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when organizations exist"
        )
        parser.add_argument(
            "--scale", type=float, default=1.0, help="fraction of the demo size (tests use less)"
        )

    def handle(self, *args, seed: int, if_empty: bool, scale: float, **options):
        from apps.organizations.models import Org

        if if_empty and Org.objects.exists():
            self.stdout.write("Demo data already present; skipping seed_demo.")
            self._print_signins(self._stored_signins())
            return
        ctx = DemoContext(
            rng=random.Random(seed), today=local_today(), scale=scale, log=self.stdout.write
        )
        started = time.monotonic()
        with transaction.atomic():
            for app, function in STEPS:
                try:
                    module = importlib.import_module(f"apps.{app}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"apps.{app}.demo":
                        raise
                    continue
                step = getattr(module, function, None)
                if step is None:
                    continue
                ctx.rng = random.Random(f"{seed}:{app}.{function}")
                began = time.monotonic()
                step(ctx)
                self.stdout.write(f"  {app}.{function}: {time.monotonic() - began:.1f}s")
        self.stdout.write(
            self.style.SUCCESS(f"Demo county ready in {time.monotonic() - started:.1f}s.")
        )
        self._print_signins(ctx.signins)

    def _stored_signins(self) -> list[tuple[str, str, str]]:
        try:
            from apps.accounts.demo import demo_signins
        except ImportError:
            return []
        return demo_signins()

    def _print_signins(self, signins) -> None:
        if not signins:
            return
        self.stdout.write("Demo sign-ins (username / password):")
        for label, username, password in signins:
            self.stdout.write(f"  {label:<16} {username:<20} {password}")
