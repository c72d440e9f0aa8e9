"""Import jobs: queued, claimed once (one running import per profile), run through ingest, their progress and
end written, ``import_finished`` sent when they end."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from photosearch.errors import StateConflict
from profiles.models import ImportJob, Photo, Profile, SourceKind
from profiles.selectors import import_job_running, import_lock_key, job_stop_kind, profile_source_options
from profiles.services.photos import ImportCancelled, _profile_gone, records_ingest
from profiles.services.profiles import profile_get_or_create
from profiles.signals import import_finished
from profiles.sources.base import SkippedRecord, Source, SourceError, SourceNotFound, SourceRecord
from profiles.sources.registry import BuildContext, source_build
from profiles.thumbnails import thumbnail_release

logger = logging.getLogger(__name__)


MAX_PROBLEMS_KEPT = 200


PROGRESS_WRITE_SECONDS = 1.0


class ImportBusy(StateConflict):
    """The job cannot start: another import of the profile runs (the job is ``refused``), or this job runs in
    another process (``already_running``: a redelivered task; the job is left alone)."""

    def __init__(self, message: str, *, already_running: bool = False):
        super().__init__(message)
        self.already_running = already_running


def import_job_create(*, profile: Profile, options: dict[str, Any] | None = None) -> ImportJob:
    """A queued import of ``profile`` with per-run ``options`` (fast_update, limit, from_dir…)."""
    return ImportJob.objects.create(profile=profile, options=options or {})


def import_job_enqueue(*, profile: Profile, options: dict[str, Any] | None = None) -> ImportJob:
    """Create an import job and hand it to a Celery worker once the transaction commits; ``ImportBusy``, with
    nothing created, while another import of the profile runs."""
    from profiles.tasks import import_job_task

    running = import_job_running(profile_id=profile.pk)
    if running is not None:
        raise ImportBusy(_import_busy_message(profile=profile, running=running))
    job = import_job_create(profile=profile, options=options)

    def send() -> None:
        try:
            import_job_task.delay(job.pk)
        except Exception:
            if not settings.CELERY_TASK_ALWAYS_EAGER:
                raise
            # In-process (no broker): the job row says what went wrong; the request that queued it must not fail.
            logger.exception("Import job #%s failed", job.pk)

    transaction.on_commit(send)
    return job


def profile_create_with_import(
    *, source_kind: str, handle: str, display_name: str = "", source_options: dict | None = None
) -> tuple[Profile, ImportJob]:
    """Create a profile and queue its first import, atomically (the task is sent once both rows are committed)."""
    with transaction.atomic():
        profile = profile_get_or_create(
            source_kind=source_kind, handle=handle, display_name=display_name, source_options=source_options
        )
        return profile, import_job_enqueue(profile=profile)


def import_job_run(
    *,
    job_id: int,
    on_start: Callable[[int | None], None] | None = None,
    on_item: Callable[[SourceRecord | SkippedRecord, str, str], None] | None = None,
    embed: bool = True,
) -> ImportJob:
    """Run a queued (or interrupted) import job to the end; return it with its final status and counts.

    One running import per profile (``ImportBusy``; the job ends ``refused``). A refusing or failing source ends the
    job ``interrupted`` (a rerun continues), a missing one ``failed``; the ``SourceError`` is raised again. A profile
    or job deleted meanwhile raises ``ImportCancelled``. Otherwise ``import_finished`` is sent with ``embed``.
    """
    try:
        job = _import_job_claim(job_id)
    except ImportBusy as exc:
        if not exc.already_running:
            _import_job_refuse(job_id, str(exc))
        raise
    if job is None:
        logger.info("Import job #%s has already finished; nothing to do.", job_id)
        return ImportJob.objects.get(pk=job_id)
    progress = _JobProgress(job)
    renditions: set[str] = set()
    cancelled = False
    try:
        source = _source_for(job)
        progress.start(getattr(source, "total", None))
        if on_start is not None:
            on_start(job.total)

        def item_done(record: SourceRecord | SkippedRecord, outcome: str, reason: str) -> None:
            progress.count(record, outcome, reason)
            if on_item is not None:
                on_item(record, outcome, reason)

        records_ingest(
            profile=job.profile, records=source.records(), read=source.read, on_item=item_done, renditions=renditions
        )
        progress.finish(ImportJob.Status.SUCCEEDED, "")  # in the try: the job may have gone in the last second
    except SourceError as exc:
        status = ImportJob.Status.FAILED if isinstance(exc, SourceNotFound) else ImportJob.Status.INTERRUPTED
        progress.finish(status, str(exc), stopped_by=job_stop_kind(exc=exc))
        raise
    except ImportCancelled:
        cancelled = True  # its photos went with the profile, the job row with it: nothing to write, no file to keep
        for name in renditions:
            thumbnail_release(name)  # kept while a photo still uses it (the job alone was deleted)
        raise
    except Exception as exc:
        progress.finish(ImportJob.Status.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        _import_lock_release(job.profile_id)
        if not cancelled:
            import_finished.send(
                sender=ImportJob, profile_id=job.profile_id, changed=job.imported + job.updated, embed=embed
            )
    return job


def folder_import(
    *,
    path: Path,
    profile_name: str,
    on_start: Callable[[int | None], None] | None = None,
    on_item: Callable[[SourceRecord | SkippedRecord, str, str], None] | None = None,
) -> ImportJob:
    """Import every image under ``path`` into the folder profile ``profile_name`` (created if missing), now."""
    path = Path(path).expanduser().resolve()
    profile = profile_get_or_create(
        source_kind=SourceKind.FOLDER, handle=profile_name, source_options={"path": str(path)}
    )
    job = import_job_create(profile=profile, options={"path": str(path)})
    return import_job_run(job_id=job.pk, on_start=on_start, on_item=on_item)


def _import_job_claim(job_id: int) -> ImportJob | None:
    """The job, now running; None if it has already finished (a redelivered task); ``ImportBusy`` if a live process
    holds the profile's lock.

    A session-level advisory lock, because PostgreSQL drops it when the process dies: a job marked running whose lock
    is free lost its process and is taken over at once, not after a stale heartbeat.
    """
    now = timezone.now()
    job = ImportJob.objects.select_related("profile").get(pk=job_id)
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.INTERRUPTED, ImportJob.Status.RUNNING):
        return None
    if not _import_lock_take(job.profile_id):
        running = ImportJob.objects.filter(profile=job.profile, status=ImportJob.Status.RUNNING).first()
        if running is not None and running.pk == job_id:
            raise ImportBusy(f"Import job #{job_id} is already running.", already_running=True)
        raise ImportBusy(_import_busy_message(profile=job.profile, running=running))
    try:
        with transaction.atomic():
            ImportJob.objects.filter(profile=job.profile, status=ImportJob.Status.RUNNING).exclude(pk=job_id).update(
                status=ImportJob.Status.INTERRUPTED,
                finished_at=now,
                last_error="The process running this import stopped (killed or crashed); a later run continued it.",
            )
            claimed = ImportJob.objects.filter(
                pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.INTERRUPTED, ImportJob.Status.RUNNING]
            ).update(status=ImportJob.Status.RUNNING, started_at=now, heartbeat_at=now, finished_at=None, last_error="")
    except BaseException:
        _import_lock_release(job.profile_id)
        raise
    if not claimed:  # finished in the meantime
        _import_lock_release(job.profile_id)
        return None
    return ImportJob.objects.select_related("profile").get(pk=job_id)


def _import_busy_message(*, profile: Profile, running: ImportJob | None) -> str:
    """The reason an import of ``profile`` cannot start while ``running`` runs (shared by jobs and the API)."""
    return f"Another import of {profile} is running (job #{running.pk if running else '?'}); try again when it ends."


def _import_job_refuse(job_id: int, reason: str) -> None:
    """End a job that could not start in its final state, with the reason (it would otherwise stay queued forever)."""
    ImportJob.objects.filter(pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.INTERRUPTED]).update(
        status=ImportJob.Status.REFUSED, last_error=reason, finished_at=timezone.now()
    )


def _import_lock_take(profile_id: int, *, function: str = "pg_try_advisory_lock") -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", list(import_lock_key(profile_id=profile_id)))
        return cursor.fetchone()[0]


def _import_lock_release(profile_id: int) -> None:
    _import_lock_take(profile_id, function="pg_advisory_unlock")


class _JobProgress:
    """Counts kept on the job row, written at most once a second so the admin shows live progress cheaply."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.last_write = 0.0

    def start(self, total: int | None) -> None:
        self.job.total = total
        self._write(force=True)

    def count(self, record: SourceRecord | SkippedRecord, outcome: str, reason: str) -> None:
        setattr(self.job, outcome, getattr(self.job, outcome) + 1)
        if reason and len(self.job.problems) < MAX_PROBLEMS_KEPT:
            self.job.problems.append([record.source_id, reason])
        self._write()

    def finish(self, status: str, error: str, stopped_by: str = "") -> None:
        self.job.status = status
        self.job.last_error = error
        # In the run's options (no column of its own): what stopped it decides what the pages advise.
        self.job.options = {k: v for k, v in self.job.options.items() if k != "stopped_by"} | (
            {"stopped_by": stopped_by} if stopped_by else {}
        )
        self.job.finished_at = timezone.now()
        self._write(force=True)

    def _write(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.last_write < PROGRESS_WRITE_SECONDS:
            return
        self.last_write = time.monotonic()
        self.job.heartbeat_at = timezone.now()
        fields = (
            "status",
            "total",
            "imported",
            "updated",
            "unchanged",
            "skipped",
            "failed",
            "problems",
            "last_error",
            "heartbeat_at",
            "finished_at",
            "options",
        )
        if not ImportJob.objects.filter(pk=self.job.pk).update(**{name: getattr(self.job, name) for name in fields}):
            # The row is gone: deleted with its profile (or alone) while the import ran.
            if Profile.objects.filter(pk=self.job.profile_id).exists():
                raise ImportCancelled(f"Import job #{self.job.pk} was deleted while it ran; the import stopped.")
            raise ImportCancelled(_profile_gone(self.job.profile))


def _source_for(job: ImportJob) -> Source:
    """The job's importer from the source registry (which refuses paths outside PHOTOSEARCH_IMPORT_ROOTS), reaching
    the source as the profile was imported."""
    profile = job.profile
    context = BuildContext(
        handle=profile.handle,
        options={**profile_source_options(profile=profile), **job.options},
        known_post=lambda post: Photo.objects.filter(profile=profile, extra__post=post).exists(),
        data_dir=settings.DATA_DIR,
    )
    return source_build(context, kind=profile.source_kind)
