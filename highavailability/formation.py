"""Forming a cluster from two stand-alone servers: keys, the standby's consent, deployment.

ha_generatekeys (server 1) makes the cluster's key pair; ha_provision_standby (server 2)
lets that key in over SSH, restricted to one forced command (ha_join); ha_deploy
(server 1) then drives server 2 through that command: the standby copies the primary's
database, both nodes receive the same corosync configuration, key and CIB, and the cluster
starts. Every step is printed, on both sides.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.template.loader import render_to_string

from . import cluster
from .cluster import ClusterError

Say = Callable[[str], None]
PRIVATE_KEY = "id_ed25519"
KEY_COMMENT = "ssm-ha"
APP_COMPONENTS = ("redis", "web", "worker", "beat")
NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")


# --- keys -------------------------------------------------------------------------------


def private_key_path() -> Path:
    return settings.HA_KEY_DIR / PRIVATE_KEY


def public_key() -> str:
    """This node's cluster public key (OpenSSH format), or a ClusterError naming the fix."""
    path = private_key_path().with_suffix(".pub")
    if not path.exists():
        raise ClusterError("Error: no cluster keys on this node: run ha_generatekeys first")
    return path.read_text().strip()


def generate_keys(*, replace: bool = False) -> tuple[str, bool]:
    """Create the cluster's Ed25519 key pair; returns (public key, created now)."""
    key_path = private_key_path()
    if key_path.exists() and not replace:
        return public_key(), False
    settings.HA_KEY_DIR.mkdir(parents=True, exist_ok=True)
    settings.HA_KEY_DIR.chmod(0o700)
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    text = f"{public.decode()} {KEY_COMMENT}@{socket.gethostname()}"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private)
    key_path.with_suffix(".pub").write_text(text + "\n")
    (settings.HA_KEY_DIR / "known_hosts").unlink(missing_ok=True)
    return text, True


def parse_public_key(text: str) -> str:
    """'ssh-ed25519 AAAA... [comment]' checked; returns the key without its comment."""
    parts = text.strip().split()
    if len(parts) < 2 or parts[0] != "ssh-ed25519":
        raise ClusterError(
            "Error: that is not a cluster key: paste the line ha_generatekeys printed on the "
            "primary (it starts with 'ssh-ed25519')"
        )
    try:
        key = serialization.load_ssh_public_key(f"{parts[0]} {parts[1]}".encode())
    except (ValueError, TypeError) as exc:
        raise ClusterError(f"Error: the key does not decode ({exc}): paste it again") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ClusterError("Error: the key is not an Ed25519 key")
    return f"{parts[0]} {parts[1]}"


def env_file() -> Path:
    """This node's env file (SSM_ENV_FILE, as the settings read it)."""
    return settings.SSM_ENV_FILE


def join_command() -> str:
    """The only command the primary's key may run here: ha_join, with this node's settings."""
    env = {
        "SSM_VAR": str(settings.SSM_VAR),
        "SSM_ENV_FILE": str(env_file()),
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
    }
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    manage = settings.BASE_DIR / "manage.py"
    return f"env {assignments} {sys.executable} {manage} ha_join"


def authorize_primary(key_text: str) -> bool:
    """Let the primary's key run ha_join on this node (and nothing else); True when added."""
    key = parse_public_key(key_text)
    options = (
        f'command="{join_command()}",'
        "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty"
    )
    path = settings.HA_AUTHORIZED_KEYS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    lines = path.read_text().splitlines() if path.exists() else []
    kept = [line for line in lines if key not in line]
    entry = f"{options} {key} {KEY_COMMENT}"
    added = len(kept) == len(lines)
    path.write_text("\n".join([*kept, entry]) + "\n")
    path.chmod(0o600)
    return added


# --- the secondary, over SSH --------------------------------------------------------------


class Peer:
    """The secondary as ha_deploy sees it: ha_join actions run over SSH with the cluster key."""

    def __init__(self, address: str):
        self.address = address

    def _argv(self, action: str) -> list[str]:
        return [
            "ssh",
            "-i", str(private_key_path()),
            "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", f"UserKnownHostsFile={settings.HA_KEY_DIR / 'known_hosts'}",
            "-o", "ConnectTimeout=5",
            "-o", "LogLevel=ERROR",
            f"root@{self.address}",
            action,
        ]  # fmt: skip

    def call(self, action: str, payload: dict | None = None, say: Say | None = None) -> str:
        """Run an ha_join action there; its step lines are relayed through `say`."""
        proc = subprocess.Popen(
            self._argv(action),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin and proc.stdout and proc.stderr
        proc.stdin.write(json.dumps(payload or {}))
        proc.stdin.close()
        lines = []
        for line in proc.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            if say is not None:
                say(f"  {line}")
        error = proc.stderr.read().strip()
        if proc.wait() != 0:
            reason = error.splitlines()[-1] if error else "no answer"
            if proc.returncode == 255:
                raise ClusterError(
                    f"Error: cannot reach the secondary at {self.address} over SSH ({reason}): "
                    "run ha_provision_standby there with this node's key (ha_generatekeys "
                    "prints it)"
                )
            raise ClusterError(f"Error: the secondary failed: {reason}")
        return "\n".join(lines)

    @functools.cached_property
    def hello(self) -> dict:
        """Who the secondary is (asked once over SSH)."""
        try:
            return json.loads(self.call("hello").splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise ClusterError(
                f"Error: the server at {self.address} did not answer as a license server"
            ) from exc


# --- what the cluster is made of ---------------------------------------------------------


@dataclass
class Member:
    name: str
    address: str  # public address (products, administrators, replication)
    cluster_addr: str  # heartbeat address
    nodeid: int


@dataclass
class Plan:
    """Everything both nodes need to form the cluster, rendered into their files."""

    primary: Member
    secondary: Member
    vip: str
    fencing: list[dict] = field(default_factory=list)
    qdevice: dict | None = None

    @property
    def members(self) -> list[Member]:
        return [self.primary, self.secondary]

    @property
    def cluster_name(self) -> str:
        return f"ssm-{self.primary.name}"[:32]


def check_address(value: str, what: str) -> str:
    try:
        return str(ip_address(value))
    except ValueError as exc:
        raise ClusterError(f"Error: {what} '{value}' is not an IP address") from exc


def fencing_devices(names: list[str], agent: str, params: list[str]) -> list[dict]:
    """One stonith device for both nodes, or one per node when a parameter names its node
    (`primary-node:ip=10.0.0.21`, as IPMI needs)."""
    if not agent:
        return []
    common: list[tuple[str, str]] = []
    per_node: dict[str, list[tuple[str, str]]] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ClusterError(f"Error: fence parameter '{item}' is not name=value")
        node, colon, name = key.rpartition(":")
        if colon:
            if node not in names:
                raise ClusterError(f"Error: fence parameter '{item}' names an unknown node")
            per_node.setdefault(node, []).append((name, value))
        else:
            common.append((key, value))
    if not per_node:
        hosts = [("pcmk_host_list", " ".join(names)), ("pcmk_host_check", "static-list")]
        return [{"id": "fence-cluster", "agent": agent, "params": hosts + common}]
    return [
        {
            "id": f"fence-{node}",
            "agent": agent,
            "params": [("pcmk_host_list", node), ("pcmk_host_check", "static-list")]
            + common
            + per_node.get(node, []),
        }
        for node in names
    ]


def render_files(plan: Plan, member: Member) -> dict[str, str]:
    """Path -> content of every cluster file of one member."""
    pg_root = settings.HA_PG_DATA.parent
    # the application on the active node reaches the database at the VIP from the VIP itself
    # (its replication is refused before these lines)
    members = {f"{m.address}/32" for m in plan.members} | {f"{plan.vip}/32"}
    networks = sorted(members | set(settings.HA_TRUSTED_NETWORKS))
    cib = render_to_string(
        "highavailability/cluster/cib.xml",
        {
            "cluster_name": plan.cluster_name,
            "stonith_enabled": "true" if plan.fencing else "false",
            "stonith_action": settings.HA_STONITH_ACTION,
            "priority_fencing_delay": "0s" if plan.qdevice else settings.HA_PRIORITY_FENCING_DELAY,
            "dc_deadtime": settings.HA_DC_DEADTIME,
            "pg_bin": settings.HA_PG_BIN,
            "pg_data": settings.HA_PG_DATA,
            "pg_socket_dir": settings.HA_PG_SOCKET_DIR,
            "pg_port": settings.HA_PG_PORT,
            "monitor_promoted": settings.HA_PG_MONITOR_PROMOTED,
            "monitor_unpromoted": settings.HA_PG_MONITOR_UNPROMOTED,
            "vip": plan.vip,
            "vip_prefixlen": settings.HA_VIP_PREFIXLEN,
            "vip_nic": settings.HA_VIP_NIC,
            "repo": settings.BASE_DIR,
            "app_state_dir": settings.HA_APP_STATE_DIR,
            "fencing": plan.fencing,
        },
    )
    corosync = render_to_string(
        "highavailability/cluster/corosync.conf",
        {
            "cluster_name": plan.cluster_name,
            "token": settings.HA_COROSYNC_TOKEN,
            "consensus": settings.HA_COROSYNC_CONSENSUS,
            "nodes": plan.members,
            "qdevice": plan.qdevice,
        },
    )
    node_conf = render_to_string(
        "highavailability/cluster/node.conf",
        {
            "node_name": member.name,
            "hba_file": pg_root / "pg_hba.conf",
            "vip": plan.vip,
            "pg_port": settings.HA_PG_PORT,
            "sync_conf": pg_root / "sync.conf",
        },
    )
    hba = render_to_string(
        "highavailability/cluster/pg_hba.conf",
        {"node_name": member.name, "vip": plan.vip, "node_address": member.address,
         "networks": networks},
    )  # fmt: skip
    return {
        str(settings.HA_COROSYNC_CONF): corosync,
        str(settings.HA_CIB_DIR / "cib.xml"): cib,
        str(pg_root / "node.conf"): node_conf,
        str(pg_root / "pg_hba.conf"): hba,
    }


# --- steps shared by both nodes -------------------------------------------------------------


def _write(path: Path, text: str, owner: str | None = None, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    if owner:
        user, _, group = owner.partition(":")
        shutil.chown(path, user, group or None)


def install_database_files(files: dict[str, str]) -> None:
    """PostgreSQL's cluster settings of this node (outside PGDATA), included from PGDATA."""
    pg_root = str(settings.HA_PG_DATA.parent)
    for name, text in files.items():
        if name.startswith(pg_root):
            _write(Path(name), text, "postgres:postgres")
    pg_conf = settings.HA_PG_DATA / "postgresql.conf"
    include = f"include_if_exists = '{settings.HA_PG_DATA.parent / 'node.conf'}'"
    if pg_conf.exists() and include not in pg_conf.read_text():
        with open(pg_conf, "a") as out:
            out.write(f"\n# cluster settings of this node (ha_deploy)\n{include}\n")


def install_cluster_files(files: dict[str, str], authkey: bytes) -> None:
    """corosync's configuration and key, and the seeded CIB, of this node."""
    _write(settings.HA_COROSYNC_CONF, files[str(settings.HA_COROSYNC_CONF)])
    # a CIB left by an earlier pacemaker (Debian's starts at installation, with corosync's
    # example configuration) has a newer epoch or a signature that would win over the seed
    if settings.HA_CIB_DIR.is_dir():
        for item in settings.HA_CIB_DIR.iterdir():
            if item.is_file():
                item.unlink()
    cib = settings.HA_CIB_DIR / "cib.xml"
    _write(cib, files[str(cib)], "hacluster:haclient", 0o600)
    key = settings.HA_COROSYNC_CONF.with_name("authkey")
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
    with os.fdopen(fd, "wb") as out:
        out.write(authkey)


def application(action: str, say: Say) -> None:
    """Start or stop this node's application processes (deploy/services)."""
    cluster.run_services(action, *APP_COMPONENTS)
    say(f"Application {'stopped' if action == 'stop' else 'started'} on this node")


def enable_standalone(say: Say) -> None:
    """On a systemd host, a stand-alone server's own units start at boot again."""
    if cluster.systemd_host():
        cluster.run_services("enable", "postgres", *APP_COMPONENTS)
        say("At boot: the server's own units enabled")


# what both nodes must share: sessions and signed links (SECRET_KEY), the product CA's key
# at rest (PRODUCT_CA_ENCRYPTION_KEY), and the Browser Certificate the VIP presents
SHARED_SETTINGS = ("SECRET_KEY", "PRODUCT_CA_ENCRYPTION_KEY")
SHARED_TLS_FILES = ("browser.crt", "browser.key")


def shared_state() -> dict:
    """The primary's secrets and Browser Certificate, for the standby (over SSH)."""
    tls = Path(settings.BROWSER_CERT_DIR)
    return {
        "settings": {name: getattr(settings, name) for name in SHARED_SETTINGS},
        "tls": {
            name: (tls / name).read_text() for name in SHARED_TLS_FILES if (tls / name).exists()
        },
    }


def adopt_shared_state(state: dict, say: Say) -> None:
    """On the standby: the primary's secrets in the env file, its Browser Certificate."""
    values = {k: v for k, v in state.get("settings", {}).items() if k in SHARED_SETTINGS}
    path = env_file()
    lines = [line for line in path.read_text().splitlines() if line.split("=", 1)[0] not in values]
    lines += [f"{name}={value}" for name, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    tls = Path(settings.BROWSER_CERT_DIR)
    tls.mkdir(parents=True, exist_ok=True)
    for name, text in state.get("tls", {}).items():
        if name in SHARED_TLS_FILES:
            _write(tls / name, text, mode=0o600 if name.endswith(".key") else 0o644)
    say("Secrets and Browser Certificate of the primary adopted")


def point_database_at(host: str) -> None:
    """The application reaches its database at `host` (the VIP in a cluster, 127.0.0.1 alone).
    In a cluster the env file also names the VIP (HA_VIP): the console commands and the
    repair at boot ask it who the primary is; alone, it names none."""
    path = env_file()
    lines = path.read_text().splitlines()
    out = []
    clustered = host != "127.0.0.1"
    for line in lines:
        if line.startswith("DATABASE_URL="):
            line = re.sub(r"@[^:/@]+(?=[:/])", f"@{host}", line, count=1)
        elif line.startswith(("DATABASE_TARGET_SESSION_ATTRS=", "HA_VIP=")):
            continue
        out.append(line)
    if clustered:
        out += ["DATABASE_TARGET_SESSION_ATTRS=read-write", f"HA_VIP={host}"]
    path.write_text("\n".join(out) + "\n")


# --- the standby's side (ha_join) --------------------------------------------------------------


def join_hello() -> dict:
    return {
        "name": socket.gethostname(),
        "ha_enabled": cluster.ha_enabled(),
        "db_running": cluster.db_running(),
    }


def join_clone(payload: dict, say: Say) -> None:
    """On the secondary: give up the stand-alone database, copy the primary's, take the files."""
    if cluster.ha_enabled():
        raise ClusterError("HA is already enabled on this node: run ha_teardown here first")
    application("stop", say)
    if cluster.systemd_host():
        cluster.run_services("stop", "postgres")
    if cluster.db_running():
        cluster.pg_ctl("stop")
    say("Stand-alone database stopped")
    files = payload["files"]
    source = (
        f"host={payload['primary']} port={settings.HA_PG_PORT} user=postgres dbname=postgres "
        "connect_timeout=5"
    )
    cluster._reclone(source, say)
    install_database_files(files)
    install_cluster_files(files, base64.b64decode(payload["authkey"]))
    cluster._settle_as_standby(say)
    if "shared" in payload:
        adopt_shared_state(payload["shared"], say)
    point_database_at(payload["vip"])
    say("Cluster configuration written on this node")


def join_start(say: Say) -> None:
    cluster.enable_at_boot(say)
    cluster.start_daemons(say)


# --- the primary's side (ha_deploy) ----------------------------------------------------------


def deploy(plan: Plan, peer: Peer, say: Callable[..., None]) -> None:
    """Form the cluster; `say(line, progress=)` reports each step."""
    if cluster.ha_enabled():
        raise ClusterError("Error: HA is already enabled on this node: run ha_teardown first")
    public_key()
    if not cluster.db_running():
        raise ClusterError(
            "Error: the database is not running on this node: start the stand-alone server first"
        )
    ((recovery,),) = cluster._psql("select pg_is_in_recovery()")
    if recovery != "f":
        raise ClusterError(
            "Error: the database on this node is a standby: run ha_deploy on the primary"
        )
    say(f"Contacting the secondary at {peer.address}...", progress=5)
    hello = peer.hello
    if hello.get("ha_enabled"):
        raise ClusterError(
            f"Error: HA is already enabled on {hello.get('name')}: run ha_teardown there first"
        )
    if hello.get("name") != plan.secondary.name:
        raise ClusterError(
            f"Error: the server at {peer.address} is named '{hello.get('name')}', "
            f"not '{plan.secondary.name}': give --secondary-name its host name"
        )
    say(f"Secondary {plan.secondary.name} answers and is a stand-alone server", progress=10)

    authkey = os.urandom(256)
    mine = render_files(plan, plan.primary)
    install_database_files(mine)
    application("stop", say)
    say("Restarting the database with the cluster settings (replication allowed)...", 15)
    if cluster.systemd_host():  # from now on pacemaker runs it, not its own unit
        cluster.run_services("stop", "postgres")
    cluster.pg_ctl("restart" if cluster.db_running() else "start")

    say(f"Copying the database to {plan.secondary.name} (pg_basebackup)...", progress=25)
    peer.call(
        "clone",
        {
            "primary": plan.primary.address,
            "vip": plan.vip,
            "files": render_files(plan, plan.secondary),
            "authkey": base64.b64encode(authkey).decode(),
            "shared": shared_state(),
        },
        say=say,
    )
    say("Database copied; secondary configured", progress=60)

    cluster.pg_ctl("stop")
    install_cluster_files(mine, authkey)
    point_database_at(plan.vip)
    say("Cluster configuration written on this node", progress=65)

    cluster.enable_at_boot(say)
    cluster.start_daemons(say)
    peer.call("start", say=say)
    say("Cluster started on both nodes; waiting for the database, the VIP and the standby...", 70)
    wait_formed(plan, say)
    say(
        f"HA deploy complete: {plan.primary.name} is Active, {plan.secondary.name} is Standby, "
        f"VIP {plan.vip}",
        progress=100,
    )


def wait_formed(plan: Plan, say: Callable[..., None]) -> None:
    """Poll (with a deadline) until this node is promoted with the VIP and the standby streams
    and is promotable (synchronous, with a positive promotion score)."""
    deadline = time.monotonic() + settings.HA_DEPLOY_TIMEOUT
    reported: set[str] = set()
    while time.monotonic() < deadline:
        try:
            state = cluster.cluster_state()
        except ClusterError:
            state = None
        milestones = []
        if state is not None and state.promoted == plan.primary.name:
            milestones.append(f"Database promoted on {plan.primary.name}")
        if state is not None and state.vip_node == plan.primary.name:
            milestones.append(f"VIP {plan.vip} on {plan.primary.name}")
        streaming = False
        if state is not None and state.promoted == plan.primary.name:
            try:
                db = cluster.database_state()
                streaming = any(p.state == "streaming" for p in db.standbys)
            except ClusterError:
                pass
        if streaming:
            milestones.append(f"Standby {plan.secondary.name} streaming")
        standby = state.node(plan.secondary.name) if state is not None else None
        if (
            streaming
            and standby is not None
            and standby.promotable
            and plan.secondary.name in state.app_nodes  # it serves at once after a takeover
        ):
            # "done" means protected: the cluster would promote it if this node failed now
            milestones.append(
                f"Standby promotable: {plan.secondary.name} is the synchronous standby "
                f"(promotion score {standby.score}) and runs the application"
            )
        for milestone in milestones:
            if milestone not in reported:
                reported.add(milestone)
                say(milestone, progress=70 + 7 * len(reported))
        if len(milestones) == 4:
            return
        time.sleep(0.5)
    raise ClusterError(
        f"Error: the cluster did not form within {settings.HA_DEPLOY_TIMEOUT} s: "
        "see ha_status and /var/log/pacemaker/pacemaker.log on both nodes"
    )
