"""Synchronize local accounts with Cisco Software Central from the console."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import LocalAccount
from synchronization.choices import SyncStatus
from synchronization.services import request_synchronization, run_synchronization


class Command(BaseCommand):
    help = "Synchronize one local account (or all) with Cisco Software Central now."

    def add_arguments(self, parser):
        parser.add_argument("accounts", nargs="*", help="local account names (default: all)")

    def handle(self, *args, accounts, **options):
        qs = LocalAccount.objects.exclude(csc_registration_id="").order_by("name")
        if accounts:
            qs = qs.filter(name__in=accounts)
            missing = set(accounts) - set(qs.values_list("name", flat=True))
            if missing:
                raise CommandError(
                    f"No registered local account named {', '.join(sorted(missing))}"
                )
        failed = 0
        for account in qs:
            try:
                job = request_synchronization(account, None, enqueue=False)
            except ValidationError as exc:
                raise CommandError(f"{account.name}: {exc.messages[0]}") from None
            job = run_synchronization(job.pk) or job
            job.refresh_from_db()
            account.refresh_from_db()
            if job.status == SyncStatus.SUCCEEDED:
                self.stdout.write(f"{account.name}: {account.sync_alert}")
            elif job.status == SyncStatus.FAILED:
                failed += 1
                self.stdout.write(f"{account.name}: {job.error}")
            else:
                self.stdout.write(f"{account.name}: {job.get_status_display()} (already running)")
        if failed:
            raise CommandError(f"{failed} synchronization(s) failed")
