"""The cluster always has a way out: faults at the worst moment, under registration load.

Run first on a fresh lab by deploy/lab/test, before anything lets the cluster settle:
1 the primary is stopped right after READY, and the new primary loses power right after the
  old one rejoined: both recover by themselves, nothing acknowledged is lost;
2 the primary loses power while its standby is asynchronous and behind (replication to it
  blocked with nftables in its namespace): the cluster does not promote it, ha_status and the
  standby's own address say "No active server" with the reason, ha_promote --force brings
  it back and the event records the risk;
3 a complete standby whose promotion score was lowered (PAF's monitor does that when it sees
  a standby reconnect) and the primary lost before anything raised it: the guard on the
  standby heals the cluster by itself.
The lost node rejoins with ha_cluster_start every time; the lab ends as it began, with
primary-node active and secondary-node a promotable standby.
"""

import json
import os
import re
import subprocess
import time
import unittest

from django.test import SimpleTestCase, tag

from . import lab
from .test_scenarios import CHECK, SEED

FIGURES = lab.STATE / "run" / "promotability-figures.json"
NO_ACTIVE_EVENT = """
import json
from core.models import Event
event = Event.objects.filter(action="no_active_server").order_by("-id").first() or Event()
print("RESULT", json.dumps({"message": event.message}))
"""
FORCED_EVENT = """
import json
from core.models import Event
event = Event.objects.filter(action="forced_promotion").order_by("-id").first() or Event()
print("RESULT", json.dumps({"message": event.message, "result": event.result}))
"""


def replication(node: str, *, blocked: bool) -> None:
    """Drop (or stop dropping) the node's PostgreSQL traffic with nftables in its network
    namespace: its standby receives nothing more, while corosync, the quorum device and the
    products' traffic go on."""
    nft = ["ip", "netns", "exec", f"{lab.ENV['LAB_PREFIX']}-{node}", "nft"]
    if not blocked:
        subprocess.run([*nft, "delete", "table", "inet", "ssm-test"], capture_output=True)
        return
    lab.run([*nft, "add", "table", "inet", "ssm-test"])
    for chain, hook, match in (("in", "input", "sport"), ("out", "output", "dport")):
        lab.run([*nft, "add", "chain", "inet", "ssm-test", chain,
                 f"{{ type filter hook {hook} priority 0; }}"])  # fmt: skip
        lab.run([*nft, "add", "rule", "inet", "ssm-test", chain, "tcp", match,
                 lab.ENV["PG_PORT"], "drop"])  # fmt: skip


@tag("ha")
@unittest.skipUnless(os.environ.get("SSM_HA_LAB") == "1", "needs the HA lab (deploy/lab/test)")
class PromotabilityTests(SimpleTestCase):
    databases: set[str] = set()
    figures: dict = {}

    @classmethod
    def tearDownClass(cls):
        FIGURES.write_text(json.dumps(cls.figures, indent=2))
        super().tearDownClass()

    def say(self, text: str) -> None:
        print(f"[ha] {text}", flush=True)

    def load(self, name: str) -> lab.Load:
        token = lab.node_python(lab.vip_holder() or "n1", SEED)["token"]
        load = lab.Load(token, f"{name}{int(time.time())}")
        self.addCleanup(load.stop)
        lab.wait_for("registrations through the VIP", lambda: len(load.acknowledged()) >= 3, 60)
        return load

    def check(self, load: lab.Load, active: str, serials: list[str] | None = None) -> dict:
        load.stop()
        path = lab.STATE / "run" / f"acknowledged-{self._testMethodName}.json"
        path.write_text(json.dumps(load.acknowledged() if serials is None else serials))
        return lab.node_python(active, CHECK.replace("__PATH__", repr(str(path))))

    def rejoin(self, node: str, *expected: str) -> str:
        """ha_cluster_start on a node; it returns only once the node is protected."""
        out = lab.manage(node, "ha_cluster_start")
        for text in ("Standby promotable:", *expected):
            self.assertIn(text, out, f"ha_cluster_start on {node}")
        return out

    def back_to_primary_node(self) -> None:
        """primary-node (powered off) is repaired and rejoins; then it is made active again
        and secondary-node rejoins as its promotable standby, as the lab began."""
        lab.run([lab.LAB / "node", "boot", "n1"])
        self.rejoin("n1", "pg_rewind")
        lab.manage("n2", "ha_cluster_stop")
        lab.wait_for("primary-node active", lambda: lab.vip_holder() == "n1", 60)
        self.rejoin("n2")
        self.assertEqual(lab.promoted("n1"), "n1")

    def guard_log(self, node: str) -> str:
        return lab.run([lab.LAB / "node", "exec", node, "cat", "/var/log/pacemaker/sync-guard.log"])

    def windows(self, node: str) -> list[float]:
        """How long each standby was unpromotable after it connected (the guard's log)."""
        log = self.guard_log(node)
        return [float(x) for x in re.findall(r"promotable ([\d.]+) s after it connected", log)]

    def test_1_faults_right_after_ready_and_right_after_a_rejoin(self):
        load = self.load("ready")
        self.assertEqual(lab.promoted("n1"), "n1")
        # no waiting for a calm cluster: ./deploy/lab/up said READY moments ago
        self.say("1a ha_cluster_stop on the primary right after READY")
        t0 = time.time()
        lab.manage("n1", "ha_cluster_stop")
        self.figures["stop_after_ready_s"] = load.wait_recovered(t0, time.time(), 90)
        self.say(f"  first registration after the stop: {self.figures['stop_after_ready_s']:.2f} s")
        self.assertEqual(lab.vip_holder(), "n2")

        self.say("1b primary-node rejoins; the new primary loses power at once")
        self.rejoin("n1")
        t1 = time.time()
        lab.run([lab.LAB / "node", "poweroff", "n2"])
        self.figures["power_loss_after_rejoin_s"] = load.wait_recovered(t1, time.time(), 90)
        self.say(
            f"  first registration after the power loss: "
            f"{self.figures['power_loss_after_rejoin_s']:.2f} s"
        )
        self.assertEqual(lab.vip_holder(), "n1")
        self.assertEqual(lab.promoted("n1"), "n1")

        lab.run([lab.LAB / "node", "boot", "n2"])
        self.rejoin("n2", "pg_rewind")
        result = self.check(load, "n1")
        self.assertEqual(result["missing"], [], "acknowledged registrations lost")
        self.assertEqual(result["counter_mismatches"], 0, "In Use counters differ from a recount")
        self.figures["unpromotable_after_connect_s"] = self.windows("n1") + self.windows("n2")
        self.say(f"  unpromotable after connecting: {self.figures['unpromotable_after_connect_s']}")

    def test_2_primary_lost_while_the_standby_is_behind(self):
        load = self.load("behind")
        self.assertIn("Standby promotable: yes", lab.manage("n1", "ha_status"))
        lab.wait_for(
            "registrations acknowledged synchronously for a while",
            lambda: sum(r.ok and r.t < time.time() - 6 for r in load.records()) >= 3,
            60,
        )
        self.say("2 replication to the standby is blocked; the guard drops to asynchronous")
        cut = time.time()
        replication("n2", blocked=True)  # corosync and the quorum device still talk
        self.addCleanup(replication, "n2", blocked=False)
        lab.wait_for("asynchronous replication", lambda: lab.sync_standby_names("n1") == "", 30)
        switched = time.time()
        lab.wait_for(
            "registrations acknowledged asynchronously",
            lambda: sum(r.ok and r.t > switched for r in load.records()) >= 5,
            60,
        )
        self.say("  primary-node loses power")
        lab.run([lab.LAB / "node", "poweroff", "n1"])
        replication("n2", blocked=False)
        reason = "secondary-node was not the synchronous standby when the primary"
        status = lab.wait_for(
            "ha_status to say there is no active server, and why",
            lambda: (out := lab.manage("n2", "ha_status")) and reason in out and out,
            90,
        )
        self.assertIn("Active server: none - No active server:", status)
        self.assertIn("ha_promote --force on secondary-node", status)
        self.assertIn("Standby promotable: no", status)
        # an operator (signed in: a session to look up) who opens the standby's own address
        # is told the same
        page = lab.wait_for(
            "the standby's own address to answer",
            lambda: (p := lab.client(
                "curl", "-ks", "-m", "10", "-b", "sessionid=operator", "-w", "\n%{http_code}",
                f"https://{lab.ENV['NODE2_PUBLIC_IP']}:{lab.WEB_PORT}/admin/",
            )).stdout.endswith("\n503") and p,
            90,
            interval=1,
        )  # fmt: skip
        self.assertIn("No active server", page.stdout)
        self.assertIn("ha_promote --force on secondary-node", page.stdout)
        # the cluster waits for a person: no promotion, however long we look
        shown = time.time()
        while time.time() - shown < 10:
            self.assertIsNone(lab.promoted("n2"), "an incomplete standby was promoted")
            time.sleep(1)
        # the system administrators were told (no SMTP server set: the e-mail is in the log)
        lab.wait_for("the alert e-mail", lambda: "Subject: [SSM On-Prem] High availability: no"
                     " active server" in self.guard_log("n2"), 60)  # fmt: skip
        refused = lab.manage("n2", "ha_promote", input="yes\n", check=False)
        self.assertIn("may lack acknowledged writes", refused)
        self.assertIsNone(lab.promoted("n2"))

        self.say("  ha_promote --force on secondary-node")
        t0 = time.time()
        out = lab.manage("n2", "ha_promote", "--force", input="yes\n")
        for text in ("Enter 'yes' to continue", "are lost", "Database promoted on secondary-node",
                     "Recorded in the HA event log"):  # fmt: skip
            self.assertIn(text, out)
        self.figures["forced_promotion_s"] = load.wait_recovered(t0, time.time(), 60)
        self.assertEqual(lab.vip_holder(), "n2")
        event = lab.node_python("n2", FORCED_EVENT)
        self.assertIn("ha_promote --force", event["message"])
        self.assertIn("are lost", event["message"])
        self.assertEqual(event["result"], "failure")
        period = lab.wait_for(
            "the no-active-server period in the HA event log",
            lambda: lab.node_python("n2", NO_ACTIVE_EVENT)["message"],
            90,
            interval=2,
        )
        self.assertIn("secondary-node was not the synchronous standby", period)

        # what was acknowledged while replication was synchronous is all there
        synchronous = [r.serial for r in load.records() if r.ok and r.t < cut - 5]
        self.assertGreater(len(synchronous), 0)
        result = self.check(load, "n2", synchronous)
        self.assertEqual(result["missing"], [], "synchronously acknowledged registrations lost")
        self.assertEqual(result["counter_mismatches"], 0, "In Use counters differ from a recount")
        everything = self.check(load, "n2")
        self.figures["lost_by_forced_promotion"] = len(everything["missing"])
        self.say(f"  acknowledged asynchronously and lost: {len(everything['missing'])}")
        # the standby really was behind (else this test proved nothing)
        self.assertGreater(len(everything["missing"]), 0, "the standby was not behind")

        self.say("  primary-node is repaired and rejoins; back to primary-node active")
        self.back_to_primary_node()

    def test_3_a_complete_standby_without_a_promotion_score_heals_the_cluster(self):
        load = self.load("heal")
        status = lab.manage("n1", "ha_status")
        self.assertIn("Standby promotable: yes", status)
        self.say("3 the standby's promotion score drops (as PAF's monitor sets it for a standby")
        self.say("  it saw reconnecting) and the primary loses power before anything raises it")
        # the guard on the primary would raise the score again within 0.5 s, and PAF's
        # monitor there within 15 s: both are frozen until the power loss
        for process in ("syncguard.py", "pacemaker-execd"):
            lab.run([lab.LAB / "node", "exec", "n1", "pkill", "-STOP", "-f", process])
        score = [lab.LAB / "node", "exec", "n2", "crm_attribute", "--type", "nodes", "--node",
                 lab.NODES["n2"], "--name", "master-pgsqld", "--quiet"]  # fmt: skip
        lab.run([*score, "--update", "-1000"])
        lowered = lambda: lab.run([*score, "--query"]).strip() == "-1000"  # noqa: E731
        lab.wait_for("the lowered score", lowered, 30)
        t0 = time.time()
        lab.run([lab.LAB / "node", "poweroff", "n1"])
        self.figures["healed_s"] = load.wait_recovered(t0, time.time(), 90)
        self.say(f"  first registration after the power loss: {self.figures['healed_s']:.2f} s")
        self.assertEqual(lab.promoted("n2"), "n2")
        self.assertIn("HEAL", self.guard_log("n2"))
        result = self.check(load, "n2")
        self.assertEqual(result["missing"], [], "acknowledged registrations lost")

        self.back_to_primary_node()
