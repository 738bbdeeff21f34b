"""manage.py restore FILE: the server as it was when the backup was made."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from administration import backup
from highavailability import cluster

from . import _passphrase

APP = ("web", "worker", "beat")


class Command(BaseCommand):
    help = (
        "Restore the server from a backup file (same version only): its database, its secrets "
        "and its Browser Certificate; the server's processes restart."
    )
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("file")
        _passphrase.add_argument(parser)
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument(
            "--no-restart",
            action="store_true",
            help="leave the server's processes alone (restart them yourself; stand-alone only)",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if not options["yes"]:
            self.stdout.write(
                "This replaces the server's database, secrets and Browser Certificate with the "
                "backup's.\nEnter 'yes' to continue: ",
                ending="",
            )
            if input().strip() != "yes":
                raise CommandError("Nothing restored.")
        secret = _passphrase.passphrase(options, confirm=False)
        try:
            backup.restore(path, secret, say=self.say)
        except backup.BackupError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        if cluster.ha_enabled():  # pacemaker restarted the application on both nodes
            self.say("Restore complete on both nodes.")
            return
        if options["no_restart"]:
            self.say("Restart the server's processes to use it: deploy/services stop, then start")
            return
        running = [c for c in APP if self._running(c)]
        if running:
            self.say(f"Restarting {', '.join(running)} …")
            cluster.run_services("stop", *running)
            cluster.run_services("start", *running)
        self.say("Restore complete.")

    @staticmethod
    def _running(component: str) -> bool:
        try:
            cluster.run_services("running", component)
        except cluster.ClusterError:
            return False
        return True

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
