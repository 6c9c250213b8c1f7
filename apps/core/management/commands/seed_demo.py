"""Build the demo county: `python manage.py seed_demo --seed N`.

Each app contributes its part in `apps/<app>/demo.py` with a function `seed(ctx)`, run in the
order of APPS below inside one transaction. The same seed gives the same county.
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

APPS = ["organizations", "accounts", "members", "meetings", "assessments", "notifications", "reports"]


@dataclass
class DemoContext:
    rng: random.Random
    today: date
    scale: float = 1.0
    # Shared between app seeders: e.g. "county", "branches", "members_by_branch", "signins"
    data: dict[str, Any] = field(default_factory=dict)
    signins: list[tuple[str, str, str]] = field(default_factory=list)  # (role label, username, password)
    log: Any = print


class Command(BaseCommand):
    help = "Load the demo county (deterministic for a given --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when organizations exist")
        parser.add_argument("--scale", type=float, default=1.0, help="fraction of the demo size (tests use less)")

    def handle(self, *args, seed: int, if_empty: bool, scale: float, **options):
        from apps.organizations.models import Org

        if if_empty and Org.objects.exists():
            self.stdout.write("Demo data already present; skipping seed_demo.")
            self._print_signins(self._stored_signins())
            return
        ctx = DemoContext(rng=random.Random(seed), today=local_today(), scale=scale, log=self.stdout.write)
        started = time.monotonic()
        with transaction.atomic():
            for name in APPS:
                try:
                    module = importlib.import_module(f"apps.{name}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"apps.{name}.demo":
                        raise
                    continue
                step = time.monotonic()
                module.seed(ctx)
                self.stdout.write(f"  {name}: {time.monotonic() - step:.1f}s")
        self.stdout.write(self.style.SUCCESS(f"Demo county ready in {time.monotonic() - started:.1f}s."))
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
