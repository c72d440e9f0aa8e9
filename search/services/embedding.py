"""Embedding: the photos without a vector for the current model, in batches claimed with SKIP LOCKED, through the
image tower (and the captioner) into their rows."""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from pgvector import HalfVector
from PIL import Image

from profiles.models import Photo
from search.ml.captions import Captioner, get_captioner
from search.ml.encoders import Encoder, get_encoder
from search.selectors import photos_pending_embedding
from search.services.index_builds import embedding_index_ensure, embedding_profile_indexes_ensure, text_index_flush

logger = logging.getLogger(__name__)


CHUNK_BATCHES = 8  # batches claimed per transaction: big enough to keep the loader threads busy


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
    photo_ids: Sequence[int] | None = None,
    batch_size: int = 32,
    encoder: Encoder | None = None,
    captioner: Captioner | None = None,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> EmbedSummary:
    """Embed and caption every photo (of ``profile_ids``, or just ``photo_ids``) without a vector from the model.

    Claimed with ``FOR UPDATE SKIP LOCKED`` and written in the same transaction, so two runs never embed the same
    photo and a killed run redoes only its chunk. Unreadable photos are reported and left. Ends by ensuring the HNSW
    indexes (the model's, big profiles').
    """
    encoder = encoder or get_encoder()
    captioner = captioner or get_captioner(encoder)
    summary = EmbedSummary(model_id=encoder.model_id)
    pending = photos_pending_embedding(model_id=encoder.model_id, profile_ids=profile_ids)
    if photo_ids is not None:
        pending = pending.filter(id__in=list(photo_ids))
    if on_start is not None:
        on_start(pending.count())
    failed_ids: set[int] = set()
    touched_profiles: set[int] = set()
    with ThreadPoolExecutor(max_workers=workers or loader_threads(device=encoder.device)) as pool:
        while True:
            with transaction.atomic():
                chunk = list(
                    pending.exclude(id__in=failed_ids)
                    .only("id", "thumbnail", "profile_id")
                    .select_for_update(skip_locked=True, of=("self",))[: batch_size * CHUNK_BATCHES]
                )
                if not chunk:
                    break
                for photos, pixels in _prefetched_batches(pool, chunk, batch_size, encoder.preprocess, summary):
                    if photos:
                        _batch_store(photos, pixels, encoder, captioner)
                        summary.embedded += len(photos)
                        touched_profiles.update(photo.profile_id for photo in photos)
                    if on_batch is not None:
                        on_batch(len(photos))
            failed_ids.update(photo_id for photo_id, _ in summary.failed)
    if summary.embedded:
        embedding_index_ensure(model_id=encoder.model_id, dimensions=encoder.dimensions)
        embedding_profile_indexes_ensure(
            model_id=encoder.model_id, dimensions=encoder.dimensions, profile_ids=touched_profiles
        )
        text_index_flush()  # the captions written changed the photos' words
    return summary


def _batch_store(photos: list[Photo], pixels, encoder: Encoder, captioner: Captioner) -> None:
    vectors = encoder.encode_pixels(pixels)
    captions = captioner.caption(vectors, pixels)
    now = timezone.now()
    for photo, vector, caption in zip(photos, vectors, captions, strict=True):
        photo.embedding = HalfVector(vector)
        photo.embedding_model = encoder.model_id
        photo.embedded_at = now
        photo.caption = caption
    Photo.objects.bulk_update(photos, ["embedding", "embedding_model", "embedded_at", "caption"])


def _prefetched_batches(
    pool: ThreadPoolExecutor, photos: list[Photo], batch_size: int, preprocess, summary: EmbedSummary
) -> Iterator[tuple[list[Photo], object]]:
    """Yield (photos, stacked pixels) per batch, with at most two batches loading ahead of the one being embedded."""
    import torch

    pending: deque = deque()
    queue = iter(photos)

    def submit(count: int) -> None:
        for photo in islice(queue, count):
            pending.append((photo, pool.submit(thumbnail_pixels, photo=photo, preprocess=preprocess)))

    submit(batch_size * 3)
    while pending:
        batch, tensors = [], []
        for _ in range(min(batch_size, len(pending))):
            photo, future = pending.popleft()
            try:
                tensors.append(future.result())
                batch.append(photo)
            except (OSError, ValueError) as exc:
                reason = f"cannot read thumbnail {photo.thumbnail.name!r} ({exc})"
                logger.warning("Photo %s: %s", photo.pk, reason)
                summary.failed.append((photo.pk, reason))
        submit(batch_size)
        yield batch, (torch.stack(tensors) if tensors else None)


def thumbnail_pixels(*, photo: Photo, preprocess):
    with default_storage.open(photo.thumbnail.name, "rb") as fh:  # type: ignore[arg-type]  # imported: it has one
        image = Image.open(fh)
        image.load()
    return preprocess(image.convert("RGB"))


def loader_threads(*, device: str) -> int:
    """PHOTOSEARCH_EMBED_WORKERS, else one on CPU (the model uses every core) and one per core on a GPU."""
    if settings.PHOTOSEARCH_EMBED_WORKERS:
        return settings.PHOTOSEARCH_EMBED_WORKERS
    return max(2, os.cpu_count() or 2) if device.startswith("cuda") else 1


def photos_embed_enqueue(*, profile_ids: Sequence[int] | None = None) -> None:
    """Queue embedding (and word reading) of ``profile_ids``' pending photos once the transaction commits. A model
    that cannot load fails neither the words nor the import: the log says how to finish."""
    from search.tasks import embed_photos_task

    transaction.on_commit(lambda: embed_photos_task.delay(profile_ids=list(profile_ids) if profile_ids else None))


def photos_embed_after_import(*, profile_id: int, changed: int, embed: bool, **_signal: object) -> None:
    """``import_finished`` receiver: queue the changed photos for embedding, unless ``--no-embed`` or
    PHOTOSEARCH_AUTO_EMBED is off."""
    if embed and changed and settings.PHOTOSEARCH_AUTO_EMBED:
        photos_embed_enqueue(profile_ids=[profile_id])


def photos_reembed(*, profile_ids: Sequence[int]) -> int:
    """Drop the vectors of these profiles' photos and queue them for embedding again; returns how many."""
    count = Photo.objects.filter(profile_id__in=profile_ids, duplicate_of__isnull=True).update(
        embedding=None, embedding_model="", embedded_at=None
    )
    photos_embed_enqueue(profile_ids=profile_ids)
    return count
