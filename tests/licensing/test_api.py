"""API Toolkit: OAuth2 client credentials, bearer-authenticated tokens/instances/licenses."""

from django.test import TestCase

from core.models import Event
from licensing import services
from tests.support.personas import build_personas

from .support import PI_BASE, gateway_client, purchase, registered


class ApiTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)
        cls.va_a = cls.account_a.default_virtual_account
        purchase(cls.va_a, PI_BASE, 2)
        cls.api_client, cls.secret = services.create_api_client(
            "automation", [cls.account_a], user=cls.admin
        )

    def bearer(self):
        response = self.client.post(
            "/oauth/token",
            {
                "grant_type": "client_credentials",
                "client_id": self.api_client.client_id,
                "client_secret": self.secret,
            },
        )
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(body["token_type"], "bearer")
        self.assertGreater(body["expires_in"], 0)
        return {"HTTP_AUTHORIZATION": f"Bearer {body['access_token']}"}

    def url(self, account="AccountA", what="tokens"):
        return f"/api/v1/accounts/{account}/virtual-accounts/Default/{what}"

    def test_token_endpoint_refuses_bad_credentials(self):
        bad = self.client.post(
            "/oauth/token",
            {
                "grant_type": "client_credentials",
                "client_id": self.api_client.client_id,
                "client_secret": "wrong",
            },
        )
        self.assertEqual(bad.status_code, 401)
        self.assertEqual(bad.json()["error"], "invalid_client")
        grant = self.client.post("/oauth/token", {"grant_type": "password"})
        self.assertEqual(grant.status_code, 400)

    def test_create_and_list_tokens(self):
        auth = self.bearer()
        created = self.client.post(
            self.url(),
            {"description": "lab", "expiresAfterDays": 10, "exportControlled": True},
            content_type="application/json",
            **auth,
        )
        self.assertEqual(created.status_code, 201, created.content)
        info = created.json()["tokenInfo"]
        self.assertEqual(info["description"], "lab")
        self.assertTrue(info["exportControlled"])
        self.assertEqual(info["createdBy"], "api:automation")
        listed = self.client.get(self.url(), **auth).json()
        self.assertEqual([t["token"] for t in listed["tokens"]], [info["token"]])

    def test_the_smart_licensing_apis_request_shapes_and_envelope(self):
        auth = self.bearer()
        for value, expected in (("Allowed", True), ("Not Allowed", False), (False, False)):
            created = self.client.post(
                self.url(),
                {"description": "cisco script", "expiresAfterDays": 30, "exportControlled": value},
                content_type="application/json",
                **auth,
            )
            self.assertEqual(created.status_code, 201, created.content)
            answer = created.json()
            self.assertEqual(answer["status"], "SUCCESS")
            self.assertIn("Token created", answer["statusMessage"])
            self.assertIs(answer["tokenInfo"]["exportControlled"], expected)
        refused = self.client.post(
            self.url(), {"exportControlled": "Maybe"}, content_type="application/json", **auth
        )
        self.assertEqual(refused.status_code, 400)
        self.assertIn('"Allowed" or "Not Allowed"', refused.json()["exportControlled"][0])
        listed = self.client.get(self.url(), **auth).json()
        self.assertEqual((listed["status"], len(listed["tokens"])), ("SUCCESS", 3))

    def test_revoke_a_token_through_the_api(self):
        auth = self.bearer()
        created = self.client.post(
            self.url(), {"description": "to revoke"}, content_type="application/json", **auth
        ).json()["tokenInfo"]["token"]
        revoked = self.client.delete(self.url(what=f"tokens/{created}"), **auth)
        self.assertEqual(revoked.status_code, 200, revoked.content)
        self.assertEqual(revoked.json()["status"], "SUCCESS")
        token = self.va_a.registration_tokens.get()
        self.assertIsNotNone(token.revoked)
        event = Event.objects.filter(action="token_revoked").latest("id")
        self.assertEqual(event.username, "api:automation")
        again = self.client.delete(self.url(what=f"tokens/{created}"), **auth)
        self.assertEqual(again.status_code, 400)
        self.assertIn("already revoked", again.json()["detail"])
        unknown = self.client.delete(self.url(what="tokens/no-such-token"), **auth)
        self.assertEqual(unknown.status_code, 404)
        # a viewer of the account may look, not revoke; another account's user sees nothing
        other = self.client.post(
            self.url(), {"description": "kept"}, content_type="application/json", **auth
        ).json()["tokenInfo"]["token"]
        self.client.force_login(self.victor)
        self.assertEqual(self.client.delete(self.url(what=f"tokens/{other}")).status_code, 403)
        self.client.force_login(self.bob)
        self.assertEqual(self.client.delete(self.url(what=f"tokens/{other}")).status_code, 404)
        self.assertIsNone(self.va_a.registration_tokens.get(token=other).revoked)

    def test_remove_and_transfer_product_instances_through_the_api(self):
        from accounts.models import VirtualAccount
        from licensing.models import ProductInstance

        auth = self.bearer()
        client = gateway_client()
        client.report_usage(registered(self.va_a, "pi37", client))
        registered(self.va_a, "cucm-pub-30", client)
        pi37 = ProductInstance.objects.get(udi_sn="pi37")
        lab = VirtualAccount.objects.create(account=self.account_a, name="Lab")

        def in_use(va) -> dict:
            return {r["tag"]: r["in_use"] for r in services.license_rows(va) if r["in_use"]}

        before = in_use(self.va_a)
        url = self.url(what=f"product-instances/{pi37.uuid}")
        refused = self.client.post(
            f"{url}/transfer", {"virtualAccount": "Nowhere"}, content_type="application/json",
            **auth,
        )  # fmt: skip
        self.assertEqual(refused.status_code, 400)
        self.assertIn("No such virtual account", refused.json()["virtualAccount"])
        moved = self.client.post(
            f"{url}/transfer", {"virtualAccount": "Lab"}, content_type="application/json", **auth
        )
        self.assertEqual(moved.status_code, 200, moved.content)
        self.assertEqual(moved.json()["status"], "SUCCESS")
        # its usage moved with it: what the source lost, the target gained
        after, gained = in_use(self.va_a), in_use(lab)
        for tag, count in before.items():
            self.assertEqual(after.get(tag, 0) + gained.get(tag, 0), count)
        self.assertTrue(gained)
        # now it lives in Lab: the Default URL no longer finds it
        lab_url = f"/api/v1/accounts/AccountA/virtual-accounts/Lab/product-instances/{pi37.uuid}"
        self.assertEqual(self.client.delete(url, **auth).status_code, 404)
        removed = self.client.delete(lab_url, **auth)
        self.assertEqual(removed.status_code, 200, removed.content)
        self.assertEqual(in_use(lab), {})
        pi37.refresh_from_db()
        self.assertEqual(pi37.status, "removed")
        event = Event.objects.filter(action="product_removed").latest("id")
        self.assertEqual(event.username, "api:automation")
        # a viewer may not; another account's user does not find it
        cucm = ProductInstance.objects.get(udi_sn="cucm-pub-30")
        cucm_url = self.url(what=f"product-instances/{cucm.uuid}")
        self.client.force_login(self.victor)
        self.assertEqual(self.client.delete(cucm_url).status_code, 403)
        self.client.force_login(self.bob)
        self.assertEqual(self.client.delete(cucm_url).status_code, 404)
        cucm.refresh_from_db()
        self.assertEqual(cucm.status, "registered")

    def test_bad_body_is_400_and_writes_nothing(self):
        auth = self.bearer()
        response = self.client.post(
            self.url(), {"expiresAfterDays": 400}, content_type="application/json", **auth
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.va_a.registration_tokens.exists())

    def test_client_is_scoped_to_granted_accounts(self):
        auth = self.bearer()
        self.assertEqual(self.client.get(self.url("AccountB"), **auth).status_code, 404)
        self.assertEqual(self.client.get(self.url()).status_code, 401)  # no credentials

    def test_revoked_client_token_stops_working(self):
        auth = self.bearer()
        services.revoke_api_client(self.api_client, user=self.admin)
        self.assertIn(self.client.get(self.url(), **auth).status_code, (401, 403))

    def test_instances_and_licenses(self):
        registered(self.va_a, "pi37")
        auth = self.bearer()
        instances = self.client.get(self.url(what="product-instances"), **auth).json()
        self.assertEqual(instances["totalRecords"], 1)
        self.assertEqual(
            instances["productInstances"][0]["name"], "UDI_PID:PI-SOFTWARE; UDI_SN:pi37"
        )
        licenses = self.client.get(self.url(what="licenses"), **auth).json()["licenses"]
        self.assertEqual(licenses[0]["purchased"], 2)

    def test_session_user_of_other_account_sees_nothing(self):
        self.client.force_login(self.bob)
        self.assertEqual(self.client.get(self.url()).status_code, 404)
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get(self.url()).status_code, 200)

    def test_schema_lists_the_endpoints(self):
        self.client.force_login(self.admin)
        schema = self.client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
        paths = schema["paths"]
        self.assertIn("/api/v1/accounts/{account}/virtual-accounts/{virtual_account}/tokens", paths)
        for path in (
            "/Transportgateway/services/DeviceRequestHandler",
            "/SmartTransport",
            "/cslu/v1/pi/{tenant}",
            "/oauth/token",
        ):
            self.assertIn("post", paths[path])
