"""WSGI entry point of the HTTPS web server (granian, started by deploy/services)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ssm.settings")
application = get_wsgi_application()
