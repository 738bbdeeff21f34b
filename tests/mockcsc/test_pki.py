"""The mock CSC's HTTPS certificate follows CSC_TLS_NAMES (checked with openssl)."""

import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.test import SimpleTestCase

SCRIPT = """
import sys
from pathlib import Path
from mockcsc import pki
print(pki.ensure_tls_certificate(Path(sys.argv[1]), sys.argv[2:]))
"""


class TlsCertificateTests(SimpleTestCase):
    def ensure(self, directory, *names):
        # mockcsc is not an app of the server's settings: run its code in its own process.
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(directory), *names],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip() == "True"

    def sans(self, directory):
        return subprocess.run(
            ["openssl", "x509", "-in", str(Path(directory) / "csc.crt"), "-noout", "-ext",
             "subjectAltName"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    def test_created_once_and_again_for_new_names(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assertTrue(self.ensure(tmp))
            self.assertFalse(self.ensure(tmp))
            self.assertNotIn("10.99.0.1", self.sans(tmp))
            self.assertTrue(self.ensure(tmp, "10.99.0.1", "csc.example.com"))
            sans = self.sans(tmp)
            self.assertIn("IP Address:10.99.0.1", sans)
            self.assertIn("DNS:csc.example.com", sans)
            self.assertFalse(self.ensure(tmp, "10.99.0.1"))
            key_mode = (Path(tmp) / "csc.key").stat().st_mode & 0o777
            self.assertEqual(key_mode, 0o600)

    def test_the_https_certificate_is_a_server_certificate_not_a_ca(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.ensure(tmp)
            text = subprocess.run(
                ["openssl", "x509", "-in", str(Path(tmp) / "csc.crt"), "-noout", "-ext",
                 "basicConstraints,extendedKeyUsage"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            self.assertIn("CA:FALSE", text)
            self.assertIn("TLS Web Server Authentication", text)
