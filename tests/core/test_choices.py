"""Status enums: every member has a badge colour, and a missing one is refused at import."""

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.test import SimpleTestCase

from accounts import choices as accounts
from core import choices as core
from core.choices import badge_colours
from highavailability import choices as highavailability
from licensing import choices as licensing
from synchronization import choices as synchronization


class BadgeColourTests(SimpleTestCase):
    def test_members_have_their_colour(self):
        self.assertEqual(licensing.TokenStatus.REVOKED.colour, "secondary")
        self.assertEqual(highavailability.ReplicationMode.UNKNOWN.colour, "secondary")
        self.assertEqual(synchronization.SyncStatus.FAILED.colour, "danger")

    def test_every_colour_is_a_bootstrap_badge_colour(self):
        badges = {"success", "primary", "secondary", "info", "warning", "danger"}
        enums = [
            enum
            for module in (core, accounts, synchronization, highavailability, licensing)
            for enum in vars(module).values()
            if isinstance(enum, type)
            and issubclass(enum, models.Choices)
            and "colour" in vars(enum)
        ]
        self.assertGreaterEqual(len(enums), 16)
        for member in (member for enum in enums for member in enum):
            self.assertIn(member.colour, badges, member)

    def test_a_member_without_a_colour_is_refused(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "no badge colour for ['b']"):

            @badge_colours({"a": "success"})
            class Partial(models.TextChoices):
                A = "a", "A"
                B = "b", "B"
