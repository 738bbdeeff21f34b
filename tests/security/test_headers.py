"""Security headers, cookies and CSRF on the pages themselves."""

from django.test import Client, TestCase, override_settings
from django.urls import reverse

from tests.support.personas import PASSWORD, build_personas


@override_settings(
    SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True, SECURE_HSTS_SECONDS=31536000
)
class SecurityHeaderTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def test_headers_on_every_page_kind(self):
        self.client.force_login(self.admin)
        for url in ["/login/", reverse("admin-workspace"), reverse("security:certificates")]:
            response = self.client.get(url, secure=True)
            with self.subTest(url=url):
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response["X-Frame-Options"], "DENY")
                self.assertEqual(response["X-Content-Type-Options"], "nosniff")
                self.assertIn("max-age=31536000", response["Strict-Transport-Security"])
                csp = response["Content-Security-Policy"]
                self.assertIn("script-src 'self'", csp)
                self.assertIn("frame-ancestors 'none'", csp)
                self.assertNotIn("unsafe-inline", csp)
                self.assertEqual(response["Referrer-Policy"], "same-origin")

    def test_session_and_csrf_cookies_are_secure_and_session_is_http_only(self):
        client = Client(enforce_csrf_checks=True)
        page = client.get("/login/", secure=True)
        token = page.cookies["csrftoken"]
        self.assertTrue(token["secure"])
        self.assertTrue(token["httponly"])
        response = client.post(
            "/login/",
            {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token.value},
            secure=True,
            HTTP_REFERER="https://testserver/login/",
        )
        self.assertEqual(response.status_code, 302)
        session = response.cookies["sessionid"]
        self.assertTrue(session["secure"])
        self.assertTrue(session["httponly"])
        self.assertEqual(session["samesite"], "Lax")

    def test_forms_without_csrf_token_are_refused(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.admin)
        for url, data in [
            (reverse("security:host-common-name"), {"name": "ssm.example.com"}),
            (reverse("security:account-password"), {"min_length": 20}),
            ("/login/", {"username": "alice", "password": PASSWORD}),
        ]:
            with self.subTest(url=url):
                response = client.post(
                    url, data, secure=True, HTTP_REFERER="https://testserver/login/"
                )
                self.assertEqual(response.status_code, 403)
                self.assertIn(b"CSRF", response.content)

    def test_every_form_on_the_security_pages_carries_a_csrf_token(self):
        self.client.force_login(self.admin)
        for name in ["security:certificates", "security:account-password"]:
            html = self.client.get(reverse(name)).content.decode()
            self.assertEqual(html.count("<form"), html.count('name="csrfmiddlewaretoken"'), name)
