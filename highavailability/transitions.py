"""Planned moves of the cluster, driven through pacemaker from any member (no database):
switchover (the active role to the standby, gracefully), fallback (back to the primary
node), and maintenance of the standby (out of the cluster for patching, then back).

The console commands and the widget's Celery tasks both call these. Each refuses, with the
reason, while the cluster is not Normal: a planned move must never meet the window in which
the standby could not take over.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from . import cluster
from .cluster import ClusterError, ClusterState

PG_CLONE = "pgsql-ha"  # the CIB's promotable clone of the database
APP_RESOURCES = ("ssm-app-clone", "ssm-beat")  # web, worker, redis on each node; beat
# say(line, progress): a step line and, optionally, the job's progress in percent
Steps = Callable[..., None]


def crm(*argv: str) -> None:
    """A pacemaker command line on this node; its error becomes a ClusterError."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:]
        raise ClusterError(f"Error: {' '.join(argv[:2])}: {' '.join(tail)}")


def not_normal(state: ClusterState) -> str:
    """Why the cluster is not Normal now ("" when it is): both nodes online, quorate, one
    active node, and a standby the cluster could promote at once."""
    offline = [n.name for n in state.nodes if not n.online]
    if offline:
        return f"{', '.join(offline)} is offline (cluster Degraded)"
    away = [n.name for n in state.nodes if n.maintenance]
    if away:
        return f"{', '.join(away)} is in maintenance (end it first)"
    if not state.quorate:
        return "the cluster has no quorum"
    if not state.promoted:
        return "there is no active server"
    if not state.standby_promotable:
        return f"the standby is not promotable: {state.promotability()}"
    return ""


def refusal(operation: str, state: ClusterState, primary_node: str) -> str:
    """Why `operation` (switchover, fallback, rehearsal, maintenance) cannot start now."""
    why = not_normal(state)
    if why:
        return why
    if operation == "fallback" and state.promoted == primary_node:
        return f"{primary_node} is already the active server (nothing to fall back)"
    return ""


def standby_of(state: ClusterState) -> str:
    return next(n.name for n in state.standbys)


def move_active(
    target: str,
    say: Steps,
    timeout: float,
    *,
    start: int = 0,
    end: int = 100,
    moved: Callable[[], None] = lambda: None,
) -> None:
    """Move the active role to `target` (an online, promotable standby): pacemaker demotes
    the primary, promotes `target` once it has the last WAL, and moves the VIP (`moved` is
    called when that is seen); returns once the old primary is a promotable standby again.
    Progress runs from `start` to `end`."""
    state = cluster.cluster_state()
    old = state.promoted
    span = end - start
    say(f"Moving the active role from {old} to {target} (pacemaker: demote, promote, VIP)...",
        start)  # fmt: skip
    crm("crm_resource", "--move", "--promoted", "--resource", PG_CLONE, "--node", target)
    try:
        deadline = time.monotonic() + timeout
        while True:
            seen = cluster.cluster_state()
            if seen.promoted == target and seen.vip_node == target:
                moved()
                break
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"Error: {target} did not become the active server within {timeout:.0f} s"
                    " (the move was cancelled): see ha_status and the HA event log"
                )
            time.sleep(0.2)
        say(f"Database promoted on {target}, VIP on {target}", start + span // 2)
        say(f"Waiting until {old} is a promotable standby...")
        cluster.wait_protected(old, say, timeout)
    finally:
        # the move's location constraint goes in every case; once the new primary scored
        # itself above the old one, the roles stay where they are
        crm("crm_resource", "--clear", "--resource", PG_CLONE)
    say(f"Active server: {target}; standby: {old}", end)


def set_maintenance(node: str, on: bool, say: Steps, timeout: float) -> None:
    """Put the standby `node` in maintenance (pacemaker stops its database and application;
    the active node runs alone, Degraded) or bring it back as a promotable standby."""
    state = cluster.cluster_state()
    seen = state.node(node)
    if seen is None:
        raise ClusterError(f"Error: {node} is not a node of this cluster")
    if on:
        why = not_normal(state)
        if why:
            raise ClusterError(f"Error: maintenance refused: {why}")
        if state.promoted == node:
            raise ClusterError(
                f"Error: {node} is the active server: switch over first (ha_switchover), "
                "then put it in maintenance"
            )
        say(f"Putting {node} in maintenance (its database and application stop)...", 10)
        crm("crm_attribute", "--type", "nodes", "--node", node, "--name", "standby",
            "--update", "on")  # fmt: skip
        deadline = time.monotonic() + timeout
        while cluster.cluster_state().node(node).role:
            if time.monotonic() > deadline:
                raise ClusterError(f"Error: the database on {node} did not stop within "
                                   f"{timeout:.0f} s: see ha_status")  # fmt: skip
            time.sleep(0.5)
        say(f"{node} is in maintenance: {state.promoted} serves alone until it ends "
            f"(ha_maintenance --end {node})", 100)  # fmt: skip
        return
    if not seen.maintenance:
        raise ClusterError(f"Error: {node} is not in maintenance")
    say(f"Ending the maintenance of {node} (its database rejoins as a standby)...", 10)
    crm("crm_attribute", "--type", "nodes", "--node", node, "--name", "standby",
        "--update", "off")  # fmt: skip
    cluster.wait_protected(node, say, timeout)
    say(f"{node} is back: a promotable standby", 100)


def _wait_state(what: str, predicate: Callable[[ClusterState], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(cluster.cluster_state()):
        if time.monotonic() > deadline:
            raise ClusterError(f"Error: {what} within {timeout:.0f} s: see ha_status")
        time.sleep(0.5)


def _application_running(state: ClusterState) -> bool:
    members = {n.name for n in state.nodes if n.online and not n.maintenance}
    return state.app_nodes >= members and state.beat_node == state.promoted


@contextmanager
def application_stopped(say: Steps, timeout: float) -> Iterator[None]:
    """The application (web, worker, beat) stopped on every node for the duration, through
    pacemaker (target-role Stopped: its monitors do not count it as failed); started again
    afterwards, whatever happened inside. The database and the VIP stay where they are."""
    say("Stopping the application on every node (pacemaker)...")
    for resource in APP_RESOURCES:
        crm("crm_resource", "--resource", resource, "--meta", "--set-parameter", "target-role",
            "--parameter-value", "Stopped")  # fmt: skip
    try:
        _wait_state(
            "the application did not stop",
            lambda s: not s.app_nodes and s.beat_node is None,
            timeout,
        )
        say("Application stopped on every node")
        yield
    finally:
        say("Starting the application on every node (pacemaker)...")
        for resource in APP_RESOURCES:
            crm("crm_resource", "--resource", resource, "--meta", "--delete-parameter",
                "target-role")  # fmt: skip
        _wait_state("the application did not start again", _application_running, timeout)
        say("Application started on every node")
