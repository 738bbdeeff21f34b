"""Passwords and private keys never reach the log."""

import tempfile
from pathlib import Path

from django.test import TestCase, override_settings
from django.urls import reverse

from security import services
from tests.support.personas import build_personas

from .logcapture import all_logs
from .pki import TestCA, pem

WRONG = "Wrong-Secret-Guess-41"
NEW = "Fresh-Secret-Pass-2026"


class NoSecretsInLogsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def test_log_in_failures_lockout_password_set_and_certificates(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        directory = Path(tmp.name)
        services.ensure_browser_certificate(directory)
        services.update_password_policy(lockout_threshold=2, by_user=self.admin)
        with (
            override_settings(BROWSER_CERT_DIR=directory, WEB_PID_FILE=str(directory / "x.pid")),
            all_logs() as lines,
        ):
            for _ in range(3):
                self.client.post(reverse("login"), {"username": "alice", "password": WRONG})
            services.set_password_by_admin(self.bob, NEW, by_user=self.admin)
            request = services.generate_browser_csr("ssm.example.com")
            key = (directory / "pending.key").read_text()
            ca = TestCA()
            with self.captureOnCommitCallbacks(execute=True):
                services.install_browser_certificate(pem(ca.sign(request.csr_pem)), ca.chain_pem)
        self.assertTrue(lines)  # the capture works: the server did log
        text = "\n".join(lines)
        for secret in (WRONG, NEW, "PRIVATE KEY", key.splitlines()[1]):
            self.assertNotIn(secret, text)
