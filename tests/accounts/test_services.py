"""Account requests, roles and synchronization against a real mock CSC process."""

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
from accounts.choices import AccountRequestStatus, AccountRole, AccountStatus, SystemRole
from accounts.models import AccountMembership, AccountRequest, LocalAccount, PurchasedLicense
from accounts.services import (
    approve_account_request,
    create_account_request,
    create_user,
    create_virtual_account,
    delete_local_account,
    reject_account_request,
    remove_account_role,
    satellite,
    set_account_role,
    set_system_role,
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


class AccountRequestTests(CscPersonasMixin, TestCase):
    def request(self, **overrides):
        values = {
            "name": "TEST",
            "cisco_smart_account": "BU Production Test",
            "cisco_virtual_account": self.fresh_virtual_account(),
            "notification_email": "owner@example.com",
            "by_user": self.bob,
        }
        values.update(overrides)
        return create_account_request(**values)

    def test_approval_registers_with_csc_and_creates_the_account(self):
        account_request = self.request()
        with self.captureOnCommitCallbacks(execute=True):
            account = approve_account_request(account_request, self.admin)
        account_request.refresh_from_db()
        self.assertEqual(account_request.status, AccountRequestStatus.APPROVED)
        self.assertEqual(account_request.account, account)
        self.assertEqual(account.status, AccountStatus.ACTIVE)
        self.assertEqual(account.requested_by, self.bob)
        self.assertEqual(account.default_virtual_account.name, "Default")
        self.assertTrue(account.csc_registration_id and account.csc_secret)
        registrations = {r["registration_id"]: r for r in self.csc.registrations()}
        registration = registrations[account.csc_registration_id]
        self.assertEqual(registration["local_account"], "TEST")
        self.assertEqual(registration["server_id"], str(satellite().server_id))
        # The requester administers the new account and was told by e-mail.
        self.assertEqual(
            AccountMembership.objects.get(user=self.bob, account=account).role,
            AccountRole.ACCOUNT_ADMIN,
        )
        self.assertEqual(len(mail.outbox), 1)
        self.assertIn("approved", mail.outbox[0].subject)
        self.assertEqual(mail.outbox[0].to, ["owner@example.com"])
        self.assertTrue(Event.objects.filter(action="account_approved", account=account).exists())

    def test_a_bound_virtual_account_is_refused_with_the_reason(self):
        va = self.fresh_virtual_account()
        account_request = self.request(name="Second", cisco_virtual_account=va)
        self.registered_account(name="First", virtual_account=va)
        # Our side refuses it before asking CSC ...
        with self.assertRaisesMessage(ValidationError, "already used by local account First"):
            approve_account_request(account_request, self.admin)
        # ... and CSC refuses a virtual account bound by another server.
        account_request.cisco_virtual_account = "TEST"
        account_request.save()
        csc_client.register(
            smart_account="BU Production Test",
            virtual_account="TEST",
            local_account="Elsewhere",
            satellite_name="other-server",
            server_id="00000000-0000-0000-0000-000000000000",
        )
        with self.assertRaisesMessage(ValidationError, "already registered to local account"):
            approve_account_request(account_request, self.admin)
        account_request.refresh_from_db()
        self.assertEqual(account_request.status, AccountRequestStatus.PENDING)
        self.assertFalse(LocalAccount.objects.filter(name="Second").exists())
        self.assertTrue(
            Event.objects.filter(
                action="account_registration_failed", result=EventResult.FAILURE
            ).exists()
        )

    def test_unknown_virtual_account_is_refused(self):
        account_request = self.request(cisco_virtual_account="No Such VA")
        with self.assertRaisesMessage(ValidationError, "does not exist"):
            approve_account_request(account_request, self.admin)

    def test_csc_down_leaves_the_request_pending(self):
        account_request = self.request()
        self.csc.down()
        try:
            with self.assertRaisesMessage(ValidationError, "unreachable"):
                approve_account_request(account_request, self.admin)
        finally:
            self.csc.up()
        account_request.refresh_from_db()
        self.assertEqual(account_request.status, AccountRequestStatus.PENDING)
        # A retry succeeds.
        account = approve_account_request(account_request, self.admin)
        self.assertEqual(account.name, "TEST")

    def test_only_a_system_administrator_decides(self):
        account_request = self.request()
        for user in (self.operator, self.alice, self.bob):
            with self.assertRaises(PermissionDenied):
                approve_account_request(account_request, user)
            with self.assertRaises(PermissionDenied):
                reject_account_request(account_request, "no", user)

    def test_reject_with_reason_notifies_the_requester(self):
        account_request = self.request()
        with self.assertRaises(ValidationError):
            reject_account_request(account_request, "  ", self.admin)
        with self.captureOnCommitCallbacks(execute=True):
            reject_account_request(account_request, "Use the existing account", self.admin)
        account_request.refresh_from_db()
        self.assertEqual(account_request.status, AccountRequestStatus.REJECTED)
        self.assertEqual(account_request.reason, "Use the existing account")
        self.assertEqual(len(mail.outbox), 1)
        self.assertIn("Use the existing account", mail.outbox[0].body)
        with self.assertRaises(ValidationError):
            reject_account_request(account_request, "again", self.admin)

    def test_bad_input_is_refused_without_a_row(self):
        with self.assertRaises(ValidationError) as caught:
            self.request(name="", notification_email="not-an-email")
        self.assertIn("name", caught.exception.message_dict)
        self.assertIn("notification_email", caught.exception.message_dict)
        self.request(name="Dup")
        with self.assertRaisesMessage(ValidationError, "already pending"):
            self.request(name="dup")
        with self.assertRaisesMessage(ValidationError, "already exists"):
            self.request(name="AccountA")
        self.assertEqual(AccountRequest.objects.count(), 1)


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


class RoleServiceTests(PersonaTestCase):
    def test_account_roles_are_managed_by_account_admins(self):
        set_account_role(self.bob, self.account_a, AccountRole.ACCOUNT_VIEWER, self.alice)
        self.assertEqual(
            AccountMembership.objects.get(user=self.bob, account=self.account_a).role,
            AccountRole.ACCOUNT_VIEWER,
        )
        with self.assertRaises(PermissionDenied):
            set_account_role(self.bob, self.account_a, AccountRole.ACCOUNT_ADMIN, self.victor)
        with self.assertRaises(PermissionDenied):
            set_account_role(self.victor, self.account_b, AccountRole.ACCOUNT_ADMIN, self.alice)
        remove_account_role(self.bob, self.account_a, self.alice)
        with self.assertRaises(ValidationError):
            remove_account_role(self.bob, self.account_a, self.alice)
        self.assertEqual(
            list(Event.objects.filter(account=self.account_a).values_list("action", flat=True)),
            ["account_role_removed", "account_role_set"],
        )

    def test_system_roles_and_the_last_administrator(self):
        set_system_role(self.bob, SystemRole.SYSTEM_OPERATOR, self.admin)
        self.bob.refresh_from_db()
        from accounts.access import system_role

        self.assertEqual(system_role(self.bob), SystemRole.SYSTEM_OPERATOR)
        with self.assertRaises(PermissionDenied):
            set_system_role(self.alice, SystemRole.SYSTEM_ADMIN, self.operator)
        with self.assertRaisesMessage(ValidationError, "last system administrator"):
            set_system_role(self.admin, SystemRole.SYSTEM_USER, self.admin)
        set_system_role(self.alice, SystemRole.SYSTEM_ADMIN, self.admin)
        set_system_role(self.admin, SystemRole.SYSTEM_USER, self.alice)
        self.admin.refresh_from_db()
        self.assertFalse(self.admin.is_superuser)

    def test_create_user_validates(self):
        with self.assertRaises(ValidationError) as caught:
            create_user(username="carol", password="123", by_user=self.admin)
        self.assertIn("password", caught.exception.message_dict)
        with self.assertRaises(ValidationError):
            create_user(username="ALICE", password="Another-Good-Pass-42", by_user=self.admin)
        user = create_user(
            username="carol",
            password="Another-Good-Pass-42",
            system_role_value=SystemRole.SYSTEM_OPERATOR,
            by_user=self.admin,
        )
        self.assertEqual(user.ssm_profile.system_role, SystemRole.SYSTEM_OPERATOR)
        with self.assertRaises(PermissionDenied):
            create_user(username="dave", password="Another-Good-Pass-42", by_user=self.operator)

    def test_virtual_accounts(self):
        va = create_virtual_account(
            self.account_a, name="Lab", description="Lab", by_user=self.alice
        )
        self.assertFalse(va.is_default)
        with self.assertRaisesMessage(ValidationError, "already exists"):
            create_virtual_account(self.account_a, name="lab", by_user=self.alice)
        with self.assertRaises(PermissionDenied):
            create_virtual_account(self.account_a, name="X", by_user=self.victor)
        self.assertEqual(
            list(self.account_a.virtual_accounts.values_list("name", flat=True)),
            ["Default", "Lab"],
        )


class SynchronizationModelTests(PersonaTestCase):
    def test_unregistered_account_cannot_synchronize(self):
        with self.assertRaisesMessage(ValidationError, "not registered"):
            request_synchronization(self.account_a, self.alice)
        self.assertFalse(Synchronization.objects.exists())
