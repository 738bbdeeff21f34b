"""The backup passphrase from a file, the environment or the terminal (never an argument:
it would show in the process list and the shell history)."""

import getpass
import os
from pathlib import Path

from django.core.management.base import CommandError


def add_argument(parser) -> None:
    parser.add_argument(
        "--passphrase-file",
        help="read the passphrase from this file (else SSM_BACKUP_PASSPHRASE, else it is asked)",
    )


def passphrase(options, *, confirm: bool) -> str:
    if options.get("passphrase_file"):
        try:
            return Path(options["passphrase_file"]).read_text().strip("\n")
        except OSError as exc:
            raise CommandError(f"Cannot read the passphrase file: {exc}") from None
    if os.environ.get("SSM_BACKUP_PASSPHRASE"):
        return os.environ["SSM_BACKUP_PASSPHRASE"]
    try:
        first = getpass.getpass("Backup passphrase: ")
        if confirm and getpass.getpass("The same passphrase again: ") != first:
            raise CommandError("The two passphrases differ.")
    except EOFError:
        raise CommandError(
            "No passphrase: give --passphrase-file or set SSM_BACKUP_PASSPHRASE."
        ) from None
    return first
