"""Security widget pages: Certificates, Account Password, Event Log."""

import tempfile
from pathlib import Path

from django.test import TestCase, override_settings
from django.urls import reverse

from core.models import Event
from security import services
from security.models import BrowserCertificateRequest
from tests.support.personas import build_personas

from .pki import TestCA, pem


@override_settings(HOST_COMMON_NAME="10.0.0.5", PRODUCT_URL_PORT=443, NETWORK_DUAL_STACK=False)
class SecurityPagesTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)
        services.ensure_browser_certificate(self.dir)
        override = override_settings(
            BROWSER_CERT_DIR=self.dir, WEB_PID_FILE=str(self.dir / "x.pid")
        )
        override.enable()
        self.addCleanup(override.disable)

    def test_only_system_administrators(self):
        pages = ["security:certificates", "security:account-password", "security:event-log"]
        for name in pages:
            url = reverse(name)
            self.client.logout()
            self.assertRedirects(self.client.get(url), f"{reverse('login')}?next={url}")
            for user in (self.operator, self.alice, self.victor, self.bob):
                self.client.force_login(user)
                self.assertEqual(self.client.get(url).status_code, 403, (name, user))
            self.client.force_login(self.admin)
            self.assertEqual(self.client.get(url).status_code, 200)

    def test_workspace_tile_opens_security(self):
        self.client.force_login(self.admin)
        page = self.client.get(reverse("admin-workspace"))
        self.assertContains(page, f'href="{reverse("security:certificates")}"')

    def test_certificates_page_shows_name_urls_and_browser_certificate(self):
        self.client.force_login(self.admin)
        page = self.client.get(reverse("security:certificates"))
        self.assertContains(page, "10.0.0.5")
        self.assertContains(page, "https://10.0.0.5/Transportgateway/services/DeviceRequestHandler")
        self.assertContains(page, '<td data-testid="browser-cn">localhost</td>', html=True)
        self.assertContains(page, "Self-signed")
        self.assertNotContains(page, "PRIVATE KEY")

    def test_a_host_common_name_the_browser_certificate_does_not_cover_is_flagged(self):
        self.client.force_login(self.admin)
        page = self.client.get(reverse("security:certificates"))  # "localhost" vs 10.0.0.5
        self.assertContains(page, 'data-testid="name-not-covered"')
        self.assertContains(page, "not valid for the Host Common Name <strong>10.0.0.5</strong>")
        key, cert = services.generate_self_signed("ssm.example.com", sans=("10.0.0.5",))
        (self.dir / "browser.crt").write_bytes(cert)
        page = self.client.get(reverse("security:certificates"))
        self.assertNotContains(page, 'data-testid="name-not-covered"')

    def test_certificate_covers(self):
        info = {"subject_alternative_names": ["*.example.com", "192.0.2.7", "2001:db8::1"],
                "common_name": "ignored.example.org"}  # fmt: skip
        for name, expected in (
            ("ssm.example.com", True), ("SSM.Example.com.", True), ("a.b.example.com", False),
            ("example.com", False), ("192.0.2.7", True), ("2001:db8:0::1", True),
            ("192.0.2.8", False), ("ignored.example.org", False),
        ):  # fmt: skip
            self.assertEqual(services.certificate_covers(info, name), expected, name)
        only_cn = {"subject_alternative_names": [], "common_name": "ssm.example.com"}
        self.assertTrue(services.certificate_covers(only_cn, "ssm.example.com"))

    def test_change_host_common_name_then_warning(self):
        self.client.force_login(self.admin)
        response = self.client.post(
            reverse("security:host-common-name"), {"name": "ssm.example.com"}
        )
        self.assertRedirects(response, reverse("security:certificates"))
        page = self.client.get(reverse("security:certificates"))
        self.assertContains(page, "Re-synchronization required")
        self.assertContains(page, "AccountA")
        self.assertContains(page, "https://ssm.example.com/SmartTransport")
        events = self.client.get(reverse("security:event-log"))
        self.assertContains(events, "Host Common Name changed from 10.0.0.5 to ssm.example.com")

    def test_bad_host_common_name_is_a_400_with_the_reason(self):
        self.client.force_login(self.admin)
        response = self.client.post(reverse("security:host-common-name"), {"name": "not a name"})
        self.assertContains(response, "neither an IP address nor", status_code=400)
        self.assertEqual(services.host_common_name(), "10.0.0.5")
        self.assertFalse(Event.objects.exclude(action="logged_in").exists())

    def test_csr_then_upload_through_the_page(self):
        self.client.force_login(self.admin)
        response = self.client.post(
            reverse("security:browser-csr"),
            {
                "common_name": "ssm.example.com",
                "subject_alternative_names": "10.0.0.5, ssm",
                "country": "US",
            },
        )
        self.assertContains(response, "neither an IP address", status_code=400)  # "ssm" alone
        response = self.client.post(
            reverse("security:browser-csr"),
            {
                "common_name": "ssm.example.com",
                "subject_alternative_names": "10.0.0.5",
                "country": "US",
            },
        )
        self.assertRedirects(response, reverse("security:certificates"))
        request = BrowserCertificateRequest.objects.get()
        download = self.client.get(reverse("security:browser-csr-download", args=[request.pk]))
        self.assertEqual(download.content.decode(), request.csr_pem)
        ca = TestCA()
        bad = self.client.post(
            reverse("security:browser-certificate-upload"),
            {"certificate": pem(ca.sign(request.csr_pem)), "chain": ""},
        )
        self.assertContains(bad, "chain is incomplete", status_code=400)
        good = self.client.post(
            reverse("security:browser-certificate-upload"),
            {"certificate": pem(ca.sign(request.csr_pem)), "chain": ca.chain_pem},
        )
        self.assertRedirects(good, reverse("security:certificates"))
        page = self.client.get(reverse("security:certificates"))
        self.assertContains(page, '<td data-testid="browser-cn">ssm.example.com</td>', html=True)
        self.assertContains(page, "Example Root CA")  # now in CA Certificates

    def test_password_policy_form(self):
        self.client.force_login(self.admin)
        url = reverse("security:account-password")
        data = {
            "min_length": 14,
            "history": 3,
            "max_age_days": 60,
            "lockout_threshold": 4,
            "lockout_minutes": 10,
        }
        self.assertRedirects(self.client.post(url, data), url)
        self.assertEqual(services.password_policy().min_length, 14)
        response = self.client.post(url, {**data, "min_length": 4})
        self.assertContains(response, "from 8 to 128", status_code=400)
        self.assertEqual(services.password_policy().min_length, 14)


class AdminSetsPasswordPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def test_admin_sets_a_password_and_a_refused_one_is_not_echoed(self):
        self.client.force_login(self.admin)
        url = reverse("security:user-password-set")
        weak = "short-1"
        response = self.client.post(
            url, {"username": "bob", "new_password1": weak, "new_password2": weak}
        )
        self.assertContains(response, "at least 12", status_code=400)
        self.assertNotContains(response, weak, status_code=400)
        strong = "Brand-New-Pass-2026"
        response = self.client.post(
            url, {"username": "bob", "new_password1": strong, "new_password2": strong}
        )
        self.assertRedirects(response, reverse("security:account-password"))
        self.bob.refresh_from_db()
        self.assertTrue(self.bob.check_password(strong))

    def test_only_administrators(self):
        self.client.force_login(self.alice)
        strong = "Brand-New-Pass-2026"
        response = self.client.post(
            reverse("security:user-password-set"),
            {"username": "bob", "new_password1": strong, "new_password2": strong},
        )
        self.assertEqual(response.status_code, 403)
        self.bob.refresh_from_db()
        self.assertFalse(self.bob.check_password(strong))
