"""ha_deploy: form the cluster from this server (the primary) and a provisioned secondary."""

import socket

from django.conf import settings
from django.core.management.base import CommandError

from highavailability import cluster, formation
from highavailability.choices import HAJobKind
from highavailability.services import JobReporter

from ._base import HACommand

ASKED = {
    "primary_address": "Public IP address of this server (the primary)",
    "primary_cluster_address": "Cluster (heartbeat) IP address of this server",
    "secondary_address": "Public IP address of the secondary",
    "secondary_cluster_address": "Cluster (heartbeat) IP address of the secondary",
    "vip": "Virtual IP address (VIP)",
}


class Command(HACommand):
    help = (
        "Form the HA cluster: copy this server's database to the secondary (prepared with "
        "ha_provision_standby), configure corosync and pacemaker on both, start the cluster."
    )

    def add_arguments(self, parser):
        parser.add_argument("--primary-address")
        parser.add_argument("--primary-cluster-address")
        parser.add_argument("--secondary-address")
        parser.add_argument("--secondary-cluster-address")
        parser.add_argument("--secondary-name", default="", help="default: its host name")
        parser.add_argument("--vip", default=settings.HA_VIP or None)
        parser.add_argument(
            "--fence-agent",
            default=settings.HA_FENCE_AGENT,
            help="stonith agent (fence_ipmilan, fence_vmware_rest, fence_sbd...); empty = none",
        )
        parser.add_argument(
            "--fence-param",
            action="append",
            default=None,
            help="name=value for the agent, or node:name=value for one node's device (repeat)",
        )
        parser.add_argument(
            "--qdevice-host", default=settings.HA_QDEVICE_HOST, help="corosync-qnetd"
        )
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def ask(self, options, key):
        if options.get(key):
            return options[key]
        flag = "--" + key.replace("_", "-")
        try:
            answer = input(f"{ASKED[key]}: ").strip()
        except EOFError:
            answer = ""
        if not answer:
            raise CommandError(f"Error: {ASKED[key]} is required ({flag})")
        return answer

    def handle(self, *args, **options):
        if cluster.ha_enabled():
            raise CommandError("Error: HA is already enabled on this node: run ha_teardown first")
        check = formation.check_address
        primary_address = check(self.ask(options, "primary_address"), "primary address")
        secondary_address = check(self.ask(options, "secondary_address"), "secondary address")
        primary_cluster = check(
            self.ask(options, "primary_cluster_address"), "primary cluster address"
        )
        secondary_cluster = check(
            self.ask(options, "secondary_cluster_address"), "secondary cluster address"
        )
        vip = check(self.ask(options, "vip"), "VIP")
        if len({primary_address, secondary_address, vip}) < 3:
            raise CommandError("Error: the two public addresses and the VIP must all differ")
        peer = formation.Peer(secondary_address)
        me = socket.gethostname()
        secondary_name = options["secondary_name"] or peer.hello.get("name", "")
        if not formation.NODE_NAME.match(secondary_name) or secondary_name == me:
            raise CommandError(
                f"Error: the secondary's name '{secondary_name}' is not usable: it must be a "
                f"host name other than this server's ({me})"
            )
        names = [me, secondary_name]
        params = (
            options["fence_param"]
            if options["fence_param"] is not None
            else settings.HA_FENCE_PARAMS
        )
        qdevice = None
        if options["qdevice_host"]:
            qdevice = {
                "host": options["qdevice_host"],
                "port": settings.HA_QDEVICE_PORT,
                "timeout": settings.HA_QDEVICE_TIMEOUT,
                "sync_timeout": settings.HA_QDEVICE_SYNC_TIMEOUT,
                "heuristic": f"{settings.BASE_DIR}/highavailability/scripts/holds-vip {vip} "
                f"{settings.HA_VIP_NIC}".strip(),
            }
        plan = formation.Plan(
            primary=formation.Member(me, primary_address, primary_cluster, 1),
            secondary=formation.Member(secondary_name, secondary_address, secondary_cluster, 2),
            vip=vip,
            fencing=formation.fencing_devices(names, options["fence_agent"], params),
            qdevice=qdevice,
        )
        self.say(f"Primary:   {me} (public {primary_address}, cluster {primary_cluster})")
        self.say(
            f"Secondary: {secondary_name} (public {secondary_address}, cluster {secondary_cluster})"
        )
        self.say(f"VIP:       {vip}")
        self.say(
            "Fencing:   "
            + (", ".join(f"{d['id']} ({d['agent']})" for d in plan.fencing) or "none (stonith off)")
        )
        self.say(f"Quorum:    {'device ' + qdevice['host'] if qdevice else 'two nodes'}")
        if not plan.fencing:
            self.say(
                "Warning: without fencing a broken link between the nodes promotes both: "
                "give --fence-agent for production (docs/ha.md)"
            )
        self.say(
            f"The database of {secondary_name} will be replaced by a copy of this server's; "
            "the application stops on both servers while the cluster forms."
        )
        if not options["yes"] and input("Enter 'yes' to continue: ").strip() != "yes":
            raise CommandError("Deploy cancelled.")
        with JobReporter(HAJobKind.DEPLOY, self.say, node=me) as say:
            formation.deploy(plan, peer, say)
