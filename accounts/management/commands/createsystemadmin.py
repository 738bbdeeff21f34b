"""Create the first system administrator and print its one-time password."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from core.choices import EventCategory
from core.services import record_event


class Command(BaseCommand):
    help = "Create the first system administrator unless one exists; print its password once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("A system administrator exists; no account created.")
            return
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            User.objects.create_superuser(username=username, email="", password=password)
            record_event(
                EventCategory.USER,
                "create_system_administrator",
                f"Created system administrator {username}",
            )
        self.stdout.write(f"System administrator created: {username} / {password}")
        self.stdout.write("This password is shown once; change it after the first login.")
