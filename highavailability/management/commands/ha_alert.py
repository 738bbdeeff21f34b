"""ha_alert: tell the system administrators that the cluster has no active server.

Run by the guard on a standby (highavailability/syncguard.py), once when the cluster is left
without a primary it may not promote, and once more when a primary is back (the HA event,
which needs a writable database, is recorded then)."""

from django.conf import settings
from django.db import connections

from highavailability import services

from ._base import HACommand


class Command(HACommand):
    help = (
        "E-mail the system administrators that the cluster has no active server, or "
        "(--resolved) record the period in the HA event log once a primary is back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--node", required=True, help="the node that saw it")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--since", default="", help="UTC time the period began")
        parser.add_argument("--resolved", action="store_true")

    def handle(self, *args, node, reason, since, resolved, **options):
        if resolved:
            self.record(node, reason, since)
            return
        # no database accepts writes: read this node's standby copy (its local socket)
        local = connections["default"].settings_dict
        local.update(HOST=settings.HA_PG_SOCKET_DIR, PORT=str(settings.HA_PG_PORT))
        local["OPTIONS"] = {**local.get("OPTIONS", {}), "target_session_attrs": "any"}
        recipients = services.alert_no_active_server(node, reason)
        self.say(f"No active server: e-mail sent to {', '.join(recipients) or 'the log'}")

    def record(self, node: str, reason: str, since: str) -> None:
        write = lambda: services.record_no_active_server(node, reason, since)  # noqa: E731
        if services.record_when_the_database_answers(write, 120):
            self.say("No active server: recorded in the HA event log")
        else:
            self.stderr.write("The HA event was not recorded: no database answered.")
