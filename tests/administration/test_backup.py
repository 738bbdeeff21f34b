"""Backup and restore against the real PostgreSQL: a round trip onto a fresh server keeps
every product's identity (its next signed messages are accepted, its certificate renews
under the same product CA) and every balance; a bad file, another version or a wrong
passphrase is refused before anything changes."""

import io
import json
import tarfile
import tempfile
from pathlib import Path

import psycopg
from cryptography import x509
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import TestCase, TransactionTestCase, override_settings

from accounts.models import PurchasedLicense
from administration import backup
from core.models import Event
from licensing import services as licensing
from licensing.models import ProductInstance
from licensing.services.common import clear_cache
from licensing.simulator import Device
from security.services import set_host_common_name
from tests.licensing.support import (
    PI_BASE,
    PI_LIFECYCLE,
    gateway_client,
    in_use,
    purchase,
    token_for,
)
from tests.support.personas import make_account, make_user

PASSPHRASE = "a long enough passphrase"


def env_values(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def read(path, passphrase=PASSPHRASE):
    """What restore reads from a backup file before it changes anything."""
    with tempfile.TemporaryDirectory() as work:
        return backup.read_backup(path, passphrase, Path(work))


class Folder:
    """A temporary env file and Browser Certificate folder standing for the server's."""

    def __init__(self, test):
        self._dir = tempfile.TemporaryDirectory()
        test.addCleanup(self._dir.cleanup)
        self.path = Path(self._dir.name)
        self.env = self.path / "ssm.env"
        self.tls = self.path / "tls"
        self.tls.mkdir()
        (self.tls / "browser.crt").write_text("CERTIFICATE OF THE BACKED-UP SERVER\n")
        (self.tls / "browser.key").write_text("KEY OF THE BACKED-UP SERVER\n")
        self.env.write_text("DEBUG=false\nSECRET_KEY=of-the-fresh-install\n")


class BackupRoundTripTests(TransactionTestCase):
    """The restore swaps whole databases, so this test commits for real."""

    def tearDown(self):
        db = settings.DATABASES["default"]
        with psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
            dbname="postgres", autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}_before_restore" WITH (FORCE)')
        super().tearDown()

    def balances(self, va) -> dict[str, tuple[int, int]]:
        return {row["tag"]: (row["purchased"], row["in_use"]) for row in licensing.license_rows(va)}

    def test_round_trip_onto_a_fresh_server(self):
        folder = Folder(self)
        set_host_common_name("ssm.example.com")
        account = make_account("Plant")
        va = account.default_virtual_account
        purchase(va, PI_BASE, 10)
        purchase(va, PI_LIFECYCLE, 5)
        client = gateway_client()
        token = token_for(va)
        devices = []
        for name in ("pi37", "pi38", "pi39"):
            device = Device(sn=name, entitlements=[(PI_BASE, 2), (PI_LIFECYCLE, 1)])
            client.register(device, token.token)
            client.authorize(device)
            devices.append(device)
        client.trusted_ca = x509.load_pem_x509_certificate(
            licensing.product_ca().certificate_pem.encode()
        )
        before = self.balances(va)
        self.assertEqual(before[PI_BASE], (10, 6))
        with override_settings(SSM_ENV_FILE=folder.env, BROWSER_CERT_DIR=str(folder.tls)):
            manifest = backup.backup(folder.path / "b.tar", PASSPHRASE)
        self.assertEqual(manifest["host_common_name"], "ssm.example.com")
        secrets_of_the_backup = {
            "SECRET_KEY": settings.SECRET_KEY,
            "PRODUCT_CA_ENCRYPTION_KEY": settings.PRODUCT_CA_ENCRYPTION_KEY,
        }

        # A fresh server: empty tables, its own secrets, its own Browser Certificate.
        call_command("flush", interactive=False, verbosity=0)
        (folder.tls / "browser.crt").write_text("FRESH\n")
        fresh = {"SECRET_KEY": "fresh-" + "x" * 50, "PRODUCT_CA_ENCRYPTION_KEY": "fresh-ca-key"}
        with override_settings(SSM_ENV_FILE=folder.env, BROWSER_CERT_DIR=str(folder.tls), **fresh):
            lines = []
            backup.restore(folder.path / "b.tar", PASSPHRASE, say=lines.append)
        self.assertIn("Loading the backup into a new database", "\n".join(lines))
        written = env_values(folder.env)
        self.assertEqual(written["DEBUG"], "false")  # the rest of the env file is kept
        for name, value in secrets_of_the_backup.items():
            self.assertEqual(written[name], value)
        self.assertEqual(
            (folder.tls / "browser.crt").read_text(), "CERTIFICATE OF THE BACKED-UP SERVER\n"
        )

        # The server restarted with the backup's secrets: the products carry on.
        clear_cache()
        with override_settings(**{k: written[k] for k in secrets_of_the_backup}):
            self.assertEqual(ProductInstance.objects.filter(status="registered").count(), 3)
            self.assertEqual(self.balances(va), before)
            for device in devices:
                client.report_usage(device)
                client.renew(device)  # checked against the same product CA (trusted_ca)
            extra = Device(sn="pi40", entitlements=[(PI_BASE, 1)])
            client.register(extra, token.token)
            client.authorize(extra)
            after = self.balances(va)
            self.assertEqual(after[PI_BASE], (10, 7))
            self.assertEqual(after[PI_BASE][1], in_use(PI_BASE, va))  # the counters = a recount
            self.assertEqual(
                PurchasedLicense.objects.get(virtual_account=va, tag=PI_BASE).quantity, 10
            )
        self.assertTrue(Event.objects.filter(action="backup_restored").exists())


class BackupRefusalTests(TestCase):
    """Refusals happen while reading the file: the database is never touched."""

    def setUp(self):
        self.folder = Folder(self)
        make_user("someone")
        with override_settings(SSM_ENV_FILE=self.folder.env, BROWSER_CERT_DIR=str(self.folder.tls)):
            backup.backup(self.folder.path / "b.tar", PASSPHRASE)

    def read(self, path, passphrase=PASSPHRASE):
        return read(path, passphrase)

    def rewrite(self, change) -> Path:
        """A copy of the backup with its manifest changed by `change`."""
        source = self.folder.path / "b.tar"
        target = self.folder.path / "changed.tar"
        with tarfile.open(source) as old, tarfile.open(target, "w") as new:
            for member in old.getmembers():
                data = old.extractfile(member).read()
                if member.name == backup.MANIFEST:
                    manifest = json.loads(data)
                    change(manifest)
                    data = json.dumps(manifest).encode()
                    member.size = len(data)
                new.addfile(member, io.BytesIO(data))
        return target

    def test_the_backup_file_holds_the_secrets_encrypted(self):
        raw = (self.folder.path / "b.tar").read_bytes()
        self.assertNotIn(settings.SECRET_KEY.encode(), raw)
        self.assertNotIn(b"KEY OF THE BACKED-UP SERVER", raw)
        self.assertEqual((self.folder.path / "b.tar").stat().st_mode & 0o777, 0o600)
        manifest, secrets, _ = self.read(self.folder.path / "b.tar")
        self.assertEqual(secrets["settings"]["SECRET_KEY"], settings.SECRET_KEY)
        self.assertEqual(secrets["tls"]["browser.key"], "KEY OF THE BACKED-UP SERVER\n")

    def test_wrong_passphrase(self):
        with self.assertRaisesMessage(backup.BackupError, "Wrong passphrase"):
            self.read(self.folder.path / "b.tar", "another passphrase!")

    def test_another_version_or_schema(self):
        path = self.rewrite(lambda m: m.update(version="9.9.9"))
        with self.assertRaisesMessage(backup.BackupError, "This backup is of version 9.9.9"):
            self.read(path)
        path = self.rewrite(lambda m: m["schema"].append("accounts.0099_future"))
        with self.assertRaisesMessage(backup.BackupError, "Restore it on a server of the same"):
            self.read(path)

    def test_damaged_or_foreign_files(self):
        path = self.rewrite(lambda m: m["sha256"].update({"database.dump": "0" * 64}))
        with self.assertRaisesMessage(backup.BackupError, "is damaged"):
            self.read(path)
        junk = self.folder.path / "junk.tar"
        junk.write_bytes(b"\x00not a tar" * 100)
        with self.assertRaisesMessage(backup.BackupError, "is not a backup file"):
            self.read(junk)

    def test_a_short_passphrase_is_refused(self):
        with self.assertRaisesMessage(backup.BackupError, "at least 12 characters"):
            backup.backup(self.folder.path / "c.tar", "short")
        self.assertFalse((self.folder.path / "c.tar").exists())

    def test_console_commands(self):
        out = io.StringIO()
        target = self.folder.path / "console.tar"
        passphrase_file = self.folder.path / "pass"
        passphrase_file.write_text(PASSPHRASE + "\n")
        with override_settings(SSM_ENV_FILE=self.folder.env, BROWSER_CERT_DIR=str(self.folder.tls)):
            call_command("backup", str(target), passphrase_file=str(passphrase_file), stdout=out)
        self.assertIn(f"Backup written to {target}", out.getvalue())
        wrong = self.folder.path / "wrong"
        wrong.write_text("not the passphrase at all")
        from django.core.management.base import CommandError

        with self.assertRaisesMessage(CommandError, "Wrong passphrase") as refused:
            call_command("restore", str(target), passphrase_file=str(wrong), yes=True, stdout=out)
        self.assertIn("Nothing was changed.", str(refused.exception))
        self.assertTrue(connection.is_usable())


class BackupPageTests(TestCase):
    """Support Center → Backup: system administrators download a backup."""

    def setUp(self):
        self.folder = Folder(self)
        self.admin = make_user("root-admin", "system_admin")
        self.operator = make_user("op", "system_operator")

    def test_download_a_backup_that_reads_back_with_the_passphrase(self):
        self.client.force_login(self.admin)
        url = "/admin/support-center/backup/"
        self.assertContains(self.client.get(url), "manage.py restore")
        response = self.client.post(url, {"passphrase": "short", "passphrase2": "short"})
        self.assertContains(response, "at least 12 characters", status_code=400)
        response = self.client.post(url, {"passphrase": PASSPHRASE, "passphrase2": "other one!!!!"})
        self.assertContains(response, "The two passphrases differ.", status_code=400)
        with override_settings(SSM_ENV_FILE=self.folder.env, BROWSER_CERT_DIR=str(self.folder.tls)):
            response = self.client.post(url, {"passphrase": PASSPHRASE, "passphrase2": PASSPHRASE})
        self.assertEqual(response.status_code, 200)
        self.assertIn('attachment; filename="ssm-backup-', response["Content-Disposition"])
        path = self.folder.path / "downloaded.tar"
        path.write_bytes(b"".join(response.streaming_content))
        manifest, secrets, _ = read(path)
        self.assertEqual(secrets["tls"]["browser.crt"], "CERTIFICATE OF THE BACKED-UP SERVER\n")
        event = Event.objects.get(action="backup_created")
        self.assertEqual(event.user, self.admin)
        self.assertContains(self.client.get(url), "Backup created")

    def test_only_system_administrators(self):
        self.client.force_login(self.operator)
        response = self.client.post(
            "/admin/support-center/backup/", {"passphrase": PASSPHRASE, "passphrase2": PASSPHRASE}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Event.objects.filter(action="backup_created").exists())
