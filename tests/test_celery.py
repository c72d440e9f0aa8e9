"""Celery: eager in-process without a broker, and real workers against the local Redis."""

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

from photosearch.celery import app
from profiles.models import Photo
from profiles.services.imports import folder_import
from search.tasks import embed_photos_task

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("PHOTOSEARCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.mark.django_db
def test_without_a_broker_tasks_run_in_process(photo_folder, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}), profile_name="p")
    assert app.conf.task_always_eager

    result = embed_photos_task.delay()

    assert result.get() == {"model": encoder.model_id, "photos": 2, "batches": 1}
    assert not Photo.objects.filter(embedding__isnull=True).exists()


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


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_embeds_through_redis(photo_folder, media_root, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2, "c.jpg": 3}), profile_name="p")
    workers = Workers(media_root, PHOTOSEARCH_EMBED_TASK_SIZE="2")
    workers.start()
    try:
        result = workers.send("search.tasks.embed_photos_task")
        assert result.get(timeout=180) == {"model": encoder.model_id, "photos": 3, "batches": 2}
        _wait_for(lambda: not Photo.objects.filter(embedding__isnull=True).exists(), 120, "both batches")
    finally:
        log = workers.stop()
    assert log.count("search.tasks.embed_batch_task") >= 2 and "succeeded" in log
    assert set(Photo.objects.values_list("embedding_model", flat=True)) == {encoder.model_id}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_the_batch_is_redone(photo_folder, media_root):
    folder_import(path=photo_folder({f"{i:02}.jpg": i for i in range(40)}), profile_name="p")
    # ViT-B-32 (random weights: same FLOPs) on CPU is slow enough to be killed in the middle of the batch.
    workers = Workers(
        media_root,
        PHOTOSEARCH_CLIP_MODEL="ViT-B-32",
        PHOTOSEARCH_EMBED_BATCH_SIZE="2",
        PHOTOSEARCH_CAPTIONER="none",
        PHOTOSEARCH_BROKER_VISIBILITY_TIMEOUT="3",
    )
    ids = list(Photo.objects.values_list("id", flat=True))
    first = workers.start()
    try:
        workers.send("search.tasks.embed_batch_task", photo_ids=ids)
        _wait_for(lambda: Photo.objects.filter(embedding__isnull=False).exists(), 180, "the first committed chunk")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        done_when_killed = Photo.objects.filter(embedding__isnull=False).count()
        assert 0 < done_when_killed < len(ids)

        workers.start()  # the message was never acknowledged: Redis hands it to this worker
        _wait_for(lambda: not Photo.objects.filter(embedding__isnull=True).exists(), 240, "the redelivered batch")
    finally:
        log = workers.stop()
    assert set(Photo.objects.values_list("embedding_model", flat=True)) == {"ViT-B-32/random-seed0"}
    assert Photo.objects.filter(embedding__isnull=False).count() == len(ids)
    assert f"'embedded': {len(ids) - done_when_killed}" in log  # the redo embedded only what was left
