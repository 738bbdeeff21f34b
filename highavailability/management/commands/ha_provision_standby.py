"""ha_provision_standby: prepare the secondary (server 2) to be deployed by the primary."""

from django.conf import settings
from django.core.management.base import CommandError

from highavailability import cluster, formation

from ._base import HACommand


class Command(HACommand):
    help = (
        "Let the primary's cluster key (printed by ha_generatekeys on server 1) deploy this "
        "server as the standby. The key may only run the cluster's join steps here."
    )

    def add_arguments(self, parser):
        parser.add_argument("--key", help="the primary's public key (asked when omitted)")

    def handle(self, *args, key=None, **options):
        if cluster.ha_enabled():
            raise CommandError("Error: HA is already enabled on this node: run ha_teardown first")
        if not key:
            key = input("Paste the public key printed by ha_generatekeys on the primary: ")
        added = formation.authorize_primary(key)
        self.say(
            f"Primary's key {'added to' if added else 'already in'} {settings.HA_AUTHORIZED_KEYS} "
            "(restricted to the cluster's join steps)"
        )
        self.say("Standby provisioned. Next: on the primary, run ha_deploy.")
