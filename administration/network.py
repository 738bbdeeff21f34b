"""The server's network as the machine reports it (Network widget): interfaces, routes, DNS."""

import ipaddress
import socket
import struct
from pathlib import Path

import psutil

PROC_ROUTE = Path("/proc/net/route")
PROC_IPV6_ROUTE = Path("/proc/net/ipv6_route")
RESOLV_CONF = Path("/etc/resolv.conf")
RTF_UP = 0x1
RTF_LOCAL = 0x80000000  # the kernel's routes to this host's own addresses


def _address(family, address: str, netmask: str | None) -> dict | None:
    """An interface address and the same with its prefix length (None: not IP)."""
    if family not in (socket.AF_INET, socket.AF_INET6):
        return None
    address = address.split("%", 1)[0]  # fe80::1%eth0
    prefix = bin(int(ipaddress.ip_address(netmask))).count("1") if netmask else None
    return {"ip": address, "cidr": address if prefix is None else f"{address}/{prefix}"}


def interfaces() -> list[dict]:
    """Name, state, MAC, MTU, speed and IP addresses of every interface, by name."""
    stats = psutil.net_if_stats()
    rows = []
    for name, addrs in sorted(psutil.net_if_addrs().items()):
        stat = stats.get(name)
        addresses = [a for a in (_address(x.family, x.address, x.netmask) for x in addrs) if a]
        mac = next((x.address for x in addrs if x.family == psutil.AF_LINK), "")
        rows.append(
            {
                "name": name,
                "up": bool(stat and stat.isup),
                "mtu": stat.mtu if stat else None,
                "speed": stat.speed if stat and stat.speed > 0 else None,
                "mac": mac,
                "addresses": addresses,
            }
        )
    return rows


def _ipv4(hex_value: str) -> ipaddress.IPv4Address:
    # /proc/net/route writes addresses in the machine's byte order
    return ipaddress.IPv4Address(struct.pack("=L", int(hex_value, 16)))


def _ipv6(hex_value: str) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(bytes.fromhex(hex_value))


def routes(proc_route: Path = PROC_ROUTE, proc_ipv6_route: Path = PROC_IPV6_ROUTE) -> list[dict]:
    """The main routing table: destination, gateway, interface, metric (IPv4, then IPv6)."""
    rows = []
    try:
        lines = proc_route.read_text().splitlines()[1:]
    except OSError:
        lines = []
    for line in lines:
        iface, dest, gateway, flags, _, _, metric, mask = line.split()[:8]
        if not int(flags, 16) & RTF_UP:
            continue
        network = ipaddress.IPv4Network(f"{_ipv4(dest)}/{_ipv4(mask)}")
        rows.append(_route(network, _ipv4(gateway), iface, int(metric)))
    try:
        lines = proc_ipv6_route.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        dest, prefix, _, _, gateway, metric, _, _, flags, iface = line.split()[:10]
        flags = int(flags, 16)
        network = ipaddress.IPv6Network(f"{_ipv6(dest)}/{int(prefix, 16)}")
        if iface == "lo" or not flags & RTF_UP or flags & RTF_LOCAL or network.is_multicast:
            continue
        rows.append(_route(network, _ipv6(gateway), iface, int(metric, 16)))
    return rows


def _route(network, gateway, iface: str, metric: int) -> dict:
    return {
        "destination": "default" if network.prefixlen == 0 else str(network),
        "gateway": "" if gateway.is_unspecified else str(gateway),
        "interface": iface,
        "metric": metric,
    }


def dns_servers(resolv_conf: Path = RESOLV_CONF) -> list[str]:
    """The name servers the machine uses (resolv.conf)."""
    try:
        lines = resolv_conf.read_text().splitlines()
    except OSError:
        return []
    return [p[1] for p in (line.split() for line in lines) if len(p) > 1 and p[0] == "nameserver"]


def network_state() -> dict:
    """Host name, interfaces, routes and DNS servers of this server."""
    return {
        "hostname": socket.gethostname(),
        "interfaces": interfaces(),
        "routes": routes(),
        "dns_servers": dns_servers(),
    }
