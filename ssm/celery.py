"""The Celery application; tasks are discovered in each app's tasks.py."""

import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ssm.settings")

app = Celery("ssm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(dispatch_uid="ssm.log_level")
def follow_log_level(**kwargs):
    """The worker follows the log level chosen at run time (checked every few seconds)."""
    from core.services import apply_log_level  # models load after this module

    apply_log_level()
