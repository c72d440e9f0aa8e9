"""Celery tasks for indexing: thin shells over search.services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from search.services import photos_embed


@shared_task(acks_late=True, reject_on_worker_lost=True)
def embed_photos_task(profile_ids: list[int] | None = None, batch_size: int | None = None) -> dict:
    """Embed pending photos (optionally of some profiles). Safe to redeliver: work is claimed row by row."""
    summary = photos_embed(
        profile_ids=profile_ids, batch_size=batch_size or settings.PHOTOSEARCH_EMBED_BATCH_SIZE
    )
    return {"model": summary.model_id, "embedded": summary.embedded, "failed": len(summary.failed)}
