"""Property tests: generated envelopes never cause a 500 or a partially written row.

The unit tier runs PRODUCT_EXAMPLES (150) requests per product URL test; the fuzz tier
(`./deploy/test fuzz`) runs thousands (FUZZ_PRODUCT_EXAMPLES)."""

import json
import os
import time
from collections import Counter

from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client as DjangoClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from core.models import Event
from licensing import pki, services
from licensing.envelope import UDI_RE, EnvelopeError, parse, rum_signed_bytes
from licensing.models import LicenseCounter, LicenseUsage, ProductInstance, RumReport, UsedNonce
from tests.support.personas import make_account

from .support import PI_BASE, gateway_client, registered, token_for

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
PRODUCT_EXAMPLES = int(os.environ.get("FUZZ_PRODUCT_EXAMPLES", "150"))
ANSWERS: Counter = Counter()  # (URL kind, status class) -> generated requests


def print_answers(kind: str) -> None:
    by_class = {c: n for (k, c), n in sorted(ANSWERS.items()) if k == kind}
    print(f"\n  {kind}: {sum(by_class.values())} generated requests, by class {by_class}")


KEY = ec.generate_private_key(ec.SECP256R1())
CSR = pki.csr_for(KEY, "prop")
# Any code point, lone surrogates included (they arrive as \\ud800 escapes in JSON).
ANY_TEXT = st.lists(
    st.sampled_from(["\ud800", "\udfff", "\x00", "_", "é", "a"])
    | st.integers(0, 0x10FFFF).map(chr),
    min_size=1,
    max_size=40,
).map("".join)


class ParserProperties(TestCase):
    @given(st.binary(max_size=300))
    def test_bytes_never_crash_the_parser(self, body):
        try:
            parse(body)
        except EnvelopeError as exc:
            self.assertTrue(400 <= exc.status < 500)

    @given(JSON, st.one_of(st.none(), st.text(max_size=40)))
    def test_any_json_message_is_parsed_or_refused_with_4xx(self, message, signature):
        envelope = {"message": json.dumps(message)}
        if signature is not None:
            envelope["signature"] = signature
        try:
            parse(json.dumps(envelope).encode())
        except EnvelopeError as exc:
            self.assertTrue(400 <= exc.status < 500)


def messages(token: str, instance: str):
    now = int(time.time())
    entitlement = st.fixed_dictionaries(
        {
            "tag": st.one_of(st.just(PI_BASE), st.text(max_size=30)),
            "count": st.one_of(st.integers(-5, 2_000_000), st.text(max_size=3), st.none()),
        }
    )
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["register", "renew", "authorize", "reportUsage", "deregister", "bogus"]
            ),
            "timestamp": st.one_of(st.just(now), st.integers(), st.text(max_size=5)),
            "nonce": st.one_of(
                st.uuids().map(lambda u: u.hex), st.text(max_size=70), st.integers()
            ),
        },
        optional={
            "token": st.one_of(st.just(token), st.text(max_size=20)),
            "udi": st.one_of(
                st.fixed_dictionaries(
                    {
                        "pid": st.text(min_size=1, max_size=110),
                        "sn": st.text(min_size=1, max_size=110),
                    }
                ),
                JSON,
            ),
            "productType": st.one_of(st.just("SDNMGMT"), st.text(max_size=70), JSON),
            "hostname": ANY_TEXT,
            "softwareVersion": st.text(max_size=20),
            "csr": st.one_of(st.just(CSR), st.text(max_size=40), JSON),
            "instance": st.one_of(st.just(instance), st.uuids().map(str), JSON),
            "entitlements": st.one_of(st.lists(entitlement, max_size=4), JSON),
            "usage": st.one_of(st.lists(entitlement, max_size=4), JSON),
        },
    )


UDI = st.from_regex(UDI_RE, fullmatch=True)


def near_valid_registrations(token: str):
    """Register messages that pass most checks, so generated text reaches the database."""
    return st.fixed_dictionaries(
        {
            "type": st.just("register"),
            "timestamp": st.just(int(time.time())),
            "nonce": st.uuids().map(lambda u: u.hex),
            "token": st.just(token),
            "udi": st.fixed_dictionaries({"pid": UDI | ANY_TEXT, "sn": UDI | ANY_TEXT}),
            "productType": st.one_of(st.just("UCL"), ANY_TEXT),
            "hostname": ANY_TEXT,
            "softwareVersion": st.one_of(st.just("14.0"), ANY_TEXT),
            "csr": st.just(CSR),
        }
    )


class EndpointProperties(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.account = make_account("PROP")
        cls.va = cls.account.default_virtual_account
        cls.token = token_for(cls.va)
        services.product_ca()

    def setUp(self):
        self.device = registered(self.va, "pi37", gateway_client(), self.token)
        self.http = DjangoClient()

    @classmethod
    def tearDownClass(cls):
        print_answers("product URLs")
        super().tearDownClass()

    def snapshot(self):
        return (
            ProductInstance.objects.count(),
            LicenseUsage.objects.count(),
            list(LicenseCounter.objects.order_by("tag").values_list("tag", "in_use")),
            UsedNonce.objects.count(),
            Event.objects.count(),
            type(self.token).objects.get(pk=self.token.pk).uses,
        )

    @settings(
        max_examples=PRODUCT_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def test_endpoint_never_500_and_refusals_write_nothing(self, data):
        message = data.draw(
            st.one_of(
                messages(self.token.token, self.device.instance),
                near_valid_registrations(self.token.token),
            )
        )
        text = json.dumps(message)
        signing = data.draw(st.sampled_from(["device", "other", "none", "garbage"]))
        envelope = {"message": text}
        if signing == "device":
            envelope["signature"] = pki.sign(self.device.key, text.encode())
        elif signing == "other":
            envelope["signature"] = pki.sign(KEY, text.encode())
        elif signing == "garbage":
            envelope["signature"] = data.draw(st.text(max_size=30))
        path = data.draw(
            st.sampled_from(["/Transportgateway/services/DeviceRequestHandler", "/SmartTransport"])
        )
        before = self.snapshot()
        response = self.http.post(path, json.dumps(envelope), content_type="application/json")
        ANSWERS["product URLs", response.status_code // 100] += 1
        self.assertLess(response.status_code, 500, response.content)
        body = response.json()
        if response.status_code == 200:
            self.assertEqual(body["status"], "SUCCESS")
        else:
            self.assertTrue(400 <= response.status_code < 500)
            self.assertEqual(body["status"], "FAILED")
            self.assertTrue(body["error"]["message"])
            self.assertEqual(before, self.snapshot())


class CsluProperties(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.account = make_account("RUM")
        cls.va = cls.account.default_virtual_account
        cls.device = registered(cls.va, "pi37", gateway_client(), token_for(cls.va))

    def setUp(self):
        self.http = DjangoClient()

    @classmethod
    def tearDownClass(cls):
        print_answers("CSLU URL")
        super().tearDownClass()

    @settings(
        max_examples=PRODUCT_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.data())
    def test_rum_reports_never_500_and_refusals_write_nothing(self, data):
        report = data.draw(
            st.one_of(
                JSON,
                st.fixed_dictionaries(
                    {
                        "report_id": st.one_of(st.integers(), ANY_TEXT, JSON),
                        "metadata": st.one_of(
                            JSON,
                            st.fixed_dictionaries(
                                {
                                    "entitlement_tag": st.one_of(st.just(PI_BASE), ANY_TEXT),
                                    "udi": st.one_of(
                                        st.just({"pid": "PI-SOFTWARE", "sn": "pi37"}), JSON
                                    ),
                                }
                            ),
                        ),
                        "meas_report": st.one_of(
                            JSON,
                            st.lists(
                                st.fixed_dictionaries(
                                    {
                                        "meas": st.lists(
                                            st.fixed_dictionaries(
                                                {"value": st.fixed_dictionaries({"value": JSON})}
                                            ),
                                            max_size=3,
                                        )
                                    }
                                ),
                                max_size=2,
                            ),
                        ),
                    }
                ),
            )
        )
        if isinstance(report, dict) and data.draw(st.booleans()):  # signed by the product
            try:
                signed = rum_signed_bytes(report)
            except UnicodeEncodeError:  # a lone surrogate: the server refuses it before this
                signed = None
            if signed is not None:
                report = {**report, "signature": {"value": pki.sign(self.device.key, signed)}}
        text = json.dumps(report)
        body, content_type = data.draw(
            st.sampled_from(
                [
                    (text, "application/json"),
                    ('{"RUMReport": [' + text + "]}", "application/json"),
                    (
                        "<smartLicense><RUMReport><![CDATA["
                        + text
                        + "]]></RUMReport></smartLicense>",
                        "application/xml",
                    ),
                    ("<smartLicense><RUMReport>" + text, "application/xml"),
                ]
            )
        )
        before = (
            RumReport.objects.count(),
            list(LicenseCounter.objects.values_list("tag", "in_use")),
            Event.objects.count(),
        )
        response = self.http.post("/cslu/v1/pi/RUM-1", body, content_type=content_type)
        ANSWERS["CSLU URL", response.status_code // 100] += 1
        self.assertLess(response.status_code, 500, response.content)
        if response.status_code != 200:
            self.assertEqual(
                before,
                (
                    RumReport.objects.count(),
                    list(LicenseCounter.objects.values_list("tag", "in_use")),
                    Event.objects.count(),
                ),
            )
