"""The host_common_name command."""

import io

from django.core.management import CommandError, call_command
from django.test import TestCase, override_settings

from core.models import Event
from tests.support.personas import build_personas


@override_settings(HOST_COMMON_NAME="10.0.0.5", NETWORK_DUAL_STACK=False)
class HostCommonNameCommandTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def run_command(self, *args):
        out = io.StringIO()
        call_command("host_common_name", *args, stdout=out)
        return out.getvalue()

    def test_show_and_set(self):
        self.assertEqual(self.run_command(), "10.0.0.5\n")
        out = self.run_command("10.0.0.7")
        self.assertEqual(out.splitlines()[0], "10.0.0.7")
        self.assertIn("Re-synchronization required: AccountA, AccountB", out)
        self.assertEqual(Event.objects.get(action="host_common_name_changed").username, "system")

    def test_bad_name_is_a_command_error(self):
        with self.assertRaisesMessage(CommandError, "neither an IP address"):
            self.run_command("bad name")
