"""Forming a cluster: keys, the standby's restricted consent, the files both nodes receive."""

import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from io import StringIO
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import SimpleTestCase, override_settings

from highavailability import formation
from highavailability.cluster import ClusterError

PRIMARY = formation.Member("primary-node", "192.0.2.11", "198.51.100.11", 1)
SECONDARY = formation.Member("secondary-node", "192.0.2.12", "198.51.100.12", 2)


class TempDirs(SimpleTestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(subprocess.run, ["rm", "-rf", str(self.tmp)])
        for name, value in {
            "KEY_DIR": self.tmp / "ha",
            "AUTHORIZED_KEYS": self.tmp / "root" / ".ssh" / "authorized_keys",
            "COROSYNC_CONF": self.tmp / "etc" / "corosync.conf",
        }.items():
            overridden = override_settings(**{f"HA_{name}": value})
            overridden.enable()
            self.addCleanup(overridden.disable)


class KeyTests(TempDirs):
    def test_generated_keys_are_openssh_keys_with_private_permissions(self):
        public, created = formation.generate_keys()
        self.assertTrue(created)
        private = formation.private_key_path()
        self.assertEqual(os.stat(private).st_mode & 0o777, 0o600)
        # OpenSSH itself reads both halves and finds the same key
        derived = subprocess.run(
            ["ssh-keygen", "-y", "-f", str(private)], capture_output=True, text=True, check=True
        ).stdout.split()
        self.assertEqual(derived[:2], public.split()[:2])
        self.assertEqual(formation.generate_keys(), (public, False))
        replaced, created = formation.generate_keys(replace=True)
        self.assertTrue(created)
        self.assertNotEqual(replaced.split()[1], public.split()[1])

    def test_public_key_before_generation_names_the_fix(self):
        with self.assertRaisesMessage(ClusterError, "run ha_generatekeys first"):
            formation.public_key()

    def test_provisioning_restricts_the_key_to_the_join_command(self):
        public, _ = formation.generate_keys()
        self.assertTrue(formation.authorize_primary(public))
        self.assertFalse(formation.authorize_primary(public))  # once only
        lines = settings.HA_AUTHORIZED_KEYS.read_text().splitlines()
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith('command="env '))
        self.assertIn("manage.py ha_join", lines[0])
        for option in ("no-port-forwarding", "no-agent-forwarding", "no-pty"):
            self.assertIn(option, lines[0])
        self.assertIn(public.split()[1], lines[0])
        self.assertEqual(os.stat(settings.HA_AUTHORIZED_KEYS).st_mode & 0o777, 0o600)

    def test_bad_keys_are_refused_with_the_fix(self):
        for text in ("", "hello", "ssh-rsa AAAAB3NzaC1yc2E", "ssh-ed25519 not-base64!"):
            with self.subTest(text=text), self.assertRaises(ClusterError) as caught:
                formation.authorize_primary(text)
            self.assertIn("Error:", str(caught.exception))
        self.assertFalse(settings.HA_AUTHORIZED_KEYS.exists())

    def test_provision_standby_command(self):
        public, _ = formation.generate_keys()
        out = StringIO()
        with mock.patch("highavailability.cluster.ha_enabled", return_value=False):
            call_command("ha_provision_standby", "--key", public, stdout=out)
            self.assertIn("Standby provisioned", out.getvalue())
            with self.assertRaisesMessage(CommandError, "not a cluster key"):
                call_command("ha_provision_standby", "--key", "ssh-dss AAAA")
        with (
            mock.patch("highavailability.cluster.ha_enabled", return_value=True),
            self.assertRaisesMessage(CommandError, "run ha_teardown first"),
        ):
            call_command("ha_provision_standby", "--key", public)


class FencingTests(SimpleTestCase):
    names = ["primary-node", "secondary-node"]

    def test_no_agent_no_device(self):
        self.assertEqual(formation.fencing_devices(self.names, "", ["x=1"]), [])

    def test_one_device_for_both_nodes(self):
        (device,) = formation.fencing_devices(self.names, "fence_ssmlab", ["socket_path=/s"])
        self.assertEqual(device["agent"], "fence_ssmlab")
        self.assertIn(("pcmk_host_list", "primary-node secondary-node"), device["params"])
        self.assertIn(("socket_path", "/s"), device["params"])

    def test_one_device_per_node_when_a_parameter_names_its_node(self):
        devices = formation.fencing_devices(
            self.names,
            "fence_ipmilan",
            ["lanplus=1", "primary-node:ip=10.0.0.21", "secondary-node:ip=10.0.0.22"],
        )
        self.assertEqual([d["id"] for d in devices], ["fence-primary-node", "fence-secondary-node"])
        self.assertIn(("ip", "10.0.0.21"), devices[0]["params"])
        self.assertNotIn(("ip", "10.0.0.22"), devices[0]["params"])
        self.assertIn(("lanplus", "1"), devices[1]["params"])
        self.assertIn(("pcmk_host_list", "secondary-node"), devices[1]["params"])

    def test_bad_parameters(self):
        for params in (["novalue"], ["other-node:ip=1"], ["=1"]):
            with self.subTest(params=params), self.assertRaises(ClusterError):
                formation.fencing_devices(self.names, "fence_ipmilan", params)


@override_settings(BASE_DIR=Path("/opt/ssm"))
class RenderTests(SimpleTestCase):
    def plan(self, **kwargs):
        return formation.Plan(PRIMARY, SECONDARY, "192.0.2.10", **kwargs)

    def test_cib_is_valid_xml_with_the_resources(self):
        fencing = formation.fencing_devices(
            ["primary-node", "secondary-node"], "fence_ssmlab", ["socket_path=/run/p.sock"]
        )
        files = formation.render_files(self.plan(fencing=fencing), PRIMARY)
        cib = ET.fromstring(files[str(settings.HA_CIB_DIR / "cib.xml")])
        options = {n.get("name"): n.get("value") for n in cib.iter("nvpair")}
        self.assertEqual(options["stonith-enabled"], "true")
        self.assertEqual(options["ip"], "192.0.2.10")
        self.assertEqual(options["socket_path"], "/run/p.sock")
        primitives = {p.get("id"): p.get("type") for p in cib.iter("primitive")}
        self.assertEqual(primitives["pgsqld"], "pgsqlms")
        self.assertEqual(primitives["fence-cluster"], "fence_ssmlab")
        self.assertIn("ssm-app", primitives)
        unfenced = ET.fromstring(formation.render_files(self.plan(), PRIMARY)[
            str(settings.HA_CIB_DIR / "cib.xml")])  # fmt: skip
        self.assertNotIn("fence-cluster", {p.get("id") for p in unfenced.iter("primitive")})

    def test_corosync_nodes_and_quorum(self):
        heuristic = "/opt/ssm/highavailability/scripts/holds-vip 192.0.2.10 eth0"
        qdevice = {"host": "192.0.2.100", "port": 5403, "timeout": 3000, "sync_timeout": 6000,
                   "heuristic": heuristic}  # fmt: skip
        text = formation.render_files(self.plan(qdevice=qdevice), PRIMARY)[
            str(settings.HA_COROSYNC_CONF)
        ]
        self.assertIn("ring0_addr: 198.51.100.12", text)
        self.assertIn("name: secondary-node", text)
        self.assertIn("host: 192.0.2.100", text)
        self.assertNotIn("two_node", text)
        two = formation.render_files(self.plan(), PRIMARY)[str(settings.HA_COROSYNC_CONF)]
        self.assertIn("two_node: 1", two)
        self.assertEqual(two.count("{"), two.count("}"))

    def test_each_member_gets_its_own_database_files(self):
        mine = formation.render_files(self.plan(), PRIMARY)
        theirs = formation.render_files(self.plan(), SECONDARY)
        node_conf = str(settings.HA_PG_DATA.parent / "node.conf")
        hba = str(settings.HA_PG_DATA.parent / "pg_hba.conf")
        self.assertIn("application_name=primary-node", mine[node_conf])
        self.assertIn("application_name=secondary-node", theirs[node_conf])
        self.assertIn("host=192.0.2.10 ", theirs[node_conf])
        self.assertIn("192.0.2.11/32 reject", mine[hba])
        self.assertIn("192.0.2.12/32     trust", mine[hba])


class DatabaseAddressTests(SimpleTestCase):
    def test_env_file_follows_the_vip_and_back(self):
        with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as env:
            env.write("SECRET_KEY=x\nDATABASE_URL=postgres://ssm@127.0.0.1:5432/ssm\n")
        self.addCleanup(os.unlink, env.name)
        with override_settings(SSM_ENV_FILE=Path(env.name)):
            formation.point_database_at("192.0.2.10")
            text = Path(env.name).read_text()
            self.assertIn("DATABASE_URL=postgres://ssm@192.0.2.10:5432/ssm\n", text)
            self.assertIn("DATABASE_TARGET_SESSION_ATTRS=read-write", text)
            # the repair at boot asks the VIP who the primary is: a host's env file names it
            self.assertIn("HA_VIP=192.0.2.10\n", text)
            formation.point_database_at("127.0.0.1")
            text = Path(env.name).read_text()
        self.assertEqual(text, "SECRET_KEY=x\nDATABASE_URL=postgres://ssm@127.0.0.1:5432/ssm\n")

    def test_addresses_are_checked(self):
        self.assertEqual(formation.check_address("192.0.2.1", "VIP"), "192.0.2.1")
        with self.assertRaisesMessage(ClusterError, "'node-1' is not an IP address"):
            formation.check_address("node-1", "VIP")


class RealHostTests(SimpleTestCase):
    """What two real hosts need that the lab's shared folders hid."""

    def test_the_standby_adopts_the_primarys_secrets_and_certificate(self):
        folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, folder)
        env_path, tls = folder / ".env", folder / "tls"
        env_path.write_text("SECRET_KEY=standby-own\nDATABASE_URL=postgres://ssm@127.0.0.1/ssm\n")
        tls.mkdir()
        (tls / "browser.crt").write_text("standby's own certificate")
        state = {
            "settings": {"SECRET_KEY": "primary", "PRODUCT_CA_ENCRYPTION_KEY": "ca-key",
                         "DATABASE_URL": "postgres://evil@x/y"},
            "tls": {"browser.crt": "CERT", "browser.key": "KEY", "../escape": "no"},
        }  # fmt: skip
        with override_settings(SSM_ENV_FILE=env_path, BROWSER_CERT_DIR=tls):
            formation.adopt_shared_state(state, lambda line: None)
        text = env_path.read_text()
        self.assertIn("SECRET_KEY=primary\n", text)
        self.assertNotIn("standby-own", text)
        self.assertIn("PRODUCT_CA_ENCRYPTION_KEY=ca-key\n", text)
        # only the shared settings travel: the standby keeps its own database address
        self.assertIn("DATABASE_URL=postgres://ssm@127.0.0.1/ssm\n", text)
        self.assertEqual((tls / "browser.crt").read_text(), "CERT")
        self.assertEqual((tls / "browser.key").stat().st_mode & 0o777, 0o600)
        self.assertFalse((folder / "escape").exists())
        self.assertEqual(env_path.stat().st_mode & 0o777, 0o600)

    def test_a_cib_left_by_an_earlier_pacemaker_is_cleared_before_seeding(self):
        folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, folder)
        cib_dir = folder / "cib"
        cib_dir.mkdir()
        for stale in ("cib.xml", "cib.xml.sig", "cib-7.raw", "cib.last"):
            (cib_dir / stale).write_text("from Debian's first start")
        conf = folder / "corosync" / "corosync.conf"
        files = {str(conf): "totem {}", str(cib_dir / "cib.xml"): "<cib/>"}
        with (
            override_settings(HA_COROSYNC_CONF=conf, HA_CIB_DIR=cib_dir),
            mock.patch("shutil.chown"),
        ):
            formation.install_cluster_files(files, b"k" * 256)
        self.assertEqual(sorted(p.name for p in cib_dir.iterdir()), ["cib.xml"])
        self.assertEqual((cib_dir / "cib.xml").read_text(), "<cib/>")

    def test_the_application_may_reach_the_database_from_the_vip(self):
        hba = formation.render_files(formation.Plan(PRIMARY, SECONDARY, "192.0.2.10"), PRIMARY)[
            str(settings.HA_PG_DATA.parent / "pg_hba.conf")]  # fmt: skip
        lines = [line.split() for line in hba.splitlines() if line.startswith("host")]
        vip = [line for line in lines if line[3] == "192.0.2.10/32"]
        # replication from the VIP (the node itself) is refused first, the application allowed
        self.assertEqual([line[1] + " " + line[4] for line in vip][:2],
                         ["replication reject", "replication trust"])  # fmt: skip
        self.assertIn(["host", "all", "all", "192.0.2.10/32", "trust"], lines)


class BootRepairTests(SimpleTestCase):
    """ssm-cluster-repair.service: ha_cluster_start --repair-only before pacemaker, at boot."""

    def setUp(self):
        folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, folder)
        self.refusal = folder / "ssm-cluster-repair.refused"
        for target, value in (
            ("highavailability.cluster.BOOT_REFUSAL", self.refusal),
            ("highavailability.cluster.ha_enabled", lambda: True),
            ("highavailability.cluster.db_running", lambda: True),
        ):
            patcher = mock.patch(target, value)
            patcher.start()
            self.addCleanup(patcher.stop)

    def test_a_node_that_cannot_be_repaired_stays_out_and_says_why(self):
        reason = "PostgreSQL on this node stopped as 'in production' and no primary answers"
        with (
            mock.patch(
                "highavailability.cluster.repair_database", side_effect=ClusterError(reason)
            ),
            self.assertRaisesMessage(CommandError, reason),
        ):
            call_command("ha_cluster_start", "--repair-only", stdout=StringIO())
        self.assertIn(reason, self.refusal.read_text())
        with (
            mock.patch("highavailability.cluster.cluster_running", lambda: False),
            mock.patch("highavailability.cluster.configured_nodes", list),
            mock.patch("highavailability.cluster.systemd_host", lambda: False),
            mock.patch("highavailability.cluster.database_state", side_effect=ClusterError("x")),
            mock.patch("highavailability.cluster.db_running", lambda: False),
        ):
            out = StringIO()
            call_command("ha_status", stdout=out)
        self.assertIn(f"This node stayed out of the cluster at boot: {reason}", out.getvalue())

    def test_a_repaired_node_lets_pacemaker_start(self):
        self.refusal.write_text("an earlier boot's reason\n")
        with mock.patch("highavailability.cluster.repair_database", return_value=True) as repair:
            out = StringIO()
            call_command("ha_cluster_start", "--repair-only", stdout=out)
        repair.assert_called_once()
        self.assertIn("Database fit to rejoin: pacemaker may start", out.getvalue())
        self.assertFalse(self.refusal.exists())
