"""Settings → Cisco Connectivity against the real parts: the mock CSC over HTTPS and
Debian's tinyproxy, with and without authentication, and down. Each failing step of the
connection test names itself and the way out."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.test import TestCase, override_settings

from accounts import csc_client
from accounts.models import CiscoConnection, LocalAccount
from accounts.services import check_cisco_connection, save_cisco_connection
from core.models import Event
from tests.accounts.helpers import CscPersonasMixin
from tests.security.pki import TestCA, pem
from tests.support.ports import free_port
from tests.support.tinyproxy import Tinyproxy

PROXY_USER, PROXY_PASSWORD = "ssm-proxy", "Proxy-Pass-7"


class CiscoConnectivityTests(CscPersonasMixin, TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.open_proxy = Tinyproxy().start()
        cls.auth_proxy = Tinyproxy(user=PROXY_USER, password=PROXY_PASSWORD).start()

    @classmethod
    def tearDownClass(cls):
        cls.open_proxy.cleanup()
        cls.auth_proxy.cleanup()
        super().tearDownClass()

    def csc_target(self) -> str:
        parts = urlsplit(self.csc.url)
        return f"{parts.hostname}:{parts.port}"

    def through(self, proxy: Tinyproxy, password: str = PROXY_PASSWORD):
        authenticated = proxy is self.auth_proxy
        return save_cisco_connection(
            proxy_host="127.0.0.1",
            proxy_port=proxy.port,
            proxy_username=PROXY_USER if authenticated else "",
            proxy_password=password if authenticated else None,
            by_user=self.admin,
        )

    def failed(self, steps) -> tuple[str, str]:
        step = next(s for s in steps if not s.ok)
        return step.name, step.detail

    def test_registration_and_synchronization_go_through_an_authenticating_proxy(self):
        self.through(self.auth_proxy)
        before = len(self.auth_proxy.connects())
        account = self.registered_account()
        self.assertEqual(account.status, "active")
        self.assertIn(self.csc_target(), self.auth_proxy.connects()[before:])
        steps = check_cisco_connection(by_user=self.admin)
        self.assertEqual(
            [s.name for s in steps], ["DNS", "Proxy", "TLS and Cisco Software Central"]
        )
        self.assertTrue(all(s.ok for s in steps), steps)
        # the password is stored encrypted and never written into an event
        row = CiscoConnection.objects.get()
        self.assertNotIn(PROXY_PASSWORD, row.proxy_password_encrypted)
        self.assertFalse(Event.objects.filter(message__contains=PROXY_PASSWORD).exists())
        event = Event.objects.filter(action="cisco_connection_changed").latest("id")
        self.assertIn(
            f"through the proxy 127.0.0.1:{self.auth_proxy.port} as ssm-proxy", event.message
        )

    def test_an_open_proxy_and_a_direct_connection(self):
        self.through(self.open_proxy)
        self.assertTrue(csc_client.ping())
        self.assertIn(self.csc_target(), self.open_proxy.connects())
        save_cisco_connection(by_user=self.admin)  # no proxy host: direct
        count = len(self.open_proxy.connects())
        self.assertTrue(csc_client.ping())
        self.assertEqual(len(self.open_proxy.connects()), count)

    def test_wrong_proxy_credentials_are_named(self):
        self.through(self.auth_proxy, password="not-the-password")
        name, detail = self.failed(check_cisco_connection(by_user=self.admin))
        self.assertEqual(name, "Proxy")
        self.assertIn("refused the credentials (HTTP 40", detail)
        self.assertIn("check the proxy user name and password", detail)
        accounts = LocalAccount.objects.count()
        with self.assertRaisesMessage(ValidationError, "refused the credentials"):
            self.registered_account()
        self.assertEqual(LocalAccount.objects.count(), accounts)
        self.assertTrue(
            Event.objects.filter(action="cisco_connection_tested", result="failure").exists()
        )

    def test_proxy_down_unknown_host_and_unreachable_csc(self):
        down = free_port()
        save_cisco_connection(proxy_host="127.0.0.1", proxy_port=down, by_user=self.admin)
        name, detail = self.failed(check_cisco_connection(by_user=self.admin))
        self.assertEqual(name, "Proxy")
        self.assertIn(f"The proxy at 127.0.0.1:{down} refused the connection", detail)
        self.assertFalse(csc_client.ping())
        with self.assertRaisesMessage(ValidationError, "refused the connection"):
            self.registered_account()

        save_cisco_connection(proxy_host="proxy.invalid", proxy_port=3128, by_user=self.admin)
        name, detail = self.failed(check_cisco_connection(by_user=self.admin))
        self.assertEqual(name, "DNS")
        self.assertIn("The proxy's host name proxy.invalid does not resolve", detail)

        # the proxy works but cannot reach CSC
        self.through(self.open_proxy)
        save_cisco_connection(
            url=f"https://127.0.0.1:{down}", proxy_host="127.0.0.1",
            proxy_port=self.open_proxy.port, by_user=self.admin,
        )  # fmt: skip
        name, detail = self.failed(check_cisco_connection(by_user=self.admin))
        self.assertEqual(name, "Proxy")
        self.assertIn("could not open a connection to Cisco Software Central (HTTP 5", detail)

    def test_a_certificate_from_another_ca_fails_at_tls(self):
        other = self.csc.data_dir / "other-ca.crt"
        other.write_text(pem(TestCA("Not CSC's CA").root))
        with override_settings(CSC_CA_FILE=str(other)):
            name, detail = self.failed(check_cisco_connection(by_user=self.admin))
        self.assertEqual(name, "TLS")
        self.assertIn("could not be verified", detail)

    def test_bad_settings_are_refused_and_change_nothing(self):
        self.through(self.auth_proxy)
        saved = CiscoConnection.objects.get()
        for arguments, field in (
            ({"proxy_host": "127.0.0.1"}, "proxy_port"),
            ({"proxy_port": 3128}, "proxy_host"),
            ({"proxy_host": "p", "proxy_port": 1, "proxy_username": "u2"}, "proxy_password"),
            ({"url": "http://csc.example.com"}, "url"),
        ):
            with self.subTest(arguments), self.assertRaises(ValidationError) as refused:
                if arguments.get("proxy_username") == "u2":
                    CiscoConnection.objects.filter(pk=1).update(proxy_password_encrypted="")
                save_cisco_connection(**arguments, by_user=self.admin)
            self.assertIn(field, refused.exception.message_dict)
        CiscoConnection.objects.filter(pk=1).update(
            proxy_password_encrypted=saved.proxy_password_encrypted
        )
        # an empty password keeps the stored one
        self.through(self.auth_proxy, password="")
        self.assertTrue(csc_client.ping())


class CiscoConnectivityPageTests(CscPersonasMixin, TestCase):
    url = "/admin/settings/cisco/"

    def test_save_test_and_errors_next_to_their_field(self):
        self.client.force_login(self.admin)
        self.assertContains(self.client.get(self.url), "Test Connection")
        response = self.client.post(self.url, {"proxy_host": "http://proxy", "proxy_port": ""})
        self.assertContains(response, "Give only the host name", status_code=400)
        response = self.client.post(self.url, {"proxy_host": "127.0.0.1", "proxy_port": ""})
        self.assertContains(response, "Give the proxy", status_code=400)
        self.assertFalse(CiscoConnection.objects.exists())
        response = self.client.post(self.url, {"url": self.csc.url}, follow=True)
        self.assertContains(response, "Cisco connectivity saved.")
        response = self.client.post(self.url, {"test": "1"})
        self.assertContains(response, "Certificate verified; Cisco Software Central answered")

    def test_only_system_administrators(self):
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get(self.url).status_code, 403)
        self.assertEqual(self.client.post(self.url, {"test": "1"}).status_code, 403)
