"""Bad configuration stops start-up with one line that names the variable and the fix."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.test import SimpleTestCase

ROOT = Path(settings.BASE_DIR)


def manage_check(**env):
    """Run `manage.py check` in a fresh process with the given environment overrides."""
    full = {k: v for k, v in os.environ.items() if k not in env}
    full.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=full, capture_output=True, text=True
    )


class BadConfigurationTests(SimpleTestCase):
    def assert_one_line_error(self, result, *words):
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, f"expected one line, got: {result.stderr}")
        self.assertTrue(lines[0].startswith("error: "), lines[0])
        for word in words:
            self.assertIn(word, lines[0])
        self.assertNotIn("Traceback", result.stderr)

    def test_malformed_database_url(self):
        self.assert_one_line_error(
            manage_check(DATABASE_URL="nonsense"), "DATABASE_URL", "postgres://"
        )

    def test_database_url_with_bad_port(self):
        result = manage_check(DATABASE_URL="postgres://u:p@localhost:notaport/db")
        self.assert_one_line_error(result, "DATABASE_URL")

    def test_missing_secret_key_in_production(self):
        result = manage_check(SSM_ENV_FILE="/dev/null", SECRET_KEY="", DEBUG="false")
        self.assert_one_line_error(result, "SECRET_KEY", ".env")

    def test_bad_typed_value_names_the_variable(self):
        result = manage_check(DATABASE_CONNECT_TIMEOUT="soon")
        self.assert_one_line_error(result, "DATABASE_CONNECT_TIMEOUT")

    def test_good_configuration_passes(self):
        result = manage_check()
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_debug_mode_runs_without_secret_key(self):
        result = manage_check(SSM_ENV_FILE="/dev/null", SECRET_KEY="", DEBUG="true")
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_database_connection_names_itself(self):
        options = settings.DATABASES["default"]["OPTIONS"]
        self.assertEqual(options["application_name"], "ssm")
        self.assertEqual(options["target_session_attrs"], "read-write")
