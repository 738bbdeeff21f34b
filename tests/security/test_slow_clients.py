"""nginx in front: half-sent requests cost it a socket, never an application thread, and a
chunked request body reaches the application whole.

Before nginx stood in front, six POSTs whose body never came held every thread of the
application server and /login/ stopped answering.
"""

import socket
import ssl
import tempfile
import time
from pathlib import Path

from django.test import SimpleTestCase

from security import services
from tests.support.ports import free_port
from tests.support.webserver import start_web_server

from .test_web_reload import poll

ATTACKERS = 200


def tls_socket(port: int, source: str) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    context = ssl._create_unverified_context()  # noqa: S323 - the test's self-signed server
    return context.wrap_socket(raw, server_hostname="localhost")


class SlowClientTests(SimpleTestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)
        services.ensure_browser_certificate(self.dir)
        self.port = free_port()
        start_web_server(self, self.dir, self.port, WEB_WORKERS="1", WEB_THREADS="2")
        poll(lambda: self.login_status() == 200, 30, "the web server")

    def login_status(self, source="127.0.0.2") -> int:
        with tls_socket(self.port, source) as s:
            s.sendall(b"GET /login/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return int(s.recv(64).split(b" ")[1])

    def test_two_hundred_half_sent_posts_leave_the_login_page_answering(self):
        held = []
        self.addCleanup(lambda: [s.close() for s in held])
        for _ in range(ATTACKERS):
            s = tls_socket(self.port, "127.0.0.1")
            s.sendall(b"POST /SmartTransport HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
            held.append(s)
        started = time.monotonic()
        self.assertEqual(self.login_status(), 200)
        elapsed = time.monotonic() - started
        print(f"\n  /login/ with {ATTACKERS} half-sent requests held open: {elapsed * 1000:.0f} ms")

    def test_a_chunked_body_reaches_the_application(self):
        """The application sees a chunked form body (it read such bodies as empty): the NUL
        in it is refused with 400 (an empty body would reach the CSRF check, 403)."""
        with tls_socket(self.port, "127.0.0.2") as s:
            s.sendall(
                b"POST /login/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
                b"4\r\nq=%0\r\n1\r\n0\r\n0\r\n\r\n"
            )
            answer = s.recv(4096)
        self.assertEqual(int(answer.split(b" ")[1]), 400, answer)
        self.assertIn(b"NUL bytes are not accepted", answer)
