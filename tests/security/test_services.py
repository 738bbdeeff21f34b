"""Host Common Name and product URLs."""

from django.core.exceptions import ValidationError
from django.test import TestCase, override_settings

from core.models import Event
from security import services
from security.models import HostCommonName


@override_settings(HOST_COMMON_NAME="", PRODUCT_URL_PORT=8443)
class HostCommonNameDefaultTests(TestCase):
    def test_default_is_an_address_of_this_server(self):
        import ipaddress

        name = services.host_common_name()
        ipaddress.ip_address(name)  # raises when not an address
        self.assertFalse(HostCommonName.objects.exists())

    @override_settings(HOST_COMMON_NAME="SSM.Example.com")
    def test_environment_value_is_the_default(self):
        self.assertEqual(services.host_common_name(), "ssm.example.com")

    def test_stored_name_wins(self):
        HostCommonName.objects.create(pk=1, name="10.1.1.1")
        self.assertEqual(services.host_common_name(), "10.1.1.1")


@override_settings(HOST_COMMON_NAME="10.0.0.5", PRODUCT_URL_PORT=8443)
class ProductUrlTests(TestCase):
    def test_three_urls_built_from_the_common_name(self):
        urls = services.product_urls("ACME")
        self.assertEqual(
            urls,
            {
                "smart_call_home": "https://10.0.0.5:8443/Transportgateway/services/DeviceRequestHandler",
                "smart_transport": "https://10.0.0.5:8443/SmartTransport",
                "cslu": "https://10.0.0.5:8443/cslu/v1/pi/ACME-1",
            },
        )

    @override_settings(PRODUCT_URL_PORT=443)
    def test_port_443_is_left_out(self):
        self.assertEqual(
            services.product_urls("A")["smart_transport"], "https://10.0.0.5/SmartTransport"
        )

    @override_settings(PRODUCT_URL_PORT=443, HOST_COMMON_NAME="2001:db8::5")
    def test_ipv6_literal_is_bracketed(self):
        self.assertEqual(
            services.product_urls("A")["smart_transport"], "https://[2001:db8::5]/SmartTransport"
        )


@override_settings(HOST_COMMON_NAME="10.0.0.5", PRODUCT_URL_PORT=443, NETWORK_DUAL_STACK=False)
class HostCommonNameChangeTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        from tests.support.personas import build_personas

        build_personas(cls)

    def test_validation(self):
        ok = {
            "10.1.1.10": "10.1.1.10",
            " SSM.Example.COM. ": "ssm.example.com",
            "2001:DB8::10": "2001:db8::10",
            "ssm-1.lab.example.net": "ssm-1.lab.example.net",
        }
        for value, expected in ok.items():
            self.assertEqual(services.validate_host_common_name(value), expected)
        for bad in [
            "",
            "ssm",
            "ssm_1.example.com",
            "-a.example.com",
            "10.0.0",
            "0.0.0.0",
            "a b.com",
            "x" * 64 + ".example.com",
            "https://ssm.example.com",
        ]:
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                services.validate_host_common_name(bad)

    @override_settings(NETWORK_DUAL_STACK=True)
    def test_dual_stack_needs_fqdn(self):
        with self.assertRaisesMessage(ValidationError, "dual-stack"):
            services.validate_host_common_name("10.1.1.10")
        self.assertEqual(services.validate_host_common_name("ssm.example.com"), "ssm.example.com")

    def test_change_flags_every_account_and_writes_the_event(self):
        services.set_host_common_name("ssm.example.com", by_user=self.admin)
        self.assertEqual(services.host_common_name(), "ssm.example.com")
        self.assertTrue(services.resynchronization_required(self.account_a))
        self.assertTrue(services.resynchronization_required(self.account_b))
        event = Event.objects.get(action="host_common_name_changed")
        self.assertIn("from 10.0.0.5 to ssm.example.com", event.message)
        self.assertEqual(event.username, "admin")
        self.assertEqual(
            services.product_urls("AccountA")["cslu"],
            "https://ssm.example.com/cslu/v1/pi/AccountA-1",
        )

    def test_same_name_is_no_change(self):
        services.set_host_common_name("10.0.0.5", by_user=self.admin)
        self.assertFalse(Event.objects.filter(action="host_common_name_changed").exists())
        self.assertFalse(services.resynchronization_required(self.account_a))

    def test_invalid_name_writes_nothing(self):
        with self.assertRaises(ValidationError):
            services.set_host_common_name("not valid", by_user=self.admin)
        self.assertFalse(HostCommonName.objects.exists())
        self.assertFalse(Event.objects.exists())

    def test_registration_refused_until_synchronized(self):
        services.set_host_common_name("ssm.example.com", by_user=self.admin)
        with self.assertRaises(services.RegistrationRefused) as refused:
            services.check_registration_name("ssm.example.com:8443", self.account_a)
        self.assertEqual(refused.exception.code, "resynchronization_required")
        self.assertIn("synchronize local account AccountA", refused.exception.message)
        # At the old name the product is told the new URL.
        with self.assertRaises(services.RegistrationRefused) as refused:
            services.check_registration_name("10.0.0.5", self.account_a)
        self.assertIn(
            "https://ssm.example.com/Transportgateway/services/DeviceRequestHandler",
            refused.exception.message,
        )
        # After the account's flag is cleared, the new name is accepted.
        services.clear_resynchronization(self.account_a, "ssm.example.com")
        services.check_registration_name("ssm.example.com", self.account_a)
        with self.assertRaises(services.RegistrationRefused):
            services.check_registration_name("ssm.example.com", self.account_b)
        self.assertTrue(
            Event.objects.filter(
                action="product_certificate_resynchronized", account=self.account_a
            )
        )


@override_settings(HOST_COMMON_NAME="10.0.0.5", PRODUCT_URL_PORT=443, NETWORK_DUAL_STACK=False)
class GatewayRegistrationTests(TestCase):
    """The Transport Gateway refuses registration for an account that has not synchronized."""

    @classmethod
    def setUpTestData(cls):
        from tests.support.personas import build_personas

        build_personas(cls)

    def test_registration_at_the_previous_name_is_refused_with_the_new_url(self):
        from django.test import Client as DjangoClient

        from licensing import services as licensing
        from licensing.models import ProductInstance
        from licensing.simulator import Device
        from tests.licensing.support import token_for

        services.set_host_common_name("old.example.com", by_user=self.admin)
        services.set_host_common_name("new.example.com", by_user=self.admin)
        licensing.product_ca()
        services.clear_resynchronization(self.account_a, "new.example.com")
        token = token_for(self.account_a.default_virtual_account).token
        path = "/Transportgateway/services/DeviceRequestHandler"
        client = DjangoClient()

        def register(host, name):
            body = Device.named(name).register_envelope(token)
            return client.post(path, data=body, content_type="application/json", HTTP_HOST=host)

        refused = register("old.example.com:8443", "pi37")
        self.assertEqual(refused.status_code, 409, refused.content)
        error = refused.json()["error"]
        self.assertEqual(error["code"], "host_common_name_changed")
        self.assertIn("https://new.example.com", error["message"])
        self.assertFalse(ProductInstance.objects.filter(udi_sn="pi37").exists())
        accepted = register("new.example.com:8443", "cucm-pub-30")
        self.assertEqual(accepted.status_code, 200, accepted.content)

    def test_flagged_account_is_refused_other_account_is_not(self):
        from licensing import services as licensing
        from licensing.simulator import Device, GatewayRefused
        from tests.licensing.support import gateway_client, token_for

        services.set_host_common_name("ssm.example.com", by_user=self.admin)
        licensing.product_ca()  # issued for the new name already (first use after the change)
        services.clear_resynchronization(self.account_b, "ssm.example.com")
        client = gateway_client()
        with self.assertRaises(GatewayRefused) as refused:
            client.register(
                Device.named("pi37"), token_for(self.account_a.default_virtual_account).token
            )
        self.assertEqual(refused.exception.status, 409)
        self.assertIn("resynchronization_required", str(refused.exception))
        self.assertIn("synchronize local account AccountA", str(refused.exception))
        answer = client.register(
            Device.named("cucm-pub-30"), token_for(self.account_b.default_virtual_account).token
        )
        self.assertIn("certificate", answer)
