"""Running a cluster operation on a worker, and the probe that measures a rehearsal.

While a rehearsal moves the active role away and back, the probe registers synthetic
products through the VIP (its own registration token in the dedicated "HA Rehearsal"
account, one new product every 0.2 s). The report gives, per transition, the longest time
without an acknowledged registration (the write stall) and the time from the start of the
move to the first registration acknowledged by the new active node; at the end every
acknowledged product must be in the database ("0 lost").
"""

from __future__ import annotations

import threading
import time
import warnings

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from urllib3.exceptions import InsecureRequestWarning

from accounts.choices import SyncMode
from accounts.models import LocalAccount, VirtualAccount
from accounts.services import create_local_account
from licensing.models import ProductInstance
from licensing.services import create_token
from licensing.simulator import Client, Device, GatewayRefused

from .. import cluster, transitions
from ..choices import HAJobKind
from ..models import HAJob
from .jobs import JobReporter
from .operations import OPERATIONS, operation_timeout, primary_node_name

REHEARSAL_ACCOUNT = "HA Rehearsal"
PROBE_INTERVAL_S = 0.2


class Probe(threading.Thread):
    """Registers a new synthetic product through the VIP every PROBE_INTERVAL_S."""

    def __init__(self, token: str, prefix: str):
        super().__init__(daemon=True)
        self.token, self.prefix = token, prefix
        self.acknowledged: list[tuple[float, str]] = []  # (time acknowledged, serial number)
        self.failed = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        # the probe measures availability through the VIP, not the certificate's identity
        warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        url = f"https://{settings.HA_VIP}:{settings.PRODUCT_URL_PORT}"
        n = 0
        while not self.stopping.is_set():
            started = time.monotonic()
            n += 1
            serial = f"{self.prefix}-{n:05d}"
            client = Client(url, timeout=3.0)  # a new connection each: nothing kept across
            try:
                client.register(Device(sn=serial), self.token)
                self.acknowledged.append((time.monotonic(), serial))
            except (GatewayRefused, OSError, ValueError):  # requests' errors are OSErrors
                self.failed += 1
            finally:
                client.close()
            self.stopping.wait(max(0.0, PROBE_INTERVAL_S - (time.monotonic() - started)))

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)

    def transition(self, started: float, moved: float) -> dict:
        """Figures of one transition that began at `started` (monotonic) and whose new active
        node held the VIP at `moved`: the write stall and the first acknowledgement."""
        times = [t for t, _ in self.acknowledged]
        before = [t for t in times if t < started]
        after = [t for t in times if t >= moved]
        during = [t for t in times if started <= t < moved]
        edges = before[-1:] + during + after[:1]
        stall = max((b - a for a, b in zip(edges, edges[1:], strict=False)), default=None)
        return {
            "write_stall_s": round(stall, 2) if stall is not None else None,
            "first_acknowledged_s": round(after[0] - started, 2) if after else None,
        }


def rehearsal_token(job: HAJob) -> str:
    """A fresh registration token in the dedicated account (created on first use, synchronized
    by hand only: it holds nothing but the probes' products)."""
    account = LocalAccount.objects.filter(name=REHEARSAL_ACCOUNT).first()
    if account is None:
        account = create_local_account(
            name=REHEARSAL_ACCOUNT,
            cisco_smart_account=REHEARSAL_ACCOUNT,
            cisco_virtual_account=REHEARSAL_ACCOUNT,
            notification_email="ha-rehearsal@localhost",
            sync_mode=SyncMode.MANUAL,
        )
    va = VirtualAccount.objects.get(account=account, is_default=True)
    return create_token(
        va, description=f"Failover rehearsal {job.pk}", expires_after_days=1, user=job.started_by
    ).token


def missing(serials: list[str]) -> list[str]:
    """The acknowledged serial numbers the database does not hold (retried while it moves)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            close_old_connections()
            have = set(
                ProductInstance.objects.filter(udi_sn__in=serials).values_list("udi_sn", flat=True)
            )
            return sorted(set(serials) - have)
        except DatabaseError:
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def save_report(job: HAJob, report: dict) -> None:
    HAJob.objects.filter(pk=job.pk).update(report=report)


def run_operation(job: HAJob, say=print) -> None:
    """Run a claimed operation job to its end (steps, progress and result on the job)."""
    timeout = operation_timeout()
    kind = HAJobKind(job.kind)
    node = job.report.get("node", "")
    with JobReporter(kind, say, job=job, user=job.started_by) as step:
        state = cluster.cluster_state()
        primary = primary_node_name()
        if kind == HAJobKind.MAINTENANCE:
            node = node or transitions.standby_of(state)
            save_report(job, {"node": node})
            transitions.set_maintenance(node, True, step, timeout)
            return
        if kind == HAJobKind.MAINTENANCE_END:
            transitions.set_maintenance(node, False, step, timeout)
            return
        operation = next(name for name, k in OPERATIONS.items() if k == kind)
        why = transitions.refusal(operation, state, primary)
        if why:
            raise cluster.ClusterError(f"Refused: {why}")
        if kind == HAJobKind.FALLBACK:
            transitions.move_active(primary, step, timeout, start=5)
        elif kind == HAJobKind.SWITCHOVER:
            transitions.move_active(transitions.standby_of(state), step, timeout, start=5)
        else:
            rehearse(job, state, step, timeout)


def rehearse(job: HAJob, state, step, timeout: float) -> None:
    """The tech note's failover and fallback in one go, measured by the probe."""
    first, second = state.promoted, transitions.standby_of(state)
    probe = Probe(rehearsal_token(job), f"RH{job.pk}")
    report: dict = {"transitions": []}
    probe.start()
    try:
        deadline = time.monotonic() + 30
        while not probe.acknowledged:
            if time.monotonic() > deadline:
                raise cluster.ClusterError(
                    "Error: the probe could not register through the VIP "
                    f"(https://{settings.HA_VIP}:{settings.PRODUCT_URL_PORT}) within 30 s"
                )
            time.sleep(0.2)
        step(f"Probe registering a product every {PROBE_INTERVAL_S} s through the VIP", 5)
        for name, source, target, start, end in (
            ("failover", first, second, 10, 50),
            ("fallback", second, first, 50, 90),
        ):
            started = time.monotonic()
            moved: list[float] = []
            seen = lambda moved=moved: moved.append(time.monotonic())  # noqa: E731
            transitions.move_active(target, step, timeout, start=start, end=end, moved=seen)
            deadline = time.monotonic() + 30
            while not [t for t, _ in probe.acknowledged if t >= moved[0]]:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            figures = {"name": name, "from": source, "to": target,
                       **probe.transition(started, moved[0])}  # fmt: skip
            report["transitions"].append(figures)
            step(f"{name}: write stall {figures['write_stall_s']} s, first acknowledged "
                 f"registration on {target} {figures['first_acknowledged_s']} s after the "
                 "start")  # fmt: skip
            save_report(job, report)
    finally:
        probe.stop()
    serials = [s for _, s in probe.acknowledged]
    lost = missing(serials)
    report.update(acknowledged=len(serials), failed=probe.failed, lost=len(lost),
                  lost_serials=lost[:20])  # fmt: skip
    save_report(job, report)
    if lost:
        raise cluster.ClusterError(
            f"Error: {len(lost)} of {len(serials)} acknowledged registrations lost: {lost[:5]}"
        )
    step(f"Rehearsal complete: {len(serials)} registrations acknowledged, 0 lost; active "
         f"server {first} again", 100)  # fmt: skip


def rehearsal_reports(limit: int = 50) -> list[dict]:
    """Finished rehearsals, newest first, flattened for the Rehearsals tab and its CSV: per
    transition the write stall and the first acknowledged registration."""
    rows = []
    jobs = HAJob.objects.filter(kind=HAJobKind.REHEARSAL).exclude(finished=None)
    for job in jobs.select_related("started_by")[:limit]:
        moves = {t.get("name"): t for t in job.report.get("transitions", [])}
        rows.append({
            "job": job,
            "started_by": job.started_by.username if job.started_by else "console",
            "failover_stall": moves.get("failover", {}).get("write_stall_s"),
            "failover_first": moves.get("failover", {}).get("first_acknowledged_s"),
            "fallback_stall": moves.get("fallback", {}).get("write_stall_s"),
            "fallback_first": moves.get("fallback", {}).get("first_acknowledged_s"),
            "acknowledged": job.report.get("acknowledged"),
            "lost": job.report.get("lost"),
        })  # fmt: skip
    return rows


def stall_chart(rows: list[dict], width: int = 600, height: int = 120) -> list[dict]:
    """Bars of the longer write stall per rehearsal, oldest first, scaled to the chart."""
    points = [
        (r["job"], max(s for s in (r["failover_stall"], r["fallback_stall"]) if s is not None))
        for r in reversed(rows)
        if r["failover_stall"] is not None or r["fallback_stall"] is not None
    ]
    if not points:
        return []
    top = max(s for _, s in points) or 1
    step = width / len(points)
    bars = []
    for i, (job, seconds) in enumerate(points):
        bar = round(seconds / top * (height - 20), 1)
        bars.append(
            {
                "x": round(i * step + 2, 1),
                "width": round(max(step - 4, 2), 1),
                "height": bar,
                "y": round(height - bar, 1),
                "seconds": seconds,
                "job": job,
            }
        )
    return bars
