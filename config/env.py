"""Environment-driven configuration.

Every variable the platform reads is declared here and listed in `.env.example`.
A bad value stops start-up with a message that names the variable.
Values in `var/dev.env` (written by `scripts/dev.py` for the embedded services and
generated development secrets) are used for variables that the environment does not set.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_ENV_FILE = BASE_DIR / "var" / "dev.env"


def _load_dev_env() -> dict[str, str]:
    values: dict[str, str] = {}
    if DEV_ENV_FILE.exists():
        for raw in DEV_ENV_FILE.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


_DEV_ENV = _load_dev_env()


def raw(name: str, default: str | None = None) -> str | None:
    if name in os.environ:
        return os.environ[name]
    return _DEV_ENV.get(name, default)


def string(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = raw(name, default)
    if value is None or (required and value == ""):
        raise ImproperlyConfigured(f"Environment variable {name} is required (see .env.example).")
    return value


def boolean(name: str, default: bool = False) -> bool:
    value = raw(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name}={value!r} is not a boolean (use 1 or 0)."
    )


def integer(name: str, default: int) -> int:
    value = raw(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} is not an integer."
        ) from exc


def listing(name: str, default: str = "") -> list[str]:
    value = raw(name, default) or ""
    return [part.strip() for part in value.split(",") if part.strip()]


def database(name: str = "DATABASE_URL") -> dict:
    url = raw(name)
    if not url:
        raise ImproperlyConfigured(
            f"Environment variable {name} is not set. Use `make run` / `make test`, which start "
            "an embedded PostgreSQL, or set it, e.g. postgres://postgres@127.0.0.1:5432/dangjian."
        )
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be a postgres:// URL (PostgreSQL only), got {parsed.scheme!r}."
        )
    if not parsed.path.strip("/"):
        raise ImproperlyConfigured(f"Environment variable {name} has no database name.")
    options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    conn_max_age = int(options.pop("conn_max_age", "60"))
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": unquote(parsed.hostname or ""),
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": conn_max_age,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
    }


def redis_url(name: str = "REDIS_URL") -> str:
    url = raw(name)
    if not url:
        raise ImproperlyConfigured(
            f"Environment variable {name} is not set. Use `make run` / `make test`, which start "
            "an embedded Redis, or set it, e.g. redis://127.0.0.1:6379/0."
        )
    if urlparse(url).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be a redis:// URL, got {url!r}."
        )
    return url
