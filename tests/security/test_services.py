"""Host Common Name and product URLs."""

from django.test import TestCase, override_settings

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
