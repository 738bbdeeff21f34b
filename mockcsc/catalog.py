"""The licenses and virtual accounts the mock CSC is seeded with (the spec's scenarios)."""

SMART_ACCOUNT = "BU Production Test"
DOMAIN = "bu-production-test.example.com"

PRIME = [
    ("Prime Infrastructure 3.x, Base Lic", "regid.2017-03.com.cisco.PI_BASE,3.0", 50),
    ("Prime Infrastructure 3.x, Assurance Lic", "regid.2017-03.com.cisco.PI_ASSURANCE,3.0", 25),
    ("Prime Infrastructure 3.x, Lifecycle Lic", "regid.2017-03.com.cisco.PI_LIFECYCLE,3.0", 25),
]
UC_MANAGER = [
    ("UC Manager Essential License (12.x)", "regid.2016-07.com.cisco.UCM_Essential,14.0", 100),
    ("UC Manager Basic License (12.x)", "regid.2016-07.com.cisco.UCM_Basic,14.0", 100),
    ("UC Manager Enhanced License (12.x)", "regid.2016-07.com.cisco.UCM_Enhanced,14.0", 50),
    (
        "UC Manager Enhanced Plus License (12.x)",
        "regid.2016-07.com.cisco.UCM_EnhancedPlus,14.0",
        20,
    ),
    (
        "UC Manager Telepresence Room License (12.x)",
        "regid.2016-07.com.cisco.UCM_TelePresenceRoom,14.0",
        5,
    ),
]
ALL_LICENSES = [(n, t, q, "SDNMGMT") for n, t, q in PRIME] + [
    (n, t, q, "UCL") for n, t, q in UC_MANAGER
]

# Virtual account name -> licenses (name, tag, quantity, product type); quantity None = all zero.
VIRTUAL_ACCOUNTS = {
    "Default": ALL_LICENSES,
    "Prime Infrastructure": [(n, t, q, "SDNMGMT") for n, t, q in PRIME],
    "Collaboration": [(n, t, q, "UCL") for n, t, q in UC_MANAGER],
    "TEST": ALL_LICENSES,
    "Lab": [(n, t, 0, p) for n, t, _, p in ALL_LICENSES],
}
