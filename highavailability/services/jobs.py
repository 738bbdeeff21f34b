"""Tracked HA jobs (deploy, repair, teardown...): a database row with status, progress and
log lines that the widget shows, so a job survives a failover and is seen from either node."""

from __future__ import annotations

import datetime as dt
import socket

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.choices import EventResult
from core.models import Event
from core.services import record_event

from ..choices import (
    HAJobKind,
    HAJobStatus,
)
from ..models import HAJob
from .common import HA, JOB_STALE_AFTER, ha_event, logger


def start_job(kind, *, node: str = "", user=None) -> HAJob:
    """Start tracking a long HA operation on a node; returns the running job."""
    kind = HAJobKind(kind)
    node = node or socket.gethostname()
    with transaction.atomic():
        job = HAJob.objects.create(kind=kind, node=node[:100], started_by=user)
        record_event(
            HA,
            f"job_{kind.value}",
            f"{kind.label} started on {job.node}",
            user=user,
            result=EventResult.INFO,
            job=job.pk,
        )
    return job


def finish_job(job: HAJob, *, succeeded: bool = True, error: str = "", user=None) -> HAJob:
    """Mark a running job succeeded or failed (with the reason); a finished job is left alone."""
    status = HAJobStatus.SUCCEEDED if succeeded else HAJobStatus.FAILED
    with transaction.atomic():
        now = timezone.now()
        updates = {"status": status, "finished": now, "updated": now, "error": error[:300]}
        if succeeded:
            updates["progress"] = 100
        claimed = HAJob.objects.filter(pk=job.pk, status=HAJobStatus.RUNNING).update(**updates)
        locked = HAJob.objects.get(pk=job.pk)
        if claimed:
            label = HAJobKind(locked.kind).label
            record_event(
                HA,
                f"job_{locked.kind}",
                f"{label} on {locked.node} "
                + ("succeeded" if succeeded else f"failed: {error or 'see its log'}"),
                user=user,
                result=EventResult.SUCCESS if succeeded else EventResult.FAILURE,
                job=locked.pk,
            )
    return locked


def fail_stale_jobs(now: dt.datetime | None = None) -> list[Event]:
    """Running jobs silent for JOB_STALE_AFTER were interrupted: shown failed, safe to rerun."""
    now = now or timezone.now()
    events = []
    stale = HAJob.objects.filter(status=HAJobStatus.RUNNING, updated__lt=now - JOB_STALE_AFTER)
    for job in stale:
        reason = "interrupted (no progress for 10 minutes); it is safe to run it again"
        claimed = HAJob.objects.filter(pk=job.pk, status=HAJobStatus.RUNNING).update(
            status=HAJobStatus.FAILED, finished=now, updated=now, error=reason
        )
        if claimed:
            events.append(
                ha_event(
                    f"job_{job.kind}",
                    f"{job.get_kind_display()} on {job.node} failed: {reason}",
                    EventResult.FAILURE,
                    job=job.pk,
                )
            )
    return events


class JobReporter:
    """For console commands: print each step and record it on a tracked job.

    with JobReporter(HAJobKind.CLUSTER_START, self.say) as say:
        say("Starting Cluster (corosync)...", progress=20)

    The database may be out of reach while the command runs (it restarts during ha_deploy,
    it moves with the VIP during a failover): the steps are always printed, kept, and
    recorded as soon as a database answers again (the job is created late if need be).
    """

    def __init__(self, kind, say, *, node: str = "", user=None, job: HAJob | None = None):
        self.kind, self.say, self.node, self.user = kind, say, node, user
        self.job: HAJob | None = job  # a job queued from the widget or the API
        self.lines: list[str] = []
        self.progress = 0
        self.failures = 0

    def _record(self, *, last: bool = False) -> None:
        # a database that stays out of reach is not waited for at every line (connect timeout)
        if self.failures >= 3 and not last:
            return
        try:
            if self.job is None:
                self.job = start_job(self.kind, node=self.node, user=self.user)
            if self.lines or self.progress:
                HAJob.objects.filter(pk=self.job.pk, status=HAJobStatus.RUNNING).update(
                    log=self.lines, progress=self.progress, updated=timezone.now()
                )
            self.failures = 0
        except DatabaseError as exc:
            logger.debug("HA job not recorded yet: %s", exc)
            self.failures += 1
            connection.close()

    def __enter__(self):
        self._record()
        return self

    def __call__(self, line: str, progress: int | None = None) -> None:
        self.say(line)
        self.lines.append(f"{timezone.now().strftime('%Y-%b-%d %H:%M:%S')} {line}")
        if progress is not None:
            self.progress = progress
        self._record()

    def __exit__(self, exc_type, exc, tb):
        self._record(last=True)
        if self.job is not None:
            try:
                finish_job(
                    self.job, succeeded=exc is None, error=str(exc or "")[:300], user=self.user
                )
            except DatabaseError as error:
                logger.debug("HA job end not recorded: %s", error)
        return False
