"""The High Availability widget: the spec's texts, live part, access and its absence."""

import datetime as dt

from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from highavailability import cluster, services
from highavailability.choices import HAJobKind
from highavailability.models import HAJob
from tests.support.personas import PersonasMixin

from .support import (
    CONFIGURED,
    NORMAL_XML,
    PRIMARY,
    SECONDARY,
    crm_mon_xml,
    database,
    enable_ha,
    observation,
    quorumtool,
)

HOST = reverse("highavailability:host")
EVENTS = reverse("highavailability:event-log")


class HighAvailabilityViewTests(PersonasMixin, TestCase):
    def setUp(self):
        self.client.force_login(self.admin)

    def test_normal_cluster(self):
        enable_ha()
        response = self.client.get(HOST)
        self.assertContains(response, "The status of the high availability cluster is normal.")
        self.assertContains(response, 'data-testid="ha-status">Normal<')
        self.assertContains(response, "Connection status: <span")
        self.assertContains(response, ">Connected<")
        self.assertContains(response, "169.254.100.10")
        self.assertContains(response, 'data-testid="ha-replication-mode">synchronous<')
        self.assertContains(response, "Quorum: yes · ")
        self.assertContains(response, 'data-testid="ha-votes">votes 3 of 3 expected, 2 needed<')
        self.assertContains(response, 'data-testid="ha-quorum-device">voting<')
        self.assertEqual(response.context["active"].name, PRIMARY)
        self.assertEqual(response.context["standby"].name, SECONDARY)
        for text in (
            "Active Server",
            "Standby Server",
            "169.254.100.11",
            "primary-node (169.254.101.11)",
            "secondary-node (169.254.101.12)",
            "Physical Memory",
            "8.0\xa0GB",
            "Disk Space",
            "100.0\xa0GB",
            "Current Version",
            "Host",
            "Event Logs",
        ):
            self.assertContains(response, text)
        # the standby's system information is not known yet
        self.assertContains(response, 'data-testid="standby-server-memory">--<')
        self.assertContains(response, 'data-testid="standby-server-version">--<')
        self.assertContains(response, 'hx-trigger="every 2s"')

    def test_failover_shows_the_secondary_active_and_the_cluster_degraded(self):
        enable_ha()
        services.apply_observation(
            observation(
                crm_mon_xml(online=(SECONDARY,), promoted=SECONDARY, unpromoted=None),
                db=database(sync=False, standbys=()),
                local=SECONDARY,
            )
        )
        response = self.client.get(HOST, headers={"HX-Request": "true"})
        self.assertTemplateUsed(response, "highavailability/_host.html")
        self.assertTemplateNotUsed(response, "base.html")
        self.assertContains(response, "The cluster is degraded One of the cluster nodes is offline")
        self.assertContains(response, ">Disconnected<")
        self.assertContains(response, 'data-testid="ha-replication-mode">asynchronous<')
        self.assertEqual(response.context["active"].name, SECONDARY)
        self.assertContains(response, 'data-testid="standby-server-role">Degraded<')
        self.assertContains(response, 'data-testid="standby-server-online">Offline<')
        self.assertContains(response, 'data-testid="active-server-role">Active<')

    def test_quorum_device_not_voting_and_votes_unknown(self):
        enable_ha()
        services.apply_observation(observation(quorum=quorumtool(qdevice_voting=False)))
        response = self.client.get(HOST, headers={"HX-Request": "true"})
        self.assertContains(response, 'data-testid="ha-votes">votes 2 of 3 expected, 2 needed<')
        self.assertContains(response, 'data-testid="ha-quorum-device">not voting<')
        services.apply_observation(
            services.build_observation(cluster.parse_crm_mon(NORMAL_XML), CONFIGURED)
        )
        response = self.client.get(HOST, headers={"HX-Request": "true"})
        self.assertContains(response, 'data-testid="ha-votes">votes --<')
        self.assertContains(response, 'data-testid="ha-quorum-device">--<')
        self.assertContains(response, 'data-testid="ha-replication-mode">synchronous<')

    def test_an_old_snapshot_says_the_state_is_not_collected(self):
        status = enable_ha()
        self.assertNotContains(self.client.get(HOST), "ha-stale")
        status.collected = timezone.now() - dt.timedelta(minutes=2)
        status.save()
        response = self.client.get(HOST)
        self.assertContains(response, "it is not being collected now")

    def test_event_logs_tab_lists_transitions(self):
        enable_ha()
        services.apply_observation(
            observation(crm_mon_xml(online=(SECONDARY,), promoted=SECONDARY, unpromoted=None))
        )
        response = self.client.get(EVENTS)
        self.assertContains(response, "Failover: secondary-node is now the active node")
        self.assertContains(response, "Heartbeat lost")
        response = self.client.get(EVENTS, {"search": "heartbeat"})
        self.assertNotContains(response, "Failover:")
        self.assertContains(response, "(1 Records)")

    def test_event_logs_first_page_refreshes_itself(self):
        enable_ha()
        response = self.client.get(EVENTS)
        self.assertContains(response, 'data-polling="true"')
        self.assertContains(response, f'hx-get="{EVENTS}" hx-trigger="every 2s"')
        self.assertNotContains(response, "Quorum device lost its vote")
        services.apply_observation(observation(quorum=quorumtool(qdevice_voting=False)))
        response = self.client.get(EVENTS, headers={"HX-Request": "true"})
        self.assertTemplateUsed(response, "highavailability/_event_table.html")
        self.assertTemplateNotUsed(response, "base.html")
        self.assertNotContains(response, 'name="q"')
        self.assertContains(response, "Quorum device lost its vote: votes 2 of 3 expected")
        self.assertContains(response, "(2 Records)")
        self.assertContains(response, 'data-polling="true"')

    def test_event_logs_search_and_later_pages_do_not_refresh(self):
        enable_ha()
        for _ in range(13):
            services.apply_observation(observation(quorum=quorumtool(qdevice_voting=False)))
            services.apply_observation(observation())
        response = self.client.get(EVENTS)
        self.assertContains(response, "Showing Page 1 of 2 (27 Records)")
        self.assertContains(response, 'data-polling="true"')
        response = self.client.get(EVENTS, {"page": 2})
        self.assertContains(response, "Showing Page 2 of 2 (27 Records)")
        self.assertContains(response, 'data-polling="false"')
        self.assertNotContains(response, "hx-trigger")
        response = self.client.get(EVENTS, {"search": "voting again"})
        self.assertContains(response, "(13 Records)")
        self.assertContains(response, 'data-polling="false"')
        self.assertNotContains(response, "hx-trigger")

    def test_event_logs_left_open_after_teardown_stop_polling(self):
        enable_ha()
        services.apply_observation(services.Observation(ha_enabled=False))
        response = self.client.get(EVENTS, headers={"HX-Request": "true"})
        self.assertContains(response, "HA is not enabled.")
        self.assertNotContains(response, "hx-trigger")

    def test_running_job_shows_its_progress(self):
        enable_ha()
        job = services.start_job(HAJobKind.CLUSTER_START, node=PRIMARY)
        line = "pg_rewind: done, the database follows the primary's timeline"
        HAJob.objects.filter(pk=job.pk).update(log=[line], progress=60)
        response = self.client.get(HOST)
        self.assertContains(response, "Cluster Start")
        self.assertContains(response, 'value="60"')
        self.assertContains(response, "pg_rewind: done")

    def test_without_ha_the_page_says_so_and_the_tile_is_gone(self):
        response = self.client.get(HOST)
        self.assertContains(response, "HA is not enabled.", status_code=404)
        self.assertEqual(self.client.get(EVENTS).status_code, 404)
        workspace = self.client.get(reverse("admin-workspace"))
        self.assertNotContains(workspace, "widget-high-availability")
        self.assertContains(workspace, "widget-support-center")

    def test_after_teardown_the_live_part_stops_polling(self):
        enable_ha()
        self.assertContains(self.client.get(reverse("admin-workspace")), HOST)
        services.apply_observation(services.Observation(ha_enabled=False))
        response = self.client.get(HOST, headers={"HX-Request": "true"})
        self.assertContains(response, "HA is not enabled.")
        self.assertNotContains(response, "hx-trigger")
        self.assertNotContains(self.client.get(reverse("admin-workspace")), HOST)

    def test_system_staff_only(self):
        enable_ha()
        self.client.force_login(self.operator)
        self.assertEqual(self.client.get(HOST).status_code, 200)
        self.assertContains(self.client.get(reverse("admin-workspace")), HOST)
        for user in (self.alice, self.victor, self.bob):
            self.client.force_login(user)
            self.assertEqual(self.client.get(HOST).status_code, 404, user)
            self.assertEqual(self.client.get(EVENTS).status_code, 404, user)
            self.assertNotContains(self.client.get(reverse("admin-workspace")), HOST)
        self.client.logout()
        self.assertRedirects(self.client.get(HOST), f"{reverse('login')}?next={HOST}")
