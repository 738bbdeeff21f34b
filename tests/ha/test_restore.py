"""A backup restored on a running cluster: on the active server only; the database reaches
the standby through replication, the backup's secrets through the shared state the standby
adopts when its application restarts; after a switchover the standby serves the products
registered before the backup under the same product CA, and nothing registered after it.

The lab's nodes start with secrets other than the backup's (as a freshly installed cluster
would): without the standby's adoption its application would not open the product CA's key.
"""

import os
import secrets
import shutil
import unittest
from pathlib import Path

from django.test import SimpleTestCase, tag

from . import lab
from .test_scenarios import SEED

PASSPHRASE = "restore on a running cluster"
SHARED = ("SECRET_KEY", "PRODUCT_CA_ENCRYPTION_KEY")
PRESENT = """
import json
from licensing.models import ProductInstance
print("RESULT", json.dumps(sorted(ProductInstance.objects.filter(udi_sn__startswith="rst")
                                  .values_list("udi_sn", flat=True))))
"""


def env_file(node: str) -> Path:
    return lab.STATE / "nodes" / node / "app" / "ssm.env"


def shared_values(node: str) -> dict[str, str]:
    """The node's shared secrets as its env file has them (not as this process's environment
    would override them)."""
    lines = env_file(node).read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    return {name: values.get(name, "") for name in SHARED}


@tag("ha")
@unittest.skipUnless(os.environ.get("SSM_HA_LAB") == "1", "needs the HA lab (deploy/lab/test)")
class RestoreOnClusterTests(SimpleTestCase):
    databases: set[str] = set()

    def setUp(self):
        self.dir = lab.STATE / "restore-test"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.passphrase = self.dir / "passphrase"
        self.passphrase.write_text(PASSPHRASE + "\n")
        self.devices = self.dir / "devices.json"

    def simulate(self, operations: str, *, prefix: str, count: int, token: str = "") -> str:
        proc = lab.client(
            "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
            f"SSM_ENV_FILE={env_file('n1')}", f"SSM_VAR={lab.STATE / 'client'}",
            lab.PYTHON, lab.REPO / "manage.py", "device_simulator", "--url", lab.URL,
            "--token", token, "--synthetic", str(count), "--prefix", prefix,
            "--state", self.dir / f"{prefix}.json", "--operations", operations,
            "--retry-for", "30",
            timeout=180,
        )  # fmt: skip
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return proc.stdout

    def test_restore_on_the_active_server_reaches_the_standby(self):
        lab.wait_settled("n1")
        self.assertEqual(lab.vip_holder(), "n1", "the lab must start with the VIP on the primary")
        token = lab.node_python("n1", SEED)["token"]
        self.simulate("register,authorize", prefix="rstbefore", count=3, token=token)
        backed_up_products = lab.node_python("n1", PRESENT)
        self.assertGreaterEqual(len(backed_up_products), 3)
        backup = self.dir / "cluster.tar"
        out = lab.manage("n1", "backup", str(backup), "--passphrase-file", str(self.passphrase))
        self.assertIn(f"Backup written to {backup}", out)
        self.simulate("register", prefix="rstafter", count=2, token=token)
        backed_up = shared_values("n1")
        self.assertEqual(shared_values("n2"), backed_up)

        # the cluster's secrets now differ from the backup's, on both nodes (a fresh cluster)
        for node in ("n1", "n2"):
            path = env_file(node)
            text = path.read_text()
            for name in SHARED:
                text = text.replace(f"{name}={backed_up[name]}", f"{name}={secrets.token_hex(16)}")
            path.write_text(text)
        self.addCleanup(self.put_back, backed_up)
        self.assertNotEqual(shared_values("n2"), backed_up)

        restore = ["restore", str(backup), "--passphrase-file", str(self.passphrase), "--yes"]
        refused = lab.manage("n2", *restore, check=False)
        self.assertIn(
            f"This node ({lab.NODES['n2']}) is not the active server ({lab.NODES['n1']})", refused
        )
        self.assertIn("Nothing was changed.", refused)

        out = lab.manage("n1", *restore)
        for line in (
            "checksums and passphrase good",
            "Application stopped on every node",
            "The restored database is now",
            "published for the other node",
            "Application started on every node",
            "Restore complete on both nodes.",
        ):
            self.assertIn(line, out)
        self.assertEqual(shared_values("n1"), backed_up)
        # the standby's application restarted with the backup's secrets
        self.assertEqual(shared_values("n2"), backed_up)
        generation = lab.STATE / "nodes" / "{}" / "app" / "shared-state.generation"
        self.assertEqual(
            Path(str(generation).format("n2")).read_text(),
            Path(str(generation).format("n1")).read_text(),
        )
        self.assertEqual(lab.node_python("n2", PRESENT), backed_up_products)

        # the standby takes over: it signs for the products of the backup (same product CA)
        lab.wait_settled("n1", timeout=180)
        out = lab.manage("n1", "ha_switchover")
        self.assertIn(f"Active server: {lab.NODES['n2']}", out)
        self.assertEqual(lab.vip_holder(), "n2")
        self.simulate("renew,authorize", prefix="rstbefore", count=3)
        self.simulate("register", prefix="rstnew", count=1, token=token)
        lab.wait_settled("n2", timeout=180)
        lab.manage("n2", "ha_switchover", "--fallback")
        self.assertEqual(lab.vip_holder(), "n1")
        lab.wait_settled("n1", timeout=180)

    def put_back(self, values: dict[str, str]) -> None:
        """The lab's own secrets again, whatever the test left (the next tests use them)."""
        for node in ("n1", "n2"):
            path = env_file(node)
            lines = [
                line
                for line in path.read_text().splitlines()
                if line.split("=", 1)[0] not in values
            ]
            path.write_text("\n".join([*lines, *(f"{k}={v}" for k, v in values.items())]) + "\n")
