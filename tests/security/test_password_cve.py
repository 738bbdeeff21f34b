"""No request without a session (or a valid reset link) can change anyone's password.

The vendor's product once let an unauthenticated caller change any user's password
(CVE-2024-20419). This walks every route of the URLconf with every method and the
password field names such endpoints use, aimed at other users, and then checks that no
password hash in the database has changed.
"""

import json
import logging

from django.contrib.auth import get_user_model
from django.test import Client, TestCase

from core.models import Event
from tests.support.personas import build_personas

from .urlwalk import all_routes, sample_url, uid

NEW = "Attacker-Chosen-Pass-1"
FIELDS = {
    "username": "admin",
    "user": "admin",
    "user_id": None,
    "id": None,
    "pk": None,
    "email": "admin@example.com",
    "password": NEW,
    "password1": NEW,
    "password2": NEW,
    "new_password": NEW,
    "new_password1": NEW,
    "new_password2": NEW,
    "newPassword": NEW,
    "confirmPassword": NEW,
    "old_password": "guess",
    "currentPassword": "guess",
}
BOGUS_TOKENS = ["set-password", "ckq9xd-0123456789abcdef0123456789abcdef", "1-1", "x"]


class NoPasswordChangeWithoutAuthorityTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def setUp(self):
        quiet = logging.getLogger("django.request")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        self.addCleanup(quiet.setLevel, level)

    def hashes(self):
        return dict(get_user_model().objects.values_list("pk", "password"))

    def urls_aimed_at(self, victim):
        self.sample_arguments = {}
        urls = []
        for token in BOGUS_TOKENS:
            self.default_arguments = {
                "pk": victim.pk,
                "uidb64": uid(victim),
                "token": token,
                "account": self.account_a.name,
                "virtual_account": "Default",
                "tenant": f"{self.account_a.name}-1",
                "slug": "users",
                "tab": "inventory",
                "subtab": "general",
                "kind": "licenses",
            }
            for route in all_routes():
                urls.append(sample_url(route, self))
        return sorted(set(urls))

    def attack(self, client, victim):
        payload = {
            k: (victim.pk if v is None else v)
            for k, v in {**FIELDS, "username": victim.username, "user": victim.username}.items()
        }
        payload["email"] = victim.email
        sent = 0
        for url in self.urls_aimed_at(victim):
            # GET first, as a reset link would (the confirm view keeps its token in the session).
            responses = [client.get(url, payload)]
            responses.append(client.post(url, payload))
            responses.append(client.post(url, json.dumps(payload), content_type="application/json"))
            for method in (client.put, client.patch):
                responses.append(method(url, json.dumps(payload), content_type="application/json"))
            sent += len(responses)
            for response in responses:
                self.assertLess(response.status_code, 500, url)
        return sent

    def test_anonymous_requests_change_no_password(self):
        before = self.hashes()
        sent = 0
        for victim in (self.admin, self.alice, self.bob):
            # enforce_csrf_checks=False: even a caller who got past CSRF changes nothing.
            sent += self.attack(Client(raise_request_exception=False), victim)
        self.assertGreater(sent, 500)
        self.assertEqual(self.hashes(), before)
        self.assertFalse(Event.objects.filter(action__icontains="password").exists())

    def test_signed_in_user_cannot_change_another_users_password(self):
        before = self.hashes()
        client = Client(raise_request_exception=False)
        client.force_login(self.bob)
        for victim in (self.admin, self.alice):
            self.attack(client, victim)
            client.force_login(self.bob)  # a logout route may have ended the session
        after = self.hashes()
        self.assertEqual(after, before)

    def test_csrf_is_enforced_on_password_change(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alice)
        response = client.post(
            "/password_change/",
            {"old_password": "Correct-Horse-Battery-9", "new_password1": NEW, "new_password2": NEW},
        )
        self.assertEqual(response.status_code, 403)
        self.alice.refresh_from_db()
        self.assertFalse(self.alice.check_password(NEW))
