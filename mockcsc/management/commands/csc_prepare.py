"""Prepare the mock CSC: its database, HTTPS certificate, signing CA, seed data, admin user."""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from mockcsc import pki, seed


class Command(BaseCommand):
    help = "Migrate the mock CSC's own database, create its certificates and seed its data."

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if pki.ensure_tls_certificate(settings.CSC_TLS_DIR, settings.CSC_TLS_NAMES):
            self.stdout.write(f"HTTPS certificate created in {settings.CSC_TLS_DIR}")
        if pki.ensure_signing_ca(settings.CSC_CA_DIR):
            self.stdout.write(f"Signing CA created in {settings.CSC_CA_DIR}")
        if seed.seed():
            self.stdout.write(f"Seeded smart account {seed.SMART_ACCOUNT}")
        User = get_user_model()
        if not User.objects.filter(is_superuser=True).exists():
            password = os.environ.get("CSC_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            User.objects.create_superuser("cscadmin", "", password)
            path = settings.CSC_DATA_DIR / "admin-password"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(password + "\n")
            self.stdout.write(f"CSC administration user cscadmin; password in {path}")
