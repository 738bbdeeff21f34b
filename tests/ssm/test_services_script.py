"""deploy/services: the HTTPS server generates its certificate on first start and serves TLS."""

import os
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.test import SimpleTestCase

from tests.support.ports import free_port

ROOT = Path(settings.BASE_DIR)
SERVICES = ROOT / "deploy" / "services"


class WebServiceTests(SimpleTestCase):
    def setUp(self):
        self.var = Path(tempfile.mkdtemp(prefix="ssm-var-"))
        self.port = free_port()
        self.env = dict(
            os.environ, SSM_VAR=str(self.var), SSM_BIND=f"127.0.0.1:{self.port}", WEB_WORKERS="1"
        )

    def services(self, *args):
        return subprocess.run(
            [str(SERVICES), *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def tearDown(self):
        self.services("stop", "web")

    def test_first_start_creates_localhost_certificate_and_serves_https(self):
        result = self.services("start", "web")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        cert = self.var / "tls" / "browser.crt"
        subject = subprocess.run(
            ["openssl", "x509", "-in", str(cert), "-noout", "-subject"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.assertIn("CN = localhost", subject)
        # The key is readable by root only.
        self.assertEqual((self.var / "tls" / "browser.key").stat().st_mode & 0o777, 0o600)
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        deadline = time.monotonic() + 30
        while True:
            try:
                with (
                    socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw,
                    context.wrap_socket(raw, server_hostname="localhost") as tls,
                ):
                    tls.sendall(b"GET /login/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
                    answer = tls.recv(4096).decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
        self.assertIn("200 OK", answer.splitlines()[0])
        # Products that only speak TLS 1.2 are served too.
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with (
            socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            self.assertEqual(tls.version(), "TLSv1.2")
            tls.sendall(b"GET /login/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
            self.assertIn("200 OK", tls.recv(4096).decode().splitlines()[0])
        status = self.services("status", "web").stdout
        self.assertIn("running", status)
        # The logs may hold e-mailed links: readable by root (and its group) only.
        for log in ("web.log", "web-access.log", "web-nginx.log"):
            self.assertEqual((self.var / "log" / log).stat().st_mode & 0o777, 0o640, log)

    def test_port_in_use_is_one_clear_line(self):
        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", self.port))
            blocker.listen()
            result = self.services("start", "web")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"port {self.port}", result.stderr)
        self.assertIn("SSM_BIND", result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)

    def test_stale_pid_file_naming_another_process_is_replaced(self):
        run = self.var / "run"
        run.mkdir(parents=True)
        (run / "web.pid").write_text(f"{os.getpid()}\n")  # a live process, not the web server
        self.assertIn("stopped", self.services("status", "web").stdout)
        result = self.services("start", "web")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        pid = int((run / "web.pid").read_text().split()[0])
        self.assertNotEqual(pid, os.getpid())
        self.assertIn(f"running  (pid {pid})", self.services("status", "web").stdout)
