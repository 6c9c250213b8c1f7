"""The door to uploaded files (photos, sign-in sheet scans, evidence, report files).

Nothing under MEDIA_ROOT is public: `/media/<name>` is answered by `private_media`, which finds
the row that owns the file and lets the request through only when that row is visible to the
user through the scoping door (an ordinary member also sees their own photo). A file nobody
owns, or one outside the user's subtree, is a 404 like a missing file.

In production Django only decides; nginx sends the bytes: with `MEDIA_ACCEL_REDIRECT` set (e.g.
`/protected-media/`) the answer is an empty response with `X-Accel-Redirect`, and nginx serves
that prefix from MEDIA_ROOT as an `internal` location (docs/operations.md).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from django.apps import apps
from django.conf import settings
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse

from apps.accounts.scope import path_q

INLINE_TYPES = frozenset({"image/jpeg", "image/png", "application/pdf"})


@dataclass(frozen=True)
class PrivateFile:
    model: str  # "app_label.Model"
    field: str  # the FileField
    path_field: str  # the org path that scopes the owning row
    own: Callable[[object], Q] | None = None  # rows the user may see as their own

    def visible(self, user, name: str) -> bool:
        model = apps.get_model(self.model)
        allowed = path_q(user, "view", self.path_field)
        if self.own is not None:
            allowed |= self.own(user)
        return model.objects.filter(**{self.field: name}).filter(allowed).exists()


PRIVATE_FILES: tuple[PrivateFile, ...] = (
    PrivateFile("members.Member", "photo", "branch__path", own=lambda user: Q(user=user)),
    PrivateFile("meetings.MeetingAttachment", "file", "meeting__branch__path"),
    PrivateFile("assessments.Evidence", "file", "score__assessment__org__path"),
    PrivateFile("assessments.ProblemProgress", "file", "problem__org__path"),
    PrivateFile("reports.QuarterlyReport", "pdf", "org__path"),
    PrivateFile("reports.QuarterlyReport", "xlsx", "org__path"),
)


def file_visible(user, name: str) -> bool:
    if not getattr(user, "is_authenticated", False) or not name or "\x00" in name:
        return False
    return any(entry.visible(user, name) for entry in PRIVATE_FILES)


def serve(name: str) -> HttpResponse:
    """The file's bytes (development) or an X-Accel-Redirect for nginx (production)."""
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    filename = name.rsplit("/", 1)[-1]
    disposition = "inline" if content_type in INLINE_TYPES else "attachment"
    accel = getattr(settings, "MEDIA_ACCEL_REDIRECT", "")
    if accel:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = accel.rstrip("/") + "/" + quote(name)
    else:
        from django.core.files.storage import default_storage

        try:
            handle = default_storage.open(name, "rb")
        except (FileNotFoundError, OSError):
            raise Http404("未找到。") from None
        response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
