"""Install the default indicator templates if they are missing (idempotent)."""

from django.core.management.base import BaseCommand

from apps.assessments.defaults import install
from apps.assessments.models import Indicator, Template


class Command(BaseCommand):
    help = "Create the default branch and secretary assessment templates when they are missing."

    def handle(self, *args, **options):
        created = install(Template, Indicator)
        self.stdout.write(f"Created {len(created)} default template(s).")
