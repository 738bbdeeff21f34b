"""The licenses products ask for: names, billing and the substitution tier order.

Substitution: inside one family a higher tier may cover a lower tier's shortfall.
The tiers below are ordered from lowest (1) to highest; a license that is not listed
is its own family and is never substituted.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class LicenseInfo:
    """What the server knows about an entitlement tag."""

    tag: str
    name: str
    product_type: str
    family: str
    tier: int
    billing: str = "Prepaid"


CATALOG = [
    LicenseInfo(
        "regid.2017-03.com.cisco.PI_BASE,3.0",
        "Prime Infrastructure 3.x, Base Lic",
        "SDNMGMT",
        "prime-infrastructure",
        1,
    ),
    LicenseInfo(
        "regid.2017-03.com.cisco.PI_LIFECYCLE,3.0",
        "Prime Infrastructure 3.x, Lifecycle Lic",
        "SDNMGMT",
        "prime-infrastructure",
        2,
    ),
    LicenseInfo(
        "regid.2017-03.com.cisco.PI_ASSURANCE,3.0",
        "Prime Infrastructure 3.x, Assurance Lic",
        "SDNMGMT",
        "prime-infrastructure-assurance",
        1,
    ),
    LicenseInfo(
        "regid.2016-07.com.cisco.UCM_Essential,14.0",
        "CUCM Essential (CUCM 14)",
        "UCL",
        "unified-cm",
        1,
    ),
    LicenseInfo(
        "regid.2016-07.com.cisco.UCM_Basic,14.0", "CUCM Basic (CUCM 14)", "UCL", "unified-cm", 2
    ),
    LicenseInfo(
        "regid.2016-07.com.cisco.UCM_Enhanced,14.0",
        "CUCM Enhanced (CUCM 14)",
        "UCL",
        "unified-cm",
        3,
    ),
    LicenseInfo(
        "regid.2016-07.com.cisco.UCM_EnhancedPlus,14.0",
        "CUCM Enhanced Plus (CUCM 14)",
        "UCL",
        "unified-cm",
        4,
    ),
    LicenseInfo(
        "regid.2016-07.com.cisco.UCM_CUWL,14.0", "CUWL Standard (CUCM 14)", "UCL", "unified-cm", 5
    ),
]
BY_TAG = {info.tag: info for info in CATALOG}


def license_info(tag: str, name: str = "") -> LicenseInfo:
    """The catalogue entry for a tag, or a single-tier entry of its own family."""
    found = BY_TAG.get(tag)
    if found is not None:
        return found
    return LicenseInfo(tag, name or tag, "", f"tag:{tag}", 1)
