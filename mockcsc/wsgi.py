"""WSGI entry point of the mock Cisco Software Central (gunicorn mockcsc.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mockcsc.settings")
application = get_wsgi_application()
