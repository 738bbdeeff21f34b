"""Two booted Debian 12 hosts (systemd as PID 1): install, form the cluster, fail over and
back, reboot and power-cycle each host, tear down, as an operator does it (docs/install.md).

Run by deploy/hosts/test (which boots two fresh hosts first); tagged "hosts" so the other
tiers skip it. One test walks the steps in order, each starting from the state the previous
one left; products register through the VIP from the client namespace throughout the
cluster's life, and at the end no acknowledged registration is missing.
"""

import json
import threading
import time

from django.test import SimpleTestCase, tag

from . import hosts as H

ADMIN_UNITS = (
    "ssm-postgresql",
    "ssm-redis",
    "ssm-appserver",
    "ssm-nginx",
    "ssm-worker",
    "ssm-beat",
)

SEED = """
import json
from accounts.models import LocalAccount, VirtualAccount
from accounts.services import create_local_account
from licensing.services import create_token
from security.services import set_host_common_name
set_host_common_name("__VIP__")
account = LocalAccount.objects.filter(name="HOSTS").first() or create_local_account(
    name="HOSTS", cisco_smart_account="BU Production Test", cisco_virtual_account="HOSTS",
    notification_email="hosts@example.com")
va = VirtualAccount.objects.get(account=account, is_default=True)
print("RESULT", json.dumps({"token": create_token(va, description="hosts tier").token}))
"""

CHECK = """
import json
from licensing.models import ProductInstance
serials = __SERIALS__
have = set(ProductInstance.objects.filter(udi_sn__in=serials).values_list("udi_sn", flat=True))
print("RESULT", json.dumps({"missing": sorted(set(serials) - have)}))
"""

JOURNALS = """
import json
from administration.health import journal_text, log_files
print("RESULT", json.dumps({"names": [row["name"] for row in log_files()],
                            "appserver": journal_text("ssm-appserver.journal").decode()}))
"""


@tag("hosts")
class TwoHostsTests(SimpleTestCase):
    databases: set = set()
    figures: dict = {}

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def assert_in_all(self, text: str, *needles: str) -> None:
        for needle in needles:
            self.assertIn(needle, text)

    def assert_standalone(self, h: str) -> None:
        """The server's own units run and start at boot; the cluster's do not."""
        for unit in ADMIN_UNITS:
            self.assertEqual(H.unit(h, unit), "active/enabled", f"{unit} on {h}")
        for unit in ("corosync", "pacemaker"):
            self.assertEqual(H.unit(h, unit), "inactive/disabled", f"{unit} on {h}")
        self.assertTrue(H.answers(H.ADDRESS[h]), f"{h} does not serve on its own address")

    def assert_member(self, h: str) -> None:
        """Debian's cluster units run and start at boot; the server's own units are off at
        boot (pacemaker runs the database and the application)."""
        for unit in ("corosync", "pacemaker"):
            self.assertEqual(H.unit(h, unit), "active/enabled", f"{unit} on {h}")
        self.assertEqual(H.unit(h, "ssm-postgresql").split("/")[1], "disabled")

        # pacemaker starts the application after the database (a booting node: a few seconds)
        def app_started() -> bool:
            return H.unit(h, "ssm-appserver") == "active/disabled"

        H.wait_for(f"the application on {h} started by pacemaker", app_started, 120, interval=1)

    def wait_protected(self, primary: str, standby: str, timeout: float = 240) -> float:
        t0 = time.time()
        try:
            H.wait_for(f"{H.NAMES[primary]} active with {H.NAMES[standby]} a promotable standby",
                       lambda: H.protected(primary, standby), timeout, interval=1)  # fmt: skip
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.cluster_report(primary, standby)}") from None
        return time.time() - t0

    def cluster_report(self, *hosts: str) -> str:
        """What a cluster that does not settle is doing: each host's ha_status, pacemaker's
        view with attributes and fail counts, and the resource agent's last words."""
        parts = [f"VIP on: {H.vip_holder()}"]
        for h in hosts:
            parts.append(f"--- {h}: ha_status\n{H.status(h)}")
            journal = ("journalctl", "-n", "40", "--no-pager", "-t", "pgsqlms",
                       "-t", "pacemaker-controld", "-t", "pacemaker-schedulerd")  # fmt: skip
            parts += H.outputs(h, ("crm_mon", "-1", "-A", "-f", "-r"), journal)
        return "\n".join(parts)

    def reboot(self, h: str) -> None:
        """`systemctl reboot` inside h, as an operator would; returns once it booted again
        (a slow one is reported with the cluster's journal of its shutdown)."""
        t0 = time.time()
        before = H.host("exec", h, "cat", "/proc/sys/kernel/random/boot_id").strip()
        H.host("exec", h, "systemctl", "reboot", check=False)

        def booted_again() -> bool:
            if not H.running(h) or not H.booted(h):
                return False
            return H.host("exec", h, "cat", "/proc/sys/kernel/random/boot_id",
                          check=False).strip() not in ("", before)  # fmt: skip

        try:
            H.wait_for(f"{H.NAMES[h]} to boot again", booted_again, 180, interval=1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.shutdown_report(h)}") from None
        seconds = time.time() - t0
        self.figures.setdefault("reboots_s", []).append([h, round(seconds, 1)])
        if seconds > 60:
            journal = H.host("exec", h, "journalctl", "-b", "-1", "-n", "60", "--no-pager",
                             "-t", "pacemaker-controld", "-t", "pacemakerd", "-t", "pgsqlms",
                             "-t", "systemd", check=False, timeout=30)  # fmt: skip
            self.say(f"  slow reboot of {h} ({seconds:.0f} s); its shutdown:\n{journal}")

    def shutdown_report(self, h: str) -> str:
        """What a host that does not come back is doing: its pending jobs and last journal
        lines (while its systemd still answers), and its console."""
        parts = []
        if H.running(h):
            parts += H.outputs(h, ("systemctl", "list-jobs", "--no-pager"),
                               ("journalctl", "-n", "80", "--no-pager"),
                               ("crm_mon", "-1", "-A"))  # fmt: skip
        console = H.STATE / "run" / f"{h}.console.log"
        if console.exists():
            parts.append("console:\n" + "\n".join(console.read_text().splitlines()[-20:]))
        return "\n".join(parts)

    def test_two_hosts(self):
        figures = self.figures
        # Debian's own units start with the packages: what the server must live with
        for h in H.NAMES:
            stock = H.unit(h, "corosync").split("/")[0]
            self.assertEqual(stock, "active", "the image boots Debian's corosync (the trap)")

        self.say("./deploy/up on both hosts")
        outputs: dict[str, str] = {}
        threads = [
            threading.Thread(target=lambda h=h: outputs.__setitem__(
                h, H.sh(h, "MOCK_CSC=false ./deploy/up 2>&1", timeout=600)))
            for h in H.NAMES
        ]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for h in H.NAMES:
            self.assert_in_all(outputs[h], "corosync stopped and disabled", "System administrator")
            self.assert_standalone(h)
        # the Support Center offers the units' journals beside the log files
        logs = H.django("h1", JOURNALS)
        self.assertIn("ssm-appserver.journal", logs["names"])
        self.assertIn("Starting granian", logs["appserver"])
        # a second run changes nothing and says so
        self.assertIn("All services are up", H.sh("h1", "./deploy/up 2>&1"))

        self.say("ha_generatekeys, ha_provision_standby, ha_deploy")
        key = [x for x in H.manage("h1", "ha_generatekeys").splitlines()
               if x.startswith("ssh-ed25519 ")][0]  # fmt: skip
        H.manage("h2", "ha_provision_standby", "--key", key)
        t0 = time.time()
        out = H.manage("h1", "ha_deploy", "--yes",
                       "--primary-address", H.ADDRESS["h1"],
                       "--primary-cluster-address", H.CLUSTER_ADDRESS["h1"],
                       "--secondary-address", H.ADDRESS["h2"],
                       "--secondary-cluster-address", H.CLUSTER_ADDRESS["h2"],
                       "--vip", H.VIP)  # fmt: skip
        figures["ha_deploy_s"] = round(time.time() - t0, 1)
        self.assert_in_all(out, "corosync.service, pacemaker.service enabled", "HA deploy complete")
        for h in H.NAMES:
            self.assert_member(h)
            status = H.status(h)
            self.assert_in_all(status, "corosync: active/enabled", "pacemaker: active/enabled",
                               "pcsd: active/enabled", f"{H.NAMES['h1']}: Online",
                               f"{H.NAMES['h2']}: Online")  # fmt: skip
        self.wait_protected("h1", "h2")

        token = H.django("h1", SEED.replace("__VIP__", H.VIP))["token"]
        load = H.load(token, f"hosts{int(time.time())}")
        try:
            H.wait_for("registrations through the VIP", lambda: len(load.acknowledged()) >= 5, 60)
            self.walk(load)
        finally:
            load.stop()
        acknowledged = load.acknowledged()
        result = H.django(
            H.vip_holder() or "h1", CHECK.replace("__SERIALS__", json.dumps(acknowledged))
        )
        figures["registrations_acknowledged"] = len(acknowledged)
        figures["registrations_lost"] = len(result["missing"])
        self.assertEqual(result["missing"], [], "acknowledged registrations lost")

        self.say("ha_teardown on both hosts")
        active = H.vip_holder()
        standby = "h1" if active == "h2" else "h2"
        for h in (standby, active):
            out = H.manage(h, "ha_teardown", "--yes")
            self.assert_in_all(out, "corosync and pacemaker disabled", "HA teardown complete")
            self.assertEqual(H.manage(h, "ha_status").strip(), "HA is not enabled.")
        for h in H.NAMES:
            H.wait_for(f"{h} serving alone", lambda h=h: H.answers(H.ADDRESS[h]), 120)
            self.assert_standalone(h)
        # a stand-alone server comes back by itself after a reboot too
        self.reboot("h1")
        H.wait_for("h1 serving after its reboot", lambda: H.answers(H.ADDRESS["h1"]), 180)
        self.assert_standalone("h1")
        self.say(f"figures: {json.dumps(figures)}")
        (H.STATE / "run" / "hosts-figures.json").write_text(json.dumps(figures, indent=2))

    def recovered(self, load: H.Load, t0: float, what: str) -> float:
        seconds = load.wait_recovered(t0, t0, 180)
        self.say(f"  {what}: first acknowledged registration {seconds:.1f} s after the fault")
        return round(seconds, 2)

    def move_active(self, load: H.Load, active: str, standby: str, what: str) -> float:
        """ha_cluster_stop on the active host, then ha_cluster_start there: it rejoins as the
        standby. Returns the seconds to the first acknowledged registration after the stop."""
        self.say(f"{what}: ha_cluster_stop on the active host")
        t0 = time.time()
        H.manage(active, "ha_cluster_stop")
        H.wait_for(f"the VIP on {standby}", lambda: H.vip_holder() == standby, 120)
        seconds = self.recovered(load, t0, what)
        self.assertIn("Starting Cluster (pacemaker)", H.manage(active, "ha_cluster_start"))
        self.wait_protected(standby, active)
        return seconds

    def walk(self, load: H.Load) -> None:
        figures = self.figures
        figures["failover_s"] = self.move_active(load, "h1", "h2", "failover")
        figures["fallback_s"] = self.move_active(load, "h2", "h1", "fallback")

        self.say("reboot of the standby (systemctl reboot)")
        t0 = time.time()
        self.reboot("h2")
        figures["standby_reboot_protected_s"] = round(
            self.wait_protected("h1", "h2") + time.time() - t0, 1
        )
        self.assert_member("h2")
        self.assertEqual(H.unit("h2", "ssm-cluster-repair").split("/")[0], "active")

        self.say("reboot of the active host (systemctl reboot)")
        t0 = time.time()
        self.reboot("h1")
        figures["active_reboot_s"] = self.recovered(load, t0, "active host rebooted")
        self.wait_protected("h2", "h1")
        self.assert_member("h1")

        self.say("power loss of the active host")
        t0 = time.time()
        H.host("poweroff", "h2")
        H.wait_for("the VIP on h1", lambda: H.vip_holder() == "h1", 120)
        figures["power_loss_s"] = self.recovered(load, t0, "power loss")
        H.host("boot", "h2")
        H.host("wait", "h2")
        self.wait_protected("h1", "h2")
        repair = H.host("exec", "h2", "journalctl", "-b", "-u", "ssm-cluster-repair", "--no-pager")
        self.assertIn("Database fit to rejoin", repair)
        figures["power_loss_repair_rewound"] = "pg_rewind" in repair
        self.assert_member("h2")

        self.say("power loss of the standby")
        t0 = time.time()
        H.host("poweroff", "h2")
        # the primary stops waiting for the lost standby (the sync guard): writes go on
        H.wait_for("a registration after the standby's power loss",
                   lambda: load.recovered_after(t0, t0), 60)  # fmt: skip
        figures["standby_power_loss_stall_s"] = round(load.largest_gap(t0, time.time()), 2)
        self.assertEqual(H.vip_holder(), "h1")
        H.host("boot", "h2")
        H.host("wait", "h2")
        self.wait_protected("h1", "h2")
        self.assert_member("h2")
