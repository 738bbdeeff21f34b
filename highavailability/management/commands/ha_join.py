"""ha_join: the secondary's steps of ha_deploy, run by the primary over SSH (not by hand).

ha_provision_standby makes this the only command the primary's key may run; the action
comes from SSH_ORIGINAL_COMMAND (hello, clone, start) and its data as JSON on stdin.
"""

import json
import os
import sys

from django.core.management.base import CommandError

from highavailability import formation

from ._base import HACommand

ACTIONS = ("hello", "clone", "start")


class Command(HACommand):
    help = "The secondary's side of ha_deploy (run by the primary over SSH)."

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=ACTIONS)

    def handle(self, *args, action=None, **options):
        action = action or os.environ.get("SSH_ORIGINAL_COMMAND", "").strip()
        if action not in ACTIONS:
            raise CommandError(f"unknown action '{action}' (one of: {', '.join(ACTIONS)})")
        if action == "hello":
            self.say(json.dumps(formation.join_hello()))
        elif action == "clone":
            payload = json.loads(sys.stdin.read() or "{}")
            formation.join_clone(payload, self.say)
        else:
            formation.join_start(self.say)
