"""Every operation of /api/schema/, called with generated input (valid and invalid for the
schema) by schemathesis as an API client (bearer token), a system administrator and an
Account Administrator (session with its CSRF token): no answer is a 5xx.

Runs in the fuzz tier (`./deploy/test fuzz`); FUZZ_API_EXAMPLES sets the examples per
operation and persona. Each call runs in a savepoint that is rolled back, so a DELETE or a
Host Common Name change does not take the fixtures away from the calls after it.
"""

import os
import secrets
from collections import Counter

import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import TestCase, tag
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from accounts.services import create_account_request
from highavailability.choices import HAJobKind
from highavailability.models import HAJob
from licensing import services
from security.services import add_ca_certificate
from synchronization.models import Synchronization
from tests.licensing.support import PI_BASE, purchase, registered
from tests.security.pki import TestCA, pem
from tests.support.personas import build_personas

EXAMPLES = int(os.environ.get("FUZZ_API_EXAMPLES", "40"))


@tag("fuzz")
class ApiSchemaFuzzTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)
        cls.va_a = cls.account_a.default_virtual_account
        purchase(cls.va_a, PI_BASE, 2)
        registered(cls.va_a, "pi37")
        cls.api_client, cls.secret = services.create_api_client(
            "fuzz", [cls.account_a], user=cls.admin
        )
        # One object of each kind the API reads by id.
        cls.ids = {
            "account-requests": create_account_request(
                name="Branch",
                cisco_smart_account="BU Production Test",
                cisco_virtual_account="Branch",
                notification_email="ops@example.com",
                by_user=cls.alice,
            ).pk,
            "local-accounts": cls.account_a.pk,
            "synchronizations": Synchronization.objects.create(account=cls.account_a).pk,
            "ha-jobs": HAJob.objects.create(kind=HAJobKind.choices[0][0]).pk,
            "ca-certificates": add_ca_certificate(pem(TestCA().root), by_user=cls.admin)[0].pk,
        }

    def personas(self) -> dict[str, dict]:
        token = self.client.post(
            "/oauth/token",
            {
                "grant_type": "client_credentials",
                "client_id": self.api_client.client_id,
                "client_secret": self.secret,
            },
        ).json()["access_token"]
        found = {"api client": {"headers": {"Authorization": f"Bearer {token}"}}}
        for user in (self.admin, self.alice):
            browser = self.client_class()
            browser.force_login(user)
            csrf = secrets.token_hex(16)  # 32 characters: a valid unmasked CSRF secret
            found[user.username] = {
                "cookies": {"sessionid": browser.cookies["sessionid"].value, "csrftoken": csrf},
                "headers": {"X-CSRFToken": csrf},
            }
        return found

    def real_values(self, path: str) -> dict[str, list]:
        """Path parameters that name existing objects, so calls get past the lookup."""
        kind = next((k for k in self.ids if f"/{k}/" in path), None)
        return {
            "account": ["AccountA", "AccountB"],
            "virtual_account": ["Default"],
            "id": [self.ids[kind]] if kind else [],
            "tenant": ["AccountA-1", "AccountB-1"],
        }

    @staticmethod
    def fuzz(operation, persona, auth, real, cases, statuses, failures):
        """Call one operation as one persona with EXAMPLES generated inputs."""
        # Valid input (reaches the views) and input that breaks the schema (reaches the checks).
        modes = [operation.as_strategy(mode) for mode in schemathesis.GenerationMode]

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(modes), use_real=st.booleans(), data=st.data())
        def call(case, use_real, data):
            if use_real:
                for name in case.path_parameters or {}:
                    if real.get(name):
                        case.path_parameters[name] = data.draw(st.sampled_from(real[name]))
            with transaction.atomic():
                response = case.call(**auth)
                transaction.set_rollback(True)
            cases[operation.label] += 1
            statuses[response.status_code // 100] += 1
            if os.environ.get("FUZZ_VERBOSE"):
                print(persona, operation.label, response.status_code, response.text[:80])
            if response.status_code >= 500:
                failures.append(
                    f"{persona}: {case.method} {case.formatted_path} query={case.query} "
                    f"body={str(case.body)[:200]} -> {response.status_code} "
                    f"{response.text[:120]!r}"
                )

        call()

    def test_no_generated_call_gets_a_server_error(self):
        self.client.force_login(self.admin)
        document = self.client.get("/api/schema/?format=json").json()
        schema = schemathesis.openapi.from_dict(document)
        schema.app = get_wsgi_application()
        personas = self.personas()
        # As django.test.Client does around each request (so after the last one of it here):
        # the WSGI handler must not close the test's connection.
        for signal in (request_started, request_finished):
            signal.disconnect(close_old_connections)
            self.addCleanup(signal.connect, close_old_connections)
        cases, statuses, failures = Counter(), Counter(), []
        for result in schema.get_all_operations():
            operation = result.ok()
            for persona, auth in personas.items():
                real = self.real_values(operation.path)
                self.fuzz(operation, persona, auth, real, cases, statuses, failures)
        total = sum(cases.values())
        print(
            f"\n  schemathesis: {total} calls over {len(cases)} operations × {len(personas)} "
            f"personas; answers by class: {dict(sorted(statuses.items()))}"
        )
        self.assertEqual(failures, [], "\n".join(failures[:20]))
        self.assertGreaterEqual(len(cases), 25)  # every operation was called
        self.assertGreater(statuses[2], 0)  # some calls got through to the views
