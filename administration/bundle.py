"""The support bundle: one tar.gz for a support case, with this server's logs, its versions,
its services' states, `ha_status` on a cluster node, System Health, and the settings with
every secret redacted."""

import contextlib
import io
import json
import platform
import re
import subprocess
import tarfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection

from core.context_processors import product_version
from highavailability import cluster

from .health import journal_text, log_files, system_health

LOG_TAIL_BYTES = 20 * 1024 * 1024  # the end of a long log is what a support case needs
REDACTED = "********"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSPHRASE|TOKEN|_KEY$|^KEY$|CREDENTIAL", re.I)
URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@", re.I)


def redact(value, name: str = ""):
    """A setting's value with every secret replaced: by its name (SECRET_KEY, *PASSWORD*,
    *TOKEN*, …), and passwords inside URLs (postgres://user:…@host)."""
    if name and SECRET_NAME.search(name) and value not in ("", None, [], {}):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return URL_CREDENTIALS.sub(rf"\g<scheme>\g<user>:{REDACTED}@", str(value))
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))


def redacted_settings() -> str:
    lines = []
    for name in sorted(dir(settings)):
        if name.isupper():
            lines.append(f"{name} = {redact(getattr(settings, name), name)!r}")
    return "\n".join(lines) + "\n"


def _command(args: list[str], timeout: int = 30) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"$ {' '.join(args)}\n{exc}\n"
    return f"$ {' '.join(args)}\n{done.stdout}{done.stderr}"


def versions() -> str:
    import celery
    import django
    import psycopg

    lines = [
        f"Smart Software Manager On-Prem {product_version()}",
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"psycopg {psycopg.__version__}, Celery {celery.__version__}",
        f"Kernel {platform.release()} ({platform.machine()})",
    ]
    with contextlib.suppress(OSError):
        lines.append("Debian " + Path("/etc/debian_version").read_text().strip())
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            lines.append(cursor.fetchone()[0])
    except DatabaseError as exc:
        lines.append(f"PostgreSQL: not reachable ({exc})")
    text = "\n".join(lines) + "\n\n"
    for args in (["nginx", "-v"], ["crm_mon", "--version"], ["corosync", "-v"]):
        text += _command(args) + "\n"
    return text


def _ha_status() -> str:
    if not cluster.ha_enabled():
        return "HA is not enabled.\n"
    out = io.StringIO()
    try:
        call_command("ha_status", stdout=out, stderr=out)
    except Exception as exc:  # noqa: BLE001 - the bundle records what the command said
        out.write(f"\n{exc}\n")
    return out.getvalue()


def _log_tail(path: Path) -> bytes:
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - LOG_TAIL_BYTES))
        return fh.read()


def support_bundle(out) -> list[str]:
    """Write the bundle (tar.gz) to the binary file `out`; returns its members' names."""
    members: list[str] = []

    def add(tar, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(f"ssm-support/{name}")
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
        tar.addfile(info, io.BytesIO(data))
        members.append(name)

    services = Path(settings.BASE_DIR) / "deploy" / "services"
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        add(tar, "versions.txt", versions().encode())
        add(tar, "settings.txt", redacted_settings().encode())
        add(tar, "ha_status.txt", _ha_status().encode())
        add(tar, "services.txt", _command([str(services), "status"], timeout=60).encode())
        add(tar, "system_health.json", json.dumps(system_health(), indent=2, default=str).encode())
        for row in log_files():
            if row["size"] is None:
                text = journal_text(row["name"])
                if text is not None:
                    add(tar, f"logs/{row['name']}", text)
            else:
                add(tar, f"logs/{row['name']}", _log_tail(Path(settings.LOG_DIR) / row["name"]))
    return members
