"""Uploaded files are private: /media/ answers only for files whose owning row is in scope."""

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings

from apps.members.models import Member

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def photo(users, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    member = Member.objects.get(user=users.member)
    member.photo.save("zhang.png", ContentFile(PNG), save=True)
    return member.photo.name


def test_photo_served_only_inside_the_scope(photo, users, client_for, client):
    url = f"/media/{photo}"
    r = client_for(users.secretary).get(url)
    assert r.status_code == 200 and b"".join(r.streaming_content) == PNG
    assert r["Content-Type"] == "image/png" and r["X-Content-Type-Options"] == "nosniff"
    # The member sees their own photo; another branch's secretary gets a 404, like a missing file.
    assert client_for(users.member).get(url).status_code == 200
    assert client_for(users.outsider).get(url).status_code == 404
    assert (
        client_for(users.secretary).get("/media/members/photos/2026/nobody.png").status_code == 404
    )
    # Not signed in: the sign-in page, never the file.
    r = client.get(url)
    assert r.status_code == 302 and "/login" in r["Location"]


def test_traversal_and_unowned_files_are_404(photo, users, client_for, tmp_path):
    (tmp_path / "secret.txt").write_text("x")
    c = client_for(users.admin)
    assert c.get("/media/secret.txt").status_code == 404
    assert c.get("/media/../config/settings.py").status_code == 404


@override_settings(MEDIA_ACCEL_REDIRECT="/protected-media/")
def test_behind_nginx_django_only_authorises(photo, users, client_for):
    r = client_for(users.secretary).get(f"/media/{photo}")
    assert r.status_code == 200
    assert r["X-Accel-Redirect"] == f"/protected-media/{photo}"
    assert r.content == b""


def test_photo_upload_and_removal_through_the_api(users, api_for, client_for, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = str(tmp_path)
    member = Member.objects.get(user=users.member)
    api = api_for(users.secretary)
    url = f"/api/v1/members/{member.pk}/photo/"
    bad = SimpleUploadedFile("x.png", b"GIF89a" + b"\x00" * 10, content_type="image/png")
    r = api.put(url, {"photo": bad}, format="multipart")
    assert r.status_code == 400 and "照片文件内容与格式不符" in str(r.json())
    r = api.put(url, {"photo": SimpleUploadedFile("p.png", PNG)}, format="multipart")
    assert r.status_code == 200
    photo_url = r.json()["photo_url"]
    assert client_for(users.member).get(photo_url).status_code == 200
    assert client_for(users.outsider).get(photo_url).status_code == 404
    assert api.delete(url).status_code == 204
    member.refresh_from_db()
    assert not member.photo
    assert client_for(users.secretary).get(photo_url).status_code == 404
