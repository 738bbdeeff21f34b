"""Shared behaviour of the HA console commands: errors that name the fix, exit code 1."""

from django.core.management.base import BaseCommand, CommandError

from highavailability import cluster


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
