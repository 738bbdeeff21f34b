"""The cluster's guard on every node: synchronous replication that never freezes, a standby
that is promotable the moment it is complete, and a way out when no primary is left.

On the primary node:
- While the cluster is Normal (the peer is a cluster member and its standby streams, caught
  up), commits wait for the standby (synchronous_standby_names='*'): an acknowledged write
  survives even a crash of the primary. When the standby is lost, every commit would wait
  forever (statement_timeout does not bound the commit wait), so the guard switches the
  primary to asynchronous replication within about 3 seconds, and back to synchronous once
  the standby streams again and has caught up.
- It marks which standby is *complete* (node attribute `ssm-complete`): 1 once the standby
  confirmed, in synchronous mode, every write acknowledged before the switch; 0 before
  replication drops to asynchronous, and while a standby is not streaming. A location rule
  in the CIB forbids promoting a node marked 0, so a standby that may lack acknowledged
  writes is never promoted automatically. A complete standby also gets a positive promotion
  score at once: PAF sets it only from the primary's monitor (every 15 s), and a standby
  without one could not be promoted if the primary died before that monitor ran.

On a standby node: when the quorate cluster has had no promoted database for HEAL_AFTER_S
and this node is marked complete, it gives itself a positive promotion score and pacemaker
promotes it. When it is not complete, it does not: it reports "no active server" (the reason
is what ha_status and the HA widget show; `ha_promote --force` accepts the loss).

The replication setting lives in a node-local file outside PGDATA (pg_basebackup and
pg_rewind never copy it) included by the node's configuration; ha_cluster_start resets it to
asynchronous, so a node promoted later never starts with a stale synchronous setting.

Runs as a plain script (no Django: it must act in milliseconds right after a promotion),
started by pacemaker (ocf:heartbeat:anything, a clone: one on every cluster member):
    /usr/bin/python3 highavailability/syncguard.py [--once] [--app-state-dir DIR]
        [--pg-bin DIR] [--pg-data DIR] [--pg-socket-dir DIR] [--pg-port PORT]
(DIR/<node name>/app/ssm.env is the application's env file there: the alerts use it).
Every transition is one line on stdout: `<UTC time> SYNC|ASYNC|COMPLETE|INCOMPLETE|HEAL|
NO-ACTIVE|ERROR <details>`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

# the node's PostgreSQL (the CIB passes --pg-bin, --pg-data, --pg-socket-dir, --pg-port;
# the console commands call configure() with the settings); sync.conf sits beside PGDATA
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_SOCKET_DIR = "/run/postgresql"
PG_PORT = "5432"
SYNC_CONF = Path("/var/lib/postgresql/15/sync.conf")


def configure(pg_bin: str, pg_data: str, socket_dir: str, port: str | int) -> None:
    """Where this node's PostgreSQL is (the defaults are the lab's)."""
    global PG_BIN, PG_SOCKET_DIR, PG_PORT, SYNC_CONF
    PG_BIN, PG_SOCKET_DIR, PG_PORT = Path(pg_bin), str(socket_dir), str(port)
    SYNC_CONF = Path(pg_data).parent / "sync.conf"


INTERVAL_S = 0.5
# while a standby has switched to synchronous but has not confirmed completeness yet
FAST_INTERVAL_S = 0.1
# a standby looks for a missing primary once a second
STANDBY_INTERVAL_S = 1.0
# while every standby streams synchronously and replies, the primary rereads the CIB (node
# attributes, membership) this often; otherwise at every cycle
STEADY_CIB_S = 5.0
# a standby counts while its last reply is younger than this (it replies every second) ...
STANDBY_TIMEOUT_S = 3
# the longest a commit waits for a lost standby: its timeout, then at most one cycle of
# waiting and one of checking (a cycle starts every INTERVAL_S and takes less than that)
WINDOW_S = STANDBY_TIMEOUT_S + 2 * INTERVAL_S
# ... and synchronous mode returns only once it is within 1 MiB of the primary
CAUGHT_UP_BYTES = 1048576
# a standby heals the cluster after this long without a promoted database (pacemaker's own
# failover takes 2-4 s; healing only steps in when that did not happen)
HEAL_AFTER_S = 5.0
PG_RESOURCE = "pgsqld"
SCORE_ATTR = f"master-{PG_RESOURCE}"  # PAF's promotion score (a permanent node attribute)
COMPLETE_ATTR = "ssm-complete"  # 1: has every acknowledged write; 0: may lack some
ASYNC_SINCE_ATTR = "ssm-async-since"  # "<UTC time> <primary's WAL position>" at the switch
PROMOTE_SCORE = "1000"
REPO = Path(__file__).resolve().parents[1]

STATE = """
select json_build_object(
  'recovery', pg_is_in_recovery(),
  'setting', current_setting('synchronous_standby_names'),
  'lsn', case when pg_is_in_recovery() then null else pg_current_wal_lsn()::text end,
  'standbys', (select coalesce(json_agg(json_build_object(
      'name', application_name, 'state', state, 'sync_state', sync_state,
      'fresh', coalesce(reply_time > now() - interval '__TIMEOUT__ seconds', false),
      'flush', flush_lsn::text,
      'behind', case when pg_is_in_recovery() then null
                     else pg_current_wal_lsn() - flush_lsn end,
      'since', extract(epoch from backend_start))), '[]'::json)
    from pg_stat_replication))
""".replace("__TIMEOUT__", str(STANDBY_TIMEOUT_S))


_connection = None


def psql(sql: str) -> str:
    """The first value `sql` answers, as text, on a connection to this node's PostgreSQL kept
    across cycles (through the local socket; a connection and a psql process per cycle cost
    the node more CPU than the rest of the guard). Any error drops it; the next cycle
    connects again."""
    global _connection
    # Debian's python3-psycopg2: the guard runs on the system's Python (the application, which
    # imports this module for its constants, never calls this)
    import psycopg2

    try:
        if _connection is None or _connection.closed:
            _connection = psycopg2.connect(
                host=PG_SOCKET_DIR,
                port=PG_PORT,
                user="postgres",
                dbname="postgres",
                application_name="syncguard",
                connect_timeout=5,
                options="-c statement_timeout=5000",
            )
            _connection.autocommit = True
        with _connection.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
    except psycopg2.Error as exc:
        if _connection is not None:
            _connection.close()
        _connection = None
        raise RuntimeError(str(exc).strip() or type(exc).__name__) from None
    value = row[0] if row else None
    if isinstance(value, (dict, list)):  # psycopg2 decodes json
        return json.dumps(value)
    return "" if value is None else str(value)


def lsn(text: str | None) -> int:
    """A WAL position ('0/3000148') as a number."""
    if not text:
        return 0
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def run(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]}: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def node_name() -> str:
    return run(["crm_node", "-n"]).strip()


def members() -> tuple[list[str], list[str]]:
    """(every node pacemaker knows, the members of this node's partition)."""
    known, member = [], []
    for line in run(["crm_node", "-l"]).splitlines():
        parts = line.split()
        if len(parts) >= 3:
            known.append(parts[1])
            if parts[2] == "member":
                member.append(parts[1])
    return known, member


def node_attributes() -> dict[str, dict[str, str]]:
    """Permanent node attributes (the CIB's nodes section): node name -> name -> value."""
    root = ET.fromstring(run(["cibadmin", "--query", "--scope", "nodes"]))  # noqa: S314 - local CIB
    return {
        node.get("uname", ""): {
            pair.get("name", ""): pair.get("value", "")
            for pair in node.iter("nvpair")
            if pair.get("name")
        }
        for node in root.iter("node")
    }


def set_attribute(node: str, name: str, value: str) -> None:
    run(["crm_attribute", "--type", "nodes", "--node", node, "--name", name, "--update", value])


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


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Alerts:
    """`manage.py ha_alert` on this node (the application's env file under app_state_dir):
    an e-mail when the cluster is left without a primary, the HA event once one is back."""

    def __init__(self, app_state_dir: str):
        self.app_state_dir = app_state_dir
        self.children: list[subprocess.Popen] = []
        self.since = ""  # UTC time of the open incident
        self.reason = ""

    def run(self, node: str, *args: str) -> None:
        self.children = [c for c in self.children if c.poll() is None]
        env = dict(os.environ)
        if self.app_state_dir:  # the lab: one folder per node
            app = Path(self.app_state_dir) / node / "app"
            env.update(SSM_ENV_FILE=str(app / "ssm.env"), SSM_VAR=str(app))
        self.children.append(
            subprocess.Popen(
                [
                    str(REPO / ".venv" / "bin" / "python"),
                    str(REPO / "manage.py"),
                    "ha_alert",
                    "--node",
                    node,
                    *args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=sys.stdout,
                stderr=subprocess.STDOUT,
                cwd="/",
                env=env,
            )  # fmt: skip
        )

    def opened(self, node: str, reason: str) -> None:
        if not self.since:
            self.since, self.reason = utc_now(), reason
            self.run(node, "--reason", reason)

    def closed(self, node: str) -> None:
        if self.since:
            self.run(node, "--resolved", "--reason", self.reason, "--since", self.since)
            self.since = self.reason = ""


class Guard:
    """One node's guard; `step()` is one cycle and returns the seconds until the next."""

    def __init__(self, app_state_dir: str = ""):
        self.me = ""
        self.attrs: dict[str, dict[str, str]] = {}
        self.membership: tuple[list[str], list[str]] = ([], [])
        self.cib_read_at: float | None = None  # time.monotonic() of the last read
        self.sync_since = 0  # WAL position from which synchronous mode is certainly in force
        self.no_primary_since: float | None = None
        self.incident = ""  # what was last reported about a cluster without a primary
        self.alerts = Alerts(app_state_dir)

    # --- attributes, written only when they differ ------------------------------------

    def mark(self, node: str, name: str, value: str) -> bool:
        if self.attrs.get(node, {}).get(name) == value:
            return False
        set_attribute(node, name, value)
        self.attrs.setdefault(node, {})[name] = value
        return True

    def score(self, node: str) -> int:
        try:
            return int(self.attrs.get(node, {}).get(SCORE_ATTR, ""))
        except ValueError:
            return -1

    # --- one cycle -----------------------------------------------------------------------

    def step(self) -> float:
        if not self.me:
            self.me = node_name()
        db = json.loads(psql(STATE))
        if db["recovery"]:
            self.sync_since = 0
            self.cib_read_at = None
            return self.standby_step()
        self.no_primary_since, self.incident = None, ""
        self.alerts.closed(self.me)
        if not self.steady(db):
            self.read_cib()
        return self.primary_step(db)

    def steady(self, db: dict) -> bool:
        """Synchronous, every standby streaming, synchronous and replying, and the CIB read
        less than STEADY_CIB_S ago: nothing in the CIB can need a mark now (PAF scores a
        streaming standby positively; a standby that stops replying ends the steadiness)."""
        rows = db["standbys"]
        return bool(
            db["setting"]
            and self.sync_since
            and rows
            and all(r["state"] == "streaming" and r["fresh"] and r["sync_state"] == "sync"
                    for r in rows)
            and self.cib_read_at is not None
            and time.monotonic() - self.cib_read_at < STEADY_CIB_S
        )  # fmt: skip

    def read_cib(self) -> None:
        """The node attributes and the membership, as the CIB holds them now."""
        try:
            self.attrs = node_attributes()
        except (RuntimeError, subprocess.TimeoutExpired, ET.ParseError) as exc:
            self.attrs = {}  # unknown: every mark is written
            log("ERROR", f"node attributes not read: {exc}")
        self.membership = members()
        self.cib_read_at = time.monotonic()

    def primary_step(self, db: dict) -> float:
        known, member = self.membership
        peers = [n for n in known if n != self.me]
        self.mark(self.me, COMPLETE_ATTR, "1")
        rows = {s["name"]: s for s in db["standbys"]}
        fresh = [s for s in db["standbys"] if s["state"] == "streaming" and s["fresh"]]
        healthy = bool(fresh) and any(n in member for n in peers)
        current = db["setting"]
        if current and not healthy:
            # first the marks (no standby may be promoted once commits stop waiting for it);
            # commits must not wait forever because the CIB did not answer, though
            try:
                self.mark_incomplete(peers, db["lsn"])
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                log("ERROR", f"standby not marked incomplete: {exc}")
            write_setting("")
            self.sync_since = 0
            log("ASYNC", "standby lost: commits no longer wait for it (cluster degraded)")
            return INTERVAL_S
        if not current:
            self.mark_incomplete(peers, db["lsn"])
            caught_up = [s for s in fresh if (s["behind"] or 0) < CAUGHT_UP_BYTES]
            if healthy and caught_up:
                write_setting("*")
                self.sync_since = self.confirm_sync(caught_up[0]["name"])
                log("SYNC", "standby streaming and caught up: commits wait for it again")
                return FAST_INTERVAL_S
            return INTERVAL_S
        if not self.sync_since:
            # synchronous already (the guard restarted): completeness counts from now
            self.sync_since = lsn(db["lsn"])
        pending = False
        for peer in peers:
            row = rows.get(peer)
            complete = bool(
                row
                and row["state"] == "streaming"
                and row["sync_state"] == "sync"
                and lsn(row["flush"]) >= self.sync_since
            )
            if complete:
                if self.score(peer) <= 0:
                    self.mark(peer, SCORE_ATTR, PROMOTE_SCORE)
                if self.mark(peer, COMPLETE_ATTR, "1"):
                    window = time.time() - float(row["since"])
                    log(
                        "COMPLETE",
                        f"{peer}: synchronous standby with every acknowledged write,"
                        f" promotable {window:.2f} s after it connected",
                    )
            elif self.attrs.get(peer, {}).get(COMPLETE_ATTR) != "1":
                pending = pending or bool(row and row["state"] == "streaming")
                if self.mark(peer, COMPLETE_ATTR, "0"):
                    log("INCOMPLETE", f"{peer}: not yet a confirmed synchronous standby")
            # a complete standby that reconnects stays complete while replication is
            # synchronous: no commit is acknowledged without it (the only standby); it is
            # marked incomplete before the switch to asynchronous
        return FAST_INTERVAL_S if pending else INTERVAL_S

    def mark_incomplete(self, peers: list[str], wal: str) -> None:
        for peer in peers:
            if self.mark(peer, COMPLETE_ATTR, "0"):
                self.mark(peer, ASYNC_SINCE_ATTR, f"{utc_now()} {wal}")
                log("INCOMPLETE", f"{peer}: not a synchronous standby (not promotable)")

    def confirm_sync(self, standby: str) -> int:
        """Wait (at most 2 s) until the server runs with the synchronous setting; the WAL
        position from which every commit waits for the standby."""
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            rows = json.loads(psql(STATE))["standbys"]
            if any(r["name"] == standby and r["sync_state"] == "sync" for r in rows):
                break
            time.sleep(0.05)
        return lsn(json.loads(psql(STATE))["lsn"])

    def standby_step(self) -> float:
        state = crm_mon()
        if state["promoted"] or not state["quorate"]:
            self.no_primary_since, self.incident = None, ""
            if state["promoted"]:
                self.alerts.closed(self.me)
            return STANDBY_INTERVAL_S
        now = time.monotonic()
        if self.no_primary_since is None:
            self.no_primary_since = now
        if now - self.no_primary_since < HEAL_AFTER_S:
            return STANDBY_INTERVAL_S
        self.read_cib()
        mine = self.attrs.get(self.me, {})
        if COMPLETE_ATTR not in mine:
            return STANDBY_INTERVAL_S  # a cluster just formed: PAF elects its first primary
        if mine.get(COMPLETE_ATTR) == "1":
            if self.score(self.me) <= 0:
                self.mark(self.me, SCORE_ATTR, PROMOTE_SCORE)
                log("HEAL", f"no primary for {now - self.no_primary_since:.1f} s: {self.me} "
                    "was the synchronous standby, it gets a promotion score")  # fmt: skip
            elif state["failed"] and self.incident != "cleanup":
                run(["crm_resource", "--cleanup", "--resource", PG_RESOURCE, "--node", self.me])
                self.incident = "cleanup"
                log("HEAL", f"no primary: failed actions of {PG_RESOURCE} on {self.me} cleared")
            return STANDBY_INTERVAL_S
        reason = no_active_reason(self.me, mine)
        if self.incident != reason:
            self.incident = reason
            log("NO-ACTIVE", reason)
            self.alerts.opened(self.me, reason)
        return STANDBY_INTERVAL_S


def no_active_reason(me: str, attributes: dict[str, str]) -> str:
    """Why this standby is not promoted automatically (for ha_status, the widget, the log)."""
    since = attributes.get(ASYNC_SINCE_ATTR, "").split()
    if attributes.get(COMPLETE_ATTR) == "0" and since:
        return (
            f"{me} was not the synchronous standby when the primary was lost (replication "
            f"asynchronous since {since[0]}, WAL {since[-1]}): it may lack the last "
            "acknowledged writes"
        )
    return f"{me} was not confirmed as the synchronous standby: it may lack acknowledged writes"


def crm_mon() -> dict:
    """Quorum, the promoted node and failed database actions, from crm_mon's XML."""
    root = ET.fromstring(  # noqa: S314 - the local crm_mon
        run(["crm_mon", "--one-shot", "--output-as=xml", "--include=summary,resources,failures"])
    )
    dc = root.find("./summary/current_dc")
    promoted = [
        r
        for r in root.iter("resource")
        if r.get("id") == PG_RESOURCE and r.get("role") in ("Promoted", "Master")
    ]
    failed = [f for f in root.iter("failure") if f.get("op_key", "").startswith(PG_RESOURCE)]
    return {
        "quorate": dc is not None and dc.get("with_quorum") == "true",
        "promoted": bool(promoted),
        "failed": bool(failed),
    }


def main() -> None:
    args = sys.argv[1:]

    def option(name: str, default: str = "") -> str:
        return args[args.index(name) + 1] if name in args else default

    configure(
        option("--pg-bin", str(PG_BIN)),
        option("--pg-data", str(SYNC_CONF.parent / "ha")),
        option("--pg-socket-dir", PG_SOCKET_DIR),
        option("--pg-port", PG_PORT),
    )
    if "--reset" in args:
        reset()
        return
    once = "--once" in args
    app_state_dir = option("--app-state-dir")
    guard = Guard(app_state_dir)
    while True:
        started = time.monotonic()
        interval = INTERVAL_S
        try:
            interval = guard.step()
        except (RuntimeError, subprocess.TimeoutExpired, ValueError, ET.ParseError) as exc:
            log("ERROR", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        if once:
            return
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
