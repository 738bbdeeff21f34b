"""What the settings accept as a server's address (NTP, syslog, proxy)."""

import ipaddress
import re

LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){LABEL}(\.{LABEL})*$")


def is_host(value: str) -> bool:
    """A host name (letters, digits, hyphens, dots) or an IP address (v4 or v6, no brackets)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return bool(HOST_NAME.match(value))
    return True
