"""Generate the default self-signed Browser Certificate on first start."""

from django.conf import settings
from django.core.management.base import BaseCommand

from security.services import ensure_browser_certificate


class Command(BaseCommand):
    help = "Create the self-signed 'localhost' Browser Certificate if the server has none."

    def handle(self, *args, **options):
        directory = settings.BROWSER_CERT_DIR
        if ensure_browser_certificate(directory):
            self.stdout.write(
                f"Browser Certificate created: {directory / 'browser.crt'} (CN localhost)"
            )
