"""Synchronous replication that never freezes: the guard on the primary node.

While the cluster is Normal (the peer is a cluster member and its standby streams, caught
up), commits wait for the standby (synchronous_standby_names='*'): an acknowledged write
survives even a crash of the primary. When the standby is lost, every commit would wait
forever (statement_timeout does not bound the commit wait), so the guard switches the primary
to asynchronous replication within about 3 seconds, and back to synchronous once
the standby streams again and has caught up.

The setting lives in a node-local file outside PGDATA (pg_basebackup and pg_rewind never
copy it) included by the node's configuration; ha_cluster_start resets it to asynchronous,
so a node promoted later never starts with a stale synchronous setting.

Runs as a plain script (no Django: it must start in milliseconds right after a promotion),
started by pacemaker (ocf:heartbeat:anything) on the promoted node only:
    /usr/bin/python3 highavailability/syncguard.py [--once]
Every transition is one line on stdout: `<UTC time> SYNC|ASYNC <reason>`.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("HA_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_SOCKET_DIR = os.environ.get("HA_PG_SOCKET_DIR", "/run/postgresql")
PG_PORT = os.environ.get("HA_PG_PORT", "5432")
SYNC_CONF = Path(os.environ.get("HA_SYNC_CONF", "/var/lib/postgresql/15/sync.conf"))
INTERVAL_S = 0.5
# a standby counts while its last reply is younger than this (it replies every second) ...
STANDBY_TIMEOUT_S = 3
FRESH_STANDBYS = (
    "select count(*) from pg_stat_replication where state = 'streaming'"  # noqa: S608 - a constant
    f" and reply_time > now() - interval '{STANDBY_TIMEOUT_S} seconds'"
)
# the longest a commit waits for a lost standby: its timeout, then at most one cycle of
# waiting and one of checking (a cycle starts every INTERVAL_S and takes less than that)
WINDOW_S = STANDBY_TIMEOUT_S + 2 * INTERVAL_S
# ... and synchronous mode returns only once it is within 1 MiB of the primary
CAUGHT_UP_STANDBYS = (
    "select count(*) from pg_stat_replication where state = 'streaming'"
    " and pg_current_wal_lsn() - flush_lsn < 1048576"
)


def psql(sql: str) -> str:
    proc = subprocess.run(
        [
            "runuser", "-u", "postgres", "--", str(PG_BIN / "psql"),
            "-h", PG_SOCKET_DIR, "-p", PG_PORT, "-U", "postgres", "-d", "postgres",
            "-XAtq", "-c", sql,
        ],
        capture_output=True,
        text=True,
        timeout=5,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip())
    return proc.stdout.strip()


def peer_is_member() -> bool:
    """Another node is a member of this node's corosync/pacemaker partition."""
    proc = subprocess.run(["crm_node", "-l"], capture_output=True, text=True, timeout=5)
    me = subprocess.run(["crm_node", "-n"], capture_output=True, text=True, timeout=5).stdout
    members = [
        line.split()[1]
        for line in proc.stdout.splitlines()
        if len(line.split()) >= 3 and line.split()[2] == "member"
    ]
    return any(name != me.strip() for name in members)


def write_setting(value: str) -> None:
    SYNC_CONF.write_text(
        "# written by the synchronous replication guard (highavailability/syncguard.py)\n"
        f"synchronous_standby_names = '{value}'\n"
    )
    psql("select pg_reload_conf()")


def reset() -> None:
    """Asynchronous replication (what a node starts with)."""
    SYNC_CONF.parent.mkdir(parents=True, exist_ok=True)
    SYNC_CONF.write_text("synchronous_standby_names = ''\n")


def log(state: str, reason: str) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    print(f"{now} {state} {reason}", flush=True)


def step() -> None:
    if psql("select pg_is_in_recovery()") != "f":
        return
    current = psql("select current_setting('synchronous_standby_names')")
    fresh = int(psql(FRESH_STANDBYS))
    healthy = fresh > 0 and peer_is_member()
    if current and not healthy:
        write_setting("")
        log("ASYNC", "standby lost: commits no longer wait for it (cluster degraded)")
    elif not current and healthy:
        caught_up = int(psql(CAUGHT_UP_STANDBYS))
        if caught_up:
            write_setting("*")
            log("SYNC", "standby streaming and caught up: commits wait for it again")


def main() -> None:
    if "--reset" in sys.argv:
        reset()
        return
    once = "--once" in sys.argv
    while True:
        started = time.monotonic()
        try:
            step()
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log("ERROR", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        if once:
            return
        time.sleep(max(0.0, INTERVAL_S - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
