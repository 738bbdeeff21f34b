"""Browser Certificate: CSR, upload checks, CA Certificates; checked with openssl."""

import datetime as dt
import os
import stat
import tempfile
from pathlib import Path

from cryptography import x509
from django.core.exceptions import ValidationError
from django.test import TestCase, override_settings

from core.models import Event
from security import services
from security.models import BrowserCertificateRequest, CACertificate

from .pki import TestCA, openssl, openssl_verify, pem


class BrowserCertificateTests(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ca = TestCA()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        override = override_settings(
            BROWSER_CERT_DIR=self.dir, WEB_PID_FILE=str(self.dir / "none.pid")
        )
        override.enable()
        self.addCleanup(override.disable)
        self.addCleanup(self.tmp.cleanup)
        services.ensure_browser_certificate(self.dir)

    def csr(self, **kwargs):
        kwargs.setdefault("subject_alternative_names", ["ssm.example.com", "10.1.1.10"])
        kwargs.setdefault("organization", "Example Corp")
        kwargs.setdefault("country", "jp")
        return services.generate_browser_csr("ssm-vip.example.com", **kwargs)

    def test_default_certificate_is_self_signed_localhost_with_expiry(self):
        info = services.current_browser_certificate()
        self.assertEqual(info["common_name"], "localhost")
        self.assertTrue(info["self_signed"])
        self.assertGreater(info["not_after"], dt.datetime.now(dt.UTC) + dt.timedelta(days=700))
        text = openssl(
            "x509", "-noout", "-subject", "-enddate", "-in", str(self.dir / "browser.crt")
        )
        self.assertIn("CN = localhost", text)
        self.assertIn(f"{info['not_after']:%b}", text)

    def test_csr_subject_and_sans_checked_with_openssl_key_stays_on_server(self):
        request = self.csr()
        text = openssl("req", "-noout", "-text", "-verify", stdin=request.csr_pem.encode())
        self.assertIn("CN = ssm-vip.example.com", text)
        self.assertIn("O = Example Corp", text)
        self.assertIn("C = JP", text)
        self.assertIn("DNS:ssm-vip.example.com", text)
        self.assertIn("DNS:ssm.example.com", text)
        self.assertIn("IP Address:10.1.1.10", text)
        self.assertNotIn("PRIVATE KEY", request.csr_pem)
        key = self.dir / "pending.key"
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertTrue(Event.objects.filter(action="browser_csr_generated").exists())

    def test_bad_csr_input_is_refused_with_nothing_written(self):
        for kwargs in ({"country": "Japan"}, {"subject_alternative_names": ["not a name!"]}):
            with self.assertRaises(ValidationError):
                self.csr(**kwargs)
        self.assertFalse(BrowserCertificateRequest.objects.exists())
        self.assertFalse((self.dir / "pending.key").exists())

    def test_signed_certificate_with_chain_is_installed(self):
        request = self.csr()
        cert = self.ca.sign(request.csr_pem)
        info = services.install_browser_certificate(pem(cert), self.ca.chain_pem)
        self.assertEqual(info["common_name"], "ssm-vip.example.com")
        served = (self.dir / "browser.crt").read_text()
        # The server presents leaf + intermediate; openssl verifies it up to the root.
        self.assertIn("OK", openssl_verify(served, served, pem(self.ca.root)))
        text = openssl(
            "x509",
            "-noout",
            "-subject",
            "-ext",
            "subjectAltName",
            "-in",
            str(self.dir / "browser.crt"),
        )
        self.assertIn("CN = ssm-vip.example.com", text)
        self.assertIn("IP Address:10.1.1.10", text)
        # The key file now holds the CSR's key, and the pair matches.
        mod_key = openssl("pkey", "-pubout", "-in", str(self.dir / "browser.key"))
        mod_cert = openssl("x509", "-noout", "-pubkey", "-in", str(self.dir / "browser.crt"))
        self.assertEqual(mod_key, mod_cert)
        self.assertFalse((self.dir / "pending.key").exists())
        request.refresh_from_db()
        self.assertIsNotNone(request.installed)
        self.assertEqual(CACertificate.objects.count(), 2)  # intermediate and root are trusted
        self.assertTrue(Event.objects.filter(action="browser_certificate_installed").exists())

    def assertRefused(self, cert_pem, chain_pem, fragment):
        before = (self.dir / "browser.crt").read_bytes()
        with self.assertRaises(ValidationError) as raised:
            services.install_browser_certificate(cert_pem, chain_pem)
        self.assertIn(fragment, " ".join(raised.exception.messages))
        self.assertEqual((self.dir / "browser.crt").read_bytes(), before)
        self.assertFalse(Event.objects.filter(action="browser_certificate_installed").exists())

    def test_certificate_for_another_key_is_refused(self):
        self.csr()
        other = TestCA("Other")
        _, foreign_csr = _foreign_csr()
        self.assertRefused(pem(other.sign(foreign_csr)), other.chain_pem, "does not match the key")

    def test_expired_certificate_is_refused(self):
        request = self.csr()
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
        self.assertRefused(
            pem(self.ca.sign(request.csr_pem, start=old)), self.ca.chain_pem, "expired"
        )

    def test_incomplete_chain_is_refused(self):
        request = self.csr()
        cert = pem(self.ca.sign(request.csr_pem))
        self.assertRefused(cert, "", "chain is incomplete")
        self.assertRefused(cert, pem(self.ca.root), "chain is incomplete")  # intermediate missing

    def test_garbage_and_private_keys_are_refused(self):
        self.csr()
        self.assertRefused("hello", "", "not a PEM certificate")
        key = (self.dir / "browser.key").read_text()
        self.assertRefused(key, "", "private key")

    def test_root_from_ca_certificates_completes_the_chain(self):
        services.add_ca_certificate(pem(self.ca.root))
        request = self.csr()
        services.install_browser_certificate(
            pem(self.ca.sign(request.csr_pem)), pem(self.ca.intermediate)
        )
        cert = x509.load_pem_x509_certificates((self.dir / "browser.crt").read_bytes())
        self.assertEqual(len(cert), 2)


class CACertificateTests(TestCase):
    def test_add_and_delete_with_events(self):
        ca = TestCA()
        rows = services.add_ca_certificate(ca.chain_pem)
        self.assertEqual(len(rows), 2)
        services.add_ca_certificate(pem(ca.root))  # the same one again is not duplicated
        self.assertEqual(CACertificate.objects.count(), 2)
        services.delete_ca_certificate(rows[0])
        self.assertEqual(CACertificate.objects.count(), 1)
        self.assertEqual(
            list(Event.objects.filter(category="security").values_list("action", flat=True)),
            ["ca_certificate_deleted", "ca_certificate_added", "ca_certificate_added"],
        )

    def test_leaf_certificate_is_not_a_ca(self):
        _, csr = _foreign_csr()
        with self.assertRaises(ValidationError):
            services.add_ca_certificate(pem(TestCA().sign(csr)))
        self.assertFalse(CACertificate.objects.exists())


def _foreign_csr():
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other.example.com")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("other.example.com")]), False)
        .sign(key, hashes.SHA256())
    )
    return key, csr.public_bytes(serialization.Encoding.PEM).decode()
