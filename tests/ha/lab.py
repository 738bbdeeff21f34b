"""Driving the HA lab from a test: node console commands, the client namespace, the load.

Nothing here dials a lab address from the test process itself: console commands run inside
a node (deploy/lab/node manage), clients run inside the client namespace (ip netns exec).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "deploy" / "lab"
PYTHON = REPO / ".venv" / "bin" / "python"


def read_settings(path: Path) -> dict[str, str]:
    """A KEY=value settings file as deploy/lib.sh reads it (the environment wins)."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = os.environ.get(key.strip(), value.strip())
    return values


def lab_env() -> dict[str, str]:
    """lab.env as the lab scripts read it (the environment wins)."""
    values = read_settings(LAB / "lab.env")
    values["LAB_STATE"] = values.get("LAB_STATE") or str(REPO / "var" / "lab")
    return values


ENV = lab_env()
VIP = ENV["VIP"]
WEB_PORT = ENV["WEB_PORT"]
URL = f"https://{VIP}:{WEB_PORT}"
NODES = {"n1": ENV["NODE1_NAME"], "n2": ENV["NODE2_NAME"]}
CLIENT_NS = f"{ENV['LAB_PREFIX']}-cl"
SWITCH_NS = f"{ENV['LAB_PREFIX']}-sw"
STATE = Path(ENV["LAB_STATE"])


def run(argv: list[str], *, input: str | None = None, timeout: float = 300) -> str:
    proc = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, input=input, timeout=timeout
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, argv))} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout


def manage(node: str, *args: str, input: str | None = None, check: bool = True) -> str:
    """A console command (manage.py ...) on a node; output (stdout + stderr when not checked)."""
    argv = [LAB / "node", "manage", node, *args]
    if check:
        return run(argv, input=input)
    proc = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, input=input, timeout=300
    )
    return proc.stdout + proc.stderr


def node_python(node: str, code: str) -> dict:
    """Run Django code on a node (the application's database through the VIP); JSON result."""
    out = manage(node, "shell", "-c", code)
    line = [x for x in out.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def client(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ip", "netns", "exec", CLIENT_NS, *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def vip_holder() -> str | None:
    for node in NODES:
        ns = f"{ENV['LAB_PREFIX']}-{node}"
        out = subprocess.run(
            ["ip", "-n", ns, "-br", "addr", "show", "dev", "eth0"], capture_output=True, text=True
        ).stdout
        if f"{VIP}/" in out:
            return node
    return None


def wait_for(what: str, predicate, timeout: float, interval: float = 0.2):
    """Poll predicate until it returns a truthy value; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def unsettled(node: str = "n1") -> str:
    """Why the cluster is not settled yet ("" when it is): both nodes online, no action
    pending, every resource running where it should, and the standby holding a positive
    promotion score (PAF's primary monitor sets it; a standby without one would not be
    promoted if the primary died now)."""
    proc = subprocess.run(
        [str(LAB / "node"), "exec", node, "crm_mon", "--one-shot", "--output-as=xml",
         "--include=nodes,resources,attributes"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if proc.returncode != 0:
        return f"crm_mon failed: {proc.stderr.strip()[:200]}"
    root = ET.fromstring(proc.stdout)  # noqa: S314 - the lab's own crm_mon
    for n in root.findall("./nodes/node"):
        if n.get("online") != "true" or n.get("pending") == "true":
            return f"node {n.get('name')} not online"
    for rsc in root.iter("resource"):
        state = (rsc.get("role"), rsc.get("active"), rsc.get("failed"), rsc.get("pending"))
        if state[0] not in ("Started", "Promoted", "Unpromoted") or state[1:] != (
            "true",
            "false",
            None,
        ):
            return f"resource {rsc.get('id')} role={state[0]} active/failed/pending={state[1:]}"
    values = [
        int(a.get("value", "-1"))
        for a in root.iter("attribute")
        if a.get("name") == "master-pgsqld"
    ]
    if len(values) != 2 or min(values) <= 0:
        return f"promotion scores {values}"
    return ""


def wait_settled(node: str, timeout: float = 120) -> None:
    reason = {"last": ""}

    def check() -> bool:
        reason["last"] = unsettled(node)
        return not reason["last"]

    try:
        wait_for("the cluster to settle", check, timeout, interval=1)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {reason['last']}") from None


def powered(node: str) -> bool:
    """The node's PID 1 runs (the lab keeps its pid file while the node has power)."""
    return (STATE / "run" / f"{node}.pid").exists()


def holds_vip(node: str) -> bool:
    ns = f"{ENV['LAB_PREFIX']}-{node}"
    out = subprocess.run(
        ["ip", "-n", ns, "-br", "addr", "show", "dev", "eth0"], capture_output=True, text=True
    ).stdout
    return f"{VIP}/" in out


def fenced(since: float) -> list[str]:
    """Nodes the power service switched off on a fence agent's request since `since`."""
    log = STATE / "run" / "power-switch.log"
    if not log.exists():
        return []
    names = {name: node for node, name in NODES.items()}
    hits = []
    for line in log.read_text().splitlines():
        parts = line.split(" ", 1)
        if len(parts) == 2 and float(parts[0]) >= since and parts[1].startswith("'off "):
            target = parts[1][len("'off ") :].split("'", 1)[0]
            if parts[1].endswith("-> OK off"):
                hits.append(names.get(target, target))
    return hits


def streaming_standby(primary: str, standby: str) -> bool:
    """The primary's ha_status lists the standby as streaming."""
    out = manage(primary, "ha_status", check=False)
    return f"Replicating to {NODES[standby]}" in out and "streaming" in out


@dataclass
class Registration:
    t: float
    ok: bool
    serial: str
    detail: str


class Load:
    """Products registering continuously through the VIP from the client namespace."""

    def __init__(
        self, token: str, prefix: str, *, url: str = URL, client_ns: str = CLIENT_NS,
        state: Path = STATE,
    ):  # fmt: skip
        self.log = state / "run" / f"load-{prefix}.log"
        self.stop_file = state / "run" / f"load-{prefix}.stop"
        self.log.unlink(missing_ok=True)
        self.stop_file.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [
                "ip", "netns", "exec", client_ns, str(PYTHON),
                str(REPO / "tests" / "ha" / "loader.py"),
                url, token, prefix, str(self.log), str(self.stop_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def records(self) -> list[Registration]:
        if not self.log.exists():
            return []
        rows = []
        for line in self.log.read_text().splitlines():
            parts = line.split(" ", 3)
            if len(parts) == 4:
                rows.append(Registration(float(parts[0]), parts[1] == "OK", parts[2], parts[3]))
        return rows

    def acknowledged(self) -> list[str]:
        return [r.serial for r in self.records() if r.ok]

    def recovered_after(self, t0: float, settled: float) -> float | None:
        """Seconds from the fault at t0 to the start of the first acknowledged registration
        after the outage (the first failure after t0; `settled` when nothing failed)."""
        records = self.records()
        fails = [r.t for r in records if not r.ok and r.t >= t0]
        start = fails[0] if fails else settled
        after = [r.t for r in records if r.ok and r.t >= start]
        return after[0] - t0 if after else None

    def wait_recovered(self, t0: float, settled: float, timeout: float) -> float:
        return wait_for(
            "a registration acknowledged through the VIP after the fault",
            lambda: self.recovered_after(t0, settled),
            timeout,
        )

    def largest_gap(self, t0: float, t1: float) -> float:
        """Longest time between the starts of consecutive acknowledged registrations
        within [t0, t1] (t0 and t1 count as boundaries): the write stall a fault caused."""
        times = [t0] + sorted(r.t for r in self.records() if r.ok and t0 <= r.t <= t1) + [t1]
        return max(b - a for a, b in zip(times, times[1:], strict=False))

    def stop(self) -> None:
        self.stop_file.touch()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def promoted(node: str) -> str | None:
    """The node (n1|n2) where `node`'s pacemaker sees the promoted database, if any."""
    out = run([LAB / "node", "exec", node, "crm_mon", "--one-shot", "--output-as=xml",
               "--include=resources"], timeout=30)  # fmt: skip
    root = ET.fromstring(out)  # noqa: S314 - the lab's own crm_mon
    names = {name: n for n, name in NODES.items()}
    for rsc in root.iter("resource"):
        if rsc.get("id") == "pgsqld" and rsc.get("role") == "Promoted":
            where = rsc.find("node")
            return names.get(where.get("name")) if where is not None else None
    return None


def ring_id(node: str) -> str:
    """Corosync's ring id on `node`: it changes with every membership change."""
    out = run([LAB / "node", "exec", node, "corosync-quorumtool", "-s"], timeout=30)
    return next(x.split(":", 1)[1].strip() for x in out.splitlines() if x.startswith("Ring ID:"))


def fence_history(node: str) -> str:
    """Pacemaker's fencing history as `node` knows it ("0 events found" when none)."""
    return run([LAB / "node", "exec", node, "stonith_admin", "--history", "*"], timeout=30)


def sync_standby_names(node: str) -> str:
    """The node's synchronous_standby_names ('*' = commits wait for the standby)."""
    return run([
        LAB / "node", "exec", node, "runuser", "-u", "postgres", "--",
        f"/usr/lib/postgresql/{ENV['PG_VERSION']}/bin/psql", "-h", ENV["PG_SOCKET_DIR"],
        "-p", ENV["PG_PORT"], "-XAtq", "-c", "show synchronous_standby_names",
    ], timeout=30).strip()  # fmt: skip


def set_link(node: str, cable: str, up: bool) -> None:
    """Plug (up) or pull a node's cable at the switch: cable 'hb' (cluster) or 'pub'."""
    run(["ip", "-n", SWITCH_NS, "link", "set", f"{cable}-{node}", "up" if up else "down"])
