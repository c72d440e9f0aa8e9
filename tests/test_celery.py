"""Celery: eager in-process without a broker, and real workers against the local Redis."""

import signal

import pytest

from photosearch.celery import app
from profiles.models import Photo
from profiles.services.imports import folder_import
from search.tasks import embed_photos_task
from tests.support.workers import Workers, wait_for


@pytest.mark.django_db
def test_without_a_broker_tasks_run_in_process(photo_folder, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}), profile_name="p")
    assert app.conf.task_always_eager

    result = embed_photos_task.delay()

    assert result.get() == {"model": encoder.model_id, "photos": 2, "batches": 1}
    assert not Photo.objects.filter(embedding__isnull=True).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_embeds_through_redis(photo_folder, media_root, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2, "c.jpg": 3}), profile_name="p")
    workers = Workers(media_root, PHOTOSEARCH_EMBED_TASK_SIZE="2")
    workers.start()
    try:
        result = workers.send("search.tasks.embed_photos_task")
        assert result.get(timeout=180) == {"model": encoder.model_id, "photos": 3, "batches": 2}
        wait_for(lambda: not Photo.objects.filter(embedding__isnull=True).exists(), 120, "both batches")
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
        wait_for(lambda: Photo.objects.filter(embedding__isnull=False).exists(), 180, "the first committed chunk")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        done_when_killed = Photo.objects.filter(embedding__isnull=False).count()
        assert 0 < done_when_killed < len(ids)

        workers.start()  # the message was never acknowledged: Redis hands it to this worker
        wait_for(lambda: not Photo.objects.filter(embedding__isnull=True).exists(), 240, "the redelivered batch")
    finally:
        log = workers.stop()
    assert set(Photo.objects.values_list("embedding_model", flat=True)) == {"ViT-B-32/random-seed0"}
    assert Photo.objects.filter(embedding__isnull=False).count() == len(ids)
    assert f"'embedded': {len(ids) - done_when_killed}" in log  # the redo embedded only what was left
