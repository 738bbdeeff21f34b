"""The security API."""

from django.test import TestCase, override_settings

from core.models import Event
from security import services
from tests.support.personas import build_personas

from .pki import TestCA, pem


@override_settings(HOST_COMMON_NAME="10.0.0.5", PRODUCT_URL_PORT=443, NETWORK_DUAL_STACK=False)
class SecurityApiTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def test_get_and_put_host_common_name(self):
        self.client.force_login(self.admin)
        body = self.client.get("/api/v1/security/host-common-name/").json()
        self.assertEqual(body["name"], "10.0.0.5")
        self.assertEqual(body["productUrls"]["smart_transport"], "https://10.0.0.5/SmartTransport")
        response = self.client.put(
            "/api/v1/security/host-common-name/",
            {"name": "ssm.example.com"},
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["resynchronizationRequired"], ["AccountA", "AccountB"])
        self.assertTrue(Event.objects.filter(action="host_common_name_changed").exists())

    def test_bad_name_is_a_400_and_nothing_changes(self):
        self.client.force_login(self.admin)
        response = self.client.put(
            "/api/v1/security/host-common-name/",
            {"name": "bad name"},
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("neither an IP address", response.json()["name"][0])
        self.assertEqual(services.host_common_name(), "10.0.0.5")

    def test_others_are_refused(self):
        for user in (self.operator, self.alice, self.victor, self.bob):
            self.client.force_login(user)
            for url in [
                "/api/v1/security/host-common-name/",
                "/api/v1/security/browser-certificate/",
                "/api/v1/security/ca-certificates/",
            ]:
                self.assertEqual(self.client.get(url).status_code, 403, (user, url))
            response = self.client.put(
                "/api/v1/security/host-common-name/",
                {"name": "x.example.com"},
                content_type="application/json",
            )
            self.assertEqual(response.status_code, 403)
        self.assertEqual(services.host_common_name(), "10.0.0.5")

    def test_browser_certificate_and_ca_list_carry_no_key(self):
        services.add_ca_certificate(pem(TestCA().root))
        self.client.force_login(self.admin)
        cert = self.client.get("/api/v1/security/browser-certificate/")
        self.assertEqual(cert.status_code, 200)
        self.assertNotIn(b"PRIVATE KEY", cert.content)
        cas = self.client.get("/api/v1/security/ca-certificates/").json()
        self.assertEqual(cas["count"], 1)
        self.assertIn("Example Root CA", cas["results"][0]["subject"])
