"""Support Center: the support bundle (secrets redacted) and the log level chosen at run time
(every process follows it: the web server at its next request, the worker at its next task)."""

import io
import logging
import tarfile
import tempfile
from pathlib import Path

from celery.signals import task_prerun
from django.conf import settings
from django.test import TestCase, override_settings
from django.urls import reverse

from administration.bundle import REDACTED, redact
from core import services
from core.models import Event, LogSetting
from tests.support.personas import make_user


class RedactTests(TestCase):
    def test_secrets_by_name_and_inside_urls(self):
        self.assertEqual(redact("abc", "SECRET_KEY"), REDACTED)
        self.assertEqual(redact("x", "CSC_CONTROL_TOKEN"), REDACTED)
        self.assertEqual(redact("", "CSC_CONTROL_TOKEN"), "")  # an empty secret says it is unset
        self.assertEqual(
            redact({"NAME": "ssm", "PASSWORD": "pw", "OPTIONS": {"passfile": "/x"}}),
            {"NAME": "ssm", "PASSWORD": REDACTED, "OPTIONS": {"passfile": "/x"}},
        )
        self.assertEqual(
            redact("postgres://ssm:e7c2b@127.0.0.1:5544/ssm"),
            f"postgres://ssm:{REDACTED}@127.0.0.1:5544/ssm",
        )
        self.assertEqual(redact("redis://:pw@h:1/0"), f"redis://:{REDACTED}@h:1/0")
        self.assertEqual(redact(["https://a:b@c/"], "X"), [f"https://a:{REDACTED}@c/"])
        self.assertEqual(redact(8443, "PORT"), 8443)


class SupportBundleTests(TestCase):
    def setUp(self):
        self.admin = make_user("root-admin", "system_admin")
        logs = tempfile.TemporaryDirectory()
        self.addCleanup(logs.cleanup)
        self.logs = Path(logs.name)
        (self.logs / "web.log").write_text("GET /admin/ 200\n")

    def test_bundle_holds_logs_versions_services_and_redacted_settings(self):
        self.client.force_login(self.admin)
        with override_settings(
            LOG_DIR=str(self.logs),
            CSC_CONTROL_TOKEN="control-token-value",
            REDIS_URL="redis://:redis-password@127.0.0.1:6389/0",
        ):
            response = self.client.get(reverse("support-center-bundle"))
            self.assertEqual(response.status_code, 200)
            self.assertRegex(
                response["Content-Disposition"], r'filename="ssm-support-\d+T\d+Z\.tar\.gz"'
            )
            data = b"".join(response.streaming_content)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            files = {
                m.name.removeprefix("ssm-support/"): tar.extractfile(m).read().decode()
                for m in tar.getmembers()
            }
        for name in ("versions.txt", "settings.txt", "ha_status.txt", "services.txt",
                     "system_health.json", "logs/web.log"):  # fmt: skip
            self.assertIn(name, files)
        self.assertEqual(files["logs/web.log"], "GET /admin/ 200\n")
        self.assertIn("Smart Software Manager On-Prem", files["versions.txt"])
        self.assertIn("PostgreSQL 15", files["versions.txt"])
        self.assertIn("HA is not enabled.", files["ha_status.txt"])
        text = files["settings.txt"]
        self.assertIn(f"SECRET_KEY = '{REDACTED}'", text)
        for secret in (settings.SECRET_KEY, settings.DATABASES["default"]["PASSWORD"],
                       "control-token-value", "redis-password"):  # fmt: skip
            self.assertNotIn(secret, text)
        self.assertIn("LOG_LEVEL = ", text)

    def test_only_system_administrators(self):
        self.client.force_login(make_user("op", "system_operator"))
        self.assertEqual(self.client.get(reverse("support-center-bundle")).status_code, 403)


class LogLevelTests(TestCase):
    def setUp(self):
        root = logging.getLogger()
        level = root.level
        self.addCleanup(root.setLevel, level)
        self.admin = make_user("root-admin", "system_admin")
        self.client.force_login(self.admin)

    def test_chosen_on_the_logs_tab_and_followed_by_every_process(self):
        url = reverse("support-center-logs")
        self.assertContains(self.client.get(url), 'value="INFO" selected')
        response = self.client.post(url, {"level": "DEBUG"})
        self.assertRedirects(response, url)
        self.assertEqual(LogSetting.objects.get().level, "DEBUG")
        self.assertEqual(logging.getLogger().level, logging.DEBUG)
        event = Event.objects.get(action="log_level_changed")
        self.assertEqual(
            (event.message, event.user), ("Log level changed from INFO to DEBUG", self.admin)
        )

        # another process chose WARNING: this web process follows at a request after the check
        # interval, a worker at its next task
        LogSetting.objects.update(level="WARNING")
        services._log_level_checked[0] -= services.LOG_LEVEL_CHECK_SECONDS
        self.client.get(reverse("login"))
        self.assertEqual(logging.getLogger().level, logging.WARNING)
        LogSetting.objects.update(level="ERROR")
        services._log_level_checked[0] -= services.LOG_LEVEL_CHECK_SECONDS
        task_prerun.send(sender=None, task_id="t", task=None, args=(), kwargs={})
        self.assertEqual(logging.getLogger().level, logging.ERROR)

    def test_a_bad_level_is_a_400_and_changes_nothing(self):
        response = self.client.post(reverse("support-center-logs"), {"level": "TRACE\x01"})
        self.assertEqual(response.status_code, 400)
        self.assertContains(
            response, "Choose a log level among DEBUG, INFO, WARNING, ERROR.", status_code=400
        )
        self.assertFalse(LogSetting.objects.exists())
        self.assertFalse(Event.objects.filter(action="log_level_changed").exists())
