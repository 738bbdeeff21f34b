"""A real syslog receiver (Debian's rsyslogd) on free loopback ports, in the foreground:
UDP and TCP, or TLS (rsyslog-gnutls, with a certificate from a test CA). It writes each
message it parsed as one line of its fields, which the tests read."""

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.security.pki import write_localhost_server
from tests.support.daemon import start_daemon, stop_daemon
from tests.support.ports import free_port

FIELDS = (
    "%pri%|%syslogfacility-text%|%syslogseverity-text%|%hostname%|%app-name%|%procid%|"
    "%msgid%|%structured-data%|%msg%\\n"
)


class Rsyslog:
    """start() / stop(); `udp_port`, `tcp_port` (plain) or `tls_port` and `ca_pem` (tls)."""

    def __init__(self, *, tls: bool = False, address: str = "127.0.0.1", netns: str = ""):
        self.address, self.netns = address, netns
        self.folder = Path(tempfile.mkdtemp(prefix="ssm-rsyslog-"))
        self.messages = self.folder / "messages.log"
        self.process: subprocess.Popen | None = None
        self.udp_port = self.tcp_port = self.tls_port = 0
        lines = [f'global(workDirectory="{self.folder}"']
        if tls:
            self.tls_port = free_port()
            self.ca_pem = write_localhost_server(self.folder, "Syslog Test CA")
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
                f'input(type="imtcp" port="{self.tls_port}" address="{address}")',
            ]
        else:
            self.udp_port, self.tcp_port = free_port(), free_port()
            lines += [
                ")",
                'module(load="imudp")',
                'module(load="imtcp")',
                f'input(type="imudp" port="{self.udp_port}" address="{address}")',
                f'input(type="imtcp" port="{self.tcp_port}" address="{address}")',
            ]
        lines += [
            f'template(name="fields" type="string" string="{FIELDS}")',
            f'*.* action(type="omfile" file="{self.messages}" template="fields")',
        ]
        self.conf = self.folder / "rsyslog.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, deadline: float = 10.0) -> "Rsyslog":
        binary = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
        inside = ["ip", "netns", "exec", self.netns] if self.netns else []
        ports = [p for p in (self.udp_port, self.tcp_port, self.tls_port) if p]

        def listening() -> bool:
            sockets = subprocess.run(
                [*inside, "ss", "-Hlntu"], capture_output=True, text=True
            ).stdout
            return all(f"{self.address}:{port} " in sockets for port in ports)

        self.process = start_daemon(
            [*inside, binary, "-n", "-f", str(self.conf), "-i", str(self.folder / "rsyslogd.pid")],
            self.folder / "rsyslogd.out",
            listening,
            deadline=deadline,
        )
        return self

    def stop(self) -> None:
        stop_daemon(self.process)
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
