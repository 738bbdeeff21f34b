"""Hostile input gets a 4xx saying what is wrong, never a 500, and changes nothing.

Each case is one the probe of the running server answered with a 500 (or accepted).
"""

import json

from django.core import mail
from django.test import override_settings
from django.urls import reverse

from core.models import Event
from licensing.models import ProductInstance, RegistrationToken, RumReport
from licensing.simulator import Device
from tests.licensing.support import gateway_client, registered, token_for
from tests.support.personas import PersonaTestCase

DEEP = "[" * 5000 + "]" * 5000


class AnonymousHostileInputTests(PersonaTestCase):
    def cslu(self, body, tenant="AccountA-1"):
        return self.client.post(f"/cslu/v1/pi/{tenant}", body, content_type="application/json")

    def test_cslu_refuses_deep_nesting_nan_infinity_and_nul(self):
        report = {
            "report_id": "1",
            "metadata": {"udi": {"pid": "C9300", "sn": "FOC1"}, "entitlement_tag": "t"},
            "meas_report": [{"meas": [{"value": {"value": 1}}]}],
        }
        nul = json.dumps({**report, "report_id": "a\u0000b"})
        for body in (
            DEEP,
            json.dumps(report).replace('"value": 1', '"value": NaN'),
            json.dumps(report).replace('"value": 1', '"value": Infinity'),
            nul,
            f"<smartLicense><RUMReport>{DEEP}</RUMReport></smartLicense>",
        ):
            response = self.cslu(body)
            self.assertEqual(response.status_code, 400, body[:60])
            self.assertEqual(response.json()["error"]["code"], "malformed_json")
        self.assertFalse(RumReport.objects.exists())

    def test_the_cslu_url_does_not_tell_which_account_names_exist(self):
        report = {
            "report_id": "r1",
            "metadata": {"udi": {"pid": "C9300", "sn": "FOC1"}, "entitlement_tag": "t"},
            "meas_report": [{"meas": [{"value": {"value": 1}}]}],
        }
        signed = {**report, "signature": {"value": "c2lnbmF0dXJl"}}
        for body in (report, signed):
            known = self.cslu(json.dumps(body), tenant="AccountA-1")
            unknown = self.cslu(json.dumps(body), tenant="NoSuchAccount-1")
            self.assertEqual(known.status_code, 401)
            self.assertEqual(
                (known.status_code, known.json()), (unknown.status_code, unknown.json())
            )
        self.assertEqual(RumReport.objects.count(), 0)

    def test_a_nul_in_the_path_or_query_is_a_400(self):
        self.assertEqual(self.cslu("{}", tenant="Account%00A-1").status_code, 400)
        self.assertEqual(self.client.get("/login/?next=%00").status_code, 400)

    def test_an_enormous_timestamp_is_a_400(self):
        device = Device.named("pi37")
        message = device._message("register", token="x" * 20)
        message["timestamp"] = int("9" * 400)
        response = self.client.post(
            "/SmartTransport", device.envelope(message, sign=False), content_type="application/json"
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["code"], "invalid_field")

    def test_oauth_token_with_a_nul_client_id_is_a_400(self):
        response = self.client.post(
            "/oauth/token",
            {"grant_type": "client_credentials", "client_id": "\x00", "client_secret": "x"},
        )
        self.assertEqual(response.status_code, 400)

    def test_a_udi_with_a_trailing_newline_is_refused(self):
        device = Device(sn="FOC123\n")
        with self.assertRaises(Exception) as refused:
            gateway_client().register(
                device, token_for(self.account_a.default_virtual_account).token
            )
        self.assertEqual(refused.exception.status, 400)
        self.assertFalse(ProductInstance.objects.exists())


class SignedInHostileInputTests(PersonaTestCase):
    def test_deeply_nested_json_to_the_api_is_a_400(self):
        self.login(self.alice)
        for url in (
            "/api/v1/account-requests/",
            "/api/v1/accounts/AccountA/virtual-accounts/Default/tokens",
        ):
            response = self.client.post(url, DEEP, content_type="application/json")
            self.assertEqual(response.status_code, 400, url)
            self.assertIn("nested too deeply", response.json()["detail"])

    def test_a_deeply_nested_sync_response_file_is_refused(self):
        self.login(self.alice)
        upload = self._file(DEEP.encode())
        response = self.client.post(
            reverse("synchronization:manual-response", args=[self.account_a.pk]),
            {"response_file": upload},
            follow=True,
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "not a Cisco Software Central response file")

    def test_an_offset_beyond_any_page_is_a_400(self):
        self.login(self.alice)
        response = self.client.get(
            "/api/v1/accounts/AccountA/virtual-accounts/Default/product-instances",
            {"offset": "9223372036854775808"},
        )
        self.assertEqual(response.status_code, 400)

    def test_max_uses_beyond_what_the_database_stores_is_a_400(self):
        self.login(self.alice)
        response = self.client.post(
            "/api/v1/accounts/AccountA/virtual-accounts/Default/tokens",
            {"expiresAfterDays": 30, "maxUses": 2147483648},
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("maxUses", response.json())
        self.assertFalse(RegistrationToken.objects.exists())

    def test_a_nul_in_a_search_box_or_a_path_name_is_a_400(self):
        self.login(self.admin)
        self.assertEqual(
            self.client.get(reverse("accounts:account-list"), {"search": "a\x00"}).status_code,
            400,
        )
        response = self.client.get("/api/v1/accounts/Account%00A/virtual-accounts/Default/tokens")
        self.assertEqual(response.status_code, 400)
        response = self.client.post(reverse("accounts:account-list"), {"name": "a\x00"})
        self.assertEqual(response.status_code, 400)

    def test_ids_that_are_not_numbers_are_a_404(self):
        self.login(self.admin)
        response = self.client.post(reverse("api-toolkit"), {"revoke": "abc"})
        self.assertEqual(response.status_code, 404)
        response = self.client.post(
            reverse("accounts:access-management") + f"?account={self.account_a.pk}",
            {"action": "remove", "user": "abc"},
        )
        self.assertEqual(response.status_code, 404)

    @staticmethod
    def _file(content: bytes):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return SimpleUploadedFile("response.json", content, content_type="application/json")


@override_settings(HOST_COMMON_NAME="ssm.example.com", PRODUCT_URL_PORT=8443)
class HostHeaderTests(PersonaTestCase):
    @override_settings(ALLOWED_HOSTS=["*"])  # an operator who allows every name
    def test_a_reset_link_is_built_from_the_host_common_name_not_the_host_header(self):
        self.alice.email = "alice@example.com"
        self.alice.save()
        response = self.client.post(
            "/password_reset/", {"email": "alice@example.com"}, HTTP_HOST="evil.example"
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(len(mail.outbox), 1)
        body = mail.outbox[0].body
        self.assertIn("https://ssm.example.com:8443/reset/", body)
        self.assertNotIn("evil.example", body)


class ResponseHygieneTests(PersonaTestCase):
    def test_signed_in_pages_and_api_answers_are_not_stored(self):
        self.login(self.admin)
        for url in (reverse("admin-workspace"), "/api/v1/local-accounts/", "/login/"):
            response = self.client.get(url)
            self.assertIn("no-store", response.get("Cache-Control", ""), url)

    def test_csv_cells_cannot_run_as_formulas(self):
        va = self.account_a.default_virtual_account
        device = Device(sn="FOC9", hostname='=HYPERLINK("http://evil.example","x")')
        gateway_client().register(device, token_for(va).token)
        self.login(self.alice)
        response = self.client.get(
            reverse("licensing:report-download", args=["product-instances"]),
            {"account": self.account_a.pk, "va": va.pk},
        )
        text = b"".join(response.streaming_content).decode()
        self.assertIn("'=HYPERLINK", text)
        self.assertNotIn(",=HYPERLINK", text)

    def test_an_account_viewer_sees_tokens_masked(self):
        va = self.account_a.default_virtual_account
        token = token_for(va)
        self.login(self.victor)
        data = self.client.get("/api/v1/accounts/AccountA/virtual-accounts/Default/tokens").json()
        self.assertEqual(data["tokens"][0]["token"], token.short_token)
        page = self.client.get(
            reverse("licensing:smart-licensing"), {"account": self.account_a.pk, "va": va.pk}
        )
        self.assertNotContains(page, token.token)
        self.login(self.alice)
        data = self.client.get("/api/v1/accounts/AccountA/virtual-accounts/Default/tokens").json()
        self.assertEqual(data["tokens"][0]["token"], token.token)


class RegisteredElsewhereTests(PersonaTestCase):
    def test_a_token_of_another_account_cannot_retire_a_product(self):
        device = registered(self.account_a.default_virtual_account, "pi37")
        token = token_for(self.account_b.default_virtual_account)
        before = Event.objects.count()
        with self.assertRaises(Exception) as refused:
            gateway_client().register(Device.named("pi37"), token.token)
        self.assertEqual(refused.exception.status, 409)
        self.assertEqual(Event.objects.count(), before)
        self.assertEqual(ProductInstance.objects.get(uuid=device.instance).status, "registered")
