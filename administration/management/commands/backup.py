"""manage.py backup [FILE]: the server's database and secrets in one file."""

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from administration import backup

from . import _passphrase


class Command(BaseCommand):
    help = (
        "Back up the server: its database and its secrets (encrypted with a passphrase) in one "
        "file, to restore with manage.py restore FILE."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file",
            nargs="?",
            help="where to write it (default: <SSM_VAR>/backups/ssm-backup-<UTC time>.tar)",
        )
        _passphrase.add_argument(parser)

    def handle(self, *args, **options):
        if options["file"]:
            path = Path(options["file"])
        else:
            folder = Path(settings.SSM_VAR) / "backups"
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = folder / f"ssm-backup-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.tar"
        secret = _passphrase.passphrase(options, confirm=True)
        try:
            backup.backup(path, secret, say=self.say)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
