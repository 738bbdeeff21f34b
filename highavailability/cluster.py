"""What one node knows and does about the cluster, without the database.

Everything here runs on a node (the console commands) and reads the node's own truth:
`crm_mon --output-as=xml` for membership and roles, PostgreSQL's own views through
`psql` on the local socket for replication, `pg_controldata` for the stopped instance.
No text meant for humans is scraped.

On a host whose PID 1 is systemd the daemons are Debian's units (corosync, corosync-qdevice,
pacemaker), enabled while the node is in a cluster; pacemaker then starts only after
ssm-cluster-repair.service has made the database fit to rejoin (the rules of
ha_cluster_start, at every boot). Without systemd (the lab's nodes) corosync and pacemakerd
run detached, with pid files under /run (a node of the lab has its own /run).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from . import syncguard

syncguard.configure(
    settings.HA_PG_BIN, settings.HA_PG_DATA, settings.HA_PG_SOCKET_DIR, settings.HA_PG_PORT
)

Say = Callable[[str], None]


class ClusterError(Exception):
    """An operation cannot go on; the message names the fix."""


# --- configuration on disk -------------------------------------------------------------


def ha_enabled() -> bool:
    """A node is part of a cluster while its corosync configuration and key exist.

    Debian's corosync package ships an example corosync.conf but no key, so the
    configuration alone does not mean a cluster was formed here.
    """
    return (
        settings.HA_COROSYNC_CONF.exists()
        and settings.HA_COROSYNC_CONF.with_name("authkey").exists()
    )


@dataclass
class ClusterNode:
    name: str
    nodeid: int
    cluster_addr: str


def configured_nodes() -> list[ClusterNode]:
    """The nodelist of corosync.conf (name, id, cluster/heartbeat address)."""
    nodes: list[ClusterNode] = []
    current: dict[str, str] | None = None
    depth = 0
    for raw in settings.HA_COROSYNC_CONF.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.endswith("{"):
            depth += 1
            if line.startswith("node ") or line == "node {":
                current = {}
            continue
        if line == "}":
            depth -= 1
            if current is not None:
                nodes.append(
                    ClusterNode(
                        name=current.get("name", ""),
                        nodeid=int(current.get("nodeid", "0")),
                        cluster_addr=current.get("ring0_addr", ""),
                    )
                )
                current = None
            continue
        if current is not None and ":" in line:
            key, value = (part.strip() for part in line.split(":", 1))
            current[key] = value
    return nodes


# --- daemons ----------------------------------------------------------------------------


UNITS = {
    "corosync": "corosync.service",
    "corosync-qdevice": "corosync-qdevice.service",
    "pacemakerd": "pacemaker.service",
    "pcsd": "pcsd.service",
}
REPAIR_UNIT = "ssm-cluster-repair.service"
# why the boot-time repair kept this node out of the cluster (/run: forgotten at the next boot)
BOOT_REFUSAL = Path("/run/ssm-cluster-repair.refused")
SYSTEMD_DIR = Path("/etc/systemd/system")


def qdevice_configured() -> bool:
    """corosync.conf names a quorum device (corosync-qdevice runs beside corosync)."""
    return "model: net" in settings.HA_COROSYNC_CONF.read_text()


def systemd_host() -> bool:
    """PID 1 is systemd (SSM_SYSTEMD=0 forces the lab's way, as deploy/lib.sh does)."""
    return os.environ.get("SSM_SYSTEMD", "1") != "0" and Path("/run/systemd/system").is_dir()


def systemctl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise ClusterError(
            f"systemctl {' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()} "
            f"(journalctl -u {args[-1]} says why)"
        )
    return proc


def unit_state(name: str) -> tuple[str, str]:
    """(active state, enablement) of a daemon's unit, e.g. ('active', 'enabled')."""
    unit = UNITS.get(name, name)
    active = systemctl("is-active", unit, check=False).stdout.strip() or "inactive"
    enabled = systemctl("is-enabled", unit, check=False).stdout.strip() or "disabled"
    return active, enabled


def _pid(name: str) -> int | None:
    path = settings.HA_RUN_DIR / f"{name}.pid"
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def daemon_running(name: str) -> bool:
    if systemd_host():
        return systemctl("is-active", "--quiet", UNITS[name], check=False).returncode == 0
    return _pid(name) is not None


def cluster_running() -> bool:
    return daemon_running("pacemakerd")


def _spawn(name: str, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    (settings.HA_RUN_DIR / f"{name}.pid").write_text(f"{proc.pid}\n")


def _wait(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def start_daemons(say: Say) -> None:
    """corosync, then (when configured) corosync-qdevice, then pacemaker.

    The node joins with asynchronous replication; the guard on the primary switches to
    synchronous once this node's standby streams and has caught up.
    """
    syncguard.reset()
    if systemd_host():
        for name in (
            "corosync",
            *(["corosync-qdevice"] if qdevice_configured() else []),
            "pacemakerd",
        ):
            if daemon_running(name):
                say(f"{name} is already running")
                continue
            say(f"Starting Cluster ({UNITS[name].removesuffix('.service')})...")
            systemctl("start", UNITS[name])
        return
    if daemon_running("corosync"):
        say("corosync is already running")
    else:
        say("Starting Cluster (corosync)...")
        _spawn("corosync", ["corosync", "-f"], Path("/var/log/corosync/corosync.out"))

    def corosync_ready() -> bool:
        return subprocess.run(["corosync-cfgtool", "-s"], capture_output=True).returncode == 0

    if not _wait(corosync_ready, 15):
        raise ClusterError("corosync did not start: see /var/log/corosync/corosync.log")
    if qdevice_configured() and not daemon_running("corosync-qdevice"):
        say("Starting Cluster (corosync-qdevice)...")
        Path("/run/corosync-qdevice").mkdir(exist_ok=True)
        _spawn(
            "corosync-qdevice", ["corosync-qdevice", "-f"], Path("/var/log/corosync/qdevice.out")
        )
    if daemon_running("pacemakerd"):
        say("pacemaker is already running")
    else:
        say("Starting Cluster (pacemaker)...")
        _spawn(
            "pacemakerd",
            # the cluster's own work (resource agents, PostgreSQL) ahead of the application
            # on a busy node: a failover is not starved by the load it must absorb
            ["nice", "-n", str(settings.HA_CLUSTER_NICE), "pacemakerd"],
            Path("/var/log/pacemaker/pacemakerd.out"),
            env={"PCMK_logfacility": "none"},
        )


def wait_protected(me: str, say: Say, timeout: float) -> None:
    """After the cluster started on this node, return only once it is protected: this node
    is the primary, or a standby the cluster would promote at once (streaming, synchronous,
    a positive promotion score). A cluster left without a primary, or the deadline, raises
    an error naming the fix."""
    deadline = time.monotonic() + timeout
    without_primary: float | None = None
    last = "the cluster did not answer"
    while time.monotonic() < deadline:
        try:
            state = cluster_state()
        except ClusterError as exc:
            state, last = None, str(exc)
        node = state.node(me) if state else None
        if state is not None and node is not None:
            if state.promoted == me:
                say(f"Database promoted on {me}: this node is the active server")
                return
            # the application already runs here: a takeover only moves the database and VIP
            if state.promoted and node.promotable and me in state.app_nodes:
                say(f"Standby promotable: {me} can take over at once (synchronous standby)")
                return
            last = f"standby promotable: {state.promotability()}"
            reason = state.no_active_server()
            if reason and not reason.startswith("promoting"):
                last = f"no active server: {reason}"
                without_primary = without_primary or time.monotonic()
                # pacemaker's own promotion (and the guard's healing) get their time first
                if time.monotonic() - without_primary > syncguard.HEAL_AFTER_S + 25:
                    raise ClusterError(f"Error: no active server: {reason}")
            else:
                without_primary = None
        time.sleep(0.2)
    raise ClusterError(
        f"Error: this node did not become a promotable standby within {timeout:.0f} s "
        f"({last}): see ha_status and /var/log/pacemaker/sync-guard.log"
    )


def _stop(name: str, seconds: float) -> None:
    pid = _pid(name)
    if pid is None:
        (settings.HA_RUN_DIR / f"{name}.pid").unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    if not _wait(lambda: not _alive(pid), seconds):
        raise ClusterError(f"{name} did not stop within {seconds:.0f} s")
    (settings.HA_RUN_DIR / f"{name}.pid").unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def stop_daemons(say: Say) -> None:
    """pacemaker first (its resources move away or stop), then qdevice and corosync."""
    say("Stopping Cluster (pacemaker)...")
    if systemd_host():
        systemctl("stop", UNITS["pacemakerd"])
        systemctl("stop", UNITS["corosync-qdevice"], check=False)
        say("Stopping Cluster (corosync)...")
        systemctl("stop", UNITS["corosync"])
        return
    _stop("pacemakerd", 180)
    if daemon_running("corosync-qdevice"):
        _stop("corosync-qdevice", 30)
    say("Stopping Cluster (corosync)...")
    _stop("corosync", 60)


# --- cluster state (crm_mon XML) ----------------------------------------------------------


UNPROMOTED = ("Unpromoted", "Slave")


@dataclass
class NodeState:
    name: str
    online: bool
    role: str = ""  # Promoted / Unpromoted / "" (database not running there)
    attributes: dict[str, str] = field(default_factory=dict)
    maintenance: bool = False  # pacemaker's standby mode: the node runs no resources

    @property
    def score(self) -> int:
        """PAF's promotion score (-1 when there is none)."""
        try:
            return int(self.attributes.get(syncguard.SCORE_ATTR, ""))
        except ValueError:
            return -1

    @property
    def complete(self) -> bool:
        """The guard confirmed this standby has every acknowledged write."""
        return self.attributes.get(syncguard.COMPLETE_ATTR) == "1"

    @property
    def promotable(self) -> bool:
        """A running, complete standby with a positive promotion score: the cluster would
        promote it at once if the primary were lost now."""
        return self.online and self.role in UNPROMOTED and self.score > 0 and self.complete


@dataclass
class ClusterState:
    nodes: list[NodeState] = field(default_factory=list)
    vip_node: str | None = None
    quorate: bool = False
    dc: str | None = None
    app_nodes: set[str] = field(default_factory=set)  # where the application runs (ssm-app)
    beat_node: str | None = None  # where the scheduler runs (ssm-beat)

    def node(self, name: str) -> NodeState | None:
        return next((n for n in self.nodes if n.name == name), None)

    @property
    def promoted(self) -> str | None:
        return next((n.name for n in self.nodes if n.role == "Promoted"), None)

    @property
    def standbys(self) -> list[NodeState]:
        return [n for n in self.nodes if n.name != self.promoted]

    @property
    def standby_promotable(self) -> bool:
        return any(n.promotable for n in self.standbys)

    def promotability(self) -> str:
        """'yes' or 'no (why)', about the standby the cluster would promote."""
        node = next((n for n in self.standbys if n.promotable), None)
        if node is not None:
            return f"yes ({node.name}: synchronous standby, promotion score {node.score})"
        if not self.standbys:
            return "no (no standby node)"
        node = next((n for n in self.standbys if n.online), self.standbys[0])
        if not node.online:
            why = f"{node.name} is offline"
        elif node.role not in UNPROMOTED:
            why = f"the database is not running on {node.name}"
        elif not node.complete:
            why = f"{node.name} is not a confirmed synchronous standby yet"
        else:
            why = f"{node.name} has no positive promotion score ({node.score})"
        return f"no ({why})"

    def no_active_server(self) -> str:
        """Why a quorate cluster has no primary and what to do ("" when it has one)."""
        if self.promoted or not self.quorate:
            return ""
        running = [n for n in self.nodes if n.online and n.role in UNPROMOTED]
        complete = [n.name for n in running if n.complete]
        incomplete = [n for n in running if not n.complete]
        if not running:
            return (
                "no database is running on a cluster member: start the cluster on a node "
                "whose database is intact (ha_cluster_start)"
            )
        if complete and not incomplete:
            return f"promoting {complete[0]} (it has every acknowledged write)"
        node = incomplete[0].name
        if complete:
            # PAF elects the standby that received the most WAL; one that recovered on its
            # own disk received nothing yet, so the incomplete node would win the election
            return (
                f"{complete[0]} has every acknowledged write, but {node}, which may lack some, "
                f"runs beside it. Fix: ha_cluster_stop on {node} (the cluster then promotes "
                f"{complete[0]}), then ha_cluster_start on {node}"
            )
        return (
            f"{syncguard.no_active_reason(node, incomplete[0].attributes)}, so the cluster "
            "does not promote it. Fix: if the lost primary's disk is intact, ha_cluster_start "
            f"there, then ha_cluster_stop on {node} (the cluster promotes the lost primary) and "
            f"ha_cluster_start on {node}; or accept the loss: ha_promote --force on {node}"
        )


def cluster_state() -> ClusterState:
    """Membership, database roles, node attributes and the VIP owner from crm_mon's XML."""
    proc = subprocess.run(
        [
            "crm_mon",
            "--one-shot",
            "--output-as=xml",
            "--include=summary,nodes,resources,attributes",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=15,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ClusterError("Error: cluster is not currently running on this node")
    return parse_crm_mon(proc.stdout)


def parse_crm_mon(xml_text: str) -> ClusterState:
    root = ET.fromstring(xml_text)  # noqa: S314 - output of the local crm_mon, not user input
    state = ClusterState()
    dc = root.find("./summary/current_dc")
    if dc is not None:
        state.dc = dc.get("name")
        state.quorate = dc.get("with_quorum") == "true"
    for node in root.findall("./nodes/node"):
        state.nodes.append(
            NodeState(
                name=node.get("name", ""),
                online=node.get("online") == "true",
                maintenance=node.get("standby") == "true",
            )
        )
    for entry in root.findall("./node_attributes/node"):
        seen = state.node(entry.get("name", ""))
        if seen is not None:
            seen.attributes = {a.get("name", ""): a.get("value", "") for a in entry}
    for rsc in root.iter("resource"):
        agent = rsc.get("resource_agent", "")
        hosts = [n.get("name") for n in rsc.findall("node")]
        if not hosts or rsc.get("active") != "true" or rsc.get("failed") == "true":
            continue
        if agent.endswith(":pgsqlms"):
            entry = state.node(hosts[0])
            if entry is not None:
                entry.role = rsc.get("role", "")
        elif agent.endswith(":IPaddr2"):
            state.vip_node = hosts[0]
        elif rsc.get("id") == "ssm-app" and rsc.get("role") == "Started":
            state.app_nodes.add(hosts[0])
        elif rsc.get("id") == "ssm-beat" and rsc.get("role") == "Started":
            state.beat_node = hosts[0]
    return state


@dataclass
class QuorumState:
    quorate: bool
    expected_votes: int
    total_votes: int
    quorum: int
    qdevice: bool  # a quorum device (corosync-qnetd) is configured and casting its vote
    qdevice_votes: int = 0


def quorum_state() -> QuorumState:
    """Votes from `corosync-quorumtool -s` (votequorum has no XML output; its "Key: value"
    lines are stable). The quorum device counts as the node with id 0."""
    proc = subprocess.run(["corosync-quorumtool", "-s"], capture_output=True, text=True, timeout=15)
    if not proc.stdout.strip():
        raise ClusterError("Error: cluster is not currently running on this node")
    return parse_quorumtool(proc.stdout)


def parse_quorumtool(text: str) -> QuorumState:
    fields: dict[str, str] = {}
    qdevice_votes = 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith(" "):
            fields.setdefault(key.strip(), value.strip())
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "0" and parts[-1] == "Qdevice":
            qdevice_votes = int(parts[1]) if parts[1].isdigit() else 0

    def number(key: str) -> int:
        value = fields.get(key, "").split()
        return int(value[0]) if value and value[0].isdigit() else 0

    flags = fields.get("Flags", "").split()
    return QuorumState(
        quorate=fields.get("Quorate") == "Yes",
        expected_votes=number("Expected votes"),
        total_votes=number("Total votes"),
        quorum=number("Quorum"),
        qdevice="Qdevice" in flags,
        qdevice_votes=qdevice_votes,
    )


# --- PostgreSQL -------------------------------------------------------------------------------


def _psql(sql: str, host: str | None = None, timeout: float = 10) -> list[list[str]]:
    """Rows of a query as postgres on the local socket (or `host`); unit separator splits."""
    argv = [
        "runuser", "-u", "postgres", "--",
        str(settings.HA_PG_BIN / "psql"),
        "-h", host or settings.HA_PG_SOCKET_DIR,
        "-p", str(settings.HA_PG_PORT),
        "-U", "postgres",
        "-d", "postgres",
        "-XAtq", "-F", "\x1f",
        "-v", "ON_ERROR_STOP=1",
        "-c", sql,
    ]  # fmt: skip
    env = {**os.environ, "PGCONNECT_TIMEOUT": "2"}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise ClusterError(proc.stderr.strip() or "psql failed")
    return [line.split("\x1f") for line in proc.stdout.splitlines() if line]


def db_running() -> bool:
    status = [str(settings.HA_PG_BIN / "pg_ctl"), "-D", str(settings.HA_PG_DATA), "status"]
    return (
        subprocess.run(["runuser", "-u", "postgres", "--", *status], capture_output=True).returncode
        == 0
    )


@dataclass
class ReplicationPeer:
    application_name: str
    client_addr: str
    backend_start: str
    state: str
    sync_state: str
    write_lag: str
    flush_lag: str
    replay_lag: str


@dataclass
class DatabaseState:
    in_recovery: bool
    standbys: list[ReplicationPeer] = field(default_factory=list)
    sender_host: str = ""
    last_replayed: str = ""
    receiver_status: str = ""
    synchronous_standby_names: str = ""


def database_state() -> DatabaseState:
    """Role, pg_stat_replication (on a primary) or the WAL receiver and replay location."""
    ((in_recovery, sync_names),) = _psql(
        "select pg_is_in_recovery(), current_setting('synchronous_standby_names')"
    )
    state = DatabaseState(in_recovery=in_recovery == "t", synchronous_standby_names=sync_names)
    if not state.in_recovery:
        for row in _psql(
            "select application_name, coalesce(host(client_addr), ''),"
            " to_char(backend_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'),"
            " state, sync_state, coalesce(write_lag::text, '00:00:00'),"
            " coalesce(flush_lag::text, '00:00:00'), coalesce(replay_lag::text, '00:00:00')"
            " from pg_stat_replication order by application_name"
        ):
            state.standbys.append(ReplicationPeer(*row))
    else:
        ((replayed,),) = _psql("select coalesce(pg_last_wal_replay_lsn()::text, '')")
        state.last_replayed = replayed
        rows = _psql("select coalesce(sender_host, ''), status from pg_stat_wal_receiver")
        if rows:
            state.sender_host, state.receiver_status = rows[0]
    return state


def received_wal() -> str:
    """The last WAL position this standby received (or replayed), with its timeline."""
    ((received, timeline),) = _psql(
        "select coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text,"
        " (select timeline_id from pg_control_checkpoint())"
    )
    return f"{received} (timeline {timeline})"


def promote_by_force(me: str) -> None:
    """Mark this standby complete and give it a promotion score: pacemaker promotes it.

    Only for a cluster with no active server, on the operator's word (ha_promote --force):
    whatever the lost primary acknowledged after it stopped waiting for this node is lost.
    """
    for name, value in ((syncguard.COMPLETE_ATTR, "1"), (syncguard.SCORE_ATTR, "1000")):
        try:
            syncguard.set_attribute(me, name, value)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            raise ClusterError(f"Error: could not set {name} on {me}: {exc}") from exc


def controldata_state() -> str:
    """'shut down', 'shut down in recovery', 'in production', 'in archive recovery', ..."""
    proc = subprocess.run(
        [str(settings.HA_PG_BIN / "pg_controldata"), str(settings.HA_PG_DATA)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    for line in proc.stdout.splitlines():
        if line.startswith("Database cluster state:"):
            return line.split(":", 1)[1].strip()
    raise ClusterError(f"cannot read the database control file in {settings.HA_PG_DATA}")


def current_primary() -> str | None:
    """The VIP when a writable primary answers behind it, else None."""
    try:
        ((recovery,),) = _psql("select pg_is_in_recovery()", host=settings.HA_VIP, timeout=5)
    except (ClusterError, subprocess.TimeoutExpired, ValueError):
        return None
    return settings.HA_VIP if recovery == "f" else None


def _as_postgres(argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, timeout=timeout
    )


def pg_ctl(action: str, *, what: str = "the database") -> None:
    """Start, stop (fast) or restart this node's PostgreSQL and wait; a failure names it."""
    argv = [str(settings.HA_PG_BIN / "pg_ctl"), "-D", str(settings.HA_PG_DATA), "-w", "-t", "300"]
    if action in ("start", "restart"):
        argv += ["-l", "/dev/null"]  # a postmaster holding our pipes would keep us waiting
    if action in ("stop", "restart"):
        argv += ["-m", "fast"]
    proc = _as_postgres([*argv, action])
    if proc.returncode != 0:
        raise ClusterError(f"{what} did not {action}: {proc.stderr.strip() or proc.stdout.strip()}")


CLEAN_STATES = {"shut down in recovery"}


def repair_database(say: Say) -> bool:
    """Bring a stopped instance into the state PAF accepts for a standby.

    A node whose PostgreSQL stopped uncleanly (a crash, a power loss, fencing) or that was a
    primary while the other node took over has a diverged or unfinished timeline; PAF would
    leave it FAILED. It is rewound from the current primary with pg_rewind, or re-cloned
    with pg_basebackup when rewinding is impossible, then replayed once as a standby so its
    control file reads "shut down in recovery". Returns True when a repair was made.
    """
    if db_running():
        return False
    state = controldata_state()
    if state in CLEAN_STATES:
        return False
    primary = current_primary()
    if primary is None:
        if state == "shut down":
            return False  # the last primary of a stopped cluster: it will be promoted as is
        if state == "in production" and complete_here():
            # the lost primary itself (or its complete standby): no other node can have more;
            # PAF starts only a cleanly stopped instance, so crash recovery is finished here
            say(
                f"Database on this node stopped as '{state}' and no primary answers at "
                f"{settings.HA_VIP}: this node holds every acknowledged write; finishing crash "
                "recovery"
            )
            (settings.HA_PG_DATA / "standby.signal").unlink(missing_ok=True)
            pg_ctl("start", what="the database (crash recovery)")
            pg_ctl("stop", what="the recovered database")
            say("Database recovered: the cluster will promote it (the most complete node)")
            return True
        raise ClusterError(
            f"PostgreSQL on this node stopped as '{state}' and no primary answers at "
            f"{settings.HA_VIP}: start the cluster on the other node first, then run "
            "ha_cluster_start here again"
        )
    say(
        f"Database on this node stopped as '{state}' while {primary} serves as the primary:"
        " repairing"
    )
    source = (
        f"host={primary} port={settings.HA_PG_PORT} user=postgres dbname=postgres connect_timeout=5"
    )
    # pg_rewind reads the primary's timeline from its control file, which only the first
    # checkpoint after the promotion updates (a spread checkpoint: up to a minute under
    # load); before it, pg_rewind sees "the same timeline" and rewinds nothing
    say(f"Asking the current primary ({primary}) for a checkpoint...")
    _psql("CHECKPOINT", host=primary, timeout=300)
    say(f"Rewinding the database from the current primary ({primary}) with pg_rewind...")
    rewind = _as_postgres(
        [
            str(settings.HA_PG_BIN / "pg_rewind"),
            "-D",
            str(settings.HA_PG_DATA),
            f"--source-server={source}",
        ]
    )
    if rewind.returncode == 0:
        output = rewind.stdout + rewind.stderr
        if "no rewind required" in output:
            say("pg_rewind: no rewind required (same timeline)")
        else:
            say("pg_rewind: done, the database follows the primary's timeline")
    else:
        reason = (rewind.stderr.strip() or rewind.stdout.strip()).splitlines()
        say(
            f"pg_rewind is impossible ({reason[-1] if reason else 'failed'}):"
            " re-cloning the database"
        )
        _reclone(source, say)
    _settle_as_standby(say)
    return True


def complete_here() -> bool:
    """This node was marked complete (ssm-complete=1) in its last copy of the cluster
    configuration: it was the primary, or its synchronous standby, when it stopped."""
    try:
        root = ET.parse(settings.HA_CIB_DIR / "cib.xml").getroot()  # noqa: S314 - pacemaker's own file
    except (OSError, ET.ParseError):
        return False
    me = socket.gethostname()
    for node in root.iterfind("./configuration/nodes/node"):
        if node.get("uname") == me:
            return any(
                pair.get("name") == syncguard.COMPLETE_ATTR and pair.get("value") == "1"
                for pair in node.iter("nvpair")
            )
    return False


def _reclone(source: str, say: Say) -> None:
    aside = settings.HA_PG_DATA.with_name(settings.HA_PG_DATA.name + ".diverged")
    shutil.rmtree(aside, ignore_errors=True)
    if settings.HA_PG_DATA.exists():
        settings.HA_PG_DATA.rename(aside)
    say(f"Copying the database from the primary with pg_basebackup (old copy kept in {aside})...")
    # an empty folder of postgres's own: its parent may be root's (a host's <SSM_VAR>)
    settings.HA_PG_DATA.mkdir(mode=0o700)
    shutil.chown(settings.HA_PG_DATA, "postgres", "postgres")
    proc = _as_postgres(
        [
            str(settings.HA_PG_BIN / "pg_basebackup"),
            "-d",
            source,
            "-D",
            str(settings.HA_PG_DATA),
            "-X",
            "stream",
            "-c",
            "fast",
        ]
    )
    if proc.returncode != 0:
        raise ClusterError(f"pg_basebackup failed: {proc.stderr.strip()}")
    shutil.rmtree(aside, ignore_errors=True)


def _settle_as_standby(say: Say) -> None:
    signal_file = settings.HA_PG_DATA / "standby.signal"
    signal_file.touch()
    shutil.chown(signal_file, "postgres", "postgres")
    say("Replaying as a standby once...")
    pg_ctl("start", what="the repaired database")
    pg_ctl("stop", what="the repaired database")
    state = controldata_state()
    if state not in CLEAN_STATES:
        raise ClusterError(
            f"the repaired database reads '{state}' instead of 'shut down in recovery'"
        )
    say("Database repaired: it will rejoin as the standby")


def start_database_standalone(say: Say) -> None:
    """After teardown: the node's database runs on its own, writable, outside the cluster."""
    (settings.HA_PG_DATA / "standby.signal").unlink(missing_ok=True)
    if db_running():
        return
    say("Starting the database as a stand-alone server...")
    if systemd_host():
        run_services("start", "postgres")
    else:
        pg_ctl("start")


PACEMAKER_DROPIN = """# written by ha_deploy: pacemaker starts only once the database is fit to
# rejoin (ssm-cluster-repair.service); the cluster's work runs ahead of the application
[Unit]
Requires={repair}
After={repair}

[Service]
Nice={nice}
"""

REPAIR_SERVICE = """# written by ha_deploy: at boot, before pacemaker, ha_cluster_start's rules:
# a database that crashed or diverged is rewound (or re-cloned) from the current primary; when
# it cannot be, this fails, pacemaker stays stopped and ha_status says why.
[Unit]
Description=License server: make the database fit to rejoin the cluster
After=network-online.target corosync.service
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
Environment=SSM_VAR={ssm_var} SSM_ENV_FILE={env_file}
ExecStart={python} {manage} ha_cluster_start --repair-only
TimeoutStartSec=900
"""


def enable_at_boot(say: Say) -> None:
    """On a systemd host: the cluster's daemons start at boot, the server's own units do not
    (pacemaker runs the database and the application)."""
    if not systemd_host():
        return
    dropin = SYSTEMD_DIR / "pacemaker.service.d" / "ssm.conf"
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text(PACEMAKER_DROPIN.format(repair=REPAIR_UNIT, nice=settings.HA_CLUSTER_NICE))
    (SYSTEMD_DIR / REPAIR_UNIT).write_text(
        REPAIR_SERVICE.format(
            ssm_var=settings.SSM_VAR,
            env_file=settings.SSM_ENV_FILE,
            python=Path(settings.BASE_DIR) / ".venv" / "bin" / "python",
            manage=Path(settings.BASE_DIR) / "manage.py",
        )
    )
    systemctl("daemon-reload")
    agents = Path("/usr/lib/ocf/resource.d/ssm")  # the CIB's ocf:ssm:* agents
    if not agents.exists():
        agents.symlink_to(Path(settings.BASE_DIR) / "deploy" / "ocf")
    run_services("disable", "postgres", "redis", "web", "worker", "beat")
    units = [UNITS["corosync"], UNITS["pacemakerd"]]
    if qdevice_configured():
        units.append(UNITS["corosync-qdevice"])
    systemctl("enable", "--quiet", *units)
    say(f"At boot: {', '.join(units)} enabled (the server's own units are pacemaker's now)")


def disable_at_boot(say: Say) -> None:
    """On a systemd host, after teardown: the cluster's daemons no longer start at boot."""
    if not systemd_host():
        return
    systemctl(
        "disable", "--quiet", UNITS["pacemakerd"], UNITS["corosync-qdevice"], UNITS["corosync"]
    )
    (SYSTEMD_DIR / "pacemaker.service.d" / "ssm.conf").unlink(missing_ok=True)
    (SYSTEMD_DIR / REPAIR_UNIT).unlink(missing_ok=True)
    systemctl("daemon-reload")
    systemctl("reset-failed", check=False)
    say("At boot: corosync and pacemaker disabled")


def run_services(action: str, *components: str) -> None:
    """deploy/services ACTION COMPONENTS on this node (systemd units or pid files); a failure
    is a ClusterError with the script's last line."""
    services = Path(settings.BASE_DIR) / "deploy" / "services"
    proc = subprocess.run(
        [str(services), action, *components],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SSM_VAR": str(settings.SSM_VAR)},
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:]
        raise ClusterError(
            f"Error: deploy/services {action} {' '.join(components)}: {' '.join(tail)}"
        )


def remove_configuration(say: Say) -> None:
    """Forget the cluster on this node: corosync key and configuration, the CIB."""
    for path in (settings.HA_COROSYNC_CONF, settings.HA_COROSYNC_CONF.with_name("authkey")):
        path.unlink(missing_ok=True)
    cib_dir = settings.HA_CIB_DIR
    if cib_dir.is_dir():
        for item in cib_dir.iterdir():
            if item.is_file():
                item.unlink()
    say("Cluster configuration removed from this node")
