"""Real ``celery worker`` processes on the local Redis, on a queue of their own, sharing the test's database: shared by
tests/test_celery.py and the hardening tests (not a test module)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("PHOTOSEARCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class Workers:
    """Real `celery worker` processes on a queue of their own, sharing this test's database."""

    def __init__(self, media_root: Path, **env):
        self.queue = f"test-{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "photosearch.settings",
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_RESULT_BACKEND": REDIS_URL,
            "PHOTOSEARCH_TASK_QUEUE": self.queue,
            "PHOTOSEARCH_CLIP_MODEL": "photosearch-tiny",
            "PHOTOSEARCH_CLIP_PRETRAINED": "none",
            "PHOTOSEARCH_DEVICE": "cpu",
            "PHOTOSEARCH_DATA_DIR": str(settings.DATA_DIR),
            "PHOTOSEARCH_MEDIA_ROOT": str(media_root),
            "PHOTOSEARCH_EMBEDDED_DB_NAME": connection.settings_dict["NAME"],
            **env,
        }
        if settings.DATABASE_URL:
            self.env["DATABASE_URL"] = settings.DATABASE_URL.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
        # Not the current app: shared tasks queued later in this process (eager, no broker) must stay in-process.
        self.client = Celery(broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
        self.client.conf.broker_transport_options = {
            "visibility_timeout": int(env.get("PHOTOSEARCH_BROKER_VISIBILITY_TIMEOUT", 3600))
        }
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "photosearch",
                "worker",
                "--pool=solo",
                "-Q",
                self.queue,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.processes.append(process)
        return process

    def send(self, name: str, **kwargs):
        return self.client.send_task(name, kwargs=kwargs, queue=self.queue)

    def stop(self) -> str:
        logs = []
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                logs.append(process.communicate(timeout=30)[0])
            except subprocess.TimeoutExpired:
                process.kill()
                logs.append(process.communicate()[0])
        return "\n".join(log or "" for log in logs)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)
