"""The copy-paste example of docs/transport-gateway.md runs against a live server."""

import re
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings
from django.test import LiveServerTestCase

from licensing import services
from licensing.models import ProductInstance
from tests.support.personas import make_account

from .support import PI_BASE, in_use, purchase

DOC = Path(settings.BASE_DIR) / "docs" / "transport-gateway.md"


def example_script() -> str:
    section = DOC.read_text().split("## Copy-paste example", 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```sh\n(.*?)```", section, re.S))


class DocumentedExampleTests(LiveServerTestCase):
    def test_curl_openssl_example_registers_and_reports(self):
        account = make_account("DOCS")
        va = account.default_virtual_account
        purchase(va, PI_BASE, 5)
        token = services.create_token(va)
        script = "set -euo pipefail\n" + example_script()
        with tempfile.TemporaryDirectory() as tmp:
            result = subprocess.run(
                ["bash", "-c", script],
                cwd=tmp,
                env={"PATH": "/usr/bin:/bin", "SERVER": self.live_server_url, "TOKEN": token.token},
                capture_output=True,
                text=True,
                timeout=120,
            )
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertIn("id.pem: OK", result.stdout)
            self.assertIn('"AUTHORIZED"', Path(tmp, "authorize.json").read_text())
        instance = ProductInstance.objects.get(udi_sn="pi37")
        self.assertEqual(instance.status, "deregistered")
        self.assertEqual(in_use(PI_BASE), 0)
