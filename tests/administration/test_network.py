"""The Network widget: interfaces, routes and name servers read from the machine."""

import ipaddress
import socket
import tempfile
from pathlib import Path

from django.test import TestCase
from django.urls import reverse

from accounts.choices import SystemRole
from administration import network
from highavailability.models import ClusterStatus
from tests.support.personas import make_user

# /proc/net/route: addresses in the machine's (little-endian) byte order; the third route
# is not up.
PROC_ROUTE = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth1\t0000A8C0\t00000000\t0000\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def ipv6_route(dest, prefix, gateway, metric, flags, iface="eth0"):
    """One /proc/net/ipv6_route line (addresses as 32 hex digits, numbers in hex)."""
    hexed = [ipaddress.IPv6Address(a).packed.hex() for a in (dest, "::", gateway)]
    return (
        f"{hexed[0]} {prefix:02x} {hexed[1]} 00 {hexed[2]} {metric:08x} 00000001 00000000"
        f" {flags:08x} {iface:>8}\n"
    )


# A network, a default route, an own address (RTF_LOCAL) and multicast.
PROC_IPV6_ROUTE = (
    ipv6_route("fd00::", 64, "::", 256, 0x1)
    + ipv6_route("::", 0, "fd00::1", 1024, 0x3)
    + ipv6_route("fd00::2", 128, "::", 0, 0x80200001)
    + ipv6_route("ff00::", 8, "::", 256, 0x1)
)


class MachineReadingTests(TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)

    def write(self, name, text):
        path = self.dir / name
        path.write_text(text)
        return path

    def test_routes_of_both_families(self):
        rows = network.routes(
            self.write("route", PROC_ROUTE), self.write("ipv6_route", PROC_IPV6_ROUTE)
        )
        self.assertEqual(
            [(r["destination"], r["gateway"], r["interface"], r["metric"]) for r in rows],
            [
                ("default", "10.0.0.1", "eth0", 100),
                ("10.0.0.0/24", "", "eth0", 0),
                ("fd00::/64", "", "eth0", 256),
                ("default", "fd00::1", "eth0", 1024),
            ],
        )

    def test_unreadable_tables_give_no_routes(self):
        self.assertEqual(network.routes(self.dir / "none", self.dir / "none6"), [])

    def test_dns_servers(self):
        conf = self.write("resolv.conf", "# generated\nsearch example.com\nnameserver 10.0.0.53\n"
                                         "nameserver fd00::53\noptions edns0\n")  # fmt: skip
        self.assertEqual(network.dns_servers(conf), ["10.0.0.53", "fd00::53"])
        self.assertEqual(network.dns_servers(self.dir / "none"), [])

    def test_loopback_interface(self):
        lo = next(i for i in network.interfaces() if i["name"] == "lo")
        self.assertTrue(lo["up"])
        self.assertIn({"ip": "127.0.0.1", "cidr": "127.0.0.1/8"}, lo["addresses"])


class NetworkViewTests(TestCase):
    def test_system_staff_see_the_machine(self):
        for role in (SystemRole.SYSTEM_ADMIN, SystemRole.SYSTEM_OPERATOR):
            self.client.force_login(make_user(f"u-{role}", role))
            response = self.client.get(reverse("network"))
            self.assertContains(response, socket.gethostname())
            self.assertContains(response, "127.0.0.1/8")
            self.assertNotContains(response, 'data-testid="vip"')

    def test_others_are_refused(self):
        self.assertEqual(self.client.get(reverse("network")).status_code, 302)
        self.client.force_login(make_user("user"))
        self.assertEqual(self.client.get(reverse("network")).status_code, 403)

    def test_the_vip_is_marked_on_its_interface(self):
        ClusterStatus.objects.create(pk=1, ha_enabled=True, vip="127.0.0.1")
        self.client.force_login(make_user("admin", SystemRole.SYSTEM_ADMIN))
        response = self.client.get(reverse("network"))
        self.assertContains(response, 'data-testid="vip-badge"', count=1)
        self.assertContains(response, '<td data-testid="vip">127.0.0.1</td>', html=False)
