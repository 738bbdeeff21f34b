"""Settings → Time: the time zone the workspace shows times in, and the NTP servers chrony
(Debian's) follows.

The servers are written as chrony sources (CHRONY_SOURCES_DIR/ssm-onprem.sources, which
Debian's chrony.conf reads through its sourcedir) and chronyd reloads them: on the node that
saves them at once, on the other HA node by its cluster agent (ssm-app's monitor compares the
setting's generation with the one this node applied, SSM_VAR/ntp.generation). Whether the
clock is synchronized, and by how much it is off, comes from `chronyc tracking`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
import subprocess
import time
import uuid
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from .choices import EventCategory
from .models import TimeSetting
from .services import record_event
from .validators import is_host

SOURCES_FILE = "ssm-onprem.sources"
MAX_SERVERS = 8
CHECK_SECONDS = 5.0
_zone_cache: list = [0.0, zoneinfo.ZoneInfo("UTC")]


def time_setting() -> TimeSetting:
    return TimeSetting.objects.filter(pk=1).first() or TimeSetting(pk=1)


def workspace_time_zone() -> zoneinfo.ZoneInfo:
    """The chosen time zone, read at most every few seconds per process."""
    now = time.monotonic()
    if now - _zone_cache[0] >= CHECK_SECONDS or settings.TESTING:  # each test has its rows
        with contextlib.suppress(DatabaseError, zoneinfo.ZoneInfoNotFoundError):
            _zone_cache[1] = zoneinfo.ZoneInfo(time_setting().time_zone)
        _zone_cache[0] = now
    return _zone_cache[1]


def _server(entry: str) -> tuple[str, int | None]:
    """host, or host:port ([v6]:port); ValidationError when it is neither."""
    host, port = entry, None
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?|([^:\s]+):(\d+)", entry)
    if match:
        host = match.group(1) or match.group(3)
        port = int(match.group(2) or match.group(4)) if (match.group(2) or match.group(4)) else None
    if not is_host(host):
        raise ValidationError(
            {"ntp_servers": f"'{entry}' is not a host name or IP address (host or host:port)."}
        )
    if port is not None and not 1 <= port <= 65535:
        raise ValidationError({"ntp_servers": f"'{entry}': the port must be 1 to 65535."})
    return host, port


def sources_text(servers: list[str]) -> str:
    lines = ["# Written by the license server (Settings → Time); changes here are replaced."]
    for entry in servers:
        host, port = _server(entry)
        lines.append(f"server {host}" + (f" port {port}" if port else "") + " iburst")
    return "\n".join(lines) + "\n"


def save_time_setting(*, time_zone: str, ntp_servers: str, by_user) -> TimeSetting:
    """Choose the time zone and the NTP servers (applied to chrony here at once, on the other
    HA node by its cluster agent)."""
    if time_zone not in zoneinfo.available_timezones():
        raise ValidationError(
            {"time_zone": f"'{time_zone}' is not a time zone (e.g. Europe/Paris)."}
        )
    servers = [line.strip() for line in ntp_servers.replace(",", "\n").splitlines() if line.strip()]
    if len(servers) > MAX_SERVERS:
        raise ValidationError({"ntp_servers": f"At most {MAX_SERVERS} NTP servers."})
    sources_text(servers)  # validates each entry
    row = time_setting()
    changed = servers != row.servers
    row.time_zone, row.ntp_servers = time_zone, "\n".join(servers)
    if changed or not row.generation:
        row.generation = uuid.uuid4().hex
    with transaction.atomic():
        row.save()
        record_event(
            EventCategory.SYSTEM,
            "time_settings_changed",
            f"Time zone {time_zone}; NTP servers: {', '.join(servers) or 'none'}.",
            user=by_user,
        )
        if changed:
            transaction.on_commit(lambda: apply_ntp_servers(row))
    _zone_cache[0] = 0.0
    return row


def chrony_managed() -> bool:
    """This server writes chrony's sources: the folder is there and chronyc is installed."""
    folder = Path(settings.CHRONY_SOURCES_DIR)
    return folder.is_dir() and shutil.which("chronyc") is not None


def _chronyc(*args: str) -> subprocess.CompletedProcess:
    socket_args = ["-h", settings.CHRONY_SOCKET] if settings.CHRONY_SOCKET else []
    return subprocess.run(
        ["chronyc", *socket_args, *args], capture_output=True, text=True, timeout=10
    )


def _generation_file() -> Path:
    return Path(settings.SSM_VAR) / "ntp.generation"


def applied_generation() -> str:
    try:
        return _generation_file().read_text().strip()
    except OSError:
        return ""


def apply_ntp_servers(row: TimeSetting | None = None) -> str:
    """Write the servers as chrony's sources and have chronyd reload them; what happened."""
    row = row or time_setting()
    if not chrony_managed():
        return (
            f"chrony is not managed here ({settings.CHRONY_SOURCES_DIR} or chronyc is missing): "
            "set the NTP servers in the system's own configuration"
        )
    path = Path(settings.CHRONY_SOURCES_DIR) / SOURCES_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(sources_text(row.servers))
    temporary.replace(path)
    reload = _chronyc("reload", "sources")
    _generation_file().parent.mkdir(parents=True, exist_ok=True)
    _generation_file().write_text(row.generation + "\n")
    if reload.returncode != 0:
        return (
            f"NTP servers written to {path}; chronyd did not reload them "
            f"({(reload.stderr or reload.stdout).strip()}): they apply when it starts"
        )
    return f"NTP servers written to {path} and reloaded by chronyd"


@dataclass
class ClockStatus:
    """What chronyd says about the clock (`chronyc tracking` and `sources`)."""

    answered: bool
    error: str = ""
    synchronized: bool = False
    reference: str = ""
    stratum: int = 0
    offset: float = 0.0  # seconds; positive: the clock is ahead
    leap: str = ""
    sources: list[dict] = field(default_factory=list)


SOURCE_STATES = {
    "*": "selected", "+": "combined", "-": "not combined", "?": "unreachable",
    "x": "falseticker", "~": "too variable",
}  # fmt: skip


def clock_status() -> ClockStatus:
    if shutil.which("chronyc") is None:
        return ClockStatus(False, "chrony is not installed on this server")
    try:
        tracking = _chronyc("-c", "tracking")
        sources = _chronyc("-c", "sources")
    except subprocess.TimeoutExpired:
        return ClockStatus(False, "chronyd did not answer within 10 s")
    if tracking.returncode != 0:
        said = (tracking.stderr or tracking.stdout).strip() or f"exit {tracking.returncode}"
        return ClockStatus(False, f"chronyd does not answer ({said}): is chrony running?")
    fields = tracking.stdout.strip().split(",")
    status = ClockStatus(True)
    if len(fields) >= 14:
        status.reference, status.leap = fields[1], fields[13]
        status.stratum, status.offset = int(fields[2]), float(fields[4])
        status.synchronized = status.leap != "Not synchronised" and 0 < status.stratum < 16
    for line in sources.stdout.splitlines():
        parts = line.split(",")
        if len(parts) >= 10:
            status.sources.append(
                {
                    "name": parts[2],
                    "state": SOURCE_STATES.get(parts[1], parts[1]),
                    "stratum": parts[3],
                    "reach": parts[5],
                }  # fmt: skip
            )
    return status


def now_in(zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.now(dt.UTC).astimezone(zone)
