"""Settings made on the active node reach the other one: Settings → Time's NTP servers are
written into the standby's chrony sources by its cluster agent (ssm-app's monitor); Settings
→ Syslog goes on forwarding from where it stopped after a switchover, each event once, to a
real rsyslogd in the client namespace."""

import os
import re
import unittest

from django.test import SimpleTestCase, tag

from tests.support.rsyslog import Rsyslog

from . import lab

SAVE = """
import json
from core import timekeeping
row = timekeeping.save_time_setting(time_zone="Europe/Paris",
                                    ntp_servers="ntp-__RUN__.example.com", by_user=None)
print("RESULT", json.dumps({"generation": row.generation}))
"""

ADD_SYSLOG = """
import json
from core import syslog
server = syslog.add_syslog_server(host="__HOST__", port=__PORT__, transport="tcp", facility=16,
                                  severity=6, by_user=None)
print("RESULT", json.dumps({"id": server.pk}))
"""
PROBES = """
import json
from core.choices import EventCategory
from core.models import Event
from core.services import record_event
for n in range(3):
    record_event(EventCategory.SYSTEM, "__ACTION__", f"probe {n}")
print("RESULT", json.dumps(sorted(Event.objects.filter(action__startswith="__RUN__")
                                  .values_list("pk", flat=True))))
"""
REMOVE_SYSLOG = """
import json
from core.models import SyslogServer
SyslogServer.objects.filter(pk=__ID__).delete()
print("RESULT", json.dumps({}))
"""


@tag("ha")
@unittest.skipUnless(os.environ.get("SSM_HA_LAB") == "1", "needs the HA lab (deploy/lab/test)")
class SettingsOnBothNodesTests(SimpleTestCase):
    databases: set[str] = set()

    def test_the_standby_applies_the_ntp_servers_chosen_on_the_active_node(self):
        run = str(os.getpid())
        saved = lab.node_python("n1", SAVE.replace("__RUN__", run))
        app = lab.STATE / "nodes" / "n2" / "app"
        sources = app / "chrony-sources.d" / "ssm-onprem.sources"

        def applied() -> bool:
            generation = app / "ntp.generation"
            return (
                generation.exists()
                and generation.read_text().strip() == saved["generation"]
                and f"server ntp-{run}.example.com iburst" in sources.read_text()
            )

        lab.wait_for("the standby's chrony sources", applied, 60, interval=1)

    def test_syslog_forwarding_goes_on_after_a_switchover(self):
        receiver = Rsyslog(address=lab.ENV["CLIENT_IP"], netns=lab.CLIENT_NS).start()
        self.addCleanup(receiver.cleanup)
        added = lab.node_python(
            "n1",
            ADD_SYSLOG.replace("__HOST__", lab.ENV["CLIENT_IP"]).replace(
                "__PORT__", str(receiver.tcp_port)
            ),
        )
        self.addCleanup(lab.node_python, "n1", REMOVE_SYSLOG.replace("__ID__", str(added["id"])))

        run = f"ha_probe_{os.getpid()}_"

        def forwarded() -> list[int]:
            ids = []
            for line in receiver.lines():
                if line[6].startswith(run):
                    ids += [int(x) for x in re.findall(r'\bid="(\d+)"', line[7])]
            return ids

        expected = lab.node_python(
            "n1", PROBES.replace("__ACTION__", run + "before").replace("__RUN__", run)
        )
        lab.wait_for("the events at rsyslogd", lambda: sorted(forwarded()) == expected, 60, 1)
        lab.wait_settled("n1", timeout=180)
        out = lab.manage("n1", "ha_switchover")
        self.assertIn(f"Active server: {lab.NODES['n2']}", out)
        expected = lab.node_python(
            "n2", PROBES.replace("__ACTION__", run + "after").replace("__RUN__", run)
        )
        # the new active node's scheduler goes on from the same cursor: each event once
        lab.wait_for("the events after the switchover", lambda: len(forwarded()) >= 6, 60, 1)
        self.assertEqual(sorted(forwarded()), expected)
        lab.wait_settled("n2", timeout=180)
        lab.manage("n2", "ha_switchover", "--fallback")
        self.assertEqual(lab.vip_holder(), "n1")
        lab.wait_settled("n1", timeout=180)
