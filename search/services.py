"""Writes for search: the index half of the data flow (thumbnails → model → vectors in Postgres)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from pgvector import HalfVector
from psycopg import sql
from PIL import Image

from profiles.models import Photo
from search.encoders import Encoder, EncoderUnavailable, get_encoder
from search.selectors import embedding_expression, embedding_index_name, photos_pending_embedding

logger = logging.getLogger(__name__)


@dataclass
class EmbedSummary:
    model_id: str
    embedded: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (photo id, reason)

    def __str__(self) -> str:
        return f"{self.embedded} embedded with {self.model_id}, {len(self.failed)} failed"


def photos_embed(
    *,
    profile_ids: Sequence[int] | None = None,
    batch_size: int = 32,
    encoder: Encoder | None = None,
    on_start: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> EmbedSummary:
    """Embed every photo that has no vector from the configured model, ``batch_size`` photos at a time.

    Each batch is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and written in the same transaction, so two
    workers never embed the same photo and a worker killed mid-batch leaves the batch to be redone. Photos whose
    thumbnail cannot be read are reported and left for a later run. Ends by making sure the model's HNSW index exists.
    """
    encoder = encoder or get_encoder()
    summary = EmbedSummary(model_id=encoder.model_id)
    if on_start is not None:
        on_start(photos_pending_embedding(model_id=encoder.model_id, profile_ids=profile_ids).count())
    failed_ids: set[int] = set()
    while True:
        with transaction.atomic():
            batch = list(
                photos_pending_embedding(model_id=encoder.model_id, profile_ids=profile_ids)
                .exclude(id__in=failed_ids)
                .only("id", "thumbnail")
                .select_for_update(skip_locked=True, of=("self",))[:batch_size]
            )
            if not batch:
                break
            loaded = _thumbnails_load(batch, summary, failed_ids)
            if loaded:
                vectors = encoder.encode_images([image for _, image in loaded])
                now = timezone.now()
                photos = []
                for (photo, _), vector in zip(loaded, vectors):
                    photo.embedding = HalfVector(vector)
                    photo.embedding_model = encoder.model_id
                    photo.embedded_at = now
                    photos.append(photo)
                Photo.objects.bulk_update(photos, ["embedding", "embedding_model", "embedded_at"])
                summary.embedded += len(photos)
        if on_batch is not None:
            on_batch(len(batch))
    if summary.embedded:
        embedding_index_ensure(model_id=encoder.model_id, dimensions=encoder.dimensions)
    return summary


def photos_embed_enqueue(*, profile_ids: Sequence[int] | None = None) -> None:
    """Queue embedding of the pending photos of ``profile_ids`` after the current transaction commits.

    Without a broker the task runs in-process right away; if the model cannot be loaded then, the import that asked
    for it still succeeds and the log says how to finish (``embed_photos``)."""
    from search.tasks import embed_photos_task

    def send() -> None:
        try:
            embed_photos_task.delay(profile_ids=list(profile_ids) if profile_ids else None)
        except EncoderUnavailable as exc:
            logger.warning("Photos imported but not embedded: %s Then run: python manage.py embed_photos", exc)

    transaction.on_commit(send)


def photos_reembed(*, profile_ids: Sequence[int]) -> int:
    """Drop the vectors of these profiles' photos and queue them for embedding again; returns how many."""
    count = Photo.objects.filter(profile_id__in=profile_ids, duplicate_of__isnull=True).update(
        embedding=None, embedding_model="", embedded_at=None
    )
    photos_embed_enqueue(profile_ids=profile_ids)
    return count


def embedding_index_ensure(*, model_id: str, dimensions: int) -> str:
    """Create the partial HNSW index (cosine, halfvec) for ``model_id``'s vectors if it does not exist yet."""
    name = embedding_index_name(model_id)
    with transaction.atomic(), connection.cursor() as cursor:
        # Serialise concurrent creators: IF NOT EXISTS alone races between two sessions.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
        # Inside a caller's transaction, deferred FK checks on new rows would block CREATE INDEX: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # DDL takes no bind parameters: the model id goes in as a properly quoted literal.
        predicate = sql.Literal(model_id).as_string(cursor.connection)
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON profiles_photo "
            f"USING hnsw ({embedding_expression(dimensions)} halfvec_cosine_ops) "
            f"WHERE embedding_model = {predicate}"
        )
    return name


def _thumbnails_load(
    batch: list[Photo], summary: EmbedSummary, failed_ids: set[int]
) -> list[tuple[Photo, Image.Image]]:
    loaded = []
    for photo in batch:
        try:
            with default_storage.open(photo.thumbnail.name, "rb") as fh:
                image = Image.open(fh)
                image.load()
            loaded.append((photo, image.convert("RGB")))
        except (OSError, ValueError) as exc:
            reason = f"cannot read thumbnail {photo.thumbnail.name!r} ({exc})"
            logger.warning("Photo %s: %s", photo.pk, reason)
            summary.failed.append((photo.pk, reason))
            failed_ids.add(photo.pk)
    return loaded
