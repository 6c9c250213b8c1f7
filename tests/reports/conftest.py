from __future__ import annotations

import pytest

from config.celery import app as celery_app
from tests.dashboards.conftest import populated  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def eager_celery():
    """Run queued tasks in-process (they are queued on commit: use with
    django_capture_on_commit_callbacks(execute=True))."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False
