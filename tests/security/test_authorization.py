"""Authorization matrix: every page and API endpoint, every persona, the designed answer.

New URL patterns are picked up from the URLconf: each must have a row in DESIGNED (the
answer to a GET by each persona), and every route, listed or not, is held to the rules
that apply everywhere: the anonymous caller gets no data, no one gets a server error, and
nothing secret is ever in a page.
"""

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.test import Client, TestCase, override_settings

from accounts.models import AccountRequest
from core.models import SyslogServer
from licensing import services as licensing
from security import services
from synchronization.models import Synchronization
from tests.support.personas import build_personas

from .pki import TestCA, pem
from .urlwalk import all_routes, outcome, sample_url, uid

UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
PERSONAS = ("anonymous", "admin", "operator", "alice", "victor", "bob")

# What a GET answers, per persona: anonymous, system admin, system operator,
# alice (admin of A), victor (viewer of A), bob (user of B). Arguments name objects of A.
#   ok: the page / data   login: sent to log in   deny: 401/403   404: not found (or hidden)
#   405: GET not allowed (a POST-only action; it answers the same to everyone, so it
#        reveals nothing; the POST test below holds who may use it)
#   redirect: sent elsewhere (a tab's default page)
DESIGNED = {
    "home": ("redirect",) * 6,
    "login": ("ok",) * 6,
    "logout": ("405",) * 6,
    "password_change": ("login", "ok", "ok", "ok", "ok", "ok"),
    "password_change_done": ("login", "ok", "ok", "ok", "ok", "ok"),
    "password_reset": ("ok",) * 6,
    "password_reset_done": ("ok",) * 6,
    "password_reset_confirm": ("ok",) * 6,  # "this link is not valid": the token is bogus
    "password_reset_complete": ("ok",) * 6,
    "admin-workspace": ("login", "ok", "ok", "ok", "ok", "ok"),
    "support-center": ("login", "ok", "ok", "ok", "ok", "ok"),
    "support-center-logs": ("login", "ok", "deny", "deny", "deny", "deny"),
    "support-center-backup": ("login", "ok", "deny", "deny", "deny", "deny"),
    "support-center-bundle": ("login", "ok", "deny", "deny", "deny", "deny"),
    "support-center-log-download": ("login", "ok", "deny", "deny", "deny", "deny"),
    "api-toolkit": ("login", "ok", "ok", "404", "404", "404"),
    "network": ("login", "ok", "ok", "deny", "deny", "deny"),
    "settings": ("login", "ok", "deny", "deny", "deny", "deny"),
    "settings-cisco": ("login", "ok", "deny", "deny", "deny", "deny"),
    "settings-syslog": ("login", "ok", "deny", "deny", "deny", "deny"),
    "settings-syslog-action": ("login", "ok", "deny", "deny", "deny", "deny"),
    "settings-time": ("login", "ok", "deny", "deny", "deny", "deny"),
    "api-docs": ("login", "ok", "ok", "ok", "ok", "ok"),
    # Security: system administrators only.
    "security:index": ("redirect",) * 6,
    "security:certificates": ("login", "ok", "deny", "deny", "deny", "deny"),
    "security:host-common-name": ("login", "405", "deny", "deny", "deny", "deny"),
    "security:browser-csr": ("login", "405", "deny", "deny", "deny", "deny"),
    "security:browser-csr-download": ("login", "ok", "deny", "deny", "deny", "deny"),
    "security:browser-certificate-upload": ("login", "405", "deny", "deny", "deny", "deny"),
    "security:ca-certificate-add": ("login", "405", "deny", "deny", "deny", "deny"),
    "security:ca-certificate-delete": ("login", "405", "deny", "deny", "deny", "deny"),
    "security:account-password": ("login", "ok", "deny", "deny", "deny", "deny"),
    "security:authentication": ("login", "ok", "deny", "deny", "deny", "deny"),
    "security:user-unlock": ("login", "405", "deny", "deny", "deny", "deny"),
    "security:user-password-set": ("login", "405", "deny", "deny", "deny", "deny"),
    "security:event-log": ("login", "ok", "deny", "deny", "deny", "deny"),
    # Accounts: everyone sees the accounts they may see; B's user never sees A.
    "accounts:account-list": ("login", "ok", "ok", "ok", "ok", "ok"),
    "accounts:request-create": ("login", "ok", "ok", "ok", "ok", "ok"),
    "accounts:request-list": ("login", "ok", "ok", "ok", "ok", "ok"),
    "accounts:request-approve": ("login", "405", "deny", "deny", "deny", "deny"),
    "accounts:request-reject": ("login", "405", "deny", "deny", "deny", "deny"),
    "accounts:event-log": ("login", "ok", "ok", "ok", "ok", "ok"),
    "accounts:account-detail": ("login", "ok", "ok", "ok", "ok", "404"),
    "accounts:account-delete": ("login", "ok", "deny", "deny", "deny", "404"),
    "accounts:account-edit": ("login", "ok", "ok", "ok", "deny", "404"),
    "accounts:account-action": ("login", "ok", "deny", "deny", "deny", "404"),
    "synchronization:synchronization": ("login", "ok", "ok", "ok", "ok", "ok"),
    "synchronization:synchronize-now": ("login", "405", "405", "405", "405", "405"),
    "synchronization:manual-request": ("login", "405", "405", "405", "405", "405"),
    "synchronization:manual-response": ("login", "405", "405", "405", "405", "405"),
    "synchronization:sync-mode": ("login", "405", "405", "405", "405", "405"),
    "synchronization:synchronization-detail": ("login", "ok", "ok", "ok", "ok", "404"),
    "accounts:user-list": ("login", "ok", "deny", "deny", "deny", "deny"),
    "accounts:user-role": ("login", "405", "deny", "deny", "deny", "deny"),
    "accounts:user-detail": ("login", "ok", "deny", "deny", "deny", "deny"),
    "accounts:user-action": ("login", "ok", "deny", "deny", "deny", "deny"),
    "accounts:access-management": ("login", "ok", "ok", "ok", "deny", "404"),
    # On-Prem License Workspace (the page is asked for account A).
    "licensing:smart-licensing": ("login", "ok", "ok", "ok", "ok", "404"),
    "licensing:smart-licensing-tab": ("login", "ok", "ok", "ok", "ok", "404"),
    "licensing:inventory": ("login", "ok", "ok", "ok", "ok", "404"),
    "licensing:token-create": ("login", "405", "405", "405", "404", "404"),
    "licensing:token-revoke": ("login", "405", "405", "405", "404", "404"),
    "licensing:instance-detail": ("login", "404", "404", "404", "404", "404"),
    "licensing:instance-remove": ("login", "405", "405", "405", "404", "404"),
    "licensing:instance-transfer": ("login", "405", "405", "405", "404", "404"),
    "licensing:preferences-save": ("login", "405", "405", "405", "404", "404"),
    "licensing:license-transfer": ("login", "405", "405", "405", "404", "404"),
    "licensing:alert-dismiss": ("login", "405", "405", "405", "404", "404"),
    "licensing:convert-licenses": ("login", "405", "405", "405", "404", "404"),
    "licensing:report-download": ("login", "ok", "ok", "ok", "ok", "404"),
    # Products and API clients authenticate by signature or token, never by session alone.
    "Transportgateway/services/DeviceRequestHandler": ("405",) * 6,
    "smart-transport": ("405",) * 6,
    "cslu": ("405",) * 6,
    "oauth-token": ("405",) * 6,
    "licensing-api:tokens": ("deny", "ok", "ok", "ok", "ok", "404"),
    "licensing-api:token": ("deny", "405", "405", "405", "405", "405"),
    "licensing-api:product-instance": ("deny", "405", "405", "405", "405", "405"),
    "licensing-api:product-instance-transfer": ("deny", "405", "405", "405", "405", "405"),
    "licensing-api:product-instances": ("deny", "ok", "ok", "ok", "ok", "404"),
    "licensing-api:licenses": ("deny", "ok", "ok", "ok", "ok", "404"),
    "licensing-api:license-transfer": ("deny", "405", "405", "405", "405", "405"),
    "licensing-api:virtual-accounts": ("deny", "ok", "ok", "ok", "ok", "404"),
    "licensing-api:account-licenses": ("deny", "ok", "ok", "ok", "ok", "404"),
    "licensing-api:usage": ("deny", "ok", "ok", "ok", "ok", "404"),
    "licensing-api:license-transactions": ("deny", "ok", "ok", "ok", "ok", "404"),
    "licensing-api:events": ("deny", "ok", "ok", "ok", "ok", "404"),
    "licensing-api:alerts": ("deny", "ok", "ok", "ok", "ok", "404"),
    "api-schema": ("deny", "ok", "ok", "ok", "ok", "ok"),
    # Accounts API: lists are scoped (B's user sees only B: checked on the body below).
    "accounts-api:local-account-list": ("deny", "ok", "ok", "ok", "ok", "ok"),
    "accounts-api:local-account-detail": ("deny", "ok", "ok", "ok", "ok", "404"),
    "synchronization-api:local-account-synchronize": ("deny", "405", "405", "405", "405", "405"),
    "accounts-api:account-request-list": ("deny", "ok", "ok", "ok", "ok", "ok"),
    "accounts-api:account-request-detail": ("deny", "ok", "404", "ok", "404", "404"),
    "accounts-api:account-request-approve": ("deny", "405", "405", "405", "405", "405"),
    "accounts-api:account-request-reject": ("deny", "405", "405", "405", "405", "405"),
    "synchronization-api:synchronization-list": ("deny", "ok", "ok", "ok", "ok", "ok"),
    "synchronization-api:synchronization-detail": ("deny", "ok", "ok", "ok", "ok", "404"),
    # Security API: system administrators only.
    "security-api:host-common-name": ("deny", "ok", "deny", "deny", "deny", "deny"),
    "security-api:browser-certificate": ("deny", "ok", "deny", "deny", "deny", "deny"),
    "security-api:ca-certificate-list": ("deny", "ok", "deny", "deny", "deny", "deny"),
    "security-api:ca-certificate-detail": ("deny", "ok", "deny", "deny", "deny", "deny"),
    # High Availability: system staff; on this stand-alone server the widget does not exist.
    "highavailability:host": ("login", "404", "404", "404", "404", "404"),
    "highavailability:event-log": ("login", "404", "404", "404", "404", "404"),
    "highavailability:rehearsals": ("login", "404", "404", "404", "404", "404"),
    "highavailability:operation": ("login", "404", "404", "404", "404", "404"),
    "highavailability-api:ha-cluster": ("deny", "ok", "ok", "deny", "deny", "deny"),
    "highavailability-api:ha-operation-start": ("deny", "405", "deny", "deny", "deny", "deny"),
    "highavailability-api:ha-job-list": ("deny", "ok", "ok", "deny", "deny", "deny"),
    "highavailability-api:ha-job-detail": ("deny", "404", "404", "deny", "deny", "deny"),
}

# Routes anyone may open without logging in (log-in, reset link, product endpoints).
PUBLIC = {
    "home",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "security:index",
    "Transportgateway/services/DeviceRequestHandler",
    "smart-transport",
    "cslu",
    "oauth-token",
}


@override_settings(HOST_COMMON_NAME="10.0.0.5", PRODUCT_URL_PORT=443)
class AuthorizationMatrixTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)
        a = cls.account_a
        cls.request_row = AccountRequest.objects.create(
            name="RequestOfAlice",
            cisco_smart_account="BU Production Test",
            cisco_virtual_account="VA RequestOfAlice",
            notification_email="p@example.com",
            requested_by=cls.alice,
        )
        cls.sync_row = Synchronization.objects.create(account=a)
        cls.token = licensing.create_token(a.default_virtual_account, description="matrix")
        cls.ca_row = services.add_ca_certificate(pem(TestCA().root))[0]
        cls.syslog_row = SyslogServer.objects.create(host="192.0.2.9", port=514)
        cls._tmp = tempfile.mkdtemp()
        with override_settings(BROWSER_CERT_DIR=Path(cls._tmp)):
            cls.csr = services.generate_browser_csr("ssm.example.com")
        Path(cls._tmp, "web.log").write_text("GET /admin/ 200\n")  # LOG_DIR, see setUp
        cls.sample_arguments = {
            "accounts:request-approve": {"pk": cls.request_row.pk},
            "accounts:request-reject": {"pk": cls.request_row.pk},
            "synchronization:synchronization-detail": {"pk": cls.sync_row.pk},
            "accounts-api:account-request-detail": {"pk": cls.request_row.pk},
            "accounts-api:account-request-approve": {"pk": cls.request_row.pk},
            "accounts-api:account-request-reject": {"pk": cls.request_row.pk},
            "synchronization-api:synchronization-detail": {"pk": cls.sync_row.pk},
            "accounts:user-role": {"pk": cls.victor.pk},
            "accounts:user-detail": {"pk": cls.victor.pk},
            "accounts:account-action": {"action": "deactivate"},
            "accounts:user-action": {"pk": cls.victor.pk, "action": "deactivate"},
            "licensing:token-revoke": {"pk": cls.token.pk},
            "licensing:report-download": {"kind": "licenses"},
            "licensing:smart-licensing-tab": {"tab": "inventory"},
            "licensing:inventory": {"subtab": "general"},
            "security:browser-csr-download": {"pk": cls.csr.pk},
            "security:ca-certificate-delete": {"pk": cls.ca_row.pk},
            "security-api:ca-certificate-detail": {"pk": cls.ca_row.pk},
            "support-center-log-download": {"name": "web.log"},
            "settings-syslog-action": {"pk": cls.syslog_row.pk, "action": "remove"},
            "licensing-api:token": {"token": cls.token.token},
            "licensing-api:product-instance": {"instance_id": UNKNOWN_UUID},
            "licensing-api:product-instance-transfer": {"instance_id": UNKNOWN_UUID},
        }
        cls.default_arguments = {
            "account": a.name,
            "virtual_account": "Default",
            "tenant": f"{a.name}-1",
            "uidb64": uid(cls.alice),
            "token": "set-password",
            "tab": "inventory",
            "subtab": "general",
            "kind": "licenses",
            "operation": "switchover",
        }

    def setUp(self):
        super().setUp()
        quiet = logging.getLogger("django.request")  # 403/404 answers are the point here
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        self.addCleanup(quiet.setLevel, level)
        logs = override_settings(LOG_DIR=Path(self._tmp))
        logs.enable()
        self.addCleanup(logs.disable)

    def client_for(self, persona) -> Client:
        client = Client(raise_request_exception=False)
        if persona != "anonymous":
            client.force_login(getattr(self, persona))
        return client

    def secrets(self) -> list[str]:
        values = [
            settings.SECRET_KEY,
            "PRIVATE KEY",
            licensing.product_ca().key_pem_encrypted[40:80],
        ]
        values += [v for v in [getattr(settings, "PRODUCT_CA_ENCRYPTION_KEY", "")] if v]
        values += [
            s for s in self.account_a.__class__.objects.values_list("csc_secret", flat=True) if s
        ]
        return values

    def test_every_route_has_a_designed_answer(self):
        missing = [r.name for r in all_routes() if r.name not in DESIGNED]
        self.assertEqual(missing, [], "add the designed answer of these routes to DESIGNED")
        stale = set(DESIGNED) - {r.name for r in all_routes()}
        self.assertEqual(stale, set(), "these routes are gone; remove them from DESIGNED")

    def test_get_matrix(self):
        secrets = self.secrets()
        clients = {p: self.client_for(p) for p in PERSONAS}
        differences = []
        for route in all_routes():
            url = sample_url(route, self) + f"?account={self.account_a.pk}"
            for index, persona in enumerate(PERSONAS):
                response = clients[persona].get(url, HTTP_ACCEPT="text/html,application/json")
                got = outcome(response)
                with self.subTest(route=route.name, persona=persona):
                    self.assertLess(response.status_code, 500, url)
                    if persona == "anonymous" and route.name not in PUBLIC:
                        self.assertIn(got, {"login", "deny", "404", "405"}, url)
                    raw = (
                        b"".join(response.streaming_content)
                        if response.streaming
                        else response.content
                    )
                    body = raw.decode(errors="replace")
                    for secret in secrets:
                        self.assertNotIn(secret, body, f"{url} shows a secret")
                    if persona == "bob" and got == "ok":
                        self.assertNotIn(self.account_a.name, body, f"{url} shows account A to bob")
                        self.assertNotIn("RequestOfAlice", body, f"{url} shows alice's request")
                designed = DESIGNED.get(route.name)
                if designed and designed[index] != got:
                    differences.append(
                        f"{route.name} {persona}: designed {designed[index]}, got {got}"
                    )
        self.assertEqual(differences, [], "\n".join(differences))

    def test_no_django_admin_site_is_mounted(self):
        """Users and roles are managed in the Admin Workspace only: no second, generic editor."""
        for persona in PERSONAS:
            response = self.client_for(persona).get("/django-admin/auth/user/")
            self.assertEqual(response.status_code, 404, persona)

    def test_post_matrix_no_one_changes_what_they_may_not(self):
        """POST by anonymous, by A's viewer and by B's user to every route changes nothing of A."""
        from core.models import Event

        sessions = ("logged_in", "logged_out")  # the matrix's own log-ins and its POST /logout/
        before = Event.objects.exclude(action__in=sessions).count()
        for route in all_routes():
            if route.name in PUBLIC:
                continue
            url = sample_url(route, self) + f"?account={self.account_a.pk}"
            for persona in ("anonymous", "victor", "bob"):
                client = self.client_for(persona)
                response = client.post(url, {"account": self.account_a.pk, "description": "x"})
                got = outcome(response)
                with self.subTest(route=route.name, persona=persona):
                    self.assertLess(response.status_code, 500, url)
                    if persona == "anonymous":
                        self.assertIn(got, {"login", "deny", "404", "405"}, url)
        # Nothing any of them sent changed anything: no event was written.
        changes = Event.objects.exclude(action__in=sessions)
        self.assertEqual(list(changes[: changes.count() - before]), [])
