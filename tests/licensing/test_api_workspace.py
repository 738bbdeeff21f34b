"""The API for every workspace action: virtual accounts, account licenses, license
transfers, usage, License Transactions, events, and per-client read/write scopes."""

from django.test import TestCase

from accounts.models import PurchasedLicense, VirtualAccount
from licensing import services
from licensing.models import LicenseTransaction
from tests.support.personas import build_personas

from .support import PI_BASE, PI_LIFECYCLE, gateway_client, purchase, registered


class WorkspaceApiTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)
        cls.va_a = cls.account_a.default_virtual_account
        cls.branch = VirtualAccount.objects.create(account=cls.account_a, name="Branch")
        cls.writer, cls.writer_secret = services.create_api_client(
            "automation", [cls.account_a], user=cls.admin
        )
        cls.reader, cls.reader_secret = services.create_api_client(
            "inventory", [], read_only=[cls.account_a], user=cls.admin
        )

    def setUp(self):
        purchase(self.va_a, PI_BASE, 10)
        purchase(self.va_a, PI_LIFECYCLE, 3)

    def bearer(self, client=None, secret=None):
        client, secret = client or self.writer, secret or self.writer_secret
        answer = self.client.post(
            "/oauth/token",
            {
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": secret,
            },
        )
        self.assertEqual(answer.status_code, 200, answer.content)
        return {"HTTP_AUTHORIZATION": f"Bearer {answer.json()['access_token']}"}

    def reader_bearer(self):
        return self.bearer(self.reader, self.reader_secret)

    def call(self, method, path, auth, body=None):
        send = getattr(self.client, method)
        if body is None:
            return send(f"/api/v1/accounts/{path}", **auth)
        return send(f"/api/v1/accounts/{path}", body, content_type="application/json", **auth)

    def transfer(self, auth, licenses, va="Default"):
        path = f"AccountA/virtual-accounts/{va}/licenses/transfer"
        return self.call("post", path, auth, {"licenses": licenses})

    def test_license_transfer_by_name_or_tag_all_or_nothing(self):
        auth = self.bearer()
        answer = self.transfer(
            auth,
            [
                {"license": PI_BASE, "quantity": 4, "targetVirtualAccount": "Branch"},
                {
                    "license": "prime infrastructure 3.x, lifecycle lic",
                    "quantity": 1,
                    "targetVirtualAccount": "Branch",
                    "licenseType": "PERPETUAL",
                    "precedence": "LONGEST_TERM_FIRST",
                },
            ],
        )
        self.assertEqual(answer.status_code, 200, answer.content)
        body = answer.json()
        self.assertEqual(body["status"], "SUCCESS")
        self.assertEqual([t["quantity"] for t in body["transactions"]], [4, 1])
        self.assertEqual(body["transactions"][0]["user"], "api:automation")
        held = dict(
            PurchasedLicense.objects.filter(virtual_account=self.branch).values_list(
                "tag", "quantity"
            )
        )
        self.assertEqual(held, {PI_BASE: 4, PI_LIFECYCLE: 1})
        # the second item cannot move: the first does not either
        answer = self.transfer(
            auth,
            [
                {"license": PI_BASE, "quantity": 1, "targetVirtualAccount": "Branch"},
                {"license": PI_LIFECYCLE, "quantity": 5, "targetVirtualAccount": "Branch"},
            ],
        )
        self.assertEqual(answer.status_code, 400)
        self.assertIn("at most 2 can move", answer.json()["detail"])
        self.assertEqual(
            PurchasedLicense.objects.get(virtual_account=self.branch, tag=PI_BASE).quantity, 4
        )
        self.assertEqual(LicenseTransaction.objects.count(), 2)
        for bad, field in (
            ({"license": PI_BASE, "quantity": 1, "targetVirtualAccount": "Nowhere"}, "licenses"),
            ({"license": "no such", "quantity": 1, "targetVirtualAccount": "Branch"}, "licenses"),
            ({"license": PI_BASE, "quantity": 0, "targetVirtualAccount": "Branch"}, "licenses"),
        ):
            with self.subTest(bad=bad):
                answer = self.transfer(auth, [bad])
                self.assertEqual(answer.status_code, 400)
                self.assertIn(field, answer.json())
        self.assertEqual(self.transfer(auth, []).status_code, 400)
        self.assertEqual(LicenseTransaction.objects.count(), 2)

    def test_read_scope_reads_and_cannot_change(self):
        reader = self.reader_bearer()
        registered(self.va_a, "pi37")
        for path in (
            "AccountA/virtual-accounts",
            "AccountA/licenses",
            "AccountA/usage",
            "AccountA/events",
            "AccountA/license-transactions",
            "AccountA/virtual-accounts/Default/licenses",
            "AccountA/virtual-accounts/Default/product-instances",
            "AccountA/virtual-accounts/Default/tokens",
        ):
            with self.subTest(path=path):
                self.assertEqual(self.call("get", path, reader).status_code, 200)
        refused = [
            self.transfer(
                reader, [{"license": PI_BASE, "quantity": 1, "targetVirtualAccount": "Branch"}]
            ),
            self.call("post", "AccountA/virtual-accounts", reader, {"name": "Lab"}),
            self.call(
                "post", "AccountA/virtual-accounts/Default/tokens", reader, {"description": "x"}
            ),
        ]
        for answer in refused:
            self.assertEqual(answer.status_code, 403, answer.content)
            self.assertIn("read only", answer.json()["detail"])
        self.assertFalse(LicenseTransaction.objects.exists())
        self.assertFalse(VirtualAccount.objects.filter(name="Lab").exists())
        # a token listed to a reader is masked, as to an Account Viewer
        token = services.create_token(self.va_a, description="t")
        listed = self.call("get", "AccountA/virtual-accounts/Default/tokens", reader).json()
        self.assertIn(token.short_token, {t["token"] for t in listed["tokens"]})
        self.assertNotIn(token.token, {t["token"] for t in listed["tokens"]})

    def test_another_accounts_names_are_404(self):
        for auth in (self.bearer(), self.reader_bearer()):
            for path in ("AccountB/virtual-accounts", "AccountB/licenses", "AccountB/usage"):
                with self.subTest(path=path):
                    self.assertEqual(self.call("get", path, auth).status_code, 404)
            answer = self.call("post", "AccountB/virtual-accounts", auth, {"name": "Lab"})
            self.assertEqual(answer.status_code, 404)

    def test_virtual_accounts_list_and_create(self):
        auth = self.bearer()
        listed = self.call("get", "AccountA/virtual-accounts", auth).json()
        self.assertEqual(
            [(v["name"], v["isDefault"]) for v in listed["virtualAccounts"]],
            [("Default", True), ("Branch", False)],
        )
        created = self.call(
            "post", "AccountA/virtual-accounts", auth, {"name": "Lab", "description": "bench"}
        )
        self.assertEqual(created.status_code, 201, created.content)
        self.assertEqual(created.json()["virtualAccount"]["name"], "Lab")
        again = self.call("post", "AccountA/virtual-accounts", auth, {"name": "lab"})
        self.assertEqual(again.status_code, 400)
        self.assertIn("already exists", again.json()["detail"])
        self.assertEqual(self.call("post", "AccountA/virtual-accounts", auth, {}).status_code, 400)
        self.assertEqual(VirtualAccount.objects.filter(name__iexact="lab").count(), 1)

    def test_account_licenses_usage_transactions_and_events(self):
        auth = self.bearer()
        client = gateway_client()
        device = registered(self.va_a, "pi37", client)
        client.authorize(device, [(PI_BASE, 2)])
        other = registered(self.branch, "cucm-pub-30", client)
        client.authorize(other, [(PI_BASE, 1)])
        self.transfer(auth, [{"license": PI_BASE, "quantity": 3, "targetVirtualAccount": "Branch"}])
        rows = self.call("get", "AccountA/licenses", auth).json()["licenses"]
        base = next(r for r in rows if r["tag"] == PI_BASE)
        self.assertEqual((base["purchased"], base["inUse"], base["balance"]), (10, 3, 7))
        per_va = {v["virtualAccount"]: v["balance"] for v in base["virtualAccounts"]}
        self.assertEqual(per_va, {"Default": 5, "Branch": 2})
        usage = self.call("get", "AccountA/usage", auth).json()
        self.assertEqual(usage["totalRecords"], 2)
        branch_usage = self.call("get", "AccountA/usage?virtualAccount=Branch", auth).json()
        self.assertEqual([u["count"] for u in branch_usage["usage"]], [1])
        self.assertEqual(
            self.call("get", "AccountA/usage?virtualAccount=Nowhere", auth).status_code, 400
        )
        self.assertEqual(self.call("get", "AccountA/usage?start=yesterday", auth).status_code, 400)
        listed = self.call("get", "AccountA/license-transactions?type=license", auth).json()
        self.assertEqual(listed["totalRecords"], 1)
        self.assertEqual(listed["transactions"][0]["toVirtualAccount"], "Branch")
        events = self.call("get", "AccountA/events?search=transferred", auth).json()
        self.assertEqual(events["totalRecords"], 1)
        self.assertEqual(events["events"][0]["user"], "api:automation")

    def test_api_toolkit_page_grants_scopes(self):
        self.client.force_login(self.admin)
        both = self.client.post(
            "/admin/api-toolkit/",
            {
                "name": "twice",
                "accounts": [self.account_a.pk],
                "read_only_accounts": [self.account_a.pk],
            },
        )
        self.assertEqual(both.status_code, 400)
        self.assertContains(both, "grant each account once", status_code=400)
        made = self.client.post(
            "/admin/api-toolkit/",
            {"name": "reports", "read_only_accounts": [self.account_a.pk]},
        )
        self.assertContains(made, "The secret is shown only once")
        self.assertContains(self.client.get("/admin/api-toolkit/"), "Read</span>")
