"""System Health figures read from the machine, and the server's log files (Support Center)."""

import datetime as dt
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psutil
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

from core.context_processors import product_version

_RATE_KEY = "support-center:net-sample"


def _interface_rates(*, again: bool = True) -> list[dict]:
    """Receive/transmit rates per interface since the previous sample (kept in the cache)."""
    now = time.monotonic()
    counters = {
        name: (c.bytes_recv, c.bytes_sent)
        for name, c in psutil.net_io_counters(pernic=True).items()
    }
    previous = cache.get(_RATE_KEY)
    if previous is None and again:  # the first look: a second sample a moment later
        cache.set(_RATE_KEY, (now, counters), 600)
        time.sleep(0.25)
        return _interface_rates(again=False)
    cache.set(_RATE_KEY, (now, counters), 600)
    rows = []
    for name, (rx, tx) in sorted(counters.items()):
        rx_rate = tx_rate = None
        if previous and name in previous[1] and now > previous[0]:
            elapsed = now - previous[0]
            rx_rate = max(rx - previous[1][name][0], 0) / elapsed
            tx_rate = max(tx - previous[1][name][1], 0) / elapsed
        rows.append({"name": name, "rx_rate": rx_rate, "tx_rate": tx_rate})
    return rows


def connected_users() -> int:
    """Users with a live session."""
    sessions = Session.objects.filter(expire_date__gt=timezone.now())
    users = {s.get_decoded().get("_auth_user_id") for s in sessions.iterator()}
    users.discard(None)
    return len(users)


def system_health() -> dict:
    """Server name, version, uptime, CPU/RAM/disk use, interface rates, connected users."""
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage("/")
    uptime = int(time.time() - psutil.boot_time())
    days, rest = divmod(uptime, 86400)
    hours, rest = divmod(rest, 3600)
    return {
        "server_name": socket.gethostname(),
        "version": product_version(),
        "uptime": f"{days} days, {hours:02d}:{rest // 60:02d}",
        "cpu_percent": psutil.cpu_percent(interval=None),
        "memory_percent": memory.percent,
        "memory_total": memory.total,
        "disk_percent": disk.percent,
        "disk_total": disk.total,
        "interfaces": _interface_rates(),
        "connected_users": connected_users(),
    }


def log_files() -> list[dict]:
    """The log files of this server (LOG_DIR): name, size and last change, by name; then the
    journals of its units on a systemd host (size None)."""
    try:
        entries = sorted(Path(settings.LOG_DIR).iterdir())
    except OSError:
        entries = []
    rows = []
    for path in entries:
        if path.is_symlink() or not path.is_file():
            continue
        stat = path.stat()
        modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
        rows.append({"name": path.name, "size": stat.st_size, "modified": modified})
    return rows + journal_entries()


def log_file(name: str) -> Path | None:
    """The log file of that name, if it is one of log_files()."""
    if name in {row["name"] for row in log_files() if row["size"] is not None}:
        return Path(settings.LOG_DIR) / name
    return None


# On a host whose PID 1 is systemd the server's processes log to journald (deploy/systemd/):
# each unit's journal is one more entry of the list, read when downloaded.
JOURNAL_UNITS = (
    "ssm-appserver", "ssm-nginx", "ssm-worker", "ssm-beat", "ssm-postgresql", "ssm-redis",
    "ssm-cluster-repair",
)  # fmt: skip
JOURNAL_LINES = 50000


def journal_units() -> list[str]:
    """The units whose journal the Support Center offers (none without systemd)."""
    if not Path("/run/systemd/system").is_dir() or shutil.which("journalctl") is None:
        return []
    return list(JOURNAL_UNITS)


def journal_entries() -> list[dict]:
    now = timezone.now()
    return [{"name": f"{unit}.journal", "size": None, "modified": now} for unit in journal_units()]


def journal_text(name: str) -> bytes | None:
    """The last JOURNAL_LINES lines of one unit's journal, if `name` is one of the entries."""
    unit = name.removesuffix(".journal")
    if not name.endswith(".journal") or unit not in journal_units():
        return None
    proc = subprocess.run(
        ["journalctl", "--unit", unit, "--no-pager", "--output", "short-iso",
         "--lines", str(JOURNAL_LINES)],
        capture_output=True, timeout=60,
    )  # fmt: skip
    return proc.stdout
