"""Cluster observations for the HA tests: crm_mon XML as pacemaker 2.1 writes it.

fixtures/crm_mon_normal.xml is the output of `crm_mon --output-as=xml` on the lab's
primary-node with the cluster Normal; `crm_mon_xml` writes the other states in the same shape.
"""

from pathlib import Path

from highavailability import cluster, services
from highavailability.models import ClusterStatus

FIXTURES = Path(__file__).parent / "fixtures"
NORMAL_XML = (FIXTURES / "crm_mon_normal.xml").read_text()
PRIMARY, SECONDARY = "primary-node", "secondary-node"
CONFIGURED = [
    cluster.ClusterNode(PRIMARY, 1, "169.254.101.11"),
    cluster.ClusterNode(SECONDARY, 2, "169.254.101.12"),
]
PUBLIC = {PRIMARY: "169.254.100.11", SECONDARY: "169.254.100.12"}
VIP = "169.254.100.10"
SYSTEM = services.SystemInfo(physical_memory=8 * 1024**3, disk_space=100 * 1024**3, version="8.1")


def crm_mon_xml(
    online=(PRIMARY, SECONDARY),
    promoted=PRIMARY,
    unpromoted=SECONDARY,
    dc=None,
    complete=(PRIMARY, SECONDARY),
    quorate=True,
):
    """crm_mon XML: which nodes are online, where PostgreSQL is promoted / a replica, and
    which nodes the guard marked complete (they also hold a positive promotion score)."""
    dc = dc or (promoted or (online[0] if online else None))
    nodes = "\n".join(
        f'<node name="{name}" id="{i}" online="{"true" if name in online else "false"}" '
        f'standby="false" unclean="false" type="member"/>'
        for i, name in enumerate((PRIMARY, SECONDARY), start=1)
    )
    resources = []
    for role, host in (("Unpromoted", unpromoted), ("Promoted", promoted)):
        if host:
            resources.append(
                f'<resource id="pgsqld" resource_agent="ocf:heartbeat:pgsqlms" role="{role}" '
                f'active="true" failed="false" nodes_running_on="1"><node name="{host}" id="1"/>'
                "</resource>"
            )
    vip = ""
    if promoted:
        vip = (
            '<resource id="vip" resource_agent="ocf:heartbeat:IPaddr2" role="Started" '
            f'active="true" failed="false" nodes_running_on="1"><node name="{promoted}" id="1"/>'
            "</resource>"
        )
    quorum = "true" if quorate else "false"
    summary = f'<current_dc present="true" name="{dc}" with_quorum="{quorum}"/>' if dc else ""
    attributes = "".join(
        f'<node name="{name}"><attribute name="master-pgsqld" '
        f'value="{1000 if name in complete else -1000}"/><attribute name="ssm-complete" '
        f'value="{1 if name in complete else 0}"/>'
        + ("" if name in complete else
           '<attribute name="ssm-async-since" value="2026-11-29T20:07:51Z 0/3080928"/>')
        + "</node>"
        for name in (PRIMARY, SECONDARY)
    )  # fmt: skip
    return (
        '<pacemaker-result api-version="2.25"><summary>'
        f"{summary}</summary><nodes>{nodes}</nodes><resources>"
        f'<clone id="pgsql-ha" multi_state="true">{"".join(resources)}</clone>{vip}'
        f"</resources><node_attributes>{attributes}</node_attributes>"
        '<status code="0" message="OK"/></pacemaker-result>'
    )


def database(sync=True, standbys=((SECONDARY, "169.254.100.12"),), lag="00:00:00.016238"):
    """The primary's replication state (pg_stat_replication) as cluster.database_state reads it."""
    return cluster.DatabaseState(
        in_recovery=False,
        synchronous_standby_names="*" if sync else "",
        standbys=[
            cluster.ReplicationPeer(
                name, addr, "2026-11-25 18:18:08", "streaming",
                "sync" if sync else "async", "00:00:00.000323", "00:00:00.012371", lag,
            )
            for name, addr in standbys
        ],
    )  # fmt: skip


def quorumtool(members=(PRIMARY, SECONDARY), qdevice=True, qdevice_voting=True):
    """`corosync-quorumtool -s`: the nodes and (by default) the quorum device, 1 vote each."""
    expected, needed = (3, 2) if qdevice else (2, 1)
    flags = "Quorate Qdevice" if qdevice else "2Node Quorate WaitForAll"
    column = ("A,V,NMW" if qdevice_voting else "A,NV,NMW") if qdevice else ""
    rows = [f"{i:>10} {1:>10} {column:>10} {name}" for i, name in enumerate(members, start=1)]
    if qdevice and qdevice_voting:
        rows.append(f"{0:>10} {1:>10} {'':>10} Qdevice")
    elif qdevice:
        rows.append(f"{0:>10} {0:>10} {'':>10} Qdevice (votes 1)")
    total = len(members) + (1 if qdevice and qdevice_voting else 0)
    return "\n".join([
        "Quorum information", "------------------",
        f"Nodes:            {len(members)}", "Node ID:          1", "Quorate:          Yes", "",
        "Votequorum information", "----------------------",
        f"Expected votes:   {expected}", f"Highest expected: {expected}",
        f"Total votes:      {total}", f"Quorum:           {needed}", f"Flags:            {flags}",
        "", "Membership information", "----------------------",
        "    Nodeid      Votes    Qdevice Name", *rows, "",
    ])  # fmt: skip


def observation(xml=None, db="normal", local=PRIMARY, public=True, quorum=None):
    """An Observation built from crm_mon XML, the votes and the primary's replication state."""
    return services.build_observation(
        cluster.parse_crm_mon(xml or NORMAL_XML),
        CONFIGURED,
        database() if db == "normal" else db,
        cluster.parse_quorumtool(quorum or quorumtool()),
        vip=VIP,
        local_node=local,
        local_system=SYSTEM,
        public_addresses=PUBLIC if public else {},
    )


def enable_ha():
    """Store a Normal cluster as the collector would (primary active)."""
    services.apply_observation(observation())
    return ClusterStatus.objects.get(pk=1)
