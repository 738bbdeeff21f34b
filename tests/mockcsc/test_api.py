"""The mock CSC over real HTTPS: registration rules, signatures, faults, manual page."""

import socket
import ssl
import time

import requests
from django.test import SimpleTestCase

from tests.support.csc import CscServer


class MockCscApiTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.csc = CscServer("mockcsc-api").start()

    @classmethod
    def tearDownClass(cls):
        cls.csc.stop()
        super().tearDownClass()

    def setUp(self):
        self.csc.heal()

    def post(self, path, body, **kwargs):
        return requests.post(
            self.csc.url + path, json=body, verify=self.csc.ca_file, timeout=10, **kwargs
        )

    def register(self, va, local="L1", server="server-1"):
        return self.post(
            "/api/v1/registrations",
            {
                "smart_account": "BU Production Test",
                "virtual_account": va,
                "local_account": local,
                "satellite_name": "sat",
                "server_id": server,
            },
        )

    def test_tls_is_as_strict_as_the_servers(self):
        """ECDHE with AES-GCM or ChaCha20 only: a client offering CBC with SHA-1 is refused."""
        weak = ssl.create_default_context(cafile=self.csc.ca_file)
        weak.maximum_version = ssl.TLSVersion.TLSv1_2
        weak.set_ciphers("AES128-SHA:ECDHE-ECDSA-AES128-SHA")
        address = ("127.0.0.1", self.csc.port)
        with (
            self.assertRaises(ssl.SSLError),
            socket.create_connection(address, timeout=10) as raw,
        ):
            weak.wrap_socket(raw, server_hostname="localhost")
        strong = ssl.create_default_context(cafile=self.csc.ca_file)
        with (
            socket.create_connection(address, timeout=10) as raw,
            strong.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            cipher = tls.cipher()[0]
        self.assertTrue("GCM" in cipher or "CHACHA20" in cipher, cipher)

    def test_one_local_account_per_virtual_account(self):
        self.csc.add_virtual_account("Reg-1")
        first = self.register("Reg-1")
        self.assertEqual(first.status_code, 200)
        again = self.register("Reg-1")
        self.assertEqual(again.json()["registration_id"], first.json()["registration_id"])
        other = self.register("Reg-1", local="L2", server="server-2")
        self.assertEqual(other.status_code, 409)
        self.assertIn("already registered to local account L1", other.json()["detail"])
        self.assertEqual(self.register("Nope").status_code, 404)
        missing = self.post("/api/v1/registrations", {"smart_account": "BU Production Test"})
        self.assertEqual(missing.status_code, 400)

    def test_unsigned_or_forged_requests_are_refused(self):
        self.csc.add_virtual_account("Reg-2")
        registration = self.register("Reg-2").json()
        path = f"/api/v1/registrations/{registration['registration_id']}/synchronize"
        self.assertEqual(self.post(path, {"payload": {}}).status_code, 401)
        forged = {
            "payload": {
                "kind": "sync-request",
                "format": "ssm-csc/1",
                "registration_id": registration["registration_id"],
                "server_id": "server-1",
            },
            "signature": "0" * 64,
        }
        answer = self.post(path, forged)
        self.assertEqual(answer.status_code, 401)
        self.assertIn("signature", answer.json()["detail"])
        self.assertEqual(
            self.post("/api/v1/registrations/unknown/synchronize", forged).status_code, 404
        )

    def test_faults(self):
        self.csc.fail("server_error")
        ping = requests.get(self.csc.url + "/api/v1/ping", verify=self.csc.ca_file, timeout=5)
        self.assertEqual(ping.status_code, 503)
        self.csc.fail("slow", 1.0)
        start = time.monotonic()
        ping = requests.get(self.csc.url + "/api/v1/ping", verify=self.csc.ca_file, timeout=5)
        self.assertEqual(ping.status_code, 200)
        self.assertGreaterEqual(time.monotonic() - start, 1.0)

    def test_control_api_needs_the_token(self):
        answer = requests.get(self.csc.url + "/control/fault", verify=self.csc.ca_file, timeout=5)
        self.assertEqual(answer.status_code, 404)

    def test_seed_data_has_the_specs_licenses(self):
        self.csc.add_virtual_account("Reg-3")
        self.assertTrue(self.register("Reg-3").ok)
        registrations = {r["virtual_account"]: r for r in self.csc.registrations()}
        self.assertEqual(registrations["Reg-3"]["local_account"], "L1")

    def test_manual_sync_page_refuses_a_bad_file(self):
        session = requests.Session()
        page = session.get(self.csc.url + "/manual-sync/", verify=self.csc.ca_file, timeout=5)
        self.assertEqual(page.status_code, 200)
        token = session.cookies["csccsrftoken"]
        answer = session.post(
            self.csc.url + "/manual-sync/",
            files={"request_file": ("x.json", b"not json")},
            data={"csrfmiddlewaretoken": token},
            headers={"Referer": self.csc.url + "/manual-sync/"},
            verify=self.csc.ca_file,
            timeout=5,
        )
        self.assertEqual(answer.status_code, 400)
        self.assertIn("not a sync request file", answer.text)

    def test_https_certificate_names(self):
        import subprocess

        text = subprocess.run(
            ["openssl", "x509", "-in", self.csc.ca_file, "-noout", "-ext", "subjectAltName"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.assertIn("IP Address:127.0.0.1", text)
        self.assertIn("DNS:localhost", text)

    def test_operators_edit_quantities_in_the_admin(self):
        import re

        password = (self.csc.data_dir / "admin-password").read_text().strip()
        session = requests.Session()
        base = self.csc.url

        def get(path):
            return session.get(base + path, verify=self.csc.ca_file, timeout=10)

        def token(html):
            return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

        login = get("/admin/login/")
        answer = session.post(
            base + "/admin/login/?next=/admin/",
            data={
                "username": "cscadmin",
                "password": password,
                "csrfmiddlewaretoken": token(login.text),
                "next": "/admin/",
            },
            headers={"Referer": base + "/admin/login/"},
            verify=self.csc.ca_file,
            timeout=10,
        )
        self.assertIn("Site administration", answer.text)
        listing = get("/admin/mockcsc/entitlement/?q=&virtual_account__id__exact=&product_type=UCL")
        self.assertIn("UC Manager Telepresence Room License (12.x)", listing.text)
        self.assertIn("Prepaid", listing.text)
