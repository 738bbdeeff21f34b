"""The shared state a restore publishes on a cluster: sealed with the cluster's key, adopted
once by the other node (each node remembers the generation it runs with)."""

import os
import shutil
import tempfile
from pathlib import Path

from django.test import TestCase, override_settings

from highavailability import sharedstate
from highavailability.models import SharedState

STATE = {
    "settings": {"SECRET_KEY": "restored-secret", "PRODUCT_CA_ENCRYPTION_KEY": "restored-ca"},
    "tls": {"browser.crt": "RESTORED CERT", "browser.key": "RESTORED KEY"},
}


class Node:
    """One node's folders: its env file, TLS folder, state folder and the cluster's key."""

    def __init__(self, test, corosync: Path):
        self.dir = Path(tempfile.mkdtemp())
        test.addCleanup(shutil.rmtree, self.dir)
        self.env = self.dir / "ssm.env"
        self.env.write_text("SECRET_KEY=own\nPRODUCT_CA_ENCRYPTION_KEY=own-ca\n")
        self.settings = override_settings(
            SSM_VAR=self.dir, SSM_ENV_FILE=self.env, BROWSER_CERT_DIR=self.dir / "tls",
            HA_COROSYNC_CONF=corosync,
        )  # fmt: skip


def cluster_folder(test) -> Path:
    folder = Path(tempfile.mkdtemp())
    test.addCleanup(shutil.rmtree, folder)
    (folder / "corosync.conf").write_text("totem {}\n")
    (folder / "authkey").write_bytes(os.urandom(256))
    return folder / "corosync.conf"


class SharedStateTests(TestCase):
    def setUp(self):
        corosync = cluster_folder(self)
        self.active, self.standby = Node(self, corosync), Node(self, corosync)

    def test_the_other_node_adopts_a_publication_once(self):
        with self.active.settings:
            generation = sharedstate.publish(STATE)
            self.assertEqual(sharedstate.adopted_generation(), generation)
            lines: list[str] = []
            self.assertFalse(sharedstate.adopt_published(lines.append))  # already its own
        row = SharedState.objects.get()
        self.assertNotIn("restored-secret", row.sealed)  # sealed, not readable from a dump
        with self.standby.settings:
            self.assertTrue(sharedstate.adopt_published(lines.append))
            self.assertFalse(sharedstate.adopt_published(lines.append))
            self.assertEqual(sharedstate.adopted_generation(), generation)
        env = self.standby.env.read_text()
        self.assertIn("SECRET_KEY=restored-secret\n", env)
        self.assertIn("PRODUCT_CA_ENCRYPTION_KEY=restored-ca\n", env)
        self.assertEqual((self.standby.dir / "tls" / "browser.crt").read_text(), "RESTORED CERT")
        self.assertIn(f"Shared state {generation}", lines[-2])

    def test_another_clusters_publication_is_left(self):
        with self.active.settings:
            sharedstate.publish(STATE)
        stranger = Node(self, cluster_folder(self))
        lines: list[str] = []
        with stranger.settings:
            self.assertFalse(sharedstate.adopt_published(lines.append))
        self.assertIn("sealed with another cluster's key", lines[0])
        self.assertIn("SECRET_KEY=own\n", stranger.env.read_text())
