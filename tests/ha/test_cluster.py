"""Node-side cluster facts: crm_mon XML, corosync.conf, and ha_status's outputs (no lab)."""

import io
import tempfile
from pathlib import Path
from unittest import mock

from django.core.management import call_command
from django.test import SimpleTestCase, override_settings

from highavailability import cluster

CRM_MON = """<pacemaker-result api-version="2.25" request="crm_mon --output-as=xml">
  <summary>
    <current_dc present="true" name="primary-node" id="1" with_quorum="true"/>
  </summary>
  <nodes>
    <node name="primary-node" id="1" online="true" type="member"/>
    <node name="secondary-node" id="2" online="false" type="member"/>
  </nodes>
  <resources>
    <clone id="pgsql-ha" multi_state="true">
      <resource id="pgsqld" resource_agent="ocf:heartbeat:pgsqlms" role="Promoted"
                active="true" failed="false"><node name="primary-node" id="1"/></resource>
      <resource id="pgsqld" resource_agent="ocf:heartbeat:pgsqlms" role="Stopped"
                active="false" failed="false"/>
    </clone>
    <resource id="vip" resource_agent="ocf:heartbeat:IPaddr2" role="Started" active="true"
              failed="false"><node name="primary-node" id="1"/></resource>
  </resources>
</pacemaker-result>
"""

COROSYNC_CONF = """totem {
    version: 2
    cluster_name: ssm-lab
}
nodelist {
    node {
        ring0_addr: 169.254.101.11
        name: primary-node
        nodeid: 1
    }
    node {
        ring0_addr: 169.254.101.12
        name: secondary-node
        nodeid: 2
    }
}
quorum {
    provider: corosync_votequorum
}
"""


class CrmMonTests(SimpleTestCase):
    def test_roles_membership_and_vip(self):
        state = cluster.parse_crm_mon(CRM_MON)
        self.assertEqual(state.dc, "primary-node")
        self.assertTrue(state.quorate)
        self.assertEqual([(n.name, n.online, n.role) for n in state.nodes], [
            ("primary-node", True, "Promoted"),
            ("secondary-node", False, ""),
        ])  # fmt: skip
        self.assertEqual(state.promoted, "primary-node")
        self.assertEqual(state.vip_node, "primary-node")


QUORUMTOOL = """Quorum information
------------------
Date:             Wed Nov 25 19:08:20 2026
Quorum provider:  corosync_votequorum
Nodes:            1
Node ID:          1
Ring ID:          1.d
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   3
Highest expected: 3
Total votes:      2
Quorum:           2
Flags:            Quorate Qdevice

Membership information
----------------------
    Nodeid      Votes    Qdevice Name
         1          1    A,V,NMW primary-node (local)
         0          1            Qdevice
"""


class QuorumToolTests(SimpleTestCase):
    def test_votes_and_quorum_device(self):
        q = cluster.parse_quorumtool(QUORUMTOOL)
        self.assertTrue(q.quorate)
        self.assertEqual((q.total_votes, q.expected_votes, q.quorum), (2, 3, 2))
        self.assertTrue(q.qdevice)
        self.assertEqual(q.qdevice_votes, 1)

    def test_two_node_without_quorum(self):
        text = QUORUMTOOL.replace("Quorate:          Yes", "Quorate:          No")
        text = text.replace("Quorate Qdevice", "2Node WaitForAll").replace(
            "0          1            Qdevice", ""
        )
        q = cluster.parse_quorumtool(text)
        self.assertFalse(q.quorate)
        self.assertFalse(q.qdevice)
        self.assertEqual(q.qdevice_votes, 0)


class CorosyncConfTests(SimpleTestCase):
    def test_nodelist(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "corosync.conf"
            path.write_text(COROSYNC_CONF)
            path.with_name("authkey").write_bytes(b"key")
            with override_settings(HA_COROSYNC_CONF=path):
                nodes = cluster.configured_nodes()
        self.assertEqual([(n.name, n.nodeid, n.cluster_addr) for n in nodes], [
            ("primary-node", 1, "169.254.101.11"),
            ("secondary-node", 2, "169.254.101.12"),
        ])  # fmt: skip


class HaStatusTests(SimpleTestCase):
    def status(self) -> str:
        out = io.StringIO()
        call_command("ha_status", stdout=out)
        return out.getvalue()

    def test_not_enabled(self):
        with override_settings(HA_COROSYNC_CONF=Path("/nonexistent/corosync.conf")):
            self.assertEqual(self.status().strip(), "HA is not enabled.")

    def test_cluster_and_database_stopped(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "corosync.conf"
            path.write_text(COROSYNC_CONF)
            path.with_name("authkey").write_bytes(b"key")
            with (
                override_settings(HA_COROSYNC_CONF=path),
                override_settings(HA_RUN_DIR=Path(tmp)),
                mock.patch.object(cluster, "db_running", return_value=False),
            ):
                text = self.status()
        self.assertIn("PCSD Status:\nError: cluster is not currently running on this node", text)
        self.assertIn("corosync: inactive/enabled", text)
        self.assertIn("Database Replication Status:\nDB service not currently running.", text)
