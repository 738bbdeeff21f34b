"""A real Celery worker process bound to the test database and the test broker."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from ssm.celery import app

ROOT = Path(settings.BASE_DIR)


class CeleryWorker:
    """Start with `start()`, stop with `stop()`; use from a TransactionTestCase.

    Test processes run in parallel on one broker, each with its own database: each process
    sends its tasks to a queue of its own, which only its worker consumes (a worker of
    another process would run them against the other database)."""

    def __init__(self, name="test"):
        self.name = f"{name}-{os.getpid()}"
        self.queue = f"test-{os.getpid()}"
        self.process = None
        self.log_path = ROOT / "artifacts" / "logs" / f"celery-{self.name}.log"

    def _database_url(self) -> str:
        db = connection.settings_dict
        user, password = quote(db["USER"] or ""), quote(db["PASSWORD"] or "")
        return f"postgres://{user}:{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"

    def start(self, deadline=60.0):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            DATABASE_URL=self._database_url(),
            REDIS_URL=settings.REDIS_URL,
            CELERY_TASK_DEFAULT_QUEUE=self.queue,
        )
        celery = Path(sys.executable).with_name("celery")
        app.conf.task_default_queue = self.queue
        self.process = subprocess.Popen(
            [
                str(celery),
                "-A",
                "ssm",
                "worker",
                "-P",
                "solo",
                "-n",
                f"{self.name}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited; see {self.log_path}")
            replies = app.control.ping(
                destination=[f"{self.name}@{os.uname().nodename}"], timeout=0.5
            )
            if replies:
                return self
        raise RuntimeError(f"Celery worker did not answer within {deadline}s; see {self.log_path}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
