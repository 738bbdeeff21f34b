"""The spec's five HA scenarios end to end on the two-node lab, under registration load.

Run by deploy/lab/test (which brings a fresh lab up first); tagged "ha" so the other tiers
skip it. One test walks the scenarios in the spec's order because each one starts from
the state the previous one left: 1 normal, 2 failover, 3 rejoin, 4 fallback, a power loss
of the active node with automatic repair, then 5 teardown. Throughout, products register
through the VIP from the client namespace; at the end no acknowledged registration is
missing and the In Use counters equal a recount from the product instances.
"""

import json
import os
import time
import unittest

from django.test import SimpleTestCase, tag

from . import lab
from .widget import Widget

SEED = """
import json, os
from accounts.models import LocalAccount, VirtualAccount
from accounts.services import create_local_account
from licensing.services import create_token
from security.services import set_host_common_name
set_host_common_name(os.environ["HA_VIP"])
account = LocalAccount.objects.filter(name="HA-LAB").first() or create_local_account(
    name="HA-LAB", cisco_smart_account="BU Production Test", cisco_virtual_account="HA-LAB",
    notification_email="ha-lab@example.com")
va = VirtualAccount.objects.get(account=account, is_default=True)
print("RESULT", json.dumps({"token": create_token(va, description="HA lab load").token}))
"""

CREATE_TEST_ACCOUNT = """
import json
from accounts.models import LocalAccount, VirtualAccount
from accounts.services import create_local_account
from licensing.services import create_token
account = LocalAccount.objects.filter(name="TEST").first() or create_local_account(
    name="TEST", cisco_smart_account="BU Production Test", cisco_virtual_account="TEST",
    notification_email="test@example.com")
va = VirtualAccount.objects.get(account=account, is_default=True)
print("RESULT", json.dumps({"token": create_token(va, description="failover").token}))
"""

CHECK = """
import json
from django.db import connection
from accounts.models import LocalAccount
from licensing.models import ProductInstance
serials = json.load(open(__PATH__))
have = set(ProductInstance.objects.filter(udi_sn__in=serials).values_list("udi_sn", flat=True))
test = LocalAccount.objects.filter(name="TEST").first()
named = sorted(ProductInstance.objects.filter(virtual_account__account=test)
               .values_list("udi_sn", flat=True)) if test else []
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT count(*) FROM (SELECT i.virtual_account_id, u.tag, SUM(u.count) AS n"
        " FROM licensing_licenseusage u JOIN licensing_productinstance i ON i.id = u.instance_id"
        " WHERE i.status = 'registered' GROUP BY 1, 2) r FULL JOIN (SELECT virtual_account_id,"
        " tag, SUM(in_use) AS in_use FROM licensing_licensecounter GROUP BY 1, 2) c"
        " ON c.virtual_account_id = r.virtual_account_id AND c.tag = r.tag"
        " WHERE coalesce(c.in_use, 0) <> coalesce(r.n, 0)")
    mismatched = cursor.fetchone()[0]
print("RESULT", json.dumps({"missing": sorted(set(serials) - have), "test_account": bool(test),
                            "test_products": named, "counter_mismatches": mismatched}))
"""

DEPLOY_JOB = """
import json
from highavailability.models import HAJob
job = HAJob.objects.filter(kind="deploy").latest("started")
print("RESULT", json.dumps({"status": job.status, "progress": job.progress,
                            "log": "\\n".join(job.log)}))
"""
OPERATION_JOB = """
import json
from highavailability.models import HAJob
job = HAJob.objects.get(pk=__ID__)
print("RESULT", json.dumps({"user": job.started_by and job.started_by.username}))
"""
ENV_STONITH = lab.ENV.get("STONITH") == "1"
ENV_QDEVICE = lab.ENV.get("QDEVICE") == "1"


@tag("ha")
@unittest.skipUnless(os.environ.get("SSM_HA_LAB") == "1", "needs the HA lab (deploy/lab/test)")
class HighAvailabilityScenarioTests(SimpleTestCase):
    databases: set[str] = set()

    def say(self, text: str) -> None:
        print(f"[ha] {text}", flush=True)

    def assert_outputs(self, output: str, *expected: str) -> None:
        for text in expected:
            self.assertIn(text, output, f"'{text}' missing from:\n{output}")

    def register_named(self, token: str) -> str:
        node_env = lab.STATE / "nodes" / "n1" / "app" / "ssm.env"
        proc = lab.client(
            "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
            f"SSM_ENV_FILE={node_env}", f"SSM_VAR={lab.STATE / 'client'}",
            lab.PYTHON, lab.REPO / "manage.py", "device_simulator", "--url", lab.URL,
            "--token", token, "--device", "pi37", "--device", "cucm-pub-30",
            "--operations", "register,authorize,report", "--retry-for", "30",
            timeout=120,
        )  # fmt: skip
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return proc.stdout

    def operation_done(self, browser: Widget, kind: str) -> dict:
        """Wait (through the API, as the page's user) until the newest job, of `kind`, ended;
        it must have succeeded. The job as the API shows it."""

        def ended():
            rows = browser.api_get("/api/v1/ha-jobs/").get("results") or [{}]
            job = rows[0]
            return job if job.get("kind") == kind and job["status"] != "running" else None

        job = lab.wait_for(f"the {kind} job to end", ended, 240, interval=1)
        self.assertEqual(job["status"], "succeeded", "\n".join(job["log"]) + job["error"])
        return job

    def post_operation(self, browser: Widget, operation: str) -> tuple[int, dict]:
        """Start an operation through the API. Right after another one the server asks to try
        again in a few seconds (the state after it is still being collected): so does this."""
        answer: list = []

        def accepted() -> bool:
            status, body = browser.api_post("/api/v1/ha-operations/", {"operation": operation})
            answer[:] = [status, body]
            return not (status == 409 and "being collected" in str(body.get("detail")))

        lab.wait_for(f"the {operation} to be accepted", accepted, 30, interval=0.5)
        return answer[0], answer[1]

    def wait_collected(self, browser: Widget, active: str) -> None:
        """Until the collected state (what the widget and the API show, and what the next
        operation is checked against) has `active` active and the cluster Normal."""

        def collected() -> bool:
            seen = browser.api_get("/api/v1/ha-cluster/")
            return seen.get("active_node") == active and seen.get("health") == "normal"

        lab.wait_for(f"the collected state: {active} active, Normal", collected, 60, interval=1)

    def test_scenarios_under_load(self):
        figures = {}
        self.assertEqual(lab.vip_holder(), "n1", "the lab must start with the VIP on the primary")
        lab.wait_settled("n1")
        token = lab.node_python("n1", SEED)["token"]
        load = lab.Load(token, f"ha{int(time.time())}")
        self.addCleanup(load.stop)
        lab.wait_for("registrations through the VIP", lambda: len(load.acknowledged()) >= 5, 60)

        # 1. Normal
        self.say("1 normal")
        status = lab.manage("n1", "ha_status")
        self.assert_outputs(
            status,
            "PCSD Status:",
            f"{lab.NODES['n1']}: Online",
            f"{lab.NODES['n2']}: Online",
            "corosync: active/enabled",
            "pacemaker: active/enabled",
            "Database is currently the replication master - Replicating to secondary-node",
            "Replication to slave:",
            "client_addr",
            "backend_start",
            "streaming",
        )
        if ENV_QDEVICE:
            self.assert_outputs(
                status, "Quorum Status:", "Quorate: Yes", "Votes: 3 of 3 expected, 2 needed",
                "Quorum device: voting (1 vote)",
            )  # fmt: skip
        self.assert_outputs(
            lab.manage("n2", "ha_status"),
            "Database is currently the replication slave - Replicating from primary-node",
            "Replication from master:",
        )
        # the lab was formed by ha_deploy: its job is on record, steps of both nodes included
        deploy = lab.node_python("n1", DEPLOY_JOB)
        self.assertEqual((deploy["status"], deploy["progress"]), ("succeeded", 100))
        self.assertIn("pg_basebackup", deploy["log"])
        self.assertIn("HA deploy complete", deploy["log"])
        # the widget through the VIP, in a browser page that stays open until the fallback
        browser = Widget()
        self.addCleanup(browser.close)
        browser.open("n1")
        browser.wait_for("ha-status", "Normal")
        browser.wait_for("active-server-name", "primary-node")
        browser.wait_for("standby-server-role", "Standby")
        browser.wait_for("ha-heartbeat", "Connected")
        if ENV_QDEVICE:
            browser.wait_for("ha-votes", "votes 3 of 3 expected, 2 needed")

        # 2. Failover: ha_cluster_stop on the primary
        self.say("2 failover")
        t0 = time.time()
        out = lab.manage("n1", "ha_cluster_stop")
        settled = time.time()
        self.assert_outputs(
            out, "Stopping Cluster (pacemaker)...", "Stopping Cluster (corosync)..."
        )
        figures["graceful_failover_s"] = load.wait_recovered(t0, settled, 60)
        self.say(
            f"  first registration after ha_cluster_stop: {figures['graceful_failover_s']:.2f} s"
        )
        self.assertEqual(lab.vip_holder(), "n2")
        self.assert_outputs(
            lab.manage("n1", "ha_status", check=False),
            "Error: cluster is not currently running on this node",
            "DB service not currently running.",
        )
        self.assert_outputs(
            lab.manage("n1", "ha_cluster_stop", check=False),
            "Error: cluster is not currently running on this node",
        )
        own = lab.client(
            "curl", "-ks", "-o", "/dev/null", "--max-time", "3",
            f"https://{lab.ENV['NODE1_PUBLIC_IP']}:{lab.WEB_PORT}/login/",
        )  # fmt: skip
        self.assertNotEqual(own.returncode, 0, "the stopped primary's own address still serves")
        test_token = lab.node_python("n2", CREATE_TEST_ACCOUNT)["token"]
        self.register_named(test_token)
        # the open page followed the failover by itself; the administrator is still logged in
        browser.wait_for("ha-status", "Degraded")
        browser.wait_for("active-server-name", "secondary-node")
        browser.wait_for("ha-heartbeat", "Disconnected")
        self.assertEqual(browser.field("standby-server-role").inner_text(), "Degraded")
        self.assertTrue(browser.same_page(), "the widget page was reloaded or logged out")
        # a Degraded cluster offers no rehearsal, and says why (the widget and the API)
        browser.wait_for("ha-operations-why", "the cluster is Degraded: it must be Normal")
        status, body = browser.api_post("/api/v1/ha-operations/", {"operation": "rehearsal"})
        self.assertEqual(status, 409, body)
        self.assertIn("the cluster is Degraded", body["detail"])

        # 3. Rejoin
        self.say("3 rejoin")
        lab.manage("n1", "ha_cluster_start")
        lab.wait_for("primary-node streaming from secondary-node",
                     lambda: lab.streaming_standby("n2", "n1"), 90)  # fmt: skip
        lab.wait_settled("n2")
        self.assertEqual(lab.vip_holder(), "n2")
        browser.wait_for("ha-status", "Normal")
        browser.wait_for("standby-server-name", "primary-node")

        # 4. Fallback
        self.say("4 fallback")
        t0 = time.time()
        lab.manage("n2", "ha_cluster_stop")
        figures["graceful_fallback_s"] = load.wait_recovered(t0, time.time(), 60)
        self.say(
            f"  first registration after ha_cluster_stop: {figures['graceful_fallback_s']:.2f} s"
        )
        self.assertEqual(lab.vip_holder(), "n1")
        lab.manage("n2", "ha_cluster_start")
        lab.wait_for("secondary-node streaming from primary-node",
                     lambda: lab.streaming_standby("n1", "n2"), 90)  # fmt: skip
        lab.wait_settled("n1")
        browser.wait_for("active-server-name", "primary-node")
        browser.wait_for("ha-status", "Normal")
        self.assertTrue(browser.same_page(), "the widget page was reloaded or logged out")

        # The same moves driven from the dashboard: a rehearsal from the browser, then a
        # switchover, a fallback and a rehearsal through the API, under the registration load
        self.say("rehearsal from the widget")
        browser.wait_for("ha-op-rehearsal", "Rehearse failover and fallback")
        browser.start_operation("ha-op-rehearsal")
        job = self.operation_done(browser, "rehearsal")
        started_by = lab.node_python("n1", OPERATION_JOB.replace("__ID__", str(job["id"])))
        self.assertEqual(started_by["user"], "ha-admin")
        report = job["report"]
        moves = [t["to"] for t in report["transitions"]]
        self.assertEqual(moves, ["secondary-node", "primary-node"])
        self.assertEqual(report["lost"], 0)
        self.assertGreater(report["acknowledged"], 10)
        for t in report["transitions"]:
            figures[f"rehearsal_{t['name']}_stall_s"] = t["write_stall_s"]
            figures[f"rehearsal_{t['name']}_first_s"] = t["first_acknowledged_s"]
            self.assertIsNotNone(t["first_acknowledged_s"], report)
        self.say(f"  rehearsal report: {json.dumps(report['transitions'])}")
        self.assertEqual(lab.vip_holder(), "n1", "the rehearsal ends with the original roles")
        self.wait_collected(browser, "primary-node")
        browser.wait_for("ha-jobs", "Failover Rehearsal")
        for operation, holder in (("switchover", "n2"), ("fallback", "n1"), ("rehearsal", "n1")):
            self.say(f"{operation} through the API")
            status, body = self.post_operation(browser, operation)
            self.assertEqual(status, 202, body)
            job = self.operation_done(browser, operation)
            self.assertEqual(job["id"], body["id"])
            self.assertEqual(lab.vip_holder(), holder)
            self.wait_collected(browser, lab.NODES[holder])
            if operation == "rehearsal":
                self.assertEqual(job["report"]["lost"], 0)
                self.assertEqual(len(job["report"]["transitions"]), 2)
        # maintenance of the standby through the API, ended from the widget
        self.say("maintenance of the standby")
        status, body = self.post_operation(browser, "maintenance")
        self.assertEqual(status, 202, body)
        self.assertEqual(self.operation_done(browser, "maintenance")["report"],
                         {"node": "secondary-node"})  # fmt: skip
        self.assertFalse(lab.streaming_standby("n1", "n2"), "the standby still runs")
        browser.page.goto(f"{browser.base}/admin/high-availability/")
        browser.wait_for("ha-status", "Degraded")
        browser.start_operation("ha-op-maintenance_end")
        self.operation_done(browser, "maintenance_end")
        lab.wait_for("secondary-node streaming again",
                     lambda: lab.streaming_standby("n1", "n2"), 60)  # fmt: skip
        browser.wait_for("ha-status", "Normal")
        self.assertEqual(lab.vip_holder(), "n1")
        browser.close()

        # Power loss of the active node, then ha_cluster_start repairs it automatically
        self.say("power loss of the active node")
        t0 = time.time()
        lab.run([lab.LAB / "node", "poweroff", "n1"])
        figures["crash_failover_s"] = load.wait_recovered(t0, time.time(), 90)
        self.say(f"  first registration after the power loss: {figures['crash_failover_s']:.2f} s")
        self.assertEqual(lab.vip_holder(), "n2")
        lab.run([lab.LAB / "node", "boot", "n1"])
        out = lab.manage("n1", "ha_cluster_start")
        self.assert_outputs(out, "repairing", "pg_rewind", "Starting Cluster (pacemaker)...")
        lab.wait_for("the repaired primary-node streaming",
                     lambda: lab.streaming_standby("n2", "n1"), 120)  # fmt: skip

        # The link between the nodes is cut: fencing leaves exactly one primary
        if ENV_STONITH:
            lab.wait_settled("n2")
            self.say("link between the nodes cut")
            t0 = time.time()
            lab.run(["ip", "-n", lab.SWITCH_NS, "link", "set", "hb-n1", "down"])
            victims = lab.wait_for("a node fenced", lambda: lab.fenced(t0), 60)
            figures["link_cut_fenced_s"] = time.time() - t0
            self.assertEqual(len(victims), 1, f"fenced: {victims}")
            standby = victims[0]
            active = "n1" if standby == "n2" else "n2"
            if not ENV_QDEVICE:
                # two_node + priority-fencing-delay: the node with the primary survives
                self.assertEqual(active, "n2", "the node holding the primary was fenced")
            self.assertFalse(lab.powered(standby))
            self.assertTrue(lab.powered(active))
            fenced_at = t0 + figures["link_cut_fenced_s"]
            lab.wait_for("a registration after the fencing",
                         lambda: load.recovered_after(fenced_at, fenced_at), 60)  # fmt: skip
            figures["link_cut_stall_s"] = load.largest_gap(t0, time.time())
            self.say(
                f"  {lab.NODES[standby]} fenced after {figures['link_cut_fenced_s']:.2f} s;"
                f" longest write stall {figures['link_cut_stall_s']:.2f} s"
            )
            lab.wait_for("the VIP on the survivor", lambda: lab.holds_vip(active), 60)
            self.assertFalse(lab.holds_vip(standby))
            self.assert_outputs(
                lab.manage(active, "ha_status"),
                f"{lab.NODES[active]}: Online",
                f"{lab.NODES[standby]}: Offline",
                "Database is currently the replication master",
            )
            # the repair: power on (the link is back with the node), ha_cluster_start
            lab.run([lab.LAB / "node", "boot", standby])
            out = lab.manage(standby, "ha_cluster_start")
            # a node that lost quorum first stopped its database cleanly (nothing to repair);
            # one fenced while running is rewound or re-cloned first
            self.assert_outputs(out, "Starting Cluster (pacemaker)...")
            figures["link_cut_fenced_node_repaired"] = "repairing" in out
            lab.wait_for(f"the fenced {lab.NODES[standby]} streaming again",
                         lambda: lab.streaming_standby(active, standby), 120)  # fmt: skip
            self.assertEqual(lab.vip_holder(), active)

        # Nothing is lost
        load.stop()
        acknowledged = load.acknowledged()
        path = lab.STATE / "run" / "acknowledged.json"
        path.write_text(json.dumps(acknowledged))
        result = lab.node_python("n2", CHECK.replace("__PATH__", repr(str(path))))
        figures["registrations_acknowledged"] = len(acknowledged)
        figures["registrations_lost"] = len(result["missing"])
        self.say(f"figures: {json.dumps(figures)}")
        (lab.STATE / "run" / "ha-figures.json").write_text(json.dumps(figures, indent=2))
        self.assertEqual(result["missing"], [], "acknowledged registrations lost")
        self.assertTrue(result["test_account"], "the TEST account created during failover is gone")
        self.assertIn("pi37", " ".join(result["test_products"]))
        self.assertEqual(result["counter_mismatches"], 0, "In Use counters differ from a recount")

        # 5. Teardown of both nodes
        self.say("5 teardown")
        active = lab.vip_holder()
        standby = "n1" if active == "n2" else "n2"
        for node in (standby, active):
            out = lab.manage(node, "ha_teardown", input="yes\n")
            self.assert_outputs(out, "Enter 'yes' to continue", "HA teardown complete")
            self.assertEqual(lab.manage(node, "ha_status").strip(), "HA is not enabled.")
            # a stand-alone server again: its own database and application on its own address
            address = lab.ENV[f"NODE{node[1]}_PUBLIC_IP"]
            page = lab.client(
                "curl",
                "-ks",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                f"https://{address}:{lab.ENV['WEB_PORT']}/login/",
            )
            self.assertEqual(page.stdout, "200", f"{node} does not serve its login page alone")
