"""A standby the cluster could promote now, and a cluster left without a primary (no lab):
crm_mon's node attributes, the reasons and fixes shown, the local CIB, the guard's helpers."""

import io
import sys
import tempfile
from pathlib import Path
from unittest import mock

from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.template.loader import render_to_string
from django.test import RequestFactory, SimpleTestCase, TestCase, override_settings

from core.choices import EventCategory
from core.models import Event
from highavailability import cluster, services, views
from highavailability.choices import ClusterHealth, NodeRole
from highavailability.management.commands import ha_cluster_stop
from highavailability.management.commands.ha_status import Command
from highavailability.models import ClusterStatus

from .support import NORMAL_XML, PRIMARY, SECONDARY, crm_mon_xml, observation

sys.path.insert(0, str(Path(cluster.__file__).parent))
import syncguard  # noqa: E402 - a plain script (no Django), as pacemaker runs it


def state(**kwargs) -> cluster.ClusterState:
    return cluster.parse_crm_mon(crm_mon_xml(**kwargs))


class PromotableStandbyTests(SimpleTestCase):
    def test_complete_standby_with_a_score_is_promotable(self):
        seen = state()
        self.assertEqual(seen.node(SECONDARY).score, 1000)
        self.assertTrue(seen.standby_promotable)
        self.assertEqual(
            seen.promotability(), f"yes ({SECONDARY}: synchronous standby, promotion score 1000)"
        )
        self.assertEqual(seen.no_active_server(), "")

    def test_incomplete_standby_is_not_promotable(self):
        seen = state(complete=(PRIMARY,))
        self.assertFalse(seen.standby_promotable)
        self.assertEqual(
            seen.promotability(), f"no ({SECONDARY} is not a confirmed synchronous standby yet)"
        )

    def test_offline_or_stopped_standby_is_not_promotable(self):
        self.assertEqual(
            state(online=(PRIMARY,), unpromoted=None).promotability(),
            f"no ({SECONDARY} is offline)",
        )
        self.assertEqual(
            state(unpromoted=None).promotability(),
            f"no (the database is not running on {SECONDARY})",
        )

    def test_no_active_server_with_an_incomplete_standby_names_both_ways_out(self):
        seen = state(online=(SECONDARY,), promoted=None, complete=(PRIMARY,))
        reason = seen.no_active_server()
        self.assertIn(
            f"{SECONDARY} was not the synchronous standby when the primary was lost", reason
        )
        self.assertIn("asynchronous since 2026-11-29T20:07:51Z, WAL 0/3080928", reason)
        self.assertIn(f"ha_cluster_start there, then ha_cluster_stop on {SECONDARY}", reason)
        self.assertIn(f"ha_promote --force on {SECONDARY}", reason)

    def test_no_active_server_with_a_complete_standby_is_healing(self):
        seen = state(online=(SECONDARY,), promoted=None)
        self.assertEqual(
            seen.no_active_server(), f"promoting {SECONDARY} (it has every acknowledged write)"
        )

    def test_complete_and_incomplete_standbys_without_a_primary(self):
        seen = state(promoted=None, unpromoted=PRIMARY, complete=(SECONDARY,))
        seen.node(SECONDARY).role = "Unpromoted"
        reason = seen.no_active_server()
        self.assertIn(f"{SECONDARY} has every acknowledged write, but {PRIMARY}", reason)
        self.assertIn(f"ha_cluster_stop on {PRIMARY}", reason)

    def test_a_partition_without_quorum_reports_nothing(self):
        seen = state(online=(SECONDARY,), promoted=None, quorate=False, complete=(PRIMARY,))
        self.assertEqual(seen.no_active_server(), "")

    def test_guard_helpers(self):
        self.assertEqual(syncguard.lsn("0/3080928"), 0x3080928)
        self.assertEqual(syncguard.lsn("1/0"), 1 << 32)
        self.assertEqual(syncguard.lsn(None), 0)
        self.assertIn("may lack acknowledged writes", syncguard.no_active_reason(SECONDARY, {}))


class GuardCibReadTests(SimpleTestCase):
    """The primary's guard rereads the CIB at every cycle unless replication is steady, and
    then every STEADY_CIB_S: a standby that stops replying is acted on at the next cycle."""

    def cycle(self, guard, now: float, *, fresh: bool = True) -> None:
        standby = {"name": SECONDARY, "state": "streaming", "sync_state": "sync",
                   "fresh": fresh, "flush": "0/5000000", "behind": 0, "since": 0}  # fmt: skip
        db = {"recovery": False, "setting": "*", "lsn": "0/5000000", "standbys": [standby]}
        with (
            mock.patch.object(syncguard, "psql", return_value=syncguard.json.dumps(db)),
            mock.patch.object(syncguard.time, "monotonic", return_value=now),
            mock.patch.object(syncguard, "write_setting") as self.write_setting,
            mock.patch.object(syncguard, "log"),
        ):
            guard.step()

    def run_cib(self, argv):
        self.calls.append(argv[0])
        if argv[:2] == ["crm_node", "-l"]:
            return f"1 {PRIMARY} member\n2 {SECONDARY} member\n"
        if argv[0] == "cibadmin":
            attrs = (("ssm-complete", "1"), ("master-pgsqld", "1000"))
            nodes = "".join(
                f'<node id="{i}" uname="{n}"><instance_attributes id="a{i}">'
                + "".join(f'<nvpair id="{i}-{k}" name="{k}" value="{v}"/>' for k, v in attrs)
                + "</instance_attributes></node>"
                for i, n in ((1, PRIMARY), (2, SECONDARY))
            )
            return f"<nodes>{nodes}</nodes>"
        return PRIMARY if argv[:2] == ["crm_node", "-n"] else ""

    def test_steady_replication_rereads_the_cib_every_few_seconds(self):
        self.calls: list[str] = []
        guard = syncguard.Guard()
        guard.sync_since = syncguard.lsn("0/4000000")
        with mock.patch.object(syncguard, "run", side_effect=self.run_cib):
            self.cycle(guard, 100.0)
            self.assertEqual(self.calls.count("cibadmin"), 1)
            for t in (100.5, 101.0, 104.5):
                self.cycle(guard, t)
            self.assertEqual(self.calls.count("cibadmin"), 1)
            self.assertNotIn("crm_attribute", self.calls)
            self.cycle(guard, 100.0 + syncguard.STEADY_CIB_S)
            self.assertEqual(self.calls.count("cibadmin"), 2)
            # the standby stops replying: the CIB is read at once and it is marked incomplete
            self.cycle(guard, 105.5, fresh=False)
        self.assertEqual(self.calls.count("cibadmin"), 3)
        self.assertIn("crm_attribute", self.calls)
        self.write_setting.assert_called_once_with("")


class CompleteHereTests(SimpleTestCase):
    """ha_cluster_start reads the node's last copy of the CIB to know whether its crashed
    database holds every acknowledged write."""

    def cib(self, value: str | None) -> bool:
        pairs = (
            f'<instance_attributes id="n1"><nvpair id="n1-c" name="ssm-complete" value="{value}"/>'
            "</instance_attributes>"
            if value is not None
            else ""
        )
        xml = f'<cib><configuration><nodes><node id="1" uname="{PRIMARY}">{pairs}</node>'
        xml += f'<node id="2" uname="{SECONDARY}"/></nodes></configuration></cib>'
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "cib.xml").write_text(xml)
            with (
                override_settings(HA_CIB_DIR=Path(folder)),
                mock.patch("socket.gethostname", return_value=PRIMARY),
            ):
                return cluster.complete_here()

    def test_marked_complete(self):
        self.assertTrue(self.cib("1"))

    def test_marked_incomplete_or_never_marked(self):
        self.assertFalse(self.cib("0"))
        self.assertFalse(self.cib(None))

    def test_no_cib(self):
        with override_settings(HA_CIB_DIR=Path("/nonexistent")):
            self.assertFalse(cluster.complete_here())


class HealthTests(TestCase):
    def test_a_cluster_that_could_not_fail_over_is_degraded(self):
        obs = observation(crm_mon_xml(complete=(PRIMARY,)))
        self.assertEqual([n.role for n in obs.nodes], [NodeRole.ACTIVE, NodeRole.STANDBY])
        self.assertFalse(obs.standby_promotable)
        self.assertEqual(obs.health, ClusterHealth.DEGRADED)
        self.assertEqual(observation(crm_mon_xml()).health, ClusterHealth.NORMAL)

    def test_promotability_changes_are_events_and_stored(self):
        services.apply_observation(observation(crm_mon_xml()))
        services.apply_observation(observation(crm_mon_xml(complete=(PRIMARY,))))
        status = ClusterStatus.objects.get(pk=1)
        self.assertIs(status.standby_promotable, False)
        services.apply_observation(observation(crm_mon_xml()))
        actions = list(
            Event.objects.filter(category=EventCategory.HIGH_AVAILABILITY)
            .order_by("id")
            .values_list("action", flat=True)
        )
        self.assertEqual(actions[-2:], ["standby_not_promotable", "standby_promotable"])

    def test_widget_shows_whether_the_standby_is_promotable(self):
        services.apply_observation(observation(crm_mon_xml(complete=(PRIMARY,))))
        status = ClusterStatus.objects.get(pk=1)
        html = render_to_string("highavailability/_host.html", {"status": status})
        self.assertRegex(html, r'data-testid="ha-promotable">Standby promotable: <span[^>]*>no<')


class HaStatusProtectionTests(SimpleTestCase):
    def test_ha_status_shows_the_active_server_and_promotability(self):
        out = io.StringIO()
        command = Command(stdout=out)
        command.say_protection(state(online=(SECONDARY,), promoted=None, complete=(PRIMARY,)))
        text = out.getvalue()
        self.assertIn("Active server: none - No active server:", text)
        self.assertIn(f"Standby promotable: no ({SECONDARY} is not a confirmed", text)


class NoActiveServerPageTests(SimpleTestCase):
    """A node whose database does not answer serves a 503 page saying why."""

    def page(self, seen, error: Exception):
        request = RequestFactory().get("/login/")
        with (
            mock.patch.object(cluster, "ha_enabled", return_value=True),
            mock.patch.object(cluster, "cluster_state", return_value=seen),
        ):
            try:
                raise error
            except Exception:  # noqa: BLE001 - the handler reads the exception being handled
                return views.server_error(request)

    def test_no_active_server_with_the_reason_and_the_way_out(self):
        seen = state(online=(SECONDARY,), promoted=None, complete=(PRIMARY,))
        response = self.page(seen, OperationalError("connection refused"))
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], "5")
        text = response.content.decode()
        self.assertIn("No active server", text)
        self.assertIn("ha_promote --force on secondary-node", text)

    def test_failover_under_way(self):
        response = self.page(state(online=(SECONDARY,), promoted=None), OperationalError("x"))
        self.assertEqual(response.status_code, 503)
        self.assertIn("promoting secondary-node", response.content.decode())

    def test_other_errors_stay_a_plain_server_error(self):
        response = self.page(state(), ValueError("a bug"))
        self.assertEqual(response.status_code, 500)
        self.assertNotIn("No active server", response.content.decode())


class NoActiveServerAlertTests(TestCase):
    """The guard on a standby runs ha_alert: an e-mail at once, the HA event once a primary
    is back."""

    def test_system_administrators_are_mailed(self):
        User = get_user_model()
        User.objects.create_superuser("root-admin", email="root@example.com", password="x")
        User.objects.create_user("viewer", email="viewer@example.com", password="x")
        User.objects.create_superuser("no-mail", email="", password="x")
        recipients = services.alert_no_active_server(SECONDARY, "secondary-node may lack writes")
        self.assertEqual(recipients, ["root@example.com"])
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["root@example.com"])
        self.assertIn("no active server", mail.outbox[0].subject)
        self.assertIn("secondary-node may lack writes", mail.outbox[0].body)

    def test_the_period_is_recorded_once_resolved(self):
        out = io.StringIO()
        call_command(
            "ha_alert", "--node", SECONDARY, "--reason", "it may lack writes", "--resolved",
            "--since", "2026-11-29T20:08:10Z", stdout=out,
        )  # fmt: skip
        event = Event.objects.get(action="no_active_server")
        self.assertEqual(event.category, EventCategory.HIGH_AVAILABILITY)
        self.assertEqual(event.result, "failure")
        self.assertIn("No active server from 2026-11-29T20:08:10Z", event.message)
        self.assertIn("it may lack writes", event.message)
        self.assertIn("recorded in the HA event log", out.getvalue())


class ApplicationPlacementTests(SimpleTestCase):
    def test_nodes_running_the_application(self):
        # in the captured output the application was still starting on secondary-node
        self.assertEqual(cluster.parse_crm_mon(NORMAL_XML).app_nodes, {PRIMARY})


class ClusterStopTests(TestCase):
    """ha_cluster_stop on the active node never leaves the cluster without a way out."""

    def stop(self, seen, *args):
        out = io.StringIO()
        with (
            mock.patch.object(cluster, "ha_enabled", return_value=True),
            mock.patch.object(cluster, "cluster_running", return_value=True),
            mock.patch.object(cluster, "cluster_state", return_value=seen),
            mock.patch.object(cluster, "stop_daemons") as stop_daemons,
            mock.patch("socket.gethostname", return_value=PRIMARY),
            mock.patch.object(ha_cluster_stop, "PROMOTABLE_WAIT_S", 0),
        ):
            call_command("ha_cluster_stop", *args, stdout=out)
        return stop_daemons.called, out.getvalue()

    def test_refused_while_the_standby_could_not_take_over(self):
        with self.assertRaisesMessage(CommandError, "would leave the cluster with no active"):
            self.stop(state(complete=(PRIMARY,)))

    def test_stops_when_the_standby_is_promotable_or_forced_or_alone(self):
        self.assertTrue(self.stop(state())[0])
        self.assertTrue(self.stop(state(complete=(PRIMARY,)), "--force")[0])
        self.assertTrue(self.stop(state(online=(PRIMARY,), unpromoted=None))[0])
