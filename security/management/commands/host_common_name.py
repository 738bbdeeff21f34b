"""Show or set the Host Common Name (used after an HA teardown: the primary's own address)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from security import services


class Command(BaseCommand):
    help = "Show the Host Common Name, or set it (every local account then needs a sync)."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="New IP address or FQDN")

    def handle(self, *args, name=None, **options):
        if name:
            try:
                services.set_host_common_name(name)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(services.host_common_name())
        waiting = [a.name for a in services.accounts_requiring_resynchronization()]
        if waiting:
            self.stdout.write(f"Re-synchronization required: {', '.join(waiting)}")
