"""A real chronyd (Debian's) in a temporary folder, in the foreground, never touching the
machine's clock (-x): as an NTP server on a free loopback port, or as the client the server
under test configures (its sources folder and command socket are the settings' CHRONY_*)."""

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.daemon import start_daemon, stop_daemon
from tests.support.ports import free_port


class Chronyd:
    def __init__(self, *, serve: bool = False):
        self.folder = Path(tempfile.mkdtemp(prefix="ssm-chrony-"))  # 0700, as chronyd wants
        self.socket = self.folder / "chronyd.sock"
        self.sources = self.folder / "sources.d"
        self.sources.mkdir()
        self.port = free_port() if serve else 0
        lines = [
            f"port {self.port}",
            "cmdport 0",
            f"bindcmdaddress {self.socket}",
            f"pidfile {self.folder / 'chronyd.pid'}",
            f"driftfile {self.folder / 'drift'}",
            f"sourcedir {self.sources}",
        ]
        if serve:
            lines += ["local stratum 8", "allow 127.0.0.1"]
        self.conf = self.folder / "chrony.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen | None = None

    def start(self, deadline: float = 10.0) -> "Chronyd":
        binary = shutil.which("chronyd") or "/usr/sbin/chronyd"
        self.process = start_daemon(
            [binary, "-x", "-d", "-u", "root", "-f", str(self.conf)],
            self.folder / "chronyd.log",
            self.socket.exists,
            deadline=deadline,
        )
        return self

    def stop(self) -> None:
        stop_daemon(self.process)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
