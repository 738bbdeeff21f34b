"""The Browser Certificate generated on first start."""

import subprocess
import tempfile
from pathlib import Path

from django.test import SimpleTestCase

from security.services import ensure_browser_certificate


class BrowserCertificateTests(SimpleTestCase):
    def test_created_once_with_localhost_and_expiry(self):
        directory = Path(tempfile.mkdtemp())
        self.assertTrue(ensure_browser_certificate(directory))
        first = (directory / "browser.crt").read_bytes()
        self.assertFalse(ensure_browser_certificate(directory))
        self.assertEqual((directory / "browser.crt").read_bytes(), first)
        out = subprocess.run(
            [
                "openssl",
                "x509",
                "-in",
                str(directory / "browser.crt"),
                "-noout",
                "-subject",
                "-ext",
                "subjectAltName",
                "-checkend",
                str(365 * 86400),
            ],
            capture_output=True,
            text=True,
        )
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("CN = localhost", out.stdout)
        self.assertIn("IP Address:127.0.0.1", out.stdout)
        modulus = subprocess.run(
            ["openssl", "pkey", "-in", str(directory / "browser.key"), "-pubout"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cert_pub = subprocess.run(
            ["openssl", "x509", "-in", str(directory / "browser.crt"), "-noout", "-pubkey"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.assertEqual(modulus, cert_pub)
