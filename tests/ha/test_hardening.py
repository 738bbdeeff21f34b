"""Fencing, the quorum device and the synchronous-replication guard under registration load.

Run by deploy/lab/test before the spec's scenarios (test_scenarios), on the same lab; each
test starts from a settled cluster and leaves one, with the VIP back on primary-node.
1 no fault for 2 minutes: no failover, no fencing, no membership change;
2 the standby loses power, twice: the primary keeps writing, the stall stays within the
  guard's window; 3 the primary loses power, twice (back and forth): the standby takes
  over; 4 the link between the nodes is cut while primary-node holds the primary (the
  scenarios cut it while secondary-node does): the standby is fenced, one primary remains.
Every fenced or crashed node is repaired with ha_cluster_start; no acknowledged
registration is lost.
"""

import json
import os
import sys
import time
import unittest

from django.test import SimpleTestCase, tag

from . import lab
from .test_scenarios import CHECK, SEED

sys.path.insert(0, str(lab.REPO / "highavailability"))
import syncguard  # noqa: E402 - a plain script (no Django), as pacemaker runs it

QUIET_S = float(os.environ.get("HA_QUIET_S", "120"))


@tag("ha")
@unittest.skipUnless(os.environ.get("SSM_HA_LAB") == "1", "needs the HA lab (deploy/lab/test)")
class HardeningTests(SimpleTestCase):
    databases: set[str] = set()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = lab.node_python(lab.vip_holder() or "n1", SEED)["token"]

    def say(self, text: str) -> None:
        print(f"[ha] {text}", flush=True)

    def start_load(self, name: str) -> tuple[str, lab.Load]:
        """A settled cluster with synchronous replication on, and registrations through the
        VIP; returns the active node and the load."""
        active = lab.vip_holder()
        self.assertIsNotNone(active, "no node holds the VIP")
        lab.wait_settled(active)
        load = lab.Load(self.token, f"{name}{int(time.time())}")
        self.addCleanup(load.stop)
        lab.wait_for("registrations through the VIP", lambda: len(load.acknowledged()) >= 5, 60)
        self.wait_sync(active)
        return active, load

    def wait_sync(self, active: str) -> None:
        lab.wait_for("synchronous replication (the guard, standby caught up)",
                     lambda: lab.sync_standby_names(active) == "*", 90)  # fmt: skip

    def stall_bound(self, load: lab.Load, before: float) -> float:
        """The guard's window plus the longest gap between registrations without a fault
        (one registration in flight when the standby went away)."""
        times = sorted(r.t for r in load.records() if r.ok and before - 10 <= r.t < before)
        steady = max(b - a for a, b in zip(times, times[1:], strict=False))
        return syncguard.WINDOW_S + steady

    def acknowledged_after(self, load: lab.Load, since: float, count: int = 20) -> float:
        """Wait for `count` registrations acknowledged after `since`; the time then."""

        def enough() -> bool:
            return sum(r.ok and r.t > since for r in load.records()) >= count

        lab.wait_for(f"{count} registrations after the fault", enough, 60)
        return time.time()

    def repair(self, node: str, survivor: str) -> str:
        """Power on a fenced or crashed node and rejoin it with ha_cluster_start."""
        lab.run([lab.LAB / "node", "boot", node])
        out = lab.manage(node, "ha_cluster_start")
        self.assertIn("Starting Cluster (pacemaker)...", out)
        try:
            lab.wait_for(f"{lab.NODES[node]} streaming from {lab.NODES[survivor]}",
                         lambda: lab.streaming_standby(survivor, node), 120)  # fmt: skip
            lab.wait_settled(survivor)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nha_cluster_start said:\n{out}") from None
        return out

    def assert_nothing_lost(self, load: lab.Load, active: str) -> int:
        load.stop()
        acknowledged = load.acknowledged()
        path = lab.STATE / "run" / f"acknowledged-{self._testMethodName}.json"
        path.write_text(json.dumps(acknowledged))
        result = lab.node_python(active, CHECK.replace("__PATH__", repr(str(path))))
        self.assertEqual(result["missing"], [], "acknowledged registrations lost")
        self.assertEqual(result["counter_mismatches"], 0, "In Use counters differ from a recount")
        return len(acknowledged)

    def test_1_no_fault_no_failover_no_fencing(self):
        active, load = self.start_load("quiet")
        standby = "n1" if active == "n2" else "n2"
        rings = {n: lab.ring_id(n) for n in lab.NODES}
        history = {n: lab.fence_history(n) for n in lab.NODES}
        t0 = time.time()
        self.say(f"{QUIET_S:.0f} s of registrations, no fault")

        def quiet_until_done() -> bool:
            self.assertEqual(lab.promoted(active), active, "the primary moved: a failover")
            self.assertEqual(lab.vip_holder(), active, "the VIP moved")
            self.assertEqual(lab.fenced(t0), [], "a node was fenced")
            return time.time() - t0 >= QUIET_S

        lab.wait_for("the end of the quiet period", quiet_until_done, QUIET_S + 60, interval=5)
        self.assertTrue(lab.powered(active) and lab.powered(standby))
        self.assertEqual({n: lab.ring_id(n) for n in lab.NODES}, rings, "membership changed")
        self.assertEqual({n: lab.fence_history(n) for n in lab.NODES}, history, "fencing ran")
        self.assertEqual(lab.sync_standby_names(active), "*", "the guard dropped to async")
        failed = sum(not r.ok for r in load.records() if r.t >= t0)
        count = self.assert_nothing_lost(load, active)
        self.say(f"  {count} registrations acknowledged, {failed} attempts failed, 0 lost")

    def test_2_standby_power_loss_repeated(self):
        for run in (1, 2):
            self.standby_power_loss(run)

    def standby_power_loss(self, run: int) -> None:
        active, load = self.start_load(f"standby{run}-")
        standby = "n1" if active == "n2" else "n2"
        t0 = time.time()
        bound = self.stall_bound(load, t0)
        lab.run([lab.LAB / "node", "poweroff", standby])
        lab.wait_for("the guard to drop to asynchronous replication",
                     lambda: lab.sync_standby_names(active) == "", 30)  # fmt: skip
        t1 = self.acknowledged_after(load, time.time())
        stall = load.largest_gap(t0, t1)
        self.say(f"standby {lab.NODES[standby]} lost ({run}): longest write stall"
                 f" {stall:.2f} s (bound {bound:.2f} s)")  # fmt: skip
        self.assertLess(stall, bound, "writes stalled longer than the guard's window")
        self.assertEqual(lab.vip_holder(), active)
        self.assertEqual(lab.promoted(active), active)
        self.repair(standby, active)
        self.wait_sync(active)
        self.assert_nothing_lost(load, active)

    def test_3_primary_power_loss_repeated(self):
        for run in (1, 2):
            self.primary_power_loss(run)
        self.assertEqual(lab.vip_holder(), "n1", "two failovers bring the VIP back")

    def primary_power_loss(self, run: int) -> None:
        active, load = self.start_load(f"primary{run}-")
        survivor = "n1" if active == "n2" else "n2"
        t0 = time.time()
        bound = self.stall_bound(load, t0)
        lab.run([lab.LAB / "node", "poweroff", active])
        recovered = t0 + load.wait_recovered(t0, time.time(), 90)
        t1 = self.acknowledged_after(load, recovered)
        stall = load.largest_gap(recovered, t1)
        self.say(f"primary {lab.NODES[active]} lost ({run}): first registration after"
                 f" {recovered - t0:.2f} s; longest stall after it {stall:.2f} s")  # fmt: skip
        self.assertEqual(lab.vip_holder(), survivor)
        self.assertEqual(lab.promoted(survivor), survivor)
        self.assertLess(stall, bound, "writes stalled after the failover")
        self.repair(active, survivor)
        self.assert_nothing_lost(load, survivor)

    @unittest.skipUnless(lab.ENV.get("STONITH") == "1", "fencing is off")
    def test_4_link_cut_while_primary_node_is_primary(self):
        active, load = self.start_load("linkcut")
        self.assertEqual(active, "n1", "this case needs primary-node holding the primary")
        standby = "n2"
        t0 = time.time()
        lab.set_link(active, "hb", up=False)  # the primary's heartbeat cable
        self.addCleanup(lab.set_link, active, "hb", True)
        victims = lab.wait_for("a node fenced", lambda: lab.fenced(t0), 60)
        fenced_s = time.time() - t0
        lab.set_link(active, "hb", up=True)
        self.assertEqual(victims, [standby], "the node holding the primary was fenced")
        self.assertFalse(lab.powered(standby))
        self.assertTrue(lab.powered(active))
        t1 = self.acknowledged_after(load, t0 + fenced_s)
        stall = load.largest_gap(t0, t1)
        self.say(f"link cut: {lab.NODES[standby]} fenced after {fenced_s:.2f} s;"
                 f" longest write stall {stall:.2f} s")  # fmt: skip
        self.assertTrue(lab.holds_vip(active))
        self.assertFalse(lab.holds_vip(standby))
        self.assertEqual(lab.promoted(active), active)
        status = lab.manage(active, "ha_status")
        for text in (f"{lab.NODES[active]}: Online", f"{lab.NODES[standby]}: Offline",
                     "Database is currently the replication master"):  # fmt: skip
            self.assertIn(text, status)
        self.repair(standby, active)
        self.assertEqual(lab.vip_holder(), active)
        self.assert_nothing_lost(load, active)
