"""Network and manual synchronization against a real mock CSC process: purchased licenses,
usage upload, failures, the product-certificate re-issue step."""

import json
import subprocess
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase

from accounts import csc_client
from accounts.choices import AccountStatus
from accounts.models import LocalAccount, PurchasedLicense
from accounts.services import (
    delete_local_account,
    satellite,
)
from core.choices import EventResult
from core.models import Event
from synchronization.choices import SyncStatus
from synchronization.models import Synchronization
from synchronization.services import (
    SYNC_SUCCESS_ALERT,
    export_manual_sync_request,
    import_manual_sync_response,
    request_synchronization,
    run_synchronization,
)
from tests.accounts.helpers import CscPersonasMixin
from tests.support.personas import PersonaTestCase

PI_BASE = "regid.2017-03.com.cisco.PI_BASE,3.0"


class SynchronizationTests(CscPersonasMixin, TestCase):
    csc_timeout = 2.0

    def sync(self, account, user=None):
        with self.captureOnCommitCallbacks(execute=False):
            job = request_synchronization(account, user or self.alice)
        return run_synchronization(job.pk)

    def test_sync_brings_purchased_licenses_and_success_alert(self):
        account = self.registered_account()
        job = self.sync(account)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED, job.error)
        self.assertEqual(job.progress, 100)
        self.assertIn(SYNC_SUCCESS_ALERT, [line["message"] for line in job.log])
        account.refresh_from_db()
        self.assertEqual(account.sync_alert, SYNC_SUCCESS_ALERT)
        self.assertIsNotNone(account.last_synchronized)
        purchased = {p.tag: p for p in PurchasedLicense.objects.filter(account=account)}
        self.assertEqual(len(purchased), 8)
        self.assertEqual(purchased[PI_BASE].quantity, 50)
        self.assertEqual(purchased[PI_BASE].billing, "Prepaid")
        self.assertEqual(purchased[PI_BASE].product_type, "SDNMGMT")
        self.assertEqual(purchased[PI_BASE].name, "Prime Infrastructure 3.x, Base Lic")
        self.assertEqual(purchased[PI_BASE].virtual_account, account.default_virtual_account)
        self.assertTrue(
            Event.objects.filter(action="synchronization_succeeded", account=account).exists()
        )

    def test_product_instances_and_usage_reach_csc(self):
        account = self.registered_account()
        report = {
            "product_instances": [
                {"name": "UDI_PID:PI-SOFTWARE; UDI_SN:pi37", "product_type": "SDNMGMT"}
            ],
            "usage": [{"tag": PI_BASE, "count": 1}],
        }
        answer = csc_client.synchronize(account, satellite().server_id, report)
        self.assertEqual(answer["account_state"], "active")
        registration = next(
            r
            for r in self.csc.registrations()
            if r["registration_id"] == account.csc_registration_id
        )
        self.assertEqual(registration["product_instances"], ["UDI_PID:PI-SOFTWARE; UDI_SN:pi37"])
        self.assertEqual(registration["usage"], {PI_BASE: 1})
        with self.assertRaisesMessage(csc_client.CscRefused, "product_instances must be a list"):
            csc_client.synchronize(account, satellite().server_id, {"product_instances": [1]})

    def test_registered_products_are_uploaded_by_a_synchronization(self):
        from tests.licensing.support import registered

        account = self.registered_account()
        registered(account.default_virtual_account, "pi37")
        job = self.sync(account)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED, job.error)
        self.assertIn("Uploading 1 product instances", " ".join(li["message"] for li in job.log))
        registration = next(
            r
            for r in self.csc.registrations()
            if r["registration_id"] == account.csc_registration_id
        )
        self.assertEqual(len(registration["product_instances"]), 1)
        self.assertIn("pi37", registration["product_instances"][0])

    def test_the_same_sync_twice_gives_the_same_result(self):
        account = self.registered_account()
        self.sync(account)
        first = sorted(PurchasedLicense.objects.values_list("tag", "quantity"))
        second_job = self.sync(account)
        self.assertEqual(second_job.status, SyncStatus.SUCCEEDED)
        self.assertEqual(sorted(PurchasedLicense.objects.values_list("tag", "quantity")), first)
        # Running a finished job again does nothing.
        self.assertIsNone(run_synchronization(second_job.pk))

    def test_quantity_changes_and_removals_follow_csc(self):
        va = self.fresh_virtual_account()
        account = self.registered_account(virtual_account=va)
        self.sync(account)
        self.csc.set_quantity(va, PI_BASE, 0)
        self.sync(account)
        self.assertEqual(PurchasedLicense.objects.get(account=account, tag=PI_BASE).quantity, 0)

    def test_account_state_from_csc(self):
        va = self.fresh_virtual_account()
        account = self.registered_account(virtual_account=va)
        self.csc.set_state(va, "suspended")
        self.sync(account)
        account.refresh_from_db()
        self.assertEqual(account.status, AccountStatus.INACTIVE)
        self.csc.set_state(va, "active")
        self.sync(account)
        account.refresh_from_db()
        self.assertEqual(account.status, AccountStatus.ACTIVE)

    def assert_failed_cleanly(self, account, job, text):
        self.assertEqual(job.status, SyncStatus.FAILED)
        self.assertIn(text, job.error)
        account.refresh_from_db()
        self.assertIn(text, account.sync_alert)
        self.assertFalse(account.last_sync_ok)
        self.assertTrue(
            Event.objects.filter(
                action="synchronization_failed", account=account, result=EventResult.FAILURE
            ).exists()
        )

    def test_failures_leave_nothing_half_applied_and_a_retry_works(self):
        va = self.fresh_virtual_account()
        account = self.registered_account(virtual_account=va)
        self.sync(account)
        account.refresh_from_db()
        last_ok = account.last_synchronized
        before = sorted(PurchasedLicense.objects.values_list("tag", "quantity"))
        self.csc.set_quantity(va, PI_BASE, 7)
        cases = [
            ("server_error", 0, "HTTP 503"),
            ("bad_signature", 0, "signature check"),
            ("slow", 4, "did not answer within 2 seconds"),
        ]
        for mode, delay, text in cases:
            with self.subTest(mode=mode):
                self.csc.fail(mode, delay)
                self.assert_failed_cleanly(account, self.sync(account), text)
                self.assertEqual(
                    sorted(PurchasedLicense.objects.values_list("tag", "quantity")), before
                )
                account.refresh_from_db()
                self.assertEqual(account.last_synchronized, last_ok)
        self.csc.heal()
        self.csc.down()
        try:
            self.assert_failed_cleanly(account, self.sync(account), "unreachable")
        finally:
            self.csc.up()
        job = self.sync(account)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED)
        self.assertEqual(PurchasedLicense.objects.get(account=account, tag=PI_BASE).quantity, 7)
        account.refresh_from_db()
        self.assertEqual(account.sync_alert, SYNC_SUCCESS_ALERT)

    def test_the_owner_is_mailed_when_synchronization_starts_failing(self):
        account = self.registered_account()
        self.csc.fail("server_error")
        with self.captureOnCommitCallbacks(execute=True):
            self.sync(account)
        with self.captureOnCommitCallbacks(execute=True):
            self.sync(account)
        failures = [m for m in mail.outbox if "failed" in m.subject]
        self.assertEqual(len(failures), 1)
        self.assertEqual(failures[0].to, [account.notification_email])
        self.assertIn("HTTP 503", failures[0].body)

    def test_an_untrusted_csc_certificate_is_refused(self):
        account = self.registered_account()
        other_ca = str(self.csc.data_dir / "ca" / "ca.crt")
        with self.settings(CSC_CA_FILE=other_ca):
            job = self.sync(account)
        self.assertEqual(job.status, SyncStatus.FAILED)
        self.assertIn("certificate of Cisco Software Central could not be verified", job.error)

    def test_only_one_active_job_per_account(self):
        account = self.registered_account()
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            first = request_synchronization(account, self.alice)
            second = request_synchronization(account, self.alice)
        self.assertEqual(first.pk, second.pk)
        self.assertEqual(len(callbacks), 1)

    def test_a_stuck_job_is_abandoned_after_ten_minutes(self):
        import datetime as dt

        from django.utils import timezone

        account = self.registered_account()
        with self.captureOnCommitCallbacks(execute=False):
            stuck = request_synchronization(account, self.alice)
        Synchronization.objects.filter(pk=stuck.pk).update(
            status=SyncStatus.RUNNING, started=timezone.now() - dt.timedelta(minutes=11)
        )
        with self.captureOnCommitCallbacks(execute=False):
            fresh = request_synchronization(account, self.alice)
        self.assertNotEqual(fresh.pk, stuck.pk)
        stuck.refresh_from_db()
        self.assertEqual(stuck.status, SyncStatus.FAILED)
        self.assertIn("Interrupted", stuck.error)

    def test_manual_mode_accounts_are_not_scheduled(self):
        from accounts.choices import SyncMode
        from synchronization.services import due_accounts, set_sync_mode

        account = self.registered_account()
        self.assertIn(account, due_accounts())
        with self.assertRaises(PermissionDenied):
            set_sync_mode(account, SyncMode.MANUAL, self.victor)
        set_sync_mode(account, SyncMode.MANUAL, self.alice)
        self.assertNotIn(account, due_accounts())
        self.assertTrue(Event.objects.filter(action="sync_mode_changed", account=account).exists())

    def test_viewers_and_strangers_cannot_synchronize(self):
        account = self.registered_account()
        for user in (self.victor, self.bob):
            with self.assertRaises(PermissionDenied):
                request_synchronization(account, user)

    def test_manual_sync_round_trip(self):
        va = self.fresh_virtual_account()
        account = self.registered_account(virtual_account=va)
        filename, content = export_manual_sync_request(account, self.alice)
        self.assertTrue(filename.endswith(".json"))
        response = self.csc_manual(content)
        job = import_manual_sync_response(account, response, self.alice)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED)
        self.assertEqual(PurchasedLicense.objects.filter(account=account).count(), 8)
        account.refresh_from_db()
        self.assertEqual(account.sync_alert, SYNC_SUCCESS_ALERT)
        with self.assertRaisesMessage(ValidationError, "already applied"):
            import_manual_sync_response(account, response, self.alice)

    def csc_manual(self, content: bytes) -> bytes:
        import requests

        answer = requests.post(
            self.csc.url + "/api/v1/manual-sync",
            data=content,
            headers={"Content-Type": "application/json"},
            verify=self.csc.ca_file,
            timeout=10,
        )
        answer.raise_for_status()
        return answer.content

    def test_manual_sync_refuses_tampered_stale_and_foreign_files(self):
        account = self.registered_account()
        other = self.registered_account()
        _, content = export_manual_sync_request(account, self.alice)
        response = self.csc_manual(content)
        tampered = json.loads(response)
        tampered["payload"]["entitlements"][0]["quantity"] = 9999
        with self.assertRaisesMessage(ValidationError, "failed its signature check"):
            import_manual_sync_response(account, json.dumps(tampered).encode(), self.alice)
        with self.assertRaisesMessage(ValidationError, "another local account or another server"):
            import_manual_sync_response(other, response, self.admin)
        with self.assertRaisesMessage(ValidationError, "not a Cisco Software Central"):
            import_manual_sync_response(account, b"\x00garbage", self.alice)
        # A newer request file makes the older response stale.
        export_manual_sync_request(account, self.alice)
        with self.assertRaisesMessage(ValidationError, "older sync request file"):
            import_manual_sync_response(account, response, self.alice)
        self.assertFalse(PurchasedLicense.objects.filter(account=account).exists())
        self.assertEqual(
            Event.objects.filter(action="manual_sync_response_refused", account=account).count(), 3
        )

    def test_csc_signs_the_product_ca(self):
        account = self.registered_account()
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SSM Product CA")]))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        pem = csr.public_bytes(serialization.Encoding.PEM).decode()
        answer = csc_client.sign_product_ca_csr(account, pem, satellite().server_id)
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "cert.pem").write_text(answer["certificate"])
            Path(tmp, "chain.pem").write_text("".join(answer["chain"]))
            result = subprocess.run(
                ["openssl", "verify", "-CAfile", "chain.pem", "cert.pem"],
                cwd=tmp,
                capture_output=True,
                text=True,
            )
            self.assertEqual(result.returncode, 0, result.stderr)
            text = subprocess.run(
                ["openssl", "x509", "-in", "cert.pem", "-noout", "-text"],
                cwd=tmp,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        self.assertIn("CA:TRUE, pathlen:0", text)
        self.assertIn("SSM Product CA", text)
        with self.assertRaisesMessage(csc_client.CscRefused, "not a PEM-encoded"):
            csc_client.sign_product_ca_csr(account, "garbage", satellite().server_id)

    def test_sync_after_a_host_common_name_change_reissues_the_product_certificate(self):
        from licensing.services import product_ca
        from security.services import resynchronization_required, set_host_common_name

        account = self.registered_account()
        self.sync(account)
        set_host_common_name("ssm.example.com", by_user=self.admin)
        self.assertTrue(resynchronization_required(account))
        job = self.sync(account)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED, job.error)
        self.assertIn(
            "Product certificate re-issued for the Host Common Name",
            [line["message"] for line in job.log],
        )
        self.assertFalse(resynchronization_required(account))
        ca = product_ca()
        self.assertEqual(ca.host_common_name, "ssm.example.com")
        issuer = x509.load_pem_x509_certificate(ca.certificate_pem.encode()).issuer
        self.assertIn("Cisco Software Central Mock Root CA", issuer.rfc4514_string())

    def test_manual_sync_after_a_host_common_name_change_reissues_the_product_certificate(self):
        from licensing.services import product_ca
        from security.services import resynchronization_required, set_host_common_name

        account = self.registered_account()
        product_ca()
        set_host_common_name("airgap.example.com", by_user=self.admin)
        _, content = export_manual_sync_request(account, self.alice)
        self.assertIn("product_ca_csr", json.loads(content)["payload"])
        job = import_manual_sync_response(account, self.csc_manual(content), self.alice)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED)
        self.assertFalse(resynchronization_required(account))
        self.assertEqual(product_ca().host_common_name, "airgap.example.com")

    def test_delete_account_removes_it_here_and_in_csc(self):
        from licensing.models import ProductInstance
        from tests.licensing.support import registered

        account = self.registered_account()
        registered(account.default_virtual_account, "pi37")
        self.sync(account)
        registration_id = account.csc_registration_id
        with self.assertRaises(PermissionDenied):
            delete_local_account(account, self.alice)
        self.csc.down()
        try:
            with self.assertRaisesMessage(ValidationError, "not deleted"):
                delete_local_account(account, self.admin)
        finally:
            self.csc.up()
        account.refresh_from_db()
        self.assertEqual(account.status, AccountStatus.ACTIVE)
        delete_local_account(account, self.admin)
        self.assertFalse(LocalAccount.objects.filter(pk=account.pk).exists())
        self.assertFalse(PurchasedLicense.objects.filter(account_id=account.pk).exists())
        self.assertFalse(ProductInstance.objects.filter(name__contains="pi37").exists())
        self.assertNotIn(registration_id, [r["registration_id"] for r in self.csc.registrations()])
        self.assertTrue(Event.objects.filter(action="account_deleted").exists())


class SynchronizationModelTests(PersonaTestCase):
    def test_unregistered_account_cannot_synchronize(self):
        with self.assertRaisesMessage(ValidationError, "not registered"):
            request_synchronization(self.account_a, self.alice)
        self.assertFalse(Synchronization.objects.exists())
