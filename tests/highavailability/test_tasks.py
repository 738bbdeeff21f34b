"""The collector task in a real Celery worker, and its place in the beat schedule."""

import os
import socket
import tempfile
from pathlib import Path

import psutil
from django.conf import settings
from django.test import SimpleTestCase, TransactionTestCase

from core.models import Event
from highavailability import services
from highavailability.models import Node
from highavailability.tasks import collect_cluster_state_task
from tests.support.celery_worker import CeleryWorker
from tests.support.polling import wait_for

from .support import enable_ha


class CollectorWorkerTests(TransactionTestCase):
    """A worker on a node whose cluster configuration is gone (after ha_teardown)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        previous = os.environ.get("HA_COROSYNC_CONF")
        os.environ["HA_COROSYNC_CONF"] = "/nonexistent/corosync/corosync.conf"
        try:
            cls.worker = CeleryWorker("highavailability").start()
        finally:
            if previous is None:
                os.environ.pop("HA_COROSYNC_CONF")
            else:
                os.environ["HA_COROSYNC_CONF"] = previous

    @classmethod
    def tearDownClass(cls):
        cls.worker.stop()
        super().tearDownClass()

    def test_worker_records_the_teardown_once(self):
        enable_ha()
        collect_cluster_state_task.delay()
        wait_for(lambda: not services.ha_enabled(), message="HA disabled by the worker")
        collect_cluster_state_task.delay()
        collect_cluster_state_task.delay()
        wait_for(
            lambda: (
                services.cluster_status().collected
                and Event.objects.filter(action="teardown").count() == 1
            ),
            message="teardown event",
        )
        first = services.cluster_status().collected
        collect_cluster_state_task.delay()
        wait_for(lambda: services.cluster_status().collected > first, message="a later run")
        self.assertEqual(Event.objects.filter(action="teardown").count(), 1)


class StandbyWorkerTests(TransactionTestCase):
    """A worker starting on a node that joins the cluster records its System Information."""

    def test_worker_start_records_the_node(self):
        here = socket.gethostname()
        with tempfile.TemporaryDirectory() as folder:
            conf = Path(folder) / "corosync.conf"
            conf.write_text(f"nodelist {{\n  node {{\n    name: {here}\n    nodeid: 1\n  }}\n}}\n")
            conf.with_name("authkey").write_bytes(b"key")
            previous = os.environ.get("HA_COROSYNC_CONF")
            os.environ["HA_COROSYNC_CONF"] = str(conf)
            try:
                worker = CeleryWorker("ha-standby").start()
            finally:
                if previous is None:
                    os.environ.pop("HA_COROSYNC_CONF")
                else:
                    os.environ["HA_COROSYNC_CONF"] = previous
            try:
                node = wait_for(
                    lambda: Node.objects.filter(name=here, physical_memory__gt=0).first(),
                    message="the worker to record its node",
                )
            finally:
                worker.stop()
        self.assertEqual(node.physical_memory, psutil.virtual_memory().total)
        self.assertEqual(node.disk_space, psutil.disk_usage("/").total)


class BeatScheduleTests(SimpleTestCase):
    def test_collector_runs_every_two_seconds_and_never_queues_up(self):
        entry = settings.CELERY_BEAT_SCHEDULE["collect-cluster-state"]
        self.assertEqual(entry["task"], "highavailability.collect_cluster_state")
        self.assertTrue(2 <= entry["schedule"] <= 5)
        self.assertEqual(entry["options"]["expires"], entry["schedule"])
