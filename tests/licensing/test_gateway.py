"""The Transport Gateway over HTTP (Django test client): every message and every refusal."""

import json
import subprocess
import tempfile
import time
from pathlib import Path

from django.test import Client as DjangoClient
from django.test import TestCase

from core.models import Event
from licensing.models import ProductInstance, UsedNonce
from licensing.simulator import Device, GatewayRefused
from tests.support.personas import make_account

from .support import (
    PI_BASE,
    PI_LIFECYCLE,
    gateway_client,
    in_use,
    in_use_by_tag,
    purchase,
    token_for,
)


class GatewayTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.account = make_account("TEST")
        cls.va = cls.account.default_virtual_account
        purchase(cls.va, PI_BASE, 10)
        purchase(cls.va, PI_LIFECYCLE, 1)

    def setUp(self):
        self.client_ = gateway_client()
        self.token = token_for(self.va)

    def test_register_issues_verifiable_certificate_and_creates_instance(self):
        device = Device.named("pi37")
        data = self.client_.register(device, self.token.token)
        instance = ProductInstance.objects.get(uuid=data["instance"])
        self.assertEqual(instance.name, "UDI_PID:PI-SOFTWARE; UDI_SN:pi37")
        self.assertEqual(instance.product_type, "SDNMGMT")
        self.token.refresh_from_db()
        self.assertEqual(self.token.uses, 1)
        self.assertTrue(Event.objects.filter(action="product_registered").exists())
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "ca.pem").write_text("".join(data["chain"]))
            Path(tmp, "id.pem").write_text(data["certificate"])
            result = subprocess.run(
                ["openssl", "verify", "-CAfile", f"{tmp}/ca.pem", f"{tmp}/id.pem"],
                capture_output=True,
                text=True,
            )
            self.assertEqual(result.returncode, 0, result.stderr)
            subject = subprocess.run(
                ["openssl", "x509", "-noout", "-subject", "-enddate", "-in", f"{tmp}/id.pem"],
                capture_output=True,
                text=True,
            ).stdout
        self.assertIn("PID:PI-SOFTWARE SN:pi37", subject)
        validity = device.certificate.not_valid_after_utc - device.certificate.not_valid_before_utc
        self.assertGreaterEqual(validity.days, 365)

    def test_registration_writes_its_event_row(self):
        data = self.client_.register(Device.named("pi37"), self.token.token)
        event = Event.objects.get(action="product_registered")
        self.assertEqual(
            (event.category, event.result, event.username, event.account_id, event.user_id),
            ("licensing", "success", "pi37", self.account.pk, None),
        )
        self.assertEqual(
            event.message, "Product instance UDI_PID:PI-SOFTWARE; UDI_SN:pi37 registered"
        )
        self.assertEqual(event.data, {"virtual_account": self.va.pk, "instance": data["instance"]})

    def test_re_registration_retires_the_old_instance_and_releases_its_licenses(self):
        device = Device.named("pi37")
        first = self.client_.register(device, self.token.token)
        self.client_.authorize(device)
        self.assertEqual(in_use(PI_BASE), 1)
        second = self.client_.register(Device.named("pi37"), self.token.token)
        self.assertNotEqual(first["instance"], second["instance"])
        self.assertEqual(ProductInstance.objects.get(uuid=first["instance"]).status, "deregistered")
        self.assertEqual(ProductInstance.objects.get(uuid=second["instance"]).status, "registered")
        self.assertEqual(in_use(PI_BASE), 0)
        messages = list(
            Event.objects.filter(action="product_registered")
            .order_by("id")
            .values_list("message", flat=True)
        )
        self.assertEqual(len(messages), 2)
        self.assertTrue(messages[1].endswith("registered (re-registration)"), messages)

    def test_a_udi_registered_in_another_account_is_not_taken_over(self):
        """A token of another account cannot retire a registered product (it would lose its
        identity): 409 naming nothing of the other account, unless the product says force."""
        device = Device.named("pi37")
        first = self.client_.register(device, self.token.token)
        self.client_.authorize(device)
        other = make_account("OTHER")
        with self.assertRaises(GatewayRefused) as refused:
            self.client_.register(
                Device.named("pi37"), token_for(other.default_virtual_account).token
            )
        self.assertEqual(refused.exception.status, 409)
        error = refused.exception.body["error"]
        self.assertEqual(error["code"], "already_registered")
        self.assertNotIn("TEST", error["message"])
        self.assertEqual(ProductInstance.objects.get(uuid=first["instance"]).status, "registered")
        self.assertEqual(ProductInstance.objects.filter(udi_sn="pi37").count(), 1)
        self.client_.authorize(device)  # the real product keeps working

        moved = self.client_.register(
            Device.named("pi37"), token_for(other.default_virtual_account).token, force=True
        )
        self.assertEqual(ProductInstance.objects.get(uuid=first["instance"]).status, "deregistered")
        instance = ProductInstance.objects.get(uuid=moved["instance"])
        self.assertEqual(instance.virtual_account, other.default_virtual_account)
        self.assertEqual(in_use(PI_BASE, self.va), 0)
        here = Event.objects.get(action="product_moved_out")
        self.assertEqual(here.account_id, self.account.pk)
        there = Event.objects.filter(action="product_registered", account=other).get()
        self.assertTrue(there.message.endswith("(moved here with force)"), there.message)

    def test_re_registration_in_the_same_virtual_account_needs_no_force(self):
        self.client_.register(Device.named("pi37"), self.token.token)
        again = self.client_.register(Device.named("pi37"), token_for(self.va).token)
        self.assertEqual(ProductInstance.objects.get(uuid=again["instance"]).status, "registered")

    def test_full_lifecycle_updates_in_use(self):
        device = Device.named("pi37")
        self.client_.register(device, self.token.token)
        answer = self.client_.authorize(device)
        self.assertEqual(
            [e["status"] for e in answer["entitlements"]], ["AUTHORIZED", "AUTHORIZED"]
        )
        self.assertIn("authorizationExpires", answer)
        counters = in_use_by_tag()
        self.assertEqual(counters[PI_BASE], 1)
        self.client_.report_usage(device, [(PI_BASE, 3)])
        self.assertEqual(in_use(PI_BASE), 3)
        old_serial = device.certificate.serial_number
        self.client_.renew(device)
        self.assertNotEqual(device.certificate.serial_number, old_serial)
        self.client_.report_usage(device, [(PI_BASE, 2)])  # signed with the new key
        self.client_.deregister(device)
        self.assertEqual(in_use(PI_BASE), 0)
        self.assertFalse(ProductInstance.objects.filter(status="registered").exists())

    def test_renewal_whose_answer_was_lost_is_retried_with_the_pending_key(self):
        from cryptography.hazmat.primitives.asymmetric import ec

        from licensing import pki

        device = Device.named("pi37")
        self.client_.register(device, self.token.token)
        device.pending_key = ec.generate_private_key(ec.SECP256R1())
        lost = device._message("renew", csr=pki.csr_for(device.pending_key, device.sn))
        self.client_.send(device.envelope(lost))  # the server renewed; the answer is dropped
        self.client_.renew(device)
        self.assertIsNone(device.pending_key)
        self.client_.report_usage(device, [(PI_BASE, 1)])
        self.assertEqual(in_use(PI_BASE), 1)

    def test_out_of_compliance_when_purchased_exceeded(self):
        device = Device.named("pi37")
        self.client_.register(device, self.token.token)
        answer = self.client_.authorize(device, [(PI_LIFECYCLE, 2)])
        self.assertEqual(answer["entitlements"][0]["status"], "OUT_OF_COMPLIANCE")
        event = Event.objects.get(action="authorization_requested")
        self.assertEqual(event.result, "noncompliant")  # its own badge, not a green Success
        self.assertEqual(event.result_enum.label, "Out of Compliance")
        self.client_.authorize(device, [(PI_LIFECYCLE, 0)])
        self.assertEqual(Event.objects.filter(action="authorization_requested").first().result,
                         "success")  # fmt: skip

    def test_smart_transport_url_takes_the_same_envelope(self):
        client = gateway_client(path="/SmartTransport")
        device = Device.named("cucm-pub-30")
        client.register(device, self.token.token)
        client.authorize(device)
        self.assertEqual(ProductInstance.objects.get().product_type, "UCL")

    def _refused(self, call, status, code):
        rows = (ProductInstance.objects.count(), Event.objects.count(), UsedNonce.objects.count())
        with self.assertRaises(GatewayRefused) as caught:
            call()
        self.assertEqual(caught.exception.status, status, caught.exception.body)
        self.assertEqual(caught.exception.body["error"]["code"], code)
        self.assertEqual(
            rows,
            (ProductInstance.objects.count(), Event.objects.count(), UsedNonce.objects.count()),
        )

    def test_refuses_bad_tokens(self):
        device = Device(sn="x1")
        self._refused(lambda: self.client_.register(device, "nope"), 403, "invalid_token")
        revoked = token_for(self.va)
        from licensing.services import revoke_token

        revoke_token(revoked)
        self._refused(lambda: self.client_.register(device, revoked.token), 403, "token_revoked")
        expired = token_for(self.va)
        type(expired).objects.filter(pk=expired.pk).update(expires="2000-01-01T00:00:00Z")
        self._refused(lambda: self.client_.register(device, expired.token), 403, "token_expired")
        once = token_for(self.va, max_uses=1)
        self.client_.register(Device(sn="x2"), once.token)
        self._refused(lambda: self.client_.register(device, once.token), 403, "token_exhausted")

    def test_cached_token_still_refused_once_revoked_expired_or_account_inactive(self):
        # Outside tests the token's facts are kept for a few seconds per process; what can
        # change in between is checked again by the registering statement.
        from licensing.services import revoke_token

        with self.settings(TESTING=False):
            self.client_.register(Device(sn="c1"), self.token.token)  # read, then cached
            self.client_.register(Device(sn="c2"), self.token.token)  # from the cache
            self.assertEqual(ProductInstance.objects.filter(token=self.token).count(), 2)
            type(self.account).objects.filter(pk=self.account.pk).update(status="inactive")
            self._refused(
                lambda: self.client_.register(Device(sn="c3"), self.token.token),
                403,
                "account_inactive",
            )
            type(self.account).objects.filter(pk=self.account.pk).update(status="active")
            type(self.token).objects.filter(pk=self.token.pk).update(expires="2000-01-01T00:00:00Z")
            self._refused(
                lambda: self.client_.register(Device(sn="c4"), self.token.token),
                403,
                "token_expired",
            )
            type(self.token).objects.filter(pk=self.token.pk).update(expires=self.token.expires)
            self.client_.register(Device(sn="c5"), self.token.token)
            revoke_token(self.token)
            self._refused(
                lambda: self.client_.register(Device(sn="c6"), self.token.token),
                403,
                "token_revoked",
            )
            # A token with a maximum number of uses takes the transaction, which checks too.
            limited = token_for(self.va, max_uses=5)
            self.client_.register(Device(sn="c7"), limited.token)
            revoke_token(limited)
            self._refused(
                lambda: self.client_.register(Device(sn="c8"), limited.token),
                403,
                "token_revoked",
            )
        self.assertEqual(ProductInstance.objects.filter(token=self.token).count(), 3)

    def test_refuses_unsigned_wrongly_signed_and_replayed(self):
        device = Device.named("pi37")
        self.client_.register(device, self.token.token)
        message = device._message("reportUsage", usage=[{"tag": PI_BASE, "count": 1}])
        self._refused(
            lambda: self.client_.send(device.envelope(message, sign=False)), 401, "unsigned"
        )
        impostor = Device(sn="pi37")
        from cryptography.hazmat.primitives.asymmetric import ec

        impostor.key = ec.generate_private_key(ec.SECP256R1())
        self._refused(lambda: self.client_.send(impostor.envelope(message)), 401, "bad_signature")
        body = device.envelope(message)
        self.client_.send(body)
        self._refused(lambda: self.client_.send(body), 409, "replay")
        stale = device._message("deregister")
        stale["timestamp"] = int(time.time()) - 3600
        self._refused(lambda: self.client_.send(device.envelope(stale)), 401, "stale_timestamp")

    def test_refuses_expired_certificate(self):
        device = Device.named("pi37")
        self.client_.register(device, self.token.token)
        ProductInstance.objects.update(certificate_expires="2000-01-01T00:00:00Z")
        self._refused(lambda: self.client_.authorize(device), 401, "certificate_expired")

    def test_refuses_malformed_input(self):
        cases = [
            (b"not json", 400, "malformed_json"),
            (b"[]", 400, "malformed_envelope"),
            (json.dumps({"message": "{}"}).encode(), 400, "unknown_type"),
            (json.dumps({"message": '{"type":"fly"}'}).encode(), 400, "unknown_type"),
            (b"{" + b" " * 70000 + b"}", 413, "too_large"),
            (
                json.dumps(
                    {
                        "message": '{"type":"register","timestamp":'
                        + str(int(time.time()))
                        + ',"nonce":"nnnnnnnnnnnnnnnn","udi":{"pid":"P","sn":"\\ud800"}}'
                    }
                ).encode(),
                400,
                "bad_encoding",
            ),
        ]
        for body, status, code in cases:
            with self.subTest(code=code):
                self._refused(lambda body=body: self.client_.send(body), status, code)

    def test_refuses_bad_csr(self):
        device = Device(sn="weak")
        envelope = json.loads(device.register_envelope(self.token.token))
        message = json.loads(envelope["message"])
        from cryptography.hazmat.primitives.asymmetric import rsa

        from licensing import pki

        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        message["csr"] = pki.csr_for(weak, "weak")
        body = device.envelope(message, sign=False)
        self._refused(lambda: self.client_.send(body), 400, "invalid_csr")
        good_csr = pki.csr_for(device.key, "weak")
        message["csr"] = good_csr.replace("A", "B", 5)
        self._refused(
            lambda: self.client_.send(device.envelope(message, sign=False)), 400, "invalid_csr"
        )
        self.token.refresh_from_db()
        self.assertEqual(self.token.uses, 0)

    def test_products_post_without_session_or_csrf_and_get_security_headers(self):
        client = DjangoClient(enforce_csrf_checks=True)
        for path in ("/Transportgateway/services/DeviceRequestHandler", "/SmartTransport"):
            with self.subTest(path=path):
                body = Device(sn=f"h{len(path)}").register_envelope(self.token.token)
                response = client.post(path, body, content_type="application/json", secure=True)
                self.assertEqual(response.status_code, 200, response.content)
                self.assertEqual(response["X-Content-Type-Options"], "nosniff")
                self.assertEqual(response.cookies, {})
        response = client.post("/cslu/v1/pi/TEST-1", b"{}", content_type="application/json")
        self.assertEqual(response.status_code, 400, response.content)
        self.assertEqual(response.json()["error"]["code"], "invalid_report")
        response = client.post("/cslu/v1/pi/NOPE-1", b"{}", content_type="application/json")
        self.assertEqual(response.status_code, 400)  # as for a known account
        self.assertEqual(response.json()["error"]["code"], "invalid_report")
        self.assertEqual(self.client.post("/cslu/v1/other").status_code, 404)

    def test_get_is_not_allowed(self):
        response = self.client.get("/Transportgateway/services/DeviceRequestHandler")
        self.assertEqual(response.status_code, 405)

    def test_server_timing_says_where_a_registration_went_only_when_asked(self):
        path = "/Transportgateway/services/DeviceRequestHandler"
        body = Device(sn="timed1").register_envelope(self.token.token)
        response = self.client.post(path, body, content_type="application/json", secure=True)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertNotIn("Server-Timing", response)
        with self.settings(SERVER_TIMING=True):
            body = Device(sn="timed2").register_envelope(self.token.token)
            response = self.client.post(path, body, content_type="application/json", secure=True)
        self.assertEqual(response.status_code, 200, response.content)
        metrics = dict(
            (part.split(";")[0].strip(), part) for part in response["Server-Timing"].split(",")
        )
        self.assertEqual(set(metrics), {"app", "connect", "sql"})
        app = float(metrics["app"].split("dur=")[1])
        sql = float(metrics["sql"].split("dur=")[1].split(";")[0])
        self.assertGreater(sql, 0)
        self.assertGreaterEqual(app, sql)
        statements = int(metrics["sql"].split('desc="')[1].rstrip('"'))
        self.assertGreaterEqual(statements, 1)
