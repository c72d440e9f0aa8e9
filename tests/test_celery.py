"""Celery: eager in-process without a broker, and a real worker against the local Redis."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from photosearch.celery import app
from profiles.models import Photo
from profiles.services import folder_import
from search.tasks import embed_photos_task

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("PHOTOSEARCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.mark.django_db
def test_without_a_broker_tasks_run_in_process(photo_folder, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}), profile_name="p")
    assert app.conf.task_always_eager

    result = embed_photos_task.delay()

    assert result.get() == {"model": encoder.model_id, "embedded": 2, "failed": 0}
    assert not Photo.objects.filter(embedding__isnull=True).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_embeds_through_redis(photo_folder, media_root, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2, "c.jpg": 3}), profile_name="p")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "photosearch.settings",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "PHOTOSEARCH_CLIP_MODEL": "photosearch-tiny",
        "PHOTOSEARCH_CLIP_PRETRAINED": "none",
        "PHOTOSEARCH_DEVICE": "cpu",
        "PHOTOSEARCH_DATA_DIR": str(settings.DATA_DIR),
        "PHOTOSEARCH_MEDIA_ROOT": str(media_root),
        # The worker must see this test's database, on the same server.
        "PHOTOSEARCH_EMBEDDED_DB_NAME": connection.settings_dict["NAME"],
    }
    if settings.DATABASE_URL:
        env["DATABASE_URL"] = settings.DATABASE_URL.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "photosearch", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    client = Celery(broker=REDIS_URL, backend=REDIS_URL)
    try:
        result = client.send_task("search.tasks.embed_photos_task", kwargs={"batch_size": 2}, queue=queue)
        assert result.get(timeout=180) == {"model": encoder.model_id, "embedded": 3, "failed": 0}
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            log, _ = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            log, _ = worker.communicate()
    assert "search.tasks.embed_photos_task" in log and "succeeded" in log
    assert set(Photo.objects.values_list("embedding_model", flat=True)) == {encoder.model_id}
