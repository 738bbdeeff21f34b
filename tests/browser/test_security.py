"""Security in a real browser: change the Host Common Name, see the re-synchronization
warning, synchronize with a real CSC through the Celery worker, and register a simulated
product at the new URL."""

import contextlib
import io
import tempfile
from pathlib import Path

from cryptography import x509
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.services import approve_account_request, create_account_request
from licensing import services as licensing
from licensing.models import ProductInstance
from security.models import HostCommonName
from security.services import ensure_browser_certificate
from tests.security.pki import TestCA, openssl_verify, pem
from tests.support.browser import BrowserTestCase
from tests.support.celery_worker import CeleryWorker
from tests.support.csc import CscServer
from tests.support.personas import PASSWORD, build_personas


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
class HostCommonNameBrowserTests(BrowserTestCase):
    @classmethod
    def setUpClass(cls):
        cls.csc = CscServer("browser-security").start()
        cls._csc_settings = cls.csc.settings(timeout=5.0)
        cls._csc_settings.enable()
        with cls.csc.environ(timeout=5.0):
            cls.worker = CeleryWorker("browser-security").start()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.worker.stop()
        cls._csc_settings.disable()
        cls.csc.stop()

    def setUp(self):
        super().setUp()
        self.csc.heal()
        HostCommonName.objects.create(pk=1, name="10.0.0.5")
        build_personas(self)
        self.csc.add_virtual_account("Security VA")
        request = create_account_request(
            name="TEST",
            cisco_smart_account="BU Production Test",
            cisco_virtual_account="Security VA",
            notification_email="test@example.com",
            by_user=self.alice,
        )
        self.account = approve_account_request(request, self.admin)
        self.ca = licensing.product_ca()  # issued for 10.0.0.5
        self.token = licensing.create_token(self.account.default_virtual_account)

    def register(self, host):
        out, err = io.StringIO(), io.StringIO()
        port = self.live_server_url.rsplit(":", 1)[1]
        with contextlib.suppress(CommandError):
            call_command(
                "device_simulator",
                url=f"http://{host}:{port}",
                token=self.token.token,
                device=["pi37"],
                operations="register",
                stdout=out,
                stderr=err,
            )
        return out.getvalue(), err.getvalue()

    def test_change_name_resynchronize_and_register_at_the_new_url(self):
        self.login("admin", PASSWORD)
        self.page.get_by_role("heading", name="Admin Workspace").wait_for()
        self.page.click("[data-testid=widget-security]")
        card = self.page.locator("[data-testid=host-common-name]")
        self.assertEqual(
            card.locator("[data-testid=host-common-name-value]").inner_text(), "10.0.0.5"
        )

        # A wrong value is refused with the reason, and nothing changes.
        self.page.fill("#id_name", "not a host")
        self.page.get_by_role("button", name="Save").click()
        self.page.get_by_text(
            "neither an IP address nor a fully qualified domain name"
        ).first.wait_for()
        self.assertEqual(
            card.locator("[data-testid=host-common-name-value]").inner_text(), "10.0.0.5"
        )

        self.page.fill("#id_name", "127.0.0.1")
        self.page.get_by_role("button", name="Save").click()
        self.page.get_by_text("Host Common Name set to 127.0.0.1").wait_for()
        warning = self.page.locator("[data-testid=resync-warning]")
        self.assertIn("Re-synchronization required", warning.inner_text())
        self.assertIn("TEST", warning.inner_text())
        self.assertIn("https://127.0.0.1", card.inner_text())
        self.screenshot("security-host-common-name-resync-required")

        # Before the sync, registration at the new name is refused and says to synchronize.
        out, err = self.register("127.0.0.1")
        self.assertNotIn(" OK ", out)
        self.assertIn("FAIL register", err)
        self.assertIn("synchronize", err)
        self.assertFalse(ProductInstance.objects.exists())

        # Synchronize the account from the Synchronization widget.
        self.page.goto(self.url("/admin/"))
        self.page.click("[data-testid=widget-synchronization]")
        row = self.page.locator("[data-testid=sync-row][data-account='TEST']")
        self.assertEqual(
            row.locator("[data-testid=resync-required]").inner_text(), "Re-synchronization required"
        )
        self.screenshot("synchronization-resync-required")
        row.locator("[data-testid=sync-now]").click()
        self.page.locator("[data-testid=sync-row][data-account='TEST']").locator(
            "[data-testid=sync-alert]"
        ).get_by_text("Synchronization Successful").wait_for(timeout=60000)
        self.screenshot("security-resynchronized")
        row = self.page.locator("[data-testid=sync-row][data-account='TEST']")
        self.assertEqual(row.locator("[data-testid=resync-required]").count(), 0)

        self.page.goto(self.url("/admin/security/certificates/"))
        self.page.locator("[data-testid=host-common-name-value]").wait_for()
        # TEST synchronized; only the accounts never registered with CSC still show.
        self.assertNotIn("TEST", self.page.locator("[data-testid=resync-warning]").inner_text())

        # The product certificate is now CSC's, for the new name; a product registers.
        ca = licensing.product_ca()
        self.assertEqual(ca.host_common_name, "127.0.0.1")
        chain = x509.load_pem_x509_certificates(ca.chain_pem.encode())
        root = next(c for c in chain if c.issuer == c.subject)
        self.assertIn("OK", openssl_verify(ca.certificate_pem, ca.chain_pem, pem(root)))
        out, err = self.register("127.0.0.1")
        self.assertIn("OK register UDI_PID:PI-SOFTWARE; UDI_SN:pi37", out, err)
        instance = ProductInstance.objects.get()
        self.assertIn(
            "OK",
            openssl_verify(instance.certificate_pem, ca.certificate_pem + ca.chain_pem, pem(root)),
        )

        # The Event Log tab has the change.
        self.page.goto(self.url("/admin/security/event-log/"))
        events = self.page.locator("[data-testid=security-events]").inner_text()
        self.assertIn("Host Common Name changed from 10.0.0.5 to 127.0.0.1", events)
        self.assertIn("Local account TEST synchronized", events)
        self.screenshot("security-event-log")


class BrowserCertificateBrowserTests(BrowserTestCase):
    """Generate a CSR on the page, have it signed, add the certificate with its chain."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.dir = Path(self.tmp.name)
        ensure_browser_certificate(self.dir)
        override = override_settings(
            BROWSER_CERT_DIR=self.dir, WEB_PID_FILE=str(self.dir / "x.pid")
        )
        override.enable()
        self.addCleanup(override.disable)
        build_personas(self)

    def test_generate_csr_then_add_the_signed_certificate(self):
        self.login("admin", PASSWORD)
        self.page.get_by_role("heading", name="Admin Workspace").wait_for()
        self.page.goto(self.url("/admin/security/certificates/"))
        card = self.page.locator("[data-testid=browser-certificate]")
        self.assertEqual(card.locator("[data-testid=browser-cn]").inner_text(), "localhost")
        card.locator("summary", has_text="Generate CSR").click()
        card.locator("#id_common_name").fill("ssm.example.com")
        card.locator("#id_subject_alternative_names").fill("ssm-a.example.com, 10.0.0.5")
        card.locator("#id_organization").fill("Example Corp")
        card.locator("#id_country").fill("JP")
        card.get_by_role("button", name="Generate CSR").click()
        self.page.get_by_text("CSR generated").wait_for()
        with self.page.expect_download() as download:
            self.page.get_by_role("link", name="Download CSR").click()
        csr_pem = Path(download.value.path()).read_text()
        self.assertIn("BEGIN CERTIFICATE REQUEST", csr_pem)
        self.screenshot("security-browser-csr")

        ca = TestCA()
        signed = pem(ca.sign(csr_pem))
        card = self.page.locator("[data-testid=browser-certificate]")
        card.locator("summary", has_text="Add Certificate").click()
        card.locator("#id_certificate").fill(signed)
        card.get_by_role("button", name="Add Certificate").click()
        self.page.get_by_text("The chain is incomplete").wait_for()  # no root yet: refused

        card = self.page.locator("[data-testid=browser-certificate]")
        card.locator("summary", has_text="Add Certificate").click()
        card.locator("#id_certificate").fill(signed)
        card.locator("#id_chain").fill(ca.chain_pem)
        card.get_by_role("button", name="Add Certificate").click()
        self.page.get_by_text("Browser Certificate for ssm.example.com installed").wait_for()
        self.assertEqual(
            self.page.locator("[data-testid=browser-cn]").inner_text(), "ssm.example.com"
        )
        self.assertIn(
            "Example Root CA", self.page.locator("[data-testid=ca-certificates]").inner_text()
        )
        self.screenshot("security-browser-certificate-installed")
        served = (self.dir / "browser.crt").read_text()
        self.assertIn("OK", openssl_verify(served, served, pem(ca.root)))
