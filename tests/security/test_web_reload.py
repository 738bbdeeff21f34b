"""The running web server switches to a new Browser Certificate without dropping service."""

import ssl
import tempfile
import threading
import time
from pathlib import Path

import requests
import urllib3
from cryptography import x509
from django.test import TestCase, override_settings

from security import services
from tests.support.ports import free_port
from tests.support.webserver import start_web_server

from .pki import TestCA, openssl, pem

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def served_common_name(port: int) -> str:
    pem_text = ssl.get_server_certificate(("127.0.0.1", port), timeout=5)
    cert = x509.load_pem_x509_certificate(pem_text.encode())
    return cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value


def poll(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class RunningServerSwitchesCertificateTests(TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.dir = Path(self.tmp.name)
        services.ensure_browser_certificate(self.dir)
        self.port = free_port()
        self.nginx_pid_file = self.dir / "web-nginx.pid"
        override = override_settings(
            BROWSER_CERT_DIR=self.dir, WEB_PID_FILE=str(self.nginx_pid_file)
        )
        override.enable()
        self.addCleanup(override.disable)
        start_web_server(self, self.dir, self.port, WEB_WORKERS="2")
        poll(
            lambda: self.nginx_pid_file.exists() and served_common_name(self.port) == "localhost",
            30,
            "the web server",
        )

    def test_new_certificate_served_and_no_request_fails_during_the_switch(self):
        url = f"https://127.0.0.1:{self.port}/static/ssm.css"
        results = {"ok": 0, "failed": [], "retried": 0}
        stop = threading.Event()

        def hammer():
            # A new connection per request (a TLS handshake each time), retried once when the
            # connection itself fails, as browsers and products do; none should need it.
            while not stop.is_set():
                for attempt in (1, 2):
                    try:
                        response = requests.get(url, verify=False, timeout=10)
                    except requests.ConnectionError as exc:
                        if attempt == 2:
                            results["failed"].append(repr(exc))
                        else:
                            results["retried"] += 1
                        continue
                    except requests.RequestException as exc:
                        results["failed"].append(repr(exc))
                    else:
                        if response.status_code == 200:
                            results["ok"] += 1
                        else:
                            results["failed"].append(response.status_code)
                    break

        workers = [threading.Thread(target=hammer) for _ in range(3)]
        for t in workers:
            t.start()
        try:
            poll(lambda: results["ok"] > 20, 30, "requests before the switch")
            master = self.nginx_pid_file.read_text().split()[0]
            ca = TestCA()
            request = services.generate_browser_csr(
                "ssm.example.com", subject_alternative_names=["127.0.0.1"]
            )
            with self.captureOnCommitCallbacks(execute=True):
                services.install_browser_certificate(pem(ca.sign(request.csr_pem)), ca.chain_pem)
            poll(
                lambda: served_common_name(self.port) == "ssm.example.com",
                30,
                "the new certificate",
            )
            before = results["ok"]
            poll(lambda: results["ok"] > before + 20, 30, "requests after the switch")
        finally:
            stop.set()
            for t in workers:
                t.join(15)
        log = (self.dir / "web-nginx.log").read_text()
        self.assertEqual(results["failed"], [], f"nginx log:\n{log}")
        self.assertEqual(results["retried"], 0, f"nginx log:\n{log}")
        # a graceful reload of the same master, not a restart
        self.assertEqual(self.nginx_pid_file.read_text().split()[0], master)
        print(f"\n  certificate switch: {results['ok']} requests, {results['retried']} retried")
        # openssl sees the whole chain and verifies it to the root, by IP SAN.
        root = self.dir / "root.pem"
        root.write_text(pem(ca.root))
        text = openssl(
            "s_client",
            "-connect",
            f"127.0.0.1:{self.port}",
            "-CAfile",
            str(root),
            "-verify_ip",
            "127.0.0.1",
            "-verify_return_error",
            stdin=b"",
        )
        self.assertIn("Verify return code: 0 (ok)", text)
        self.assertIn("CN = ssm.example.com", text)
