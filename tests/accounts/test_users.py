"""A user's lifecycle on the Users page: edit, deactivate and reactivate, delete, reset the
password to a one-time password; the guards (yourself, the last system administrator) and
the event of every change."""

from django.contrib.auth import get_user_model
from django.test import TestCase
from django.urls import reverse

from accounts import services
from accounts.choices import SystemRole
from accounts.models import AccountMembership
from core.models import Event
from tests.support.personas import PASSWORD, build_personas


class UserLifecycleTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def setUp(self):
        self.client.force_login(self.admin)

    def action(self, user, action):
        return self.client.post(reverse("accounts:user-action", args=[user.pk, action]))

    def log_in(self, username, password):
        client = self.client_class()
        response = client.post(reverse("login"), {"username": username, "password": password})
        return client, response

    def test_edit_name_and_email(self):
        url = reverse("accounts:user-detail", args=[self.victor.pk])
        response = self.client.post(
            url, {"first_name": " Victor ", "last_name": "Viewer", "email": "v@example.org"}
        )
        self.assertRedirects(response, url)
        self.victor.refresh_from_db()
        self.assertEqual(
            (self.victor.first_name, self.victor.last_name, self.victor.email),
            ("Victor", "Viewer", "v@example.org"),
        )
        event = Event.objects.get(action="user_changed")
        self.assertIn("e-mail victor@example.com → v@example.org", event.message)
        self.assertEqual(event.user, self.admin)

    def test_bad_or_taken_email_is_a_400_next_to_the_field_and_changes_nothing(self):
        url = reverse("accounts:user-detail", args=[self.victor.pk])
        response = self.client.post(url, {"email": "not-an-address", "first_name": "X"})
        self.assertContains(response, "Enter a valid email address.", status_code=400)
        response = self.client.post(url, {"email": "ALICE@example.com"})
        self.assertContains(
            response, "Another user already has the e-mail ALICE@example.com.", status_code=400
        )
        self.victor.refresh_from_db()
        self.assertEqual((self.victor.first_name, self.victor.email), ("", "victor@example.com"))
        self.assertFalse(Event.objects.filter(action="user_changed").exists())

    def test_deactivate_ends_log_in_and_open_sessions_then_reactivate(self):
        victor, _ = self.log_in("victor", PASSWORD)
        self.assertEqual(victor.get(reverse("admin-workspace")).status_code, 200)
        confirm = self.client.get(
            reverse("accounts:user-action", args=[self.victor.pk, "deactivate"])
        )
        self.assertContains(confirm, "can no longer log in")
        self.assertRedirects(
            self.action(self.victor, "deactivate"),
            reverse("accounts:user-detail", args=[self.victor.pk]),
        )
        # the open session ends at its next request, and a new log-in is refused
        self.assertRedirects(
            victor.get(reverse("admin-workspace")),
            reverse("login") + "?next=" + reverse("admin-workspace"),
        )
        _, response = self.log_in("victor", PASSWORD)
        self.assertEqual(response.status_code, 200)  # the log-in page again, with its error
        self.assertTrue(AccountMembership.objects.filter(user=self.victor).exists())
        self.action(self.victor, "reactivate")
        client, response = self.log_in("victor", PASSWORD)
        self.assertRedirects(response, reverse("admin-workspace"), fetch_redirect_response=False)
        self.assertEqual(
            list(
                Event.objects.filter(action__in=["user_deactivated", "user_reactivated"])
                .order_by("id")
                .values_list("message", flat=True)
            ),
            ["User victor deactivated", "User victor reactivated"],
        )

    def test_delete_removes_the_user_and_roles_and_keeps_the_name_in_events(self):
        self.assertRedirects(self.action(self.victor, "delete"), reverse("accounts:user-list"))
        self.assertFalse(get_user_model().objects.filter(username="victor").exists())
        self.assertFalse(
            AccountMembership.objects.filter(account=self.account_a, role="viewer").exists()
        )
        event = Event.objects.get(action="user_deleted")
        self.assertEqual((event.message, event.username), ("User victor deleted", "admin"))

    def test_not_yourself_and_not_the_last_system_administrator(self):
        for action in ("deactivate", "delete"):
            response = self.action(self.admin, action)
            self.assertContains(response, "You cannot", status_code=400)
        other = get_user_model().objects.create_user("second-admin", password=PASSWORD)
        services.set_system_role(other, SystemRole.SYSTEM_ADMIN, self.admin)
        self.client.force_login(other)
        self.action(self.admin, "deactivate")  # allowed: two administrators
        self.assertFalse(get_user_model().objects.get(pk=self.admin.pk).is_active)
        # Both administrators removing each other at once: the second, whose own account was
        # deactivated meanwhile (its object is stale), is refused and one administrator stays.
        stale_admin = self.admin
        self.assertTrue(stale_admin.is_active)
        with self.assertRaisesMessage(Exception, "no longer an active system administrator"):
            services.delete_user(other, by_user=stale_admin)
        self.assertTrue(get_user_model().objects.filter(pk=other.pk, is_active=True).exists())
        self.assertEqual(self.action(other, "delete").status_code, 400)  # yourself

    def test_reset_password_gives_a_one_time_password_that_must_be_changed(self):
        page = self.action(self.victor, "reset-password")
        one_time = page.context["one_time_password"]
        self.assertContains(page, one_time)
        self.assertGreaterEqual(len(one_time), 20)
        self.assertFalse(Event.objects.filter(message__contains=one_time).exists())
        _, old = self.log_in("victor", PASSWORD)
        self.assertEqual(old.status_code, 200)  # the old password no longer works
        victor, response = self.log_in("victor", one_time)
        self.assertRedirects(response, reverse("admin-workspace"), fetch_redirect_response=False)
        # anything else sends them to choose their own password first
        self.assertRedirects(
            victor.get(reverse("admin-workspace")), reverse("password_change") + "?one_time=1"
        )
        self.assertEqual(victor.get("/api/v1/local-accounts/").status_code, 403)
        new = "Victors-Own-Pass-2026"
        victor.post(
            reverse("password_change"),
            {"old_password": one_time, "new_password1": new, "new_password2": new},
        )
        self.assertEqual(victor.get(reverse("admin-workspace")).status_code, 200)
        detail = self.client.get(reverse("accounts:user-detail", args=[self.victor.pk]))
        self.assertNotContains(detail, "One-time password, not yet changed")
        self.assertEqual(Event.objects.filter(action="password_reset").count(), 1)

    def test_unknown_action_is_404_and_the_pages_are_for_administrators(self):
        response = self.client.get(
            reverse("accounts:user-action", args=[self.victor.pk, "promote"])
        )
        self.assertEqual(response.status_code, 404)
        self.client.force_login(self.alice)
        self.assertEqual(self.action(self.victor, "delete").status_code, 403)
        self.assertTrue(get_user_model().objects.filter(username="victor").exists())
