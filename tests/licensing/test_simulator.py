"""The device_simulator command against a live server over real HTTP."""

import io
import tempfile
from pathlib import Path

from django.core.management import CommandError, call_command
from django.test import LiveServerTestCase

from licensing import services
from licensing.models import ProductInstance
from tests.support.personas import make_account

from .support import PI_BASE, UCM_BASIC, in_use, purchase


class DeviceSimulatorTests(LiveServerTestCase):
    def setUp(self):
        self.account = make_account("TEST")
        self.va = self.account.default_virtual_account
        purchase(self.va, PI_BASE, 5)
        purchase(self.va, UCM_BASIC, 20)
        self.token = services.create_token(self.va, description="simulator")
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.ca_file = Path(self.tmp.name, "ca.pem")
        self.ca_file.write_text(services.product_ca().certificate_pem)

    def run_simulator(self, **options):
        out, err = io.StringIO(), io.StringIO()
        call_command(
            "device_simulator",
            url=self.live_server_url,
            ca_file=str(self.ca_file),
            stdout=out,
            stderr=err,
            **options,
        )
        return out.getvalue().splitlines()

    def test_named_devices_full_lifecycle(self):
        lines = self.run_simulator(
            token=self.token.token,
            device=["pi37", "cucm-pub-30"],
            operations="register,authorize,report,renew,report",
        )
        self.assertEqual(len(lines), 10, lines)
        self.assertTrue(all(" OK " in line for line in lines))
        self.assertIn("UDI_PID:PI-SOFTWARE; UDI_SN:pi37", lines[0])
        self.assertIn("verified=yes", lines[0])
        names = set(ProductInstance.objects.values_list("name", flat=True))
        self.assertEqual(
            names, {"UDI_PID:PI-SOFTWARE; UDI_SN:pi37", "UDI_PID:UCM; UDI_SN:cucm-pub-30"}
        )
        self.assertEqual(in_use(UCM_BASIC), 10)
        self.assertEqual(
            set(ProductInstance.objects.values_list("product_type", flat=True)), {"SDNMGMT", "UCL"}
        )

    def test_state_file_carries_devices_between_runs(self):
        state = str(Path(self.tmp.name, "devices.json"))
        first = self.run_simulator(
            token=self.token.token, synthetic=3, operations="register,authorize", state=state
        )
        self.assertEqual(len(first), 6)
        second = self.run_simulator(operations="report,deregister", state=state)
        self.assertEqual(len(second), 6, second)
        self.assertFalse(ProductInstance.objects.filter(status="registered").exists())
        self.assertEqual(in_use(PI_BASE), 0)

    def test_refused_operation_fails_the_command(self):
        with self.assertRaises(CommandError):
            self.run_simulator(token="wrong", device=["pi37"], operations="register")
        self.assertFalse(ProductInstance.objects.exists())
