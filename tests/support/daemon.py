"""Starting and stopping the real servers the tests run in the foreground (tinyproxy,
rsyslogd, chronyd): started, then polled with a deadline until they serve."""

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def start_daemon(
    argv: list[str], log: Path, ready: Callable[[], bool], *, deadline: float = 10.0
) -> subprocess.Popen:
    """Run `argv` with its output in `log`; return once `ready()`. RuntimeError with the end
    of its log when it exits first or is not ready within `deadline` seconds."""
    process = subprocess.Popen(argv, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited: {log.read_text()[-500:]}")
        if ready():
            return process
        time.sleep(0.05)
    stop_daemon(process)
    raise RuntimeError(f"{argv[0]} was not ready within {deadline} s: {log.read_text()[-500:]}")


def stop_daemon(process: subprocess.Popen | None) -> None:
    if process and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
