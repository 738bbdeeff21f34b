"""The copy-paste example of docs/transport-gateway.md runs against a live server."""

import re
import subprocess
import sys
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


API_DOC = Path(settings.BASE_DIR) / "docs" / "api.md"


def python_example() -> str:
    section = API_DOC.read_text().split("## A worked example in Python", 1)[1]
    return re.findall(r"```python\n(.*?)```", section, re.S)[0]


class ApiDocumentationTests(LiveServerTestCase):
    def test_every_endpoint_is_documented_with_a_curl_example(self):
        from django.urls import get_resolver

        text = API_DOC.read_text()
        curls = [line for line in text.splitlines() if "curl " in line or line.startswith("  ")]
        api = get_resolver().url_patterns
        patterns = [
            str(p.pattern)
            for include in api
            if getattr(include, "namespace", None) == "licensing-api"
            for p in include.url_patterns
        ]
        self.assertGreater(len(patterns), 10)
        for pattern in patterns:
            documented = (
                pattern.replace("accounts/<str:account>/", "{account}/")
                .replace("<str:virtual_account>", "{va}")
                .replace("<str:token>", "{token}")
                .replace("<uuid:instance_id>", "{instanceId}")
            )
            tail = pattern.rsplit(">", 1)[-1] or "/"
            with self.subTest(pattern=pattern):
                self.assertTrue(
                    documented in text or documented.replace("{account}/", "") in text,
                    f"{documented} is not in docs/api.md",
                )
                self.assertTrue(any(tail in line for line in curls), f"no curl for {tail}")

    def test_the_python_example_runs(self):
        account = make_account("Plant")
        purchase(account.default_virtual_account, PI_BASE, 5)
        client, secret = services.create_api_client("branch script", [account])
        env = {
            "PATH": "/usr/bin:/bin",
            "SERVER": self.live_server_url,
            "CLIENT_ID": client.client_id,
            "CLIENT_SECRET": secret,
            "ACCOUNT": "Plant",
            "LICENSE": "Prime Infrastructure 3.x, Base Lic",
        }
        for run in (1, 2):  # the second finds Branch there already
            with self.subTest(run=run):
                result = subprocess.run(
                    [sys.executable, "-c", python_example()],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertIn("token: ", result.stdout)
        branch = account.virtual_accounts.get(name="Branch")
        self.assertEqual(branch.purchased_licenses.get(tag=PI_BASE).quantity, 4)
        self.assertIn("Branch exists already", result.stdout)
        self.assertIn("purchased 5, in use 0 (Default 1, Branch 4)", result.stdout)
