import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_openapi_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn turns every drf-spectacular warning (unknown serializer, untyped field...)
    # into a failure; --validate checks the result against the OpenAPI 3 JSON schema.
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(out))
    assert "/api/v1/me/" in out.read_text()


def test_schema_and_docs_pages_answer(client, users):
    client.force_login(users.admin)
    assert client.get("/api/v1/schema/").status_code == 200
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    # Served from our own static files (drf-spectacular-sidecar), so it works offline.
    page = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page
