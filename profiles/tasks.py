"""Celery tasks for imports: thin shells over profiles.services."""

from __future__ import annotations

from celery import shared_task

from profiles.services.imports import ImportBusy, import_job_run
from profiles.services.photos import ImportCancelled
from profiles.sources.base import SourceError, SourceUnavailable


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(SourceUnavailable,),
    retry_backoff=30,
    retry_backoff_max=900,
    max_retries=5,
)
def import_job_task(self, job_id: int) -> dict:
    """Run import job ``job_id``; network trouble is retried with backoff. A busy profile refuses the job at once,
    not later: the running import already fetches what this one would."""
    try:
        job = import_job_run(job_id=job_id)
    except ImportBusy as exc:
        return {"job": job_id, "status": "already running" if exc.already_running else "refused", "error": str(exc)}
    except ImportCancelled as exc:  # its profile or job was deleted meanwhile: nothing to retry
        return {"job": job_id, "status": "cancelled", "error": str(exc)}
    except SourceError as exc:
        if isinstance(exc, SourceUnavailable):
            raise
        return {"job": job_id, "status": "stopped", "error": str(exc)}
    return {"job": job.pk, "status": job.status, "imported": job.imported, "skipped": job.skipped}
