"""Import jobs through the service, with the source faked at its interface (profiles.sources.base.Source)."""

import dataclasses
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from profiles.fetch import TransientFetchError
from profiles.models import ImportJob, Photo, Profile
from profiles.selectors import import_job_running
from profiles.services.imports import ImportBusy, import_job_create, import_job_run
from profiles.sources import registry
from profiles.sources.base import SourceRecord, SourceRefused, SourceUnavailable
from profiles.tasks import import_job_task
from tests.conftest import image_bytes

pytestmark = pytest.mark.django_db


class FakeSource:
    """Yields records for seeds; raises ``fail_with`` after ``fail_after`` records, once (like a rate limit)."""

    def __init__(self, seeds, *, fail_after=None, fail_with=None, transient=()):
        self.seeds, self.fail_after, self.fail_with, self.transient = seeds, fail_after, fail_with, set(transient)
        self.total = len(seeds)

    def records(self):
        for index, seed in enumerate(self.seeds):
            if self.fail_after is not None and index == self.fail_after:
                raise self.fail_with
            yield SourceRecord(
                source_id=f"post{seed}",
                image_url=f"https://cdn.example/{seed}.jpg",
                text=f"post number {seed}",
                extra={"post": f"post{seed}"},
            )

    def read(self, record):
        if record.source_id in self.transient:
            raise TransientFetchError("HTTP 503 from cdn.example")
        return image_bytes(int(record.source_id.removeprefix("post")))


@pytest.fixture
def profile():
    return Profile.objects.create(source_kind="urls", handle="feed", source_options={"file": "unused"})


@pytest.fixture
def use_source(monkeypatch):
    def install(source):
        monkeypatch.setitem(
            registry.SOURCE_KINDS,
            "urls",
            dataclasses.replace(registry.SOURCE_KINDS["urls"], build=lambda context: source),
        )

    return install


def test_a_jobs_counts_match_the_rows(profile, use_source):
    use_source(FakeSource([1, 2, 3, 4], transient=["post3"]))

    job = import_job_run(job_id=import_job_create(profile=profile).pk)

    assert (job.status, job.total, job.imported, job.failed) == ("succeeded", 4, 3, 1)
    assert job.problems == [["post3", "HTTP 503 from cdn.example"]]
    assert job.imported == Photo.objects.filter(profile=profile).count()
    assert job.started_at <= job.finished_at


def test_a_refusal_interrupts_the_job_and_a_rerun_completes_it_exactly(profile, use_source):
    use_source(FakeSource([1, 2, 3, 4, 5], fail_after=2, fail_with=SourceRefused("401 Please wait a few minutes")))
    first = import_job_create(profile=profile)

    with pytest.raises(SourceRefused):
        import_job_run(job_id=first.pk)

    first.refresh_from_db()
    assert (first.status, first.imported, first.last_error) == ("interrupted", 2, "401 Please wait a few minutes")
    use_source(FakeSource([1, 2, 3, 4, 5]))
    second = import_job_run(job_id=import_job_create(profile=profile).pk)
    assert (second.imported, second.unchanged) == (3, 2)
    assert sorted(Photo.objects.values_list("source_id", flat=True)) == [f"post{i}" for i in range(1, 6)]


def test_only_one_import_per_profile_runs_at_a_time(profile, use_source):
    from django.db import connections

    use_source(FakeSource([1]))
    running = ImportJob.objects.create(profile=profile, status="running", heartbeat_at=timezone.now())
    waiting = import_job_create(profile=profile)
    # The live process running `running` holds the profile's import lock on its own connection.
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [0x70686F74, profile.pk])

        assert import_job_running(profile_id=profile.pk) == running
        with pytest.raises(ImportBusy, match=f"job #{running.pk}"):
            import_job_run(job_id=waiting.pk)
    finally:
        other.close()

    waiting.refresh_from_db()
    # Ended with the reason, not left queued forever; the running import fetches what it would have.
    assert waiting.status == "refused" and f"job #{running.pk}" in waiting.last_error and waiting.finished_at
    assert import_job_running(profile_id=profile.pk) is None  # marked running, but its process (lock) is gone


def test_a_stale_running_job_is_taken_over(profile, use_source):
    use_source(FakeSource([1]))
    stale = ImportJob.objects.create(
        profile=profile, status="running", heartbeat_at=timezone.now() - timedelta(hours=1)
    )

    assert import_job_run(job_id=stale.pk).status == "succeeded"


def test_a_redelivered_finished_job_does_nothing(profile, use_source):
    use_source(FakeSource([1]))
    job = import_job_run(job_id=import_job_create(profile=profile).pk)
    use_source(FakeSource([2]))

    assert import_job_run(job_id=job.pk).imported == 1
    assert Photo.objects.count() == 1


def test_the_task_reports_a_refusal_and_retries_transient_trouble(profile, use_source):
    use_source(FakeSource([1, 2], fail_after=1, fail_with=SourceRefused("429 Too Many Requests")))
    result = import_job_task.delay(import_job_create(profile=profile).pk).get()
    assert result["status"] == "stopped" and "429" in result["error"]

    use_source(FakeSource([1, 2], fail_after=1, fail_with=SourceUnavailable("network is down")))
    job = import_job_create(profile=profile)
    with pytest.raises(Retry, match="network is down"):
        import_job_task.apply(args=[job.pk], throw=True)
    job.refresh_from_db()
    assert (job.status, job.unchanged) == ("interrupted", 1)  # a retry claims it again and goes on


def test_new_photos_are_embedded_after_an_import(
    profile, use_source, settings, encoder, django_capture_on_commit_callbacks
):
    settings.PHOTOSEARCH_AUTO_EMBED = True
    use_source(FakeSource([1, 2]))

    with django_capture_on_commit_callbacks(execute=True):
        import_job_run(job_id=import_job_create(profile=profile).pk)

    assert set(Photo.objects.values_list("embedding_model", flat=True)) == {encoder.model_id}
