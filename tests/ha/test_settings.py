"""Settings made on the active node reach the other one: Settings → Time's NTP servers are
written into the standby's chrony sources by its cluster agent (ssm-app's monitor)."""

import os
import unittest

from django.test import SimpleTestCase, tag

from . import lab

SAVE = """
import json
from core import timekeeping
row = timekeeping.save_time_setting(time_zone="Europe/Paris",
                                    ntp_servers="ntp-__RUN__.example.com", by_user=None)
print("RESULT", json.dumps({"generation": row.generation}))
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
