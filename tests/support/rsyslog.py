"""A real syslog receiver (Debian's rsyslogd) on free loopback ports, in the foreground:
UDP and TCP, or TLS (rsyslog-gnutls, with a certificate from a test CA). It writes each
message it parsed as one line of its fields, which the tests read."""

import ipaddress
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.security.pki import TestCA, pem
from tests.support.ports import free_port

FIELDS = (
    "%pri%|%syslogfacility-text%|%syslogseverity-text%|%hostname%|%app-name%|%procid%|"
    "%msgid%|%structured-data%|%msg%\\n"
)


class Rsyslog:
    """start() / stop(); `udp_port`, `tcp_port` (plain) or `tls_port` and `ca_pem` (tls)."""

    def __init__(self, *, tls: bool = False):
        self.folder = Path(tempfile.mkdtemp(prefix="ssm-rsyslog-"))
        self.messages = self.folder / "messages.log"
        self.process: subprocess.Popen | None = None
        self.udp_port = self.tcp_port = self.tls_port = 0
        lines = [f'global(workDirectory="{self.folder}"']
        if tls:
            self.tls_port = free_port()
            self._certificate()
            lines[0] += (
                ' DefaultNetstreamDriver="gtls"'
                f' DefaultNetstreamDriverCAFile="{self.folder / "ca.crt"}"'
                f' DefaultNetstreamDriverCertFile="{self.folder / "server.crt"}"'
                f' DefaultNetstreamDriverKeyFile="{self.folder / "server.key"}"'
            )
            lines += [
                ")",
                'module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" '
                'StreamDriver.AuthMode="anon")',
                f'input(type="imtcp" port="{self.tls_port}" address="127.0.0.1")',
            ]
        else:
            self.udp_port, self.tcp_port = free_port(), free_port()
            lines += [
                ")",
                'module(load="imudp")',
                'module(load="imtcp")',
                f'input(type="imudp" port="{self.udp_port}" address="127.0.0.1")',
                f'input(type="imtcp" port="{self.tcp_port}" address="127.0.0.1")',
            ]
        lines += [
            f'template(name="fields" type="string" string="{FIELDS}")',
            f'*.* action(type="omfile" file="{self.messages}" template="fields")',
        ]
        self.conf = self.folder / "rsyslog.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def _certificate(self) -> None:
        ca = TestCA("Syslog Test CA")
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        certificate = ca.sign(csr.public_bytes(serialization.Encoding.PEM).decode())
        self.ca_pem = pem(ca.root)
        (self.folder / "ca.crt").write_text(self.ca_pem)
        (self.folder / "server.crt").write_text(pem(certificate) + pem(ca.intermediate))
        (self.folder / "server.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )

    def start(self, deadline: float = 10.0) -> "Rsyslog":
        binary = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
        self.process = subprocess.Popen(
            [binary, "-n", "-f", str(self.conf), "-i", str(self.folder / "rsyslogd.pid")],
            stdout=(self.folder / "rsyslogd.out").open("ab"),
            stderr=subprocess.STDOUT,
        )
        ports = [p for p in (self.udp_port, self.tcp_port, self.tls_port) if p]
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"rsyslogd exited: {(self.folder / 'rsyslogd.out').read_text()[-500:]}"
                )
            listening = subprocess.run(["ss", "-Hlntu"], capture_output=True, text=True).stdout
            if all(f"127.0.0.1:{port} " in listening for port in ports):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"rsyslogd did not listen within {deadline} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def lines(self) -> list[list[str]]:
        """Each received message's fields: pri, facility, severity, hostname, app-name,
        procid, msgid, structured data, text."""
        if not self.messages.exists():
            return []
        return [line.split("|", 8) for line in self.messages.read_text().splitlines()]
