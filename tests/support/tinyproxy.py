"""A real HTTP proxy (Debian's tinyproxy) on a free loopback port, in the foreground, with
optional Basic authentication; its log tells which CONNECTs went through it."""

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.support.daemon import start_daemon, stop_daemon
from tests.support.ports import free_port


class Tinyproxy:
    def __init__(self, *, user: str = "", password: str = ""):
        self.folder = Path(tempfile.mkdtemp(prefix="ssm-tinyproxy-"))
        self.port = free_port()
        self.log = self.folder / "tinyproxy.log"
        self.process: subprocess.Popen | None = None
        lines = [
            f"Port {self.port}",
            "Listen 127.0.0.1",
            "Timeout 30",
            "LogLevel Info",
            "MaxClients 20",
            "Allow 127.0.0.1",
        ]
        if user:
            lines.append(f"BasicAuth {user} {password}")
        self.conf = self.folder / "tinyproxy.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, deadline: float = 10.0) -> "Tinyproxy":
        binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                return False
            return True

        self.process = start_daemon(
            [binary, "-d", "-c", str(self.conf)], self.log, listening, deadline=deadline
        )
        return self

    def stop(self) -> None:
        stop_daemon(self.process)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def connects(self) -> list[str]:
        """The targets of the CONNECT requests it received (host:port)."""
        text = self.log.read_text() if self.log.exists() else ""
        return [
            line.rsplit("CONNECT ", 1)[1].split()[0]
            for line in text.splitlines()
            if "Request (file descriptor" in line and "CONNECT " in line
        ]
