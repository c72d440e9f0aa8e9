"""Celery tasks for indexing, thin shells over search.services: batches of ids, safe to redeliver (``acks_late``).
Embedding batches go first, so photos are searchable by looks first; then OCR, then faces."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from search.ml.encoders import EncoderUnavailable, get_encoder
from search.ml.faces import get_face_engine
from search.ml.ocr import get_ocr_engine
from search.people_selectors import photos_pending_faces
from search.selectors import photos_pending_embedding, photos_pending_text_reading
from search.services.embedding import photos_embed
from search.services.faces import photos_find_faces
from search.services.persons import persons_update
from search.services.words_read import photos_read_text

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def embed_photos_task(profile_ids: list[int] | None = None) -> dict:
    """Queue a batch task per ``PHOTOSEARCH_EMBED_TASK_SIZE`` pending photos (of ``profile_ids``): embedding, then
    words, then faces. Without the model the rest still runs, and the log says how to provide the weights."""
    size = settings.PHOTOSEARCH_EMBED_TASK_SIZE
    try:
        model_id = get_encoder().model_id
    except EncoderUnavailable as exc:
        logger.warning(
            "Photos imported but not embedded (search by looks is off until the model is available): %s "
            "Then run: python manage.py embed_photos",
            exc,
        )
        summary: dict[str, Any] = {"model": None, "photos": 0, "batches": 0}
    else:
        ids = list(photos_pending_embedding(model_id=model_id, profile_ids=profile_ids).values_list("id", flat=True))
        batches = [ids[start : start + size] for start in range(0, len(ids), size)]
        for batch in batches:
            embed_batch_task.delay(batch)
        summary = {"model": model_id, "photos": len(ids), "batches": len(batches)}
    engine_id = get_ocr_engine().engine_id
    if engine_id:
        ids = list(
            photos_pending_text_reading(engine_id=engine_id, profile_ids=profile_ids).values_list("id", flat=True)
        )
        for start in range(0, len(ids), size):
            read_text_batch_task.delay(ids[start : start + size])
        summary.update(ocr=engine_id, ocr_photos=len(ids))
    faces_id = get_face_engine().engine_id
    if faces_id:
        ids = list(photos_pending_faces(engine_id=faces_id, profile_ids=profile_ids).values_list("id", flat=True))
        for start in range(0, len(ids), size):
            find_faces_batch_task.delay(ids[start : start + size])
        summary.update(faces=faces_id, faces_photos=len(ids))
    return summary


@shared_task(acks_late=True, reject_on_worker_lost=True)
def embed_batch_task(photo_ids: list[int]) -> dict:
    """Embed those of ``photo_ids`` that still need it (already-embedded ones are skipped, so redelivery is safe)."""
    summary = photos_embed(photo_ids=photo_ids, batch_size=settings.PHOTOSEARCH_EMBED_BATCH_SIZE)
    return {"model": summary.model_id, "embedded": summary.embedded, "failed": len(summary.failed)}


@shared_task(acks_late=True, reject_on_worker_lost=True)
def read_text_batch_task(photo_ids: list[int]) -> dict:
    """Read the words in the images of those of ``photo_ids`` not read by the configured engine yet."""
    summary = photos_read_text(photo_ids=photo_ids)
    return {"ocr": summary.engine_id, "read": summary.read, "failed": len(summary.failed)}


@shared_task(acks_late=True, reject_on_worker_lost=True)
def find_faces_batch_task(photo_ids: list[int]) -> dict:
    """Find the faces of those of ``photo_ids`` not looked at yet, then group the new faces into persons."""
    summary = photos_find_faces(photo_ids=photo_ids)
    persons = persons_update() if summary.engine_id else None
    return {
        "faces_engine": summary.engine_id,
        "scanned": summary.scanned,
        "faces": summary.faces,
        "failed": len(summary.failed),
        "persons_created": persons.created if persons else 0,
    }
