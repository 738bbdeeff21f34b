"""After a Host Common Name change, a synchronization has CSC re-issue the product certificate."""

from cryptography import x509
from django.test import TestCase, override_settings

from core.models import Event
from licensing import services as licensing
from security import services
from synchronization.choices import SyncStatus
from synchronization.services import request_synchronization, run_synchronization
from tests.accounts.helpers import CscPersonasMixin

from .logcapture import all_logs
from .pki import openssl, openssl_verify, pem


@override_settings(HOST_COMMON_NAME="10.0.0.5", PRODUCT_URL_PORT=443, NETWORK_DUAL_STACK=False)
class ResynchronizationTests(CscPersonasMixin, TestCase):
    csc_timeout = 5.0

    def sync(self, account):
        with self.captureOnCommitCallbacks(execute=False):
            job = request_synchronization(account, self.admin)
        return run_synchronization(job.pk)

    def test_sync_reissues_the_product_certificate_for_the_new_name(self):
        first, second = self.registered_account(), self.registered_account()
        self.assertEqual(self.sync(first).status, SyncStatus.SUCCEEDED)
        original = licensing.product_ca()
        self.assertEqual(original.host_common_name, "10.0.0.5")

        services.set_host_common_name("ssm.example.com", by_user=self.admin)
        self.assertEqual(
            set(services.accounts_requiring_resynchronization()),
            {first, second, self.account_a, self.account_b},
        )

        with all_logs() as lines:
            job = self.sync(first)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED, job.error)
        first.refresh_from_db()
        logged = "\n".join(lines)
        self.assertTrue(first.csc_secret)
        for secret in (first.csc_secret, "PRIVATE KEY", original.key_pem_encrypted.splitlines()[1]):
            self.assertNotIn(secret, logged)  # neither CSC credentials nor the CA key are logged
        self.assertIn(
            "Product certificate re-issued for the Host Common Name",
            [line["message"] for line in job.log],
        )
        self.assertFalse(services.resynchronization_required(first))
        self.assertTrue(services.resynchronization_required(second))
        ca = licensing.product_ca()
        self.assertEqual(ca.pk, original.pk)  # same key, new certificate
        self.assertEqual(ca.host_common_name, "ssm.example.com")
        text = openssl(
            "x509", "-noout", "-subject", "-issuer", "-enddate", stdin=ca.certificate_pem.encode()
        )
        self.assertIn("CN = Product CA ssm.example.com", text)
        self.assertNotIn("issuer=O = Smart Software Manager On-Prem", text)  # signed by CSC now
        # openssl verifies the product certificate through CSC's chain up to its root.
        chain = [c for c in x509.load_pem_x509_certificates(ca.chain_pem.encode())]
        root = next(c for c in chain if c.issuer == c.subject)
        self.assertIn("OK", openssl_verify(ca.certificate_pem, ca.chain_pem, pem(root)))
        self.assertTrue(
            Event.objects.filter(
                action="product_certificate_resynchronized", account=first
            ).exists()
        )

        # The second account's sync clears its flag without another certificate.
        job = self.sync(second)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED, job.error)
        self.assertFalse(services.resynchronization_required(second))
        self.assertEqual(licensing.product_ca().certificate_pem, ca.certificate_pem)

    def test_csc_failure_keeps_the_flag(self):
        account = self.registered_account()
        licensing.product_ca()  # issued for 10.0.0.5
        services.set_host_common_name("ssm.example.com", by_user=self.admin)
        self.csc.fail("server_error")
        job = self.sync(account)
        self.assertEqual(job.status, SyncStatus.FAILED)
        self.assertTrue(services.resynchronization_required(account))
        self.assertNotEqual(licensing.product_ca().host_common_name, "ssm.example.com")
