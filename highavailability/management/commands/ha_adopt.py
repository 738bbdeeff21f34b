"""ha_adopt: take the shared state (secrets, Browser Certificate) last published on the
cluster, when it is newer than this node's. ssm-app's start runs it (as root) before the
application starts; by hand it changes nothing the next start would not."""

from highavailability import sharedstate

from ._base import HACommand


class Command(HACommand):
    help = (
        "Adopt the secrets and Browser Certificate last published on the cluster (by a "
        "restore on the active node) if this node does not run with them yet."
    )

    def handle(self, *args, **options):
        self.require_ha()
        sharedstate.adopt_published(self.say)
