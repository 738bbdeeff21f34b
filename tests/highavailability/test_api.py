"""The HA API: read-only cluster status and tracked jobs, for system staff."""

from django.test import TestCase

from highavailability import services
from highavailability.choices import HAJobKind
from highavailability.models import HAJob
from tests.support.personas import PersonasMixin

from .support import PRIMARY, enable_ha


class HAApiTests(PersonasMixin, TestCase):
    def test_cluster_status_with_nodes(self):
        enable_ha()
        self.client.force_login(self.operator)
        data = self.client.get("/api/v1/ha-cluster/").json()
        self.assertTrue(data["ha_enabled"])
        self.assertEqual((data["health"], data["heartbeat"]), ("normal", "connected"))
        self.assertEqual([n["role"] for n in data["nodes"]], ["active", "standby"])
        self.assertIsNone(data["nodes"][1]["physical_memory"])
        votes = [data[k] for k in ("total_votes", "expected_votes", "votes_needed")]
        self.assertEqual(votes, [3, 3, 2])
        self.assertEqual(data["quorum_device"], "voting")
        self.assertIs(data["standby_promotable"], True)

    def test_standalone_server(self):
        self.client.force_login(self.admin)
        data = self.client.get("/api/v1/ha-cluster/").json()
        self.assertFalse(data["ha_enabled"])
        self.assertEqual(data["nodes"], [])

    def test_jobs(self):
        job = services.start_job(HAJobKind.DEPLOY, node=PRIMARY)
        HAJob.objects.filter(pk=job.pk).update(log=["Copying the database"], progress=40)
        self.client.force_login(self.admin)
        rows = self.client.get("/api/v1/ha-jobs/").json()["results"]
        self.assertEqual([(r["kind"], r["progress"]) for r in rows], [("deploy", 40)])
        self.assertEqual(self.client.get(f"/api/v1/ha-jobs/{job.pk}/").json()["node"], PRIMARY)

    def test_schema_describes_one_cluster_status(self):
        self.client.force_login(self.admin)
        schema = self.client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
        answer = schema["paths"]["/api/v1/ha-cluster/"]["get"]["responses"]["200"]
        self.assertEqual(
            answer["content"]["application/json"]["schema"],
            {"$ref": "#/components/schemas/ClusterStatus"},
        )
        self.assertIn("/api/v1/ha-jobs/{id}/", schema["paths"])

    def test_only_system_staff(self):
        for user in (self.alice, self.bob):
            self.client.force_login(user)
            self.assertEqual(self.client.get("/api/v1/ha-cluster/").status_code, 403)
            self.assertEqual(self.client.get("/api/v1/ha-jobs/").status_code, 403)
        self.client.logout()
        self.assertIn(self.client.get("/api/v1/ha-cluster/").status_code, (401, 403))
