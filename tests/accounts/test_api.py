"""The accounts API: scope, roles and clear 4xx answers."""

from django.test import TestCase, override_settings
from rest_framework.test import APIClient

from accounts.choices import AccountRequestStatus
from accounts.models import AccountRequest
from synchronization.models import Synchronization
from tests.accounts.helpers import CscPersonasMixin
from tests.support.personas import PersonaTestCase

NEW = {
    "name": "TEST",
    "cisco_smart_account": "BU Production Test",
    "cisco_virtual_account": "TEST",
    "notification_email": "owner@example.com",
}


class AccountsApiTests(PersonaTestCase):
    def api(self, user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    def test_anonymous_is_refused(self):
        self.assertIn(APIClient().get("/api/v1/local-accounts/").status_code, (401, 403))

    def test_local_accounts_are_scoped(self):
        names = [
            a["name"] for a in self.api(self.bob).get("/api/v1/local-accounts/").json()["results"]
        ]
        self.assertEqual(names, ["AccountB"])
        self.assertEqual(
            self.api(self.bob).get(f"/api/v1/local-accounts/{self.account_a.pk}/").status_code, 404
        )
        answer = self.api(self.victor).get(f"/api/v1/local-accounts/{self.account_a.pk}/").json()
        self.assertEqual(answer["virtual_accounts"], ["Default"])
        self.assertEqual(answer["status_label"], "Active")
        admin = self.api(self.admin).get("/api/v1/local-accounts/", {"search": "accounta"}).json()
        self.assertEqual([a["name"] for a in admin["results"]], ["AccountA"])

    def test_synchronize_needs_a_role_and_a_registration(self):
        url = f"/api/v1/local-accounts/{self.account_a.pk}/synchronize/"
        self.assertEqual(self.api(self.bob).post(url).status_code, 404)
        self.assertEqual(self.api(self.victor).post(url).status_code, 403)
        answer = self.api(self.alice).post(url)
        self.assertEqual(answer.status_code, 400)
        self.assertIn("not registered", str(answer.json()))
        self.assertFalse(Synchronization.objects.exists())

    def test_delete_is_for_system_administrators(self):
        url = f"/api/v1/local-accounts/{self.account_a.pk}/"
        self.assertEqual(self.api(self.alice).delete(url).status_code, 403)
        self.assertEqual(self.api(self.admin).delete(url).status_code, 204)

    def test_account_requests(self):
        bad = self.api(self.bob).post(
            "/api/v1/account-requests/", {**NEW, "notification_email": "x"}
        )
        self.assertEqual(bad.status_code, 400)
        self.assertIn("notification_email", bad.json())
        created = self.api(self.bob).post("/api/v1/account-requests/", NEW)
        self.assertEqual(created.status_code, 201, created.content)
        self.assertEqual(created.json()["status"], AccountRequestStatus.PENDING)
        duplicate = self.api(self.alice).post("/api/v1/account-requests/", NEW)
        self.assertEqual(duplicate.status_code, 400)
        self.assertIn("already pending", str(duplicate.json()))
        pk = created.json()["id"]
        self.assertEqual(
            self.api(self.alice).get(f"/api/v1/account-requests/{pk}/").status_code, 404
        )
        self.assertEqual(
            self.api(self.bob).post(f"/api/v1/account-requests/{pk}/approve/").status_code, 403
        )
        self.assertEqual(
            self.api(self.admin).post(f"/api/v1/account-requests/{pk}/reject/", {}).status_code, 400
        )
        rejected = self.api(self.admin).post(
            f"/api/v1/account-requests/{pk}/reject/", {"reason": "No budget"}
        )
        self.assertEqual(rejected.json()["status"], AccountRequestStatus.REJECTED)
        again = self.api(self.admin).post(f"/api/v1/account-requests/{pk}/reject/", {"reason": "x"})
        self.assertEqual(again.status_code, 400)
        self.assertEqual(AccountRequest.objects.count(), 1)


class AccountsApiCscTests(CscPersonasMixin, TestCase):
    def test_an_unreadable_csc_ca_file_is_a_clear_400_and_the_request_stays(self):
        """It was a 500 (requests raises a bare OSError for a missing CA bundle)."""
        client = APIClient()
        client.force_authenticate(self.admin)
        pk = client.post("/api/v1/account-requests/", NEW).json()["id"]
        with override_settings(CSC_CA_FILE="/nonexistent/csc.crt"):
            refused = client.post(f"/api/v1/account-requests/{pk}/approve/")
        self.assertEqual(refused.status_code, 400, refused.content)
        self.assertIn("CSC_CA_FILE", str(refused.json()))
        self.assertEqual(AccountRequest.objects.get(pk=pk).status, AccountRequestStatus.PENDING)

    def test_approve_and_synchronize_through_the_api(self):
        client = APIClient()
        client.force_authenticate(self.bob)
        va = self.fresh_virtual_account()
        pk = client.post("/api/v1/account-requests/", {**NEW, "cisco_virtual_account": va}).json()[
            "id"
        ]
        client.force_authenticate(self.admin)
        approved = client.post(f"/api/v1/account-requests/{pk}/approve/")
        self.assertEqual(approved.status_code, 200, approved.content)
        account_id = approved.json()["account"]
        with self.captureOnCommitCallbacks(execute=False):
            job = client.post(f"/api/v1/local-accounts/{account_id}/synchronize/")
        self.assertEqual(job.status_code, 202)
        self.assertEqual(job.json()["status"], "queued")
        listed = client.get("/api/v1/synchronizations/").json()["results"]
        self.assertEqual([j["id"] for j in listed], [job.json()["id"]])
        client.force_authenticate(self.alice)
        self.assertEqual(
            client.get(f"/api/v1/synchronizations/{job.json()['id']}/").status_code, 404
        )
