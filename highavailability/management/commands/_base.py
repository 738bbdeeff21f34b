"""Shared behaviour of the HA console commands: errors that name the fix, exit code 1."""

from django.core.management.base import BaseCommand, CommandError

from highavailability import cluster, services
from highavailability.models import HAJob


class HACommand(BaseCommand):
    requires_system_checks: list = []
    requires_migrations_checks = False

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def require_ha(self) -> None:
        if not cluster.ha_enabled():
            raise CommandError("HA is not enabled.")

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except cluster.ClusterError as exc:
            raise CommandError(str(exc)) from exc

    def run_operation(self, kind, *, node: str = "") -> HAJob:
        """A cluster operation from the console: the same job and code as the widget's."""
        running = services.running_operation()
        if running:
            raise CommandError(f"Error: {running} is running: wait until it ends")
        job = services.start_job(kind)
        if node:
            HAJob.objects.filter(pk=job.pk).update(report={"node": node})
            job.refresh_from_db()
        try:
            services.run_operation(job, say=self.say)
        finally:
            job.refresh_from_db()
        return job
