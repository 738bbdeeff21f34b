"""The HTTPS server (nginx in front of granian) started exactly as deploy/services starts it,
in a folder of the test's own, on a free loopback port."""

import os
import subprocess
from pathlib import Path

from django.conf import settings


def _lib(command: str, *args: str, env=None) -> None:
    subprocess.run(
        ["bash", "-c", f'. deploy/lib.sh && {command} "$@"', command, *args],
        cwd=settings.BASE_DIR,
        env={**os.environ, **(env or {})},
        check=True,
    )


def start_web_server(test, folder: Path, port: int, **env) -> Path:
    """Start it serving the Browser Certificate of `folder`; stopped at the test's cleanup.
    Returns granian's pid file (nginx's is web-nginx.pid beside it)."""
    pid_file = folder / "web.pid"
    _lib(
        "start_web_server",
        f"127.0.0.1:{port}",
        str(folder),
        str(pid_file),
        str(folder / "web.log"),
        env={"DEBUG": "true", **env},
    )
    test.addCleanup(_lib, "stop_web_server", str(pid_file))
    return pid_file
