"""Directory log-in (Security → Authentication) against a real OpenLDAP server: directory
users log in and get their roles from their groups, StartTLS and LDAPS verify the server with
the CA certificate, the Test button says which step failed, local users keep working while
the directory is down, and a directory entry never takes over a local user."""

import time

from django.contrib.auth import get_user_model
from django.test import TestCase
from django.urls import reverse

from accounts.choices import AccountRole, SystemRole
from accounts.models import AccountMembership
from core.models import Event
from security.services import directory
from tests.security.pki import TestCA, pem
from tests.support.personas import PASSWORD, build_personas
from tests.support.slapd import (
    BIND_DN,
    BIND_PASSWORD,
    PEOPLE,
    SUFFIX,
    Slapd,
    group_dn,
)

MAPPINGS = f"""# directory groups → roles
{group_dn("ssm-admins")} => System Administrator
{group_dn("plant-operators")} => AccountA: Account Administrator
"""


class DirectoryLoginTests(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.slapd = Slapd().start()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.slapd.cleanup()

    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def configure(self, **values):
        settings = {
            "enabled": True,
            "server_uri": self.slapd.url,
            "start_tls": False,
            "ca_certificate": "",
            "bind_dn": BIND_DN,
            "user_search_base": f"ou=people,{SUFFIX}",
            "user_filter": "(uid=%(user)s)",
            "group_search_base": f"ou=groups,{SUFFIX}",
            "group_mappings": MAPPINGS,
        }
        settings.update(values)
        password = settings.pop("bind_password", BIND_PASSWORD)
        return directory.save_directory_settings(bind_password=password, **settings)

    def log_in(self, username, password):
        client = self.client_class()
        response = client.post(reverse("login"), {"username": username, "password": password})
        return client, response

    def assertLoggedIn(self, response):
        self.assertRedirects(response, reverse("admin-workspace"), fetch_redirect_response=False)

    def test_directory_users_log_in_with_the_roles_of_their_groups(self):
        self.configure()
        _, response = self.log_in("Dana", PEOPLE["dana"][0])
        self.assertLoggedIn(response)
        dana = get_user_model().objects.get(username="dana")
        self.assertFalse(dana.has_usable_password())  # the directory holds the password
        self.assertEqual((dana.first_name, dana.email), ("Dana", "dana@example.org"))
        self.assertEqual(dana.ssm_profile.system_role, SystemRole.SYSTEM_ADMIN)

        client, response = self.log_in("erin", PEOPLE["erin"][0])
        self.assertLoggedIn(response)
        erin = get_user_model().objects.get(username="erin")
        self.assertEqual(erin.ssm_profile.system_role, SystemRole.SYSTEM_USER)
        membership = AccountMembership.objects.get(user=erin)
        self.assertEqual((membership.account, membership.role),
                         (self.account_a, AccountRole.ACCOUNT_ADMIN))  # fmt: skip
        self.assertEqual(client.get(reverse("accounts:account-list")).status_code, 200)

        _, response = self.log_in("frank", PEOPLE["frank"][0])
        self.assertLoggedIn(response)
        self.assertFalse(AccountMembership.objects.filter(user__username="frank").exists())

        _, response = self.log_in("dana", "wrong-password")
        self.assertEqual(response.status_code, 200)  # the log-in page again
        self.assertTrue(
            Event.objects.filter(action="log_in_failed", message__contains="dana").exists()
        )

    def test_roles_follow_the_groups_at_each_log_in(self):
        self.configure()
        self.assertLoggedIn(self.log_in("erin", PEOPLE["erin"][0])[1])
        self.slapd.modify(
            f"dn: {group_dn('plant-operators')}\nchangetype: modify\nreplace: member\n"
            f"member: uid=frank,ou=people,{SUFFIX}\n"
        )
        self.addCleanup(
            self.slapd.modify,
            f"dn: {group_dn('plant-operators')}\nchangetype: modify\nreplace: member\n"
            f"member: uid=erin,ou=people,{SUFFIX}\n",
        )
        self.assertLoggedIn(self.log_in("erin", PEOPLE["erin"][0])[1])
        self.assertFalse(AccountMembership.objects.filter(user__username="erin").exists())
        event = Event.objects.filter(action="directory_roles_applied").latest("id")
        self.assertEqual(event.message, "User erin (directory): no role in AccountA")

    def test_a_directory_entry_never_takes_over_a_local_user(self):
        self.configure()
        _, response = self.log_in("admin", PEOPLE["admin"][0])  # the directory's "admin"
        self.assertEqual(response.status_code, 200)  # refused
        _, response = self.log_in("admin", PASSWORD)  # the local admin, with its own password
        self.assertLoggedIn(response)
        self.assertTrue(get_user_model().objects.get(username="admin").has_usable_password())

    def test_local_users_keep_working_while_the_directory_is_down(self):
        self.configure()
        self.slapd.stop()
        self.addCleanup(self.slapd.start)
        started = time.monotonic()
        self.assertLoggedIn(self.log_in("alice", PASSWORD)[1])
        self.assertLess(time.monotonic() - started, directory.TIMEOUT_SECONDS)
        _, response = self.log_in("dana", PEOPLE["dana"][0])
        self.assertEqual(response.status_code, 200)  # refused, not a server error
        steps = directory.test_directory("dana")
        self.assertFalse(steps[0][0])
        self.assertIn(f"Cannot connect to {self.slapd.url}", steps[0][1])

    def test_starttls_and_ldaps_verify_the_server_with_the_ca_certificate(self):
        self.configure(start_tls=True, ca_certificate=self.slapd.ca_pem)
        self.assertEqual(
            directory.test_directory()[0], (True, f"Connected to {self.slapd.url} (StartTLS)")
        )
        self.assertLoggedIn(self.log_in("dana", PEOPLE["dana"][0])[1])
        self.configure(server_uri=self.slapd.ldaps_url, ca_certificate=self.slapd.ca_pem)
        self.assertTrue(all(ok for ok, _ in directory.test_directory("erin")))
        self.assertLoggedIn(self.log_in("erin", PEOPLE["erin"][0])[1])
        # a CA that did not sign the server's certificate: refused
        stranger = pem(TestCA("Another CA").root)
        self.configure(server_uri=self.slapd.ldaps_url, ca_certificate=stranger)
        ok, text = directory.test_directory()[0]
        self.assertFalse(ok)
        self.assertIn("CA certificate", text)
        _, response = self.log_in("dana", PEOPLE["dana"][0])
        self.assertEqual(response.status_code, 200)

    def test_the_test_button_names_the_failing_step(self):
        self.configure(bind_password="not-the-password")
        self.client.force_login(self.admin)
        url = reverse("security:authentication")
        response = self.client.post(url, {"test": "1", "username": "dana"})
        self.assertContains(response, f"Bind as {BIND_DN} refused", status_code=400)
        self.configure()
        response = self.client.post(url, {"test": "1", "username": "nobody"})
        self.assertContains(response, "No user nobody under", status_code=400)
        response = self.client.post(url, {"test": "1", "username": "dana"})
        self.assertContains(response, f"Found uid=dana,ou=people,{SUFFIX}")
        self.assertContains(response, group_dn("ssm-admins"))

    def test_settings_page_validates_and_keeps_the_password(self):
        self.client.force_login(self.admin)
        url = reverse("security:authentication")
        form = {
            "enabled": "on", "server_uri": "http://ldap.example.org", "bind_dn": BIND_DN,
            "user_search_base": f"ou=people,{SUFFIX}", "user_filter": "(uid=%(user)s)",
            "group_search_base": "", "group_mappings": "cn=x => Superuser", "ca_certificate": "",
        }  # fmt: skip
        response = self.client.post(url, form)
        self.assertContains(response, "starts with ldap:// or ldaps://", status_code=400)
        form["server_uri"] = self.slapd.url
        response = self.client.post(url, form)
        self.assertContains(response, "Line 1: &#x27;Superuser&#x27; is neither", status_code=400)
        form["group_mappings"] = MAPPINGS
        form["bind_password"] = BIND_PASSWORD
        self.assertRedirects(self.client.post(url, form), url)
        form["bind_password"] = ""  # kept
        self.assertRedirects(self.client.post(url, form), url)
        self.assertTrue(all(ok for ok, _ in directory.test_directory("dana")))
        stored = directory.directory_settings().bind_password_encrypted
        self.assertNotIn(BIND_PASSWORD, stored)
        self.assertEqual(Event.objects.filter(action="directory_settings_changed").count(), 2)

    def test_directory_users_password_is_reset_in_the_directory(self):
        self.configure()
        self.assertLoggedIn(self.log_in("frank", PEOPLE["frank"][0])[1])
        self.client.force_login(self.admin)
        frank = get_user_model().objects.get(username="frank")
        response = self.client.post(
            reverse("accounts:user-action", args=[frank.pk, "reset-password"])
        )
        self.assertContains(response, "logs in with the directory", status_code=400)
