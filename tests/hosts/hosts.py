"""Driving the two booted Debian 12 hosts from a test (deploy/hosts/): commands run inside a
host as its operator would (deploy/hosts/host exec|manage), clients inside the client
namespace. Nothing here dials a host's address from the test process itself."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.ha.lab import Load, read_settings, wait_for  # noqa: F401 - Load, wait_for: for the tests

REPO = Path(__file__).resolve().parents[2]
HOSTS = REPO / "deploy" / "hosts"


def hosts_env() -> dict[str, str]:
    """hosts.env as the scripts read it (the environment wins)."""
    values = read_settings(HOSTS / "hosts.env")
    values["HOSTS_STATE"] = values.get("HOSTS_STATE") or str(REPO / "var" / "hosts")
    return values


ENV = hosts_env()
VIP = ENV["VIP"]
URL = f"https://{VIP}:8443"
NAMES = {"h1": ENV["HOST1_NAME"], "h2": ENV["HOST2_NAME"]}
ADDRESS = {"h1": ENV["HOST1_PUBLIC_IP"], "h2": ENV["HOST2_PUBLIC_IP"]}
CLUSTER_ADDRESS = {"h1": ENV["HOST1_CLUSTER_IP"], "h2": ENV["HOST2_CLUSTER_IP"]}
CLIENT_NS = f"{ENV['HOSTS_PREFIX']}-cl"
STATE = Path(ENV["HOSTS_STATE"])
REPO_ON_HOST = ENV["HOST_REPO"]


def _run(argv: list, *, check: bool = True, timeout: float = 600) -> str:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, argv))} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout + ("" if check else proc.stderr)


def host(action: str, h: str, *args: str, check: bool = True, timeout: float = 600) -> str:
    """deploy/hosts/host ACTION H ARGS (create, boot, wait, poweroff, exec, manage)."""
    return _run([HOSTS / "host", action, h, *args], check=check, timeout=timeout)


def sh(h: str, script: str, *, check: bool = True, timeout: float = 600) -> str:
    """A shell command line inside host h, run from the operator's checkout."""
    return host("exec", h, "bash", "-c", f"cd {REPO_ON_HOST} && {script}", check=check,
                timeout=timeout)  # fmt: skip


def manage(h: str, *args: str, check: bool = True, timeout: float = 600) -> str:
    return host("manage", h, *args, check=check, timeout=timeout)


def django(h: str, code: str) -> dict:
    """Django code on host h (its application's database); the JSON after 'RESULT '."""
    out = manage(h, "shell", "-c", code)
    line = [x for x in out.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def unit(h: str, name: str) -> str:
    """'active/enabled' (or inactive, failed / disabled...) of a unit on host h."""
    out = host("exec", h, "bash", "-c",
               f"echo $(systemctl is-active {name})/$(systemctl is-enabled {name} 2>/dev/null)",
               check=False)  # fmt: skip
    return out.strip().splitlines()[0] if out.strip() else ""


def running(h: str) -> bool:
    return subprocess.run([HOSTS / "host", "exec", h, "true"], capture_output=True).returncode == 0


def booted(h: str) -> bool:
    out = host("exec", h, "systemctl", "is-system-running", check=False).strip()
    return out.splitlines()[:1] in (["running"], ["degraded"])


def client(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", CLIENT_NS, *map(str, argv)],
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def answers(address: str) -> bool:
    """The server's log-in page answers 200 at https://ADDRESS:8443 (from the client side)."""
    proc = client("curl", "-ks", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                  f"https://{address}:8443/login/")  # fmt: skip
    return proc.stdout.strip() == "200"


def vip_holder() -> str | None:
    for h in NAMES:
        out = _run(["ip", "-n", f"{ENV['HOSTS_PREFIX']}-{h}", "-br", "addr", "show", "dev",
                    "eth0"], check=False)  # fmt: skip
        if f"{VIP}/" in out:
            return h
    return None


def outputs(h: str, *commands: tuple[str, ...]) -> list[str]:
    """Each command's output on host h under a `$ command` line (for a failure's report)."""
    return [f"$ {' '.join(argv)}\n{host('exec', h, *argv, check=False, timeout=30)}"
            for argv in commands]  # fmt: skip


def status(h: str) -> str:
    return manage(h, "ha_status", check=False, timeout=120)


def protected(primary: str, standby: str) -> bool:
    """primary promoted with the VIP, standby online and promotable, seen on both."""
    if vip_holder() != primary:
        return False
    for h in (primary, standby):
        out = status(h)
        if f"Active server: {NAMES[primary]}" not in out or "Standby promotable: yes" not in out:
            return False
    return True


def load(token: str, prefix: str) -> Load:
    return Load(token, prefix, url=URL, client_ns=CLIENT_NS, state=STATE)
