"""Account Password policy, lockout, and the only ways a password can change."""

import datetime as dt
import uuid
from urllib.parse import urlsplit

from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from core.models import Event
from security import services
from security.models import PasswordHistory
from tests.support.personas import PASSWORD, build_personas

NEW = "Another-Long-Pass-77"


class PasswordPolicyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def test_length_from_the_policy(self):
        with self.assertRaisesMessage(ValidationError, "at least 12"):
            validate_password("Short-Pw-1", self.alice)
        services.update_password_policy(min_length=16, by_user=self.admin)
        with self.assertRaisesMessage(ValidationError, "at least 16"):
            validate_password("Fifteen-chars-1", self.alice)
        self.assertTrue(Event.objects.filter(action="password_policy_changed").exists())

    def test_bad_policy_values_are_refused(self):
        with self.assertRaises(ValidationError):
            services.update_password_policy(min_length=3, by_user=self.admin)
        with self.assertRaises(ValidationError):
            services.update_password_policy(lockout_threshold="many", by_user=self.admin)
        self.assertFalse(Event.objects.filter(action="password_policy_changed").exists())

    def test_reuse_of_recent_passwords_is_refused(self):
        services.update_password_policy(history=2, by_user=self.admin)
        with self.assertRaisesMessage(ValidationError, "used recently"):
            validate_password(PASSWORD, self.alice)  # the current one
        for pw in ["First-New-Pass-01", "Second-New-Pass-02"]:
            validate_password(pw, self.alice)
            self.alice.set_password(pw)
            self.alice.save()
        with self.assertRaisesMessage(ValidationError, "used recently"):
            validate_password("First-New-Pass-01", self.alice)
        validate_password(PASSWORD, self.alice)  # three changes ago: allowed again
        self.assertEqual(PasswordHistory.objects.filter(user=self.alice).count(), 2)

    def test_expired_password_must_be_changed_first(self):
        long_ago = timezone.now() - dt.timedelta(days=91)
        get_user_model().objects.filter(pk=self.alice.pk).update(date_joined=long_ago)
        PasswordHistory.objects.filter(user=self.alice).update(created=long_ago)
        self.client.force_login(self.alice)
        response = self.client.get(reverse("admin-workspace"))
        self.assertRedirects(response, reverse("password_change") + "?expired=1")
        response = self.client.get(reverse("password_change") + "?expired=1")
        self.assertContains(response, "Your password has expired")
        response = self.client.post(
            reverse("password_change"),
            {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        )
        self.assertRedirects(response, reverse("password_change_done"))
        self.assertEqual(self.client.get(reverse("admin-workspace")).status_code, 200)


class LockoutTests(TestCase):
    """django-axes, per user name and source address, with the Account Password policy."""

    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def login(self, password, username="alice", address="192.0.2.10"):
        return self.client.post(
            reverse("login"),
            {"username": username, "password": password},
            HTTP_X_REAL_IP=address,
        )

    def test_locked_after_threshold_even_with_the_right_password_until_unlocked(self):
        services.update_password_policy(lockout_threshold=3, lockout_minutes=0, by_user=self.admin)
        for _ in range(2):
            self.assertContains(self.login("wrong"), "Your username and password didn&#x27;t match")
        response = self.login("wrong")
        self.assertContains(response, "locked after repeated failed log-ins", status_code=429)
        response = self.login(PASSWORD)
        self.assertContains(response, "until an administrator unlocks it", status_code=429)
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertEqual(Event.objects.filter(action="user_locked_out").count(), 1)
        # The administrator unlocks from the Account Password tab.
        admin = self.client_class()
        admin.force_login(self.admin)
        page = admin.get(reverse("security:account-password"))
        self.assertContains(page, "192.0.2.10")
        admin.post(reverse("security:user-unlock"), {"username": "alice"})
        response = self.login(PASSWORD)
        self.assertRedirects(response, reverse("admin-workspace"), fetch_redirect_response=False)
        self.assertTrue(Event.objects.filter(action="user_unlocked").exists())

    def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(self):
        """Anonymous failures could keep `admin` locked for everyone; now only the address
        that failed is refused."""
        services.update_password_policy(lockout_threshold=5, lockout_minutes=15, by_user=self.admin)
        for _ in range(5):
            self.login("wrong", "admin", address="198.51.100.66")
        self.assertEqual(self.login(PASSWORD, "admin", address="198.51.100.66").status_code, 429)
        response = self.login(PASSWORD, "admin", address="192.0.2.10")
        self.assertRedirects(response, reverse("admin-workspace"), fetch_redirect_response=False)

    def test_lockout_expires(self):
        services.update_password_policy(lockout_threshold=1, lockout_minutes=15, by_user=self.admin)
        self.login("wrong")
        self.assertEqual([lo.username for lo in services.locked_out_users()], ["alice"])
        AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
        self.assertEqual(services.locked_out_users(), [])
        self.assertRedirects(
            self.login(PASSWORD), reverse("admin-workspace"), fetch_redirect_response=False
        )

    def test_unknown_user_names_lock_the_same_way_and_are_forgotten(self):
        services.update_password_policy(lockout_threshold=2, lockout_minutes=0, by_user=self.admin)
        for _ in range(2):
            self.login("x", "nobody")
        self.assertContains(self.login("x", "nobody"), "until an administrator", status_code=429)
        self.login("wrong")
        AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(days=2))
        self.assertEqual(services.forget_failed_logins(), 1)
        self.assertEqual(list(AccessAttempt.objects.values_list("username", flat=True)), ["alice"])

    def test_success_resets_the_count(self):
        services.update_password_policy(lockout_threshold=3, by_user=self.admin)
        self.login("wrong")
        self.login("wrong")
        self.login(PASSWORD)
        self.client.logout()
        self.login("wrong")
        self.login("wrong")
        self.assertEqual(services.locked_out_users(), [])

    def test_an_administrator_setting_the_password_unlocks(self):
        services.update_password_policy(lockout_threshold=1, lockout_minutes=0, by_user=self.admin)
        self.login("wrong")
        services.set_password_by_admin(self.alice, NEW, by_user=self.admin)
        self.assertRedirects(
            self.login(NEW), reverse("admin-workspace"), fetch_redirect_response=False
        )


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
class PasswordResetLinkTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def reset_link(self):
        self.client.post(reverse("password_reset"), {"email": "alice@example.com"})
        body = mail.outbox[-1].body
        url = next(line for line in body.splitlines() if "/reset/" in line)
        self.assertTrue(url.startswith("https://"), url)  # the Host Common Name, over HTTPS
        return urlsplit(url).path

    def test_link_works_once(self):
        link = self.reset_link()
        page = self.client.get(link, follow=True)
        form_url = page.redirect_chain[-1][0]
        response = self.client.post(form_url, {"new_password1": NEW, "new_password2": NEW})
        self.assertRedirects(response, reverse("password_reset_complete"))
        self.alice.refresh_from_db()
        self.assertTrue(self.alice.check_password(NEW))
        # The same link again: refused.
        self.client.logout()
        page = self.client.get(link, follow=True)
        self.assertContains(page, "already used or it has expired")

    def test_link_expires(self):
        link = self.reset_link()
        with override_settings(PASSWORD_RESET_TIMEOUT=0):
            import time

            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:  # the token's timestamp has one-second resolution
                page = self.client.get(link, follow=True)
                if "already used or it has expired" in page.content.decode():
                    break
            self.assertContains(page, "already used or it has expired")

    def test_tampered_link_is_refused(self):
        link = self.reset_link()
        page = self.client.get(link[:-3] + "abc/", follow=True)
        self.assertContains(page, "already used or it has expired")
        self.alice.refresh_from_db()
        self.assertTrue(self.alice.check_password(PASSWORD))

    def test_one_reset_mail_per_address_per_interval(self):
        email, other = (f"reset-{uuid.uuid4().hex}@example.com" for _ in range(2))  # new keys
        for address in (email, other):
            get_user_model().objects.create_user(address.split("@")[0], address, NEW)
        with override_settings(PASSWORD_RESET_MAIL_INTERVAL=60):
            for _ in range(3):
                response = self.client.post(reverse("password_reset"), {"email": email})
                self.assertRedirects(response, reverse("password_reset_done"))
            self.client.post(reverse("password_reset"), {"email": other})
        self.assertEqual(sorted(m.to[0] for m in mail.outbox), sorted([email, other]))


class OwnPasswordChangeTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def test_old_password_is_required(self):
        self.client.force_login(self.alice)
        response = self.client.post(
            reverse("password_change"),
            {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "incorrectly")
        self.alice.refresh_from_db()
        self.assertTrue(self.alice.check_password(PASSWORD))

    def test_administrator_sets_a_password(self):
        services.set_password_by_admin(self.bob, NEW, by_user=self.admin)
        self.bob.refresh_from_db()
        self.assertTrue(self.bob.check_password(NEW))
        self.assertTrue(Event.objects.filter(action="password_set_by_administrator").exists())
        with self.assertRaises(ValidationError):
            services.set_password_by_admin(self.bob, "short", by_user=self.admin)

    def test_user_model_save_records_history_for_every_path(self):
        User = get_user_model()
        user = User.objects.create_user("carol", "carol@example.com", NEW)
        self.assertFalse(services.password_expired(user))  # counted from date_joined
        user.set_password("Carols-Second-Pass-2")
        user.save()  # as the admin site, reset link and password change do
        self.assertEqual(PasswordHistory.objects.filter(user=user).count(), 1)
        with self.assertRaisesMessage(ValidationError, "used recently"):
            validate_password("Carols-Second-Pass-2", user)
