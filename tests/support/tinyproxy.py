"""A real HTTP proxy (Debian's tinyproxy) on a free loopback port, in the foreground, with
optional Basic authentication; its log tells which CONNECTs went through it."""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

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
        self.process = subprocess.Popen(
            [binary, "-d", "-c", str(self.conf)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"tinyproxy exited: {self.log.read_text()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"tinyproxy did not listen within {deadline} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
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
