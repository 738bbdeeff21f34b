"""Cluster operations from the widget, the API and the console (no lab): who may start them,
when the cluster refuses them and why, one at a time, once per job; the rehearsal's figures.
The moves themselves run against the real two-node cluster in the HA tier."""

import io
from unittest import mock

from django.core.management import CommandError, call_command
from django.test import SimpleTestCase, TestCase
from django.urls import reverse

from core.models import Event
from highavailability import cluster, services, transitions
from highavailability.choices import HAJobKind, HAJobStatus
from highavailability.models import HAJob
from highavailability.services.rehearsal import Probe
from tests.support.personas import PersonasMixin

from .support import CONFIGURED, PRIMARY, SECONDARY, crm_mon_xml, enable_ha, observation

HOST = reverse("highavailability:host")


def operation_url(name: str) -> str:
    return reverse("highavailability:operation", args=[name])


def degrade() -> None:
    """The standby went offline (as the collector would store it)."""
    services.apply_observation(observation(crm_mon_xml(online=(PRIMARY,), unpromoted=None)))


class OperationTests(PersonasMixin, TestCase):
    def setUp(self):
        patcher = mock.patch.object(cluster, "configured_nodes", return_value=CONFIGURED)
        patcher.start()
        self.addCleanup(patcher.stop)
        enable_ha()

    def start(self, operation="switchover", user=None, node=""):
        with self.captureOnCommitCallbacks(execute=False) as queued:
            job = services.start_operation(operation, user or self.admin, node=node)
        self.assertEqual(len(queued), 1, "the job is queued for a worker once it is committed")
        return job

    def test_a_normal_cluster_offers_every_operation_but_fallback(self):
        offered = {o["operation"]: o["refusal"] for o in services.offered_operations(self.admin)}
        self.assertEqual(offered["switchover"], "")
        self.assertEqual(offered["rehearsal"], "")
        self.assertEqual(offered["maintenance"], "")
        self.assertEqual(
            offered["fallback"], f"{PRIMARY} is already the active server (nothing to fall back)"
        )
        self.assertEqual(services.offered_operations(self.operator), [])

    def test_refused_while_degraded_or_not_promotable(self):
        degrade()
        self.assertEqual(
            services.operation_refusal("rehearsal"), "the cluster is Degraded: it must be Normal"
        )
        with self.assertRaisesMessage(services.OperationRefused, "Degraded"):
            services.start_operation("switchover", self.admin)
        self.assertFalse(HAJob.objects.exists())
        refused = Event.objects.get(action="switchover_refused")
        self.assertEqual(refused.user, self.admin)
        enable_ha()
        services.apply_observation(observation(crm_mon_xml(complete=(PRIMARY,))))
        # a standby that could not take over makes the cluster Degraded (and refuses)
        self.assertIn("Degraded", services.operation_refusal("switchover"))

    def test_one_operation_at_a_time_and_claimed_once(self):
        job = self.start("rehearsal")
        self.assertEqual((job.kind, job.status, job.node), ("rehearsal", "running", ""))
        self.assertEqual(job.started_by, self.admin)
        self.assertIn("Failover Rehearsal is running", services.operation_refusal("switchover"))
        self.assertEqual(services.claim_operation(job.pk).pk, job.pk)
        self.assertIsNone(services.claim_operation(job.pk), "a redelivered task runs nothing")

    def test_refused_until_the_state_after_the_last_operation_is_collected(self):
        job = self.start("switchover")
        services.finish_job(job)
        self.assertIn("the cluster state after the last Switchover is being collected",
                      services.operation_refusal("fallback"))  # fmt: skip
        enable_ha()  # the next collection
        self.assertEqual(services.operation_refusal("switchover"), "")

    def test_maintenance_then_its_end_is_offered(self):
        job = self.start("maintenance")
        done = {"status": HAJobStatus.SUCCEEDED, "report": {"node": SECONDARY}}
        HAJob.objects.filter(pk=job.pk).update(**done)
        self.assertEqual(services.node_in_maintenance(), SECONDARY)
        degrade()
        (offered,) = services.offered_operations(self.admin)
        self.assertEqual((offered["operation"], offered["node"]), ("maintenance_end", SECONDARY))
        self.assertEqual(offered["refusal"], "")
        end = self.start("maintenance_end", node=SECONDARY)
        self.assertEqual(end.report, {"node": SECONDARY})

    def test_widget_buttons_and_confirmation_for_system_administrators(self):
        self.client.force_login(self.admin)
        page = self.client.get(HOST)
        self.assertContains(page, 'data-testid="ha-op-switchover"')
        self.assertContains(page, f'title="{PRIMARY} is already the active server')
        confirm = self.client.get(operation_url("switchover"))
        self.assertContains(confirm, "Confirm: Switchover")
        self.assertNotContains(confirm, "ha-operation-refusal")
        with self.captureOnCommitCallbacks(execute=False):
            done = self.client.post(operation_url("switchover"))
        self.assertRedirects(done, HOST)
        job = HAJob.objects.get()
        self.assertEqual((job.kind, job.started_by), (HAJobKind.SWITCHOVER, self.admin))
        again = self.client.post(operation_url("rehearsal"))
        self.assertContains(again, "Switchover is running", status_code=409)
        self.assertEqual(HAJob.objects.count(), 1)
        self.assertEqual(self.client.get(operation_url("reboot")).status_code, 404)

    def test_operators_see_the_widget_but_no_operation(self):
        self.client.force_login(self.operator)
        self.assertNotContains(self.client.get(HOST), "ha-operations")
        self.assertEqual(self.client.get(operation_url("switchover")).status_code, 404)
        self.assertEqual(self.client.post(operation_url("switchover")).status_code, 404)
        self.assertFalse(HAJob.objects.exists())

    def test_api(self):
        self.client.force_login(self.operator)
        denied = self.client.post("/api/v1/ha-operations/", {"operation": "switchover"})
        self.assertEqual(denied.status_code, 403)
        self.client.force_login(self.admin)
        bad = self.client.post("/api/v1/ha-operations/", {"operation": "reboot"})
        self.assertEqual(bad.status_code, 400)
        self.assertIn("operation", bad.json())
        with self.captureOnCommitCallbacks(execute=False):
            made = self.client.post("/api/v1/ha-operations/", {"operation": "rehearsal"})
        self.assertEqual(made.status_code, 202)
        self.assertEqual((made.json()["kind"], made.json()["status"]), ("rehearsal", "running"))
        busy = self.client.post("/api/v1/ha-operations/", {"operation": "switchover"})
        self.assertEqual(busy.status_code, 409)
        self.assertIn("Failover Rehearsal is running", busy.json()["detail"])


class RehearsalReportTests(PersonasMixin, TestCase):
    def rehearsal(self, failover, fallback, lost=0, user=None):
        job = services.start_job(HAJobKind.REHEARSAL, user=user)
        report = {
            "transitions": [
                {"name": "failover", "write_stall_s": failover, "first_acknowledged_s": 6.1},
                {"name": "fallback", "write_stall_s": fallback, "first_acknowledged_s": 5.2},
            ],
            "acknowledged": 120,
            "lost": lost,
        }
        HAJob.objects.filter(pk=job.pk).update(report=report)
        return services.finish_job(job)

    def test_reports_chart_and_csv(self):
        enable_ha()
        self.rehearsal(4.5, 2.0, user=self.admin)
        self.rehearsal(3.0, 9.0)
        self.client.force_login(self.operator)
        page = self.client.get(reverse("highavailability:rehearsals"))
        self.assertContains(page, "4.5 s / 6.1 s")
        self.assertContains(page, "9.0 s / 5.2 s")
        bars = page.context["chart"]
        self.assertEqual([b["seconds"] for b in bars], [4.5, 9.0])  # oldest first, the longer
        self.assertEqual(bars[1]["height"], 100.0)
        self.assertEqual(bars[0]["height"], 50.0)
        lines = self.client.get(reverse("highavailability:rehearsals"), {"format": "csv"})
        rows = b"".join(lines.streaming_content).decode().splitlines()
        self.assertTrue(rows[0].startswith("Started,Started by,Status,Failover stall (s)"))
        self.assertEqual(rows[1].split(",")[1:], ["console", "succeeded", "3.0", "6.1", "9.0",
                                                  "5.2", "120", "0"])  # fmt: skip
        self.assertIn(",admin,", rows[2])
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get(reverse("highavailability:rehearsals")).status_code, 404)


class ClusterRefusalTests(SimpleTestCase):
    """The worker checks the live cluster again before it moves anything."""

    def state(self, **kwargs):
        return cluster.parse_crm_mon(crm_mon_xml(**kwargs))

    def test_live_refusals(self):
        self.assertEqual(transitions.refusal("switchover", self.state(), PRIMARY), "")
        self.assertEqual(
            transitions.refusal("switchover", self.state(online=(PRIMARY,)), PRIMARY),
            f"{SECONDARY} is offline (cluster Degraded)",
        )
        self.assertIn(
            "the standby is not promotable",
            transitions.refusal("rehearsal", self.state(complete=(PRIMARY,)), PRIMARY),
        )
        fallback = transitions.refusal("fallback", self.state(), PRIMARY)
        self.assertIn("already the active server", fallback)
        self.assertEqual(transitions.standby_of(self.state()), SECONDARY)
        away = self.state()
        away.node(SECONDARY).maintenance = True
        self.assertIn("is in maintenance", transitions.not_normal(away))

    def test_maintenance_is_read_from_crm_mon(self):
        node = f'name="{SECONDARY}" id="2" online="true" standby='
        xml = crm_mon_xml().replace(f'{node}"false"', f'{node}"true"')
        self.assertTrue(cluster.parse_crm_mon(xml).node(SECONDARY).maintenance)
        self.assertFalse(cluster.parse_crm_mon(xml).node(PRIMARY).maintenance)


class ProbeFiguresTests(SimpleTestCase):
    def test_write_stall_and_first_acknowledgement(self):
        probe = Probe("token", "RH1")
        probe.acknowledged = [(t, f"s{t}") for t in (9.8, 10.0, 10.2, 14.5, 14.7)]
        figures = probe.transition(started=10.1, moved=13.0)
        # the last acknowledgement before the move (10.0), one during it (10.2), then 14.5
        self.assertEqual(figures, {"write_stall_s": 4.3, "first_acknowledged_s": 4.4})
        self.assertEqual(
            Probe("t", "p").transition(1.0, 2.0),
            {"write_stall_s": None, "first_acknowledged_s": None},
        )


class ConsoleTests(TestCase):
    """The console commands run the same job and checks as the widget's worker."""

    def run_command(self, seen, *argv):
        out = io.StringIO()
        with (
            mock.patch.object(cluster, "ha_enabled", return_value=True),
            mock.patch.object(cluster, "cluster_state", return_value=seen),
            mock.patch.object(cluster, "configured_nodes", return_value=CONFIGURED),
            mock.patch.object(transitions, "move_active") as move,
        ):
            call_command(*argv, stdout=out)
        return move, out.getvalue()

    def test_switchover_and_fallback_move_to_the_right_node(self):
        normal = cluster.parse_crm_mon(crm_mon_xml())
        move, _ = self.run_command(normal, "ha_switchover")
        self.assertEqual(move.call_args.args[0], SECONDARY)
        job = HAJob.objects.get(kind=HAJobKind.SWITCHOVER)
        self.assertEqual(job.status, HAJobStatus.SUCCEEDED)
        swapped = cluster.parse_crm_mon(crm_mon_xml(promoted=SECONDARY, unpromoted=PRIMARY))
        move, _ = self.run_command(swapped, "ha_switchover", "--fallback")
        self.assertEqual(move.call_args.args[0], PRIMARY)

    def test_refused_on_a_degraded_cluster_and_recorded(self):
        degraded = cluster.parse_crm_mon(crm_mon_xml(online=(PRIMARY,), unpromoted=None))
        with self.assertRaisesMessage(CommandError, f"Refused: {SECONDARY} is offline"):
            self.run_command(degraded, "ha_rehearse")
        job = HAJob.objects.get(kind=HAJobKind.REHEARSAL)
        self.assertEqual(job.status, HAJobStatus.FAILED)
        self.assertIn("is offline", job.error)

    def test_one_operation_at_a_time(self):
        services.start_job(HAJobKind.REHEARSAL)
        with self.assertRaisesMessage(CommandError, "is running: wait until it ends"):
            self.run_command(cluster.parse_crm_mon(crm_mon_xml()), "ha_maintenance", SECONDARY)
