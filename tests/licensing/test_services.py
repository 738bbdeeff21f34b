"""License accounting: counters, substitution, tokens, transfer, RUM reports, product CA."""

import datetime as dt
import subprocess
import tempfile
import threading
from pathlib import Path

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.test import TestCase, TransactionTestCase

from accounts.models import AccountMembership, VirtualAccount
from accounts.services import set_unsigned_rum_reports
from core.models import Event
from licensing import pki, services
from licensing.models import LicenseCounter, ProductCA, ProductInstance, RumReport
from licensing.simulator import Device, GatewayRefused
from tests.support.personas import make_account, make_user

from .support import (
    PI_BASE,
    UCM_BASIC,
    UCM_ENHANCED,
    UCM_ENHANCED_PLUS,
    gateway_client,
    in_use,
    in_use_by_tag,
    purchase,
    registered,
    token_for,
)


class LicenseRowsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.account = make_account("TEST")
        cls.va = cls.account.default_virtual_account

    def rows(self):
        return {r["tag"]: r for r in services.license_rows(self.va)}

    def test_balance_and_insufficient(self):
        purchase(self.va, PI_BASE, 1)
        client = gateway_client()
        for sn in ("a1", "a2"):
            device = registered(self.va, sn, client)
            client.authorize(device, [(PI_BASE, 1)])
        row = self.rows()[PI_BASE]
        self.assertEqual((row["purchased"], row["in_use"], row["balance"]), (1, 2, -1))
        self.assertEqual(row["alert"], "Insufficient Licenses")

    def test_higher_tier_covers_lower_tier_shortfall(self):
        purchase(self.va, UCM_BASIC, 5)
        purchase(self.va, UCM_ENHANCED, 2)
        purchase(self.va, UCM_ENHANCED_PLUS, 10)
        client = gateway_client()
        device = registered(self.va, "cucm-pub-30", client)
        answer = client.authorize(device, [(UCM_BASIC, 8), (UCM_ENHANCED, 4)])
        self.assertEqual({e["status"] for e in answer["entitlements"]}, {"AUTHORIZED"})
        rows = self.rows()
        self.assertEqual(rows[UCM_BASIC]["substitution"], 3)
        self.assertEqual(rows[UCM_BASIC]["balance"], 0)
        self.assertEqual(rows[UCM_ENHANCED]["substitution"], 2)
        self.assertEqual(rows[UCM_ENHANCED_PLUS]["substitution"], -5)
        self.assertEqual(rows[UCM_ENHANCED_PLUS]["balance"], 5)
        self.assertFalse(any(r["alert"] for r in rows.values()))

    def test_counters_match_recount(self):
        purchase(self.va, PI_BASE, 10)
        client = gateway_client()
        devices = [registered(self.va, f"d{i}", client) for i in range(4)]
        for i, device in enumerate(devices):
            client.report_usage(device, [(PI_BASE, i + 1)])
        client.deregister(devices[0])
        before = in_use_by_tag()
        services.recount_licenses(self.va)
        self.assertEqual(before, in_use_by_tag())
        self.assertEqual(before[PI_BASE], 2 + 3 + 4)

    def test_transfer_moves_usage(self):
        other = VirtualAccount.objects.create(account=self.account, name="Lab")
        client = gateway_client()
        device = registered(self.va, "pi37", client)
        client.authorize(device, [(PI_BASE, 2)])
        instance = ProductInstance.objects.get()
        services.transfer_instance(instance, other)
        self.assertEqual(in_use(virtual_account=self.va), 0)
        self.assertEqual(in_use(virtual_account=other), 2)
        services.remove_instance(ProductInstance.objects.get())
        self.assertEqual(in_use(virtual_account=other), 0)

    def test_token_limits(self):
        for days in (0, 366, "5", True):
            with self.subTest(days=days), self.assertRaises(services.LicensingError):
                services.create_token(self.va, expires_after_days=days)
        token = services.create_token(self.va, expires_after_days=365, max_uses=3)
        self.assertEqual(token.status.value, "active")
        services.revoke_token(token)
        with self.assertRaises(services.LicensingError):
            services.revoke_token(token)

    def cslu(self, reports, tenant="TEST-1"):
        import json

        body = "<smartLicense>" + "".join(
            "<RUMReport><![CDATA[" + json.dumps(r) + "]]></RUMReport>" for r in reports
        )
        body += "</smartLicense>"
        return self.client.post(f"/cslu/v1/pi/{tenant}", body, content_type="application/xml")

    def test_rum_report_is_applied_and_waits_for_csc(self):
        device = registered(self.va, "pi37")
        report = device.rum_report(17, PI_BASE, 4)
        response = self.cslu([report])
        self.assertEqual(response.status_code, 200, response.content)
        answer = response.json()["smartLicense"]
        self.assertEqual(answer["received"], [{"report_id": "17", "status": "CLOSED"}])
        self.assertEqual(answer["ACK"], [])  # CSC acknowledges it (tests/synchronization)
        row = RumReport.objects.get()
        self.assertEqual(row.state, "CLOSED")
        self.assertIsNotNone(row.closed)
        self.assertEqual(in_use(PI_BASE), 4)
        again = self.cslu([report])
        self.assertEqual(again.status_code, 200)
        self.assertEqual(RumReport.objects.count(), 1)
        self.assertEqual(in_use(PI_BASE), 4)
        bad = self.client.post("/cslu/v1/pi/TEST-1", "<x/>", content_type="application/xml")
        self.assertEqual(bad.status_code, 400)

    def test_rum_reports_must_be_signed_by_the_registered_product(self):
        """Anyone who knew an account name could set a registered product's usage."""
        device = registered(self.va, "pi37")
        forged = device.rum_report(1, PI_BASE, 999_999, sign=False)
        other_key = Device(sn="pi37", pid=device.pid)
        other_key.key = ec.generate_private_key(ec.SECP256R1())
        cases = [
            ([forged], "unsigned_report"),
            ([other_key.rum_report(2, PI_BASE, 999_999)], "bad_signature"),
            ([{**device.rum_report(3, PI_BASE, 5), "report_id": 4}], "bad_signature"),
            ([device.rum_report(5, PI_BASE, 1), forged], "unsigned_report"),  # all or nothing
            ([Device(sn="ghost", key=device.key).rum_report(6, PI_BASE, 1)], "unknown_instance"),
        ]
        for reports, code in cases:
            response = self.cslu(reports)
            self.assertEqual(response.status_code, 401, response.content)
            self.assertEqual(response.json()["error"]["code"], code)
        self.assertFalse(RumReport.objects.exists())
        self.assertEqual(in_use(PI_BASE), 0)
        # An Account Administrator may accept unsigned reports (products that cannot sign).
        admin = make_user("acct-admin")
        AccountMembership.objects.create(user=admin, account=self.account, role="account_admin")
        with self.assertRaises(PermissionDenied):
            set_unsigned_rum_reports(self.account, True, by_user=make_user("someone"))
        set_unsigned_rum_reports(self.account, True, by_user=admin)
        self.assertEqual(self.cslu([forged]).status_code, 200)
        self.assertEqual(in_use(PI_BASE), 999_999)
        self.assertTrue(Event.objects.filter(action="preferences_changed").exists())

    def test_an_unknown_account_answers_as_an_account_without_products(self):
        device = registered(self.va, "pi37")
        for report in (device.rum_report(1, PI_BASE, 2, sign=False), device.rum_report(2, "x", 1)):
            ghost = Device(sn="nope", pid=device.pid, key=device.key).rum_report(
                report["report_id"], PI_BASE, 2, sign="signature" in report
            )
            known = self.cslu([ghost])
            unknown = self.cslu([ghost], tenant="NOPE-1")
            self.assertEqual(
                (unknown.status_code, unknown.json()), (known.status_code, known.json())
            )
            self.assertEqual(known.status_code, 401)
        self.assertFalse(RumReport.objects.exists())


class ProductCATests(TestCase):
    def test_key_is_encrypted_at_rest_and_ca_verifies_with_openssl(self):
        ca = services.product_ca()
        self.assertIn("ENCRYPTED PRIVATE KEY", ca.key_pem_encrypted)
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "ca.pem").write_text(ca.certificate_pem)
            result = subprocess.run(
                ["openssl", "verify", "-CAfile", f"{tmp}/ca.pem", f"{tmp}/ca.pem"],
                capture_output=True,
                text=True,
            )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(services.product_ca().pk, ca.pk)

    def test_reissued_ca_certificate_is_installed_with_chain(self):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        services.product_ca()
        csr = x509.load_pem_x509_csr(services.product_ca_csr("ssm.example.com").encode())
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CSC Root")])
        now = dt.datetime.now(dt.UTC)
        root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(root_key.public_key())
            .serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        issued = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(root_name)
            .public_key(csr.public_key())
            .serial_number(2)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        ca = services.install_product_ca_certificate(pki.pem(issued), pki.pem(root))
        self.assertEqual(ca.host_common_name, "ssm.example.com")
        self.assertEqual(len(services.product_ca_chain()), 2)
        with self.assertRaises(services.LicensingError):
            services.install_product_ca_certificate(pki.pem(root))  # not the CA's key

    def test_registration_refused_until_ca_matches_host_common_name(self):
        account = make_account("TEST")
        services.product_ca()
        ProductCA.objects.update(host_common_name="old.example.com")
        client = gateway_client()
        from licensing.simulator import GatewayRefused

        with self.assertRaises(GatewayRefused) as caught:
            client.register(Device(sn="x"), token_for(account.default_virtual_account).token)
        self.assertEqual(caught.exception.status, 409)
        self.assertFalse(ProductInstance.objects.exists())


class ConcurrencyTests(TransactionTestCase):
    """Parallel registrations and usage reports through real PostgreSQL connections."""

    def test_token_max_uses_and_counters_exact_under_concurrency(self):
        account = make_account("TEST")
        va = account.default_virtual_account
        token = token_for(va, max_uses=5)
        services.product_ca()
        results = []

        def work(i):
            client = gateway_client()
            device = Device(sn=f"c{i}")
            try:
                client.register(device, token.token)
                client.report_usage(device, [(PI_BASE, 3)])
                client.report_usage(device, [(PI_BASE, 2)])
                results.append(True)
            except Exception as exc:  # refused registrations are expected beyond max uses
                results.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results.count(True), 5, results)
        token.refresh_from_db()
        self.assertEqual(token.uses, 5)
        self.assertEqual(ProductInstance.objects.filter(status="registered").count(), 5)
        self.assertEqual(in_use(PI_BASE), 10)

    def test_two_transactions_add_to_one_license_in_use_without_waiting(self):
        """Each connection has its own counter row: a registration holding its counter until
        its commit (the wait for the synchronous standby) does not hold the next one."""
        va = make_account("TEST").default_virtual_account
        holding, released = threading.Event(), threading.Event()
        pids = []

        def hold():
            try:
                with transaction.atomic():
                    services.add_to_counters(va.pk, {PI_BASE: 2})
                    pids.append(connection.cursor().connection.info.backend_pid)
                    holding.set()
                    released.wait(30)
            finally:
                connection.close()

        holder = threading.Thread(target=hold)
        holder.start()
        self.assertTrue(holding.wait(30))
        # a connection on another shard than the holder's (the shard is the pid modulo SHARDS)
        shards = LicenseCounter.SHARDS
        while connection.cursor().connection.info.backend_pid % shards == pids[0] % shards:
            connection.close()
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
                services.add_to_counters(va.pk, {PI_BASE: 3})
        finally:
            released.set()
            holder.join(30)
        self.assertEqual(in_use(PI_BASE, va), 5)
        self.assertEqual(services.license_rows(va)[0]["in_use"], 5)
        services.recount_licenses(va)  # no usage rows: the repair counts 0
        self.assertEqual(in_use(PI_BASE, va), 0)

    def test_concurrent_registrations_of_one_udi_leave_one_instance(self):
        account = make_account("TEST")
        token = token_for(account.default_virtual_account)
        services.product_ca()
        answers = []

        def work():
            try:
                answers.append(gateway_client().register(Device(sn="same"), token.token))
            except GatewayRefused as exc:
                answers.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        accepted = [a["instance"] for a in answers if isinstance(a, dict)]
        refused = [a for a in answers if not isinstance(a, dict)]
        self.assertEqual(len(answers), 6)
        self.assertTrue(accepted)
        self.assertEqual(
            [(r.status, r.body["error"]["code"]) for r in refused],
            [(409, "conflict")] * len(refused),
        )
        registered_now = ProductInstance.objects.filter(udi_sn="same", status="registered")
        self.assertEqual(registered_now.count(), 1)
        self.assertIn(str(registered_now.get().uuid), accepted)
        self.assertEqual(ProductInstance.objects.filter(udi_sn="same").count(), len(accepted))
        self.assertEqual(Event.objects.filter(action="product_registered").count(), len(accepted))

    def test_concurrent_re_registrations_release_the_licenses_once(self):
        """Products re-registering at once (a storm after a Host Common Name change), several
        with the same UDI: one instance each stays registered, In Use counts each once; a
        request that lost the race to its own UDI is told to retry."""
        va = make_account("TEST").default_virtual_account
        token = token_for(va)
        services.product_ca()
        client = gateway_client()
        for sn in ("a", "b"):
            device = Device(sn=sn)
            client.register(device, token.token)
            client.report_usage(device, [(PI_BASE, 3)])
        self.assertEqual(in_use(PI_BASE, va), 6)
        answers = []

        def work(sn):
            try:
                answers.append(gateway_client().register(Device(sn=sn), token.token))
            except GatewayRefused as exc:
                answers.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=work, args=("ab"[i % 2],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        accepted = [a for a in answers if isinstance(a, dict)]
        refused = [(r.status, r.body["error"]["code"]) for r in answers if r not in accepted]
        self.assertEqual(len(answers), 8)
        self.assertEqual(refused, [(409, "conflict")] * len(refused))
        self.assertGreaterEqual(len(accepted), 2)
        for sn in ("a", "b"):
            self.assertEqual(
                ProductInstance.objects.filter(udi_sn=sn, status="registered").count(), 1
            )
        self.assertEqual(ProductInstance.objects.count(), 2 + len(accepted))
        self.assertEqual(in_use(PI_BASE, va), 0)
        messages = Event.objects.filter(action="product_registered").values_list(
            "message", flat=True
        )
        self.assertEqual(sum(m.endswith("(re-registration)") for m in messages), len(accepted))

    def test_registration_after_the_database_connection_died(self):
        account = make_account("TEST")
        token = token_for(account.default_virtual_account)
        client = gateway_client()
        client.register(Device(sn="before"), token.token)
        self.addCleanup(connection.close)
        pid = connection.connection.info.backend_pid
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        connection.close_if_unusable_or_obsolete()  # what a server does when a request starts
        client.register(Device(sn="after"), token.token)
        self.assertNotEqual(connection.connection.info.backend_pid, pid)
        self.assertTrue(ProductInstance.objects.filter(udi_sn="after").exists())

    def test_registration_after_a_migration_changed_a_prepared_statement_s_table(self):
        account = make_account("TEST")
        token = token_for(account.default_virtual_account)
        client = gateway_client()
        client.register(Device(sn="before"), token.token)
        alter = "ALTER TABLE accounts_localaccount ALTER COLUMN status TYPE varchar(%s)"
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute(alter % 40)  # the token read's result type changes
        self.addCleanup(lambda: connection.cursor().execute(alter % 16))
        client.register(Device(sn="after"), token.token)
        self.assertTrue(ProductInstance.objects.filter(udi_sn="after").exists())


class NoncePurgeTests(TestCase):
    def test_old_nonces_are_purged_recent_ones_kept(self):
        from django.utils import timezone

        from licensing.models import UsedNonce
        from licensing.tasks import purge_used_nonces_task

        account = make_account("TEST")
        client = gateway_client()
        device = registered(account.default_virtual_account, "pi37", client)
        client.report_usage(device, [(PI_BASE, 1)])
        client.report_usage(device, [(PI_BASE, 2)])
        UsedNonce.objects.filter(pk=UsedNonce.objects.first().pk).update(
            created=timezone.now() - dt.timedelta(hours=1)
        )
        self.assertEqual(purge_used_nonces_task(), 1)
        self.assertEqual(UsedNonce.objects.count(), 1)
