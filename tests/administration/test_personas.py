"""The Admin Workspace shows each persona only the tiles it may open, and a refusal or a
missing page is a styled page inside the frame with the way back."""

from django.test import override_settings
from django.urls import reverse

from administration.workspace import visible_widgets
from highavailability.models import ClusterStatus
from tests.support.personas import PersonaTestCase

EVERYONE = ["accounts", "support-center", "synchronization"]


class TilePersonaTests(PersonaTestCase):
    def tiles(self, user) -> list[str]:
        return [w.slug for w in visible_widgets(user)]

    def test_each_persona_sees_what_it_may_open(self):
        ClusterStatus.objects.create(pk=1, ha_enabled=True)
        expected = {
            self.admin: ["access-management", "security", "accounts", "settings", "api-toolkit",
                         "support-center", "high-availability", "synchronization", "network",
                         "users"],
            self.operator: ["access-management", "accounts", "api-toolkit", "support-center",
                            "high-availability", "synchronization", "network"],
            self.alice: ["access-management", *EVERYONE],
            self.victor: EVERYONE,
            self.bob: EVERYONE,
        }  # fmt: skip
        for user, slugs in expected.items():
            self.assertEqual(sorted(self.tiles(user)), sorted(slugs), user.username)

    def test_no_tile_leads_to_a_refusal(self):
        ClusterStatus.objects.create(pk=1, ha_enabled=True)
        for user in (self.admin, self.operator, self.alice, self.victor, self.bob):
            self.login(user)
            page = self.client.get(reverse("admin-workspace"))
            for widget in page.context["widgets"]:
                if widget.slug == "high-availability":
                    continue  # its page reads a live cluster (tests/highavailability)
                response = self.client.get(reverse(widget.url_name))
                self.assertEqual(response.status_code, 200, f"{user.username}: {widget.name}")


@override_settings(DEBUG=False)
class ErrorPageTests(PersonaTestCase):
    def test_a_refusal_is_a_styled_page_with_the_reason_and_the_way_back(self):
        self.login(self.victor)
        response = self.client.get(reverse("accounts:user-list"))
        self.assertEqual(response.status_code, 403)
        self.assertContains(response, 'data-testid="error-page"', status_code=403)
        self.assertContains(
            response, "Only a system administrator can open this page.", status_code=403
        )
        self.assertContains(response, "Back to the Admin Workspace", status_code=403)
        self.assertContains(response, 'data-testid="current-user"', status_code=403)  # the frame

    def test_a_missing_page_is_a_styled_404(self):
        self.login(self.bob)
        response = self.client.get(f"/admin/accounts/{self.account_a.pk}/")  # another account's
        self.assertContains(response, "Not found", status_code=404)
        self.assertContains(response, 'data-testid="error-page"', status_code=404)
        response = self.client.get("/admin/no-such-page/")
        self.assertContains(response, "Back to the Admin Workspace", status_code=404)
