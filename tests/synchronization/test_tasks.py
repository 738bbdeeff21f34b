"""Synchronization through a real Celery worker and a real mock CSC process."""

import datetime as dt

from celery import current_app
from django.test import TransactionTestCase
from django.utils import timezone

from accounts.models import LocalAccount, PurchasedLicense
from core.models import Event
from synchronization.choices import SyncStatus, SyncTrigger
from synchronization.models import Synchronization
from synchronization.services import SYNC_SUCCESS_ALERT, request_synchronization
from synchronization.tasks import queue_due_synchronizations_task, run_synchronization_task
from tests.accounts.helpers import CscMixin
from tests.support.celery_worker import CeleryWorker
from tests.support.personas import build_personas
from tests.support.polling import wait_for


class SynchronizationWorkerTests(CscMixin, TransactionTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.csc.environ(timeout=cls.csc_timeout):
            cls.worker = CeleryWorker("accounts").start()

    @classmethod
    def tearDownClass(cls):
        cls.worker.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        build_personas(self)

    def finished(self, job):
        def check():
            job.refresh_from_db()
            return job.status in (SyncStatus.SUCCEEDED, SyncStatus.FAILED)

        wait_for(check, message=f"synchronization {job.pk} to finish")
        return job

    def synchronized_on_approval(self):
        """A newly approved account, once the synchronization its approval queued is done."""
        account = self.registered_account()
        first = wait_for(
            lambda: Synchronization.objects.filter(
                account=account, trigger=SyncTrigger.APPROVAL
            ).first(),
            message="the first synchronization queued by the approval",
        )
        self.assertEqual(self.finished(first).status, SyncStatus.SUCCEEDED, first.error)
        return account

    def due(self, account):
        """The account as it is 31 days after its last synchronization."""
        LocalAccount.objects.filter(pk=account.pk).update(
            last_synchronized=timezone.now() - dt.timedelta(days=31)
        )
        return account

    def test_approval_synchronizes_at_once(self):
        account = self.synchronized_on_approval()
        self.assertEqual(PurchasedLicense.objects.filter(account=account).count(), 8)

    def test_synchronize_now_runs_in_the_worker(self):
        account = self.registered_account()
        job = self.finished(request_synchronization(account, self.alice))
        self.assertEqual(job.status, SyncStatus.SUCCEEDED, job.error)
        self.assertEqual(job.progress, 100)
        account.refresh_from_db()
        self.assertEqual(account.sync_alert, SYNC_SUCCESS_ALERT)
        self.assertEqual(PurchasedLicense.objects.filter(account=account).count(), 8)

    def test_failure_then_retry_through_the_worker(self):
        account = self.registered_account()
        self.csc.fail("server_error")
        job = self.finished(request_synchronization(account, self.alice))
        self.assertEqual(job.status, SyncStatus.FAILED)
        account.refresh_from_db()
        self.assertIn("HTTP 503", account.sync_alert)
        self.assertFalse(PurchasedLicense.objects.filter(account=account).exists())
        self.csc.heal()
        job = self.finished(request_synchronization(account, self.alice))
        self.assertEqual(job.status, SyncStatus.SUCCEEDED)

    def test_a_job_delivered_twice_runs_once(self):
        account = self.registered_account()
        job = self.finished(request_synchronization(account, self.alice))
        run_synchronization_task.delay(job.pk)
        run_synchronization_task.delay(job.pk)
        marker = Synchronization.objects.create(account=account)  # a fresh job after the two
        run_synchronization_task.delay(marker.pk)
        self.finished(marker)
        self.assertEqual(
            Event.objects.filter(
                action="synchronization_succeeded", data__synchronization_id=job.pk
            ).count(),
            1,
        )

    def test_messages_queued_under_the_old_task_names_still_run(self):
        """A message an older version queued (task names of the accounts app) runs after an
        upgrade: the worker knows both names."""
        account = self.synchronized_on_approval()
        job = Synchronization.objects.create(account=account)
        current_app.send_task("accounts.run_synchronization", args=[job.pk])
        self.assertEqual(self.finished(job).status, SyncStatus.SUCCEEDED)
        due = self.due(self.synchronized_on_approval())
        current_app.send_task("accounts.queue_due_synchronizations")
        job = wait_for(
            lambda: Synchronization.objects.filter(
                account=due, trigger=SyncTrigger.SCHEDULED
            ).first(),
            message="a synchronization queued by the old beat task name",
        )
        self.assertEqual(self.finished(job).status, SyncStatus.SUCCEEDED)

    def test_beat_task_queues_due_synchronizations(self):
        due = self.due(self.synchronized_on_approval())
        fresh = self.synchronized_on_approval()
        queue_due_synchronizations_task.delay()
        job = wait_for(
            lambda: Synchronization.objects.filter(
                account=due, trigger=SyncTrigger.SCHEDULED
            ).first(),
            message="a scheduled synchronization",
        )
        self.assertEqual(self.finished(job).status, SyncStatus.SUCCEEDED)
        self.assertFalse(
            Synchronization.objects.filter(account=fresh, trigger=SyncTrigger.SCHEDULED).exists()
        )
        self.assertGreater(
            LocalAccount.objects.get(pk=due.pk).last_synchronized,
            timezone.now() - dt.timedelta(minutes=5),
        )


class SynchronizeCommandTests(CscMixin, TransactionTestCase):
    def setUp(self):
        super().setUp()
        build_personas(self)

    def test_command_synchronizes_and_reports_failures(self):
        from io import StringIO

        from django.core.management import CommandError, call_command

        account = self.registered_account(name="TEST")
        out = StringIO()
        call_command("synchronize", "TEST", stdout=out)
        self.assertIn("TEST: Synchronization Successful", out.getvalue())
        self.assertEqual(PurchasedLicense.objects.filter(account=account).count(), 8)
        self.csc.fail("server_error")
        with self.assertRaisesMessage(CommandError, "1 synchronization(s) failed"):
            call_command("synchronize", stdout=StringIO())
        with self.assertRaisesMessage(CommandError, "No registered local account named NOPE"):
            call_command("synchronize", "NOPE")

    def test_create_account_command(self):
        from io import StringIO

        from django.core.management import CommandError, call_command

        va = self.fresh_virtual_account()
        out = StringIO()
        call_command(
            "create_account", "TEST", "--smart-account", "BU Production Test",
            "--virtual-account", va, "--email", "ops@example.com", stdout=out,
        )  # fmt: skip
        self.assertIn("Account TEST created and registered", out.getvalue())
        self.assertTrue(LocalAccount.objects.get(name="TEST").csc_registration_id)
        with self.assertRaisesMessage(CommandError, "already"):
            call_command(
                "create_account", "TEST2", "--smart-account", "BU Production Test",
                "--virtual-account", va, "--email", "ops@example.com",
            )  # fmt: skip
        with self.assertRaisesMessage(CommandError, "not a system administrator"):
            call_command(
                "create_account", "TEST3", "--smart-account", "x", "--virtual-account", "y",
                "--email", "ops@example.com", "--admin", "bob",
            )  # fmt: skip


class ConcurrencyTests(CscMixin, TransactionTestCase):
    """Races between administrators or nodes settle on one outcome."""

    def setUp(self):
        super().setUp()
        build_personas(self)

    def run_together(self, func, count=4):
        import threading

        from django.db import connection

        barrier = threading.Barrier(count)
        results = []

        def worker():
            try:
                barrier.wait()
                results.append(("ok", func()))
            except Exception as exc:  # collected and asserted below
                results.append(("error", exc))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return results

    def test_concurrent_approvals_create_one_account(self):
        from django.core.exceptions import ValidationError

        from accounts.services import approve_account_request, create_account_request

        account_request = create_account_request(
            name="RACE",
            cisco_smart_account="BU Production Test",
            cisco_virtual_account=self.fresh_virtual_account(),
            notification_email="race@example.com",
            by_user=self.bob,
        )
        results = self.run_together(lambda: approve_account_request(account_request, self.admin))
        ok = [r for kind, r in results if kind == "ok"]
        errors = [r for kind, r in results if kind == "error"]
        self.assertEqual(len(ok), 1, results)
        self.assertTrue(all(isinstance(e, ValidationError) for e in errors), errors)
        self.assertEqual(LocalAccount.objects.filter(name="RACE").count(), 1)
        self.assertEqual(
            len([r for r in self.csc.registrations() if r["local_account"] == "RACE"]), 1
        )

    def test_concurrent_synchronize_now_makes_one_job(self):
        account = self.registered_account()
        results = self.run_together(
            lambda: request_synchronization(account, self.alice, enqueue=False).pk
        )
        self.assertEqual({kind for kind, _ in results}, {"ok"}, results)
        self.assertEqual(len({pk for _, pk in results}), 1)
        self.assertEqual(Synchronization.objects.filter(account=account).count(), 1)
