"""ha_generatekeys: create the cluster's key pair on the primary (server 1)."""

from highavailability import cluster, formation

from ._base import HACommand


class Command(HACommand):
    help = (
        "Create the key pair the primary uses to drive the secondary while the cluster is "
        "deployed. Run it on server 1, then ha_provision_standby on server 2 with the key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--replace", action="store_true", help="make a new key pair even if one exists"
        )

    def handle(self, *args, replace=False, **options):
        if cluster.ha_enabled():
            self.say("Note: HA is already enabled on this node.")
        key, created = formation.generate_keys(replace=replace)
        folder = formation.private_key_path().parent
        if created:
            self.say(f"Keys generated in {folder}")
        else:
            self.say(f"Keys already exist in {folder} (--replace makes new ones)")
        self.say("Public key of this node (copy it to the secondary):")
        self.say(key)
        self.say("Next: on the secondary, run ha_provision_standby and paste this key.")
