"""The server answers only to its own names: the Host Common Name (from the environment or set
in Security), this host's names and addresses, the VIP, loopback and ALLOWED_HOSTS.

Before, ALLOWED_HOSTS was "*" and an anonymous password-reset request with
`Host: evil.example` was answered like any other."""

import socket
import ssl
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import SimpleTestCase, TestCase, override_settings

from core.hosts import ServerNames, interface_addresses
from security import services
from security.services.host_common_name import host_header_names
from tests.support.ports import free_port
from tests.support.webserver import start_web_server

from .test_web_reload import poll


class HostHeaderTests(TestCase):
    def test_a_foreign_host_is_refused_before_any_page_or_mail(self):
        get_user_model().objects.create_user("ops", "ops@example.com", "S3cure-pass-1")
        answer = self.client.post(
            "/password_reset/", {"email": "ops@example.com"}, HTTP_HOST="evil.example"
        )
        self.assertEqual(answer.status_code, 400)
        self.assertEqual(mail.outbox, [])
        self.assertEqual(self.client.get("/login/", HTTP_HOST="evil.example").status_code, 400)

    def test_the_host_common_name_set_in_security_is_answered_to(self):
        services.set_host_common_name("ssm.lab.example")
        names = ServerNames(["testserver"], sources=[host_header_names])
        with override_settings(ALLOWED_HOSTS=names):
            for host, status in (("ssm.lab.example", 200), ("other.example", 400)):
                self.assertEqual(self.client.get("/login/", HTTP_HOST=host).status_code, status)

    def test_an_ipv6_host_common_name_is_answered_in_brackets(self):
        services.set_host_common_name("2001:db8::10")
        self.assertEqual(host_header_names(), ["[2001:db8::10]"])


class ServerNamesTests(SimpleTestCase):
    def test_a_failing_source_keeps_its_last_names(self):
        answers = [["ssm.example"], RuntimeError("database down")]

        def source():
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        names = ServerNames(["localhost"], sources=[source])
        self.assertEqual(list(names), ["localhost", "ssm.example"])
        names._expires = 0.0  # as when the refresh interval has passed
        self.assertEqual(list(names), ["localhost", "ssm.example"])
        self.assertEqual(answers, [])

    def test_this_nodes_addresses_include_loopback(self):
        self.assertIn("127.0.0.1", interface_addresses())


class RunningServerHostTests(SimpleTestCase):
    """The server as deployed (nginx, granian, the production settings) refuses foreign hosts."""

    def test_only_its_own_names_are_answered(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        folder = Path(tmp.name)
        services.ensure_browser_certificate(folder)
        port = free_port()
        start_web_server(self, folder, port, HOST_COMMON_NAME="ssm.example.test")

        def status(host: str) -> int:
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            context = ssl._create_unverified_context()  # noqa: S323 - the test's own certificate
            with context.wrap_socket(raw, server_hostname="localhost") as s:
                request = f"GET /login/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                s.sendall(request.encode())
                return int(s.recv(64).split(b" ")[1])

        poll(lambda: status("127.0.0.1") == 200, 30, "the web server")
        self.assertEqual(status(f"ssm.example.test:{port}"), 200)
        self.assertEqual(status(socket.gethostname()), 200)
        self.assertEqual(status("evil.example"), 400)
