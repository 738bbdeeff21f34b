"""A real mock Cisco Software Central process for tests, with its own temporary data store.

csc = CscServer().start()          # gunicorn + TLS on a free port, seeded data
with csc.settings():               # point settings.CSC_URL / CSC_CA_FILE at it
    ...
csc.fail("server_error")           # or "slow" (delay=s), "bad_signature"; csc.heal()
csc.down(); csc.up()               # really stop / start the process (same port, same data)
csc.stop()                         # stop and remove the data store
"""

import atexit
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from django.conf import settings
from django.test import override_settings

from tests.support.ports import free_port

ROOT = Path(settings.BASE_DIR)
_TEMPLATE: Path | None = None


def _prepared_template() -> Path:
    """A data store prepared once per test process (migrated, certificates, seed data)."""
    global _TEMPLATE
    if _TEMPLATE is None or not _TEMPLATE.exists():
        path = Path(tempfile.mkdtemp(prefix="csc-template-"))
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="mockcsc.settings", CSC_DATA_DIR=str(path))
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "csc_prepare"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        _TEMPLATE = path
        atexit.register(shutil.rmtree, path, True)
    return _TEMPLATE


class CscServer:
    """One mock CSC process; see the module docstring."""

    def __init__(self, name="csc"):
        self.name = f"{name}-{os.getpid()}"
        self.port = free_port()
        self.token = secrets.token_urlsafe(16)
        self.data_dir: Path | None = None
        self.process = None
        self.log_path = ROOT / "artifacts" / "logs" / f"{self.name}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> str:
        return str(self.data_dir / "tls" / "csc.crt")

    def start(self, deadline=30.0):
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="csc-data-"))
            shutil.copytree(_prepared_template(), self.data_dir, dirs_exist_ok=True)
        return self.up(deadline)

    def up(self, deadline=30.0):
        """Start the process on its port with its data store."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="mockcsc.settings",
            CSC_DATA_DIR=str(self.data_dir),
            CSC_CONTROL_TOKEN=self.token,
        )
        gunicorn = Path(sys.executable).with_name("gunicorn")
        tls = self.data_dir / "tls"
        self.process = subprocess.Popen(
            [
                str(gunicorn), "mockcsc.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                "--certfile", str(tls / "csc.crt"), "--keyfile", str(tls / "csc.key"),
                "--ciphers", "ECDHE+AESGCM:ECDHE+CHACHA20",
                "--workers", "2", "--graceful-timeout", "2", "--timeout", "60",
                "--control-socket", str(self.data_dir / "gunicorn.ctl"),
            ],
            cwd=ROOT, env=env, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"The mock CSC exited; see {self.log_path}")
            try:
                if self._control("GET", "/control/fault").get("mode"):
                    return self
            except requests.exceptions.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"The mock CSC did not answer within {deadline}s; see {self.log_path}")

    def down(self):
        """Stop the process (connections are refused); the data store is kept for up()."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self):
        self.down()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    # --- control API ---

    def _control(self, method, path, body=None):
        response = requests.request(
            method,
            self.url + path,
            json=body,
            headers={"X-CSC-Control-Token": self.token},
            verify=self.ca_file,
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def fail(self, mode, delay=0.0):
        """Make the API misbehave: "slow" (delay seconds), "server_error", "bad_signature"."""
        return self._control("POST", "/control/fault", {"mode": mode, "delay": delay})

    def heal(self):
        return self._control("POST", "/control/fault", {"mode": "none"})

    def add_virtual_account(self, name, smart_account="BU Production Test", licenses=None):
        body = {"smart_account": smart_account, "name": name}
        if licenses is not None:
            body["licenses"] = licenses
        return self._control("POST", "/control/virtual-accounts", body)

    def set_quantity(self, virtual_account, tag, quantity, smart_account="BU Production Test"):
        return self._control(
            "POST",
            "/control/entitlements",
            {
                "smart_account": smart_account,
                "virtual_account": virtual_account,
                "tag": tag,
                "quantity": quantity,
            },
        )

    def set_state(self, virtual_account, state, smart_account="BU Production Test"):
        return self._control(
            "POST",
            "/control/virtual-account-state",
            {"smart_account": smart_account, "virtual_account": virtual_account, "state": state},
        )

    def registrations(self) -> list[dict]:
        return self._control("GET", "/control/registrations")["registrations"]

    # --- pointing the server at it ---

    def settings(self, timeout=3.0):
        """override_settings for the test process (use as decorator or context manager)."""
        return override_settings(CSC_URL=self.url, CSC_CA_FILE=self.ca_file, CSC_TIMEOUT=timeout)

    @contextlib.contextmanager
    def environ(self, timeout=3.0):
        """Environment for child processes (a Celery worker) started inside the block."""
        values = {"CSC_URL": self.url, "CSC_CA_FILE": self.ca_file, "CSC_TIMEOUT": str(timeout)}
        saved = {k: os.environ.get(k) for k in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
