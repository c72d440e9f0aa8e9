"""A real Celery worker on the local Redis, killed with SIGKILL in the middle of an import task: the task is
redelivered to the next worker and the import completes once — every photo exactly once, the job succeeded.

(tests/test_celery.py does the same for an embedding batch.)
"""

from __future__ import annotations

import signal

import pytest

from profiles.models import ImportJob, Photo
from profiles.services.imports import import_job_create
from profiles.services.profiles import profile_get_or_create
from tests.conftest import image_bytes
from tests.support.workers import Workers, wait_for

# Slow (about 100 s here: two worker start-ups and the redelivery wait); the default run has the embedding variant.
pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_mid_import_gets_the_task_redelivered_and_the_import_completes_once(photo_folder, media_root):
    count = 40
    folder = photo_folder({f"{i:03}.jpg": i for i in range(count)})
    for i in range(count):  # large images: each takes a moment, so the kill lands mid-import
        (folder / f"{i:03}.jpg").write_bytes(image_bytes(i, size=(1800, 1350)))
    profile = profile_get_or_create(source_kind="folder", handle="trip", source_options={"path": str(folder)})
    job = import_job_create(profile=profile)
    workers = Workers(media_root, PHOTOSEARCH_BROKER_VISIBILITY_TIMEOUT="3", PHOTOSEARCH_AUTO_EMBED="false")
    first = workers.start()
    try:
        workers.send("profiles.tasks.import_job_task", job_id=job.pk)
        wait_for(lambda: Photo.objects.count() >= 3, 180, "the first imported photos")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = Photo.objects.count()
        assert 0 < at_kill < count

        workers.start()  # never acknowledged: Redis hands the task to this worker after the visibility timeout
        wait_for(
            lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.SUCCEEDED, 240, "the redelivered import"
        )
    finally:
        log = workers.stop()
    job.refresh_from_db()
    assert Photo.objects.count() == count
    assert sorted(Photo.objects.values_list("source_id", flat=True)) == [f"{i:03}.jpg" for i in range(count)]
    # The redelivered run found the killed run's photos already there and imported only the rest.
    assert (job.imported, job.unchanged, job.failed, job.skipped) == (count - at_kill, at_kill, 0, 0), log[-3000:]
    assert ImportJob.objects.count() == 1
    assert "import_job_task" in log and "succeeded" in log
