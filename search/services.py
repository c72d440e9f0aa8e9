"""Writes for search: the index half of the data flow (thumbnails → model → vectors in Postgres)."""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Count
from django.utils import timezone
from pgvector import HalfVector
from psycopg import sql
from PIL import Image

from profiles.models import TEXT_INDEX_NAME, Photo
from profiles.sources.text import text_clean
from search.captions import Captioner, get_captioner
from search.encoders import Encoder, EncoderUnavailable, get_encoder
from search.indexes import (
    embedding_expression,
    embedding_index_name,
    embedding_profile_index_name,
    hnsw_graph_shape,
    text_profile_index_name,
)
from search.ocr import OcrEngine, get_ocr_engine
from search.selectors import index_build_options, photos_pending_embedding, photos_pending_text_reading

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
    """Embed and caption every photo (of ``profile_ids``, or just ``photo_ids``) that has no vector from the
    configured model.

    Work is claimed ``CHUNK_BATCHES`` batches at a time with ``SELECT … FOR UPDATE SKIP LOCKED`` and written in the
    same transaction, so two runs never embed the same photo, and a run killed mid-chunk leaves that chunk to be
    redone. Within a chunk, loader threads read and preprocess the next batches while the model runs on this one.
    Photos whose thumbnail cannot be read are reported and left for a later run. Ends by making sure the model's
    HNSW index exists, and that every profile it touched that has grown past PHOTOSEARCH_PROFILE_INDEX_MIN photos has
    its own.
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
    with ThreadPoolExecutor(max_workers=workers or loader_threads(encoder.device)) as pool:
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
        embedding_profile_indexes_ensure(model_id=encoder.model_id, dimensions=encoder.dimensions,
                                         profile_ids=touched_profiles)
        text_index_flush()  # the captions written changed the photos' words
    return summary


def _batch_store(photos: list[Photo], pixels, encoder: Encoder, captioner: Captioner) -> None:
    vectors = encoder.encode_pixels(pixels)
    captions = captioner.caption(vectors, pixels)
    now = timezone.now()
    for photo, vector, caption in zip(photos, vectors, captions):
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
            pending.append((photo, pool.submit(thumbnail_pixels, photo, preprocess)))

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


def thumbnail_pixels(photo: Photo, preprocess):
    with default_storage.open(photo.thumbnail.name, "rb") as fh:
        image = Image.open(fh)
        image.load()
    return preprocess(image.convert("RGB"))


def loader_threads(device: str) -> int:
    """PHOTOSEARCH_EMBED_WORKERS, or: one on CPU, where the model already uses every core and one thread overlaps
    decoding without starving it; one per core on a GPU (Pillow releases the GIL while decoding and resizing)."""
    if settings.PHOTOSEARCH_EMBED_WORKERS:
        return settings.PHOTOSEARCH_EMBED_WORKERS
    return max(2, os.cpu_count() or 2) if device.startswith("cuda") else 1


# Photos claimed per transaction when reading words: each takes 0.1–1 s, so a chunk holds its row locks for seconds,
# and a run killed mid-chunk redoes at most this many.
TEXT_CHUNK = 16


@dataclass
class ReadTextSummary:
    engine_id: str
    read: int = 0
    with_text: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (photo id, reason)

    def __str__(self) -> str:
        return f"{self.read} read with {self.engine_id} ({self.with_text} with words), {len(self.failed)} failed"


def photos_read_text(
    *,
    profile_ids: Sequence[int] | None = None,
    photo_ids: Sequence[int] | None = None,
    engine: OcrEngine | None = None,
    chunk_size: int = TEXT_CHUNK,
    on_start: Callable[[int], None] | None = None,
    on_photo: Callable[[], None] | None = None,
) -> ReadTextSummary:
    """Read the words in the image of every photo (of ``profile_ids``, or just ``photo_ids``) not read yet by the
    configured OCR engine (``PHOTOSEARCH_OCR``; ``none`` reads nothing), recording the engine on each.

    As ``photos_embed``: rows are claimed ``chunk_size`` at a time with ``SELECT … FOR UPDATE SKIP LOCKED`` and
    written in the same transaction, so two runs never read the same photo and a killed run loses only its current
    chunk. Each photo is read from its ``text_image`` (kept at import while OCR is on), else from its thumbnail; a
    loader thread decodes the next image while the engine reads this one. A photo whose image cannot be read (or that
    the engine fails on) is reported and left for a later run.
    """
    engine = engine or get_ocr_engine()
    summary = ReadTextSummary(engine_id=engine.engine_id)
    if not engine.engine_id:
        return summary
    pending = photos_pending_text_reading(engine_id=engine.engine_id, profile_ids=profile_ids)
    if photo_ids is not None:
        pending = pending.filter(id__in=list(photo_ids))
    if on_start is not None:
        on_start(pending.count())
    failed_ids: set[int] = set()
    with ThreadPoolExecutor(max_workers=1) as pool:
        while True:
            with transaction.atomic():
                chunk = list(
                    pending.exclude(id__in=failed_ids).only("id", "thumbnail", "text_image")
                    .select_for_update(skip_locked=True, of=("self",))[:chunk_size]
                )
                if not chunk:
                    break
                done = []
                for photo, image, reason in _prefetched_images(pool, chunk):
                    if image is not None:
                        try:
                            photo.ocr_text = text_clean(engine.read(image))
                        except Exception as exc:  # noqa: BLE001  one image the engine chokes on must not stop the run
                            reason = f"OCR failed ({type(exc).__name__}: {exc})"
                    if reason:
                        logger.warning("Photo %s: %s", photo.pk, reason)
                        summary.failed.append((photo.pk, reason))
                    else:
                        photo.ocr_engine, photo.ocr_at = engine.engine_id, timezone.now()
                        done.append(photo)
                        summary.with_text += bool(photo.ocr_text)
                    if on_photo is not None:
                        on_photo()
                Photo.objects.bulk_update(done, ["ocr_text", "ocr_engine", "ocr_at"])
                summary.read += len(done)
            failed_ids.update(photo_id for photo_id, _ in summary.failed)
    if summary.with_text:
        text_index_flush()
    return summary


def _prefetched_images(pool: ThreadPoolExecutor, photos: list[Photo]):
    """Yield (photo, RGB image or None, reason it could not be read) with the next image decoding meanwhile."""
    ahead = deque()
    for photo in photos:
        ahead.append((photo, pool.submit(text_image_load, photo)))
        if len(ahead) > 1:
            yield _loaded(*ahead.popleft())
    while ahead:
        yield _loaded(*ahead.popleft())


def _loaded(photo: Photo, future) -> tuple[Photo, Image.Image | None, str]:
    try:
        return photo, future.result(), ""
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return photo, None, f"cannot read image {(photo.text_image.name or photo.thumbnail.name)!r} ({exc})"


def text_image_load(photo: Photo) -> Image.Image:
    """The image words are read from: the photo's text image, else its thumbnail (photos imported with OCR off)."""
    name = photo.text_image.name or photo.thumbnail.name
    if not name:
        raise ValueError("no image stored")
    with default_storage.open(name, "rb") as fh:
        image = Image.open(fh)
        image.load()
    return image.convert("RGB")


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


def photos_embed_after_import(*, profile_id: int, **_signal) -> None:
    """``import_finished`` receiver: queue the imported profile's new and changed photos for embedding, unless
    PHOTOSEARCH_AUTO_EMBED is off."""
    if settings.PHOTOSEARCH_AUTO_EMBED:
        photos_embed_enqueue(profile_ids=[profile_id])


def text_index_flush(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """Merge the pending lists of the full-text GIN index and of the big profiles' own word indexes into the indexes
    proper; return the pages merged.

    GIN takes new entries into an unsorted pending list (``fastupdate``: cheap inserts) that every search then scans
    in full, until autovacuum merges it. After an import or an indexing run that list holds a few MB: measured at 100k
    photos, a two-word hybrid search took 46 ms with 339 pending pages and 16 ms without. So each writer of words
    merges it when it finishes (``import_finished``, ``photos_embed``, ``photos_read_text``)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(gin_clean_pending_list(c.oid)), 0) FROM pg_class c "
            "WHERE c.relkind = 'i' AND (c.relname = %s OR c.relname LIKE %s)",
            [TEXT_INDEX_NAME, TEXT_INDEX_NAME.replace("_", "\\_") + "\\_p%"],  # text_profile_index_name
        )
        return int(cursor.fetchone()[0])


def text_index_flush_after_import(*, profile_id: int, **_signal) -> None:
    """``import_finished`` receiver: a profile that has grown big gets its own word index
    (``text_profile_indexes_ensure``), and the imported rows' words join the GIN indexes proper
    (``text_index_flush``)."""
    text_profile_indexes_ensure(profile_ids=[profile_id])
    text_index_flush()


def text_profile_indexes_ensure(*, profile_ids: Iterable[int]) -> list[str]:
    """Give each of ``profile_ids`` holding at least PHOTOSEARCH_PROFILE_INDEX_MIN photos a partial GIN index over its
    photos' words; return the names created.

    A search filtered to one profile otherwise finds its words in the library's GIN index, whose posting list of a
    common word holds every photo of the library with it, and ANDs that with the profile's rows: the cost grows with
    the library, not the profile. With the profile's own index the planner reads only the profile's postings
    (docs/benchmarks.md, "A big profile's own word index"). Created once, when a profile crosses the threshold (the
    same one that gives it its own HNSW graph); GIN keeps it up to date after that.
    """
    minimum = settings.PHOTOSEARCH_PROFILE_INDEX_MIN
    if not minimum or not profile_ids:
        return []
    big = (
        Photo.objects.filter(profile_id__in=sorted(set(profile_ids)))
        .values("profile_id").annotate(photos=Count("id")).filter(photos__gte=minimum)
        .values_list("profile_id", flat=True)
    )
    created = []
    for profile_id in sorted(big):
        name = text_profile_index_name(profile_id)
        with transaction.atomic(), connection.cursor() as cursor:
            if _index_claim(cursor, name):
                continue
            cursor.execute(
                f"CREATE INDEX {name} ON profiles_photo USING gin (search_vector) WHERE profile_id = {int(profile_id)}"
            )
        logger.info("Created %s: the word index of profile %s", name, profile_id)
        created.append(name)
    return created


def _index_claim(cursor, name: str) -> bool:
    """Serialise the creators of index ``name`` for the cursor's transaction (a plain existence check, or IF NOT
    EXISTS, races between two sessions) and ready the transaction to build it; whether it exists already."""
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    exists = cursor.fetchone()[0]
    # Inside a caller's transaction, deferred FK checks on new rows would block CREATE INDEX: run them now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # Index builds are fastest when the whole build fits in maintenance_work_mem (the default 64 MB holds the HNSW
    # graph of ~50k 512-d vectors); the setting lasts for this transaction only.
    cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [settings.PHOTOSEARCH_INDEX_BUILD_MEMORY])
    return exists


def photos_reembed(*, profile_ids: Sequence[int]) -> int:
    """Drop the vectors of these profiles' photos and queue them for embedding again; returns how many."""
    count = Photo.objects.filter(profile_id__in=profile_ids, duplicate_of__isnull=True).update(
        embedding=None, embedding_model="", embedded_at=None
    )
    photos_embed_enqueue(profile_ids=profile_ids)
    return count


def embedding_index_ensure(*, model_id: str, dimensions: int) -> str:
    """Create the partial HNSW index (cosine, halfvec) for ``model_id``'s vectors if it does not exist yet, in the
    shape its library's size calls for (``search.indexes.hnsw_graph_shape``); rebuild it once when the library has
    grown past PHOTOSEARCH_HNSW_LARGE_LIBRARY since it was built (searches keep using the old graph meanwhile)."""
    name = embedding_index_name(model_id)
    photos = Photo.objects.filter(embedding_model=model_id).count()
    m, ef_construction = hnsw_graph_shape(photos)
    if _hnsw_index_create(name=name, model_id=model_id, dimensions=dimensions, m=m, ef_construction=ef_construction):
        return name
    built = _hnsw_index_m(name)
    if built is not None and built < m:
        logger.info("Rebuilding %s for %s photos: m %s → %s, ef_construction %s", name, photos, built, m,
                    ef_construction)
        _hnsw_index_create(name=name, model_id=model_id, dimensions=dimensions, m=m, ef_construction=ef_construction,
                           replace=True)
    return name


def embedding_profile_indexes_ensure(*, model_id: str, dimensions: int, profile_ids: Iterable[int]) -> list[str]:
    """Give each of ``profile_ids`` holding at least PHOTOSEARCH_PROFILE_INDEX_MIN photos with ``model_id`` vectors a
    partial HNSW index of its own; return the names created.

    A search filtered to one big profile otherwise walks the whole library's graph and discards what other profiles
    own (an iterative scan: 93 ms for a 19k-photo profile among a million) or scans the profile exactly (88 ms); with
    its own graph the planner picks the smaller index by itself and the vector channel takes ~2 ms. Created once,
    when a profile crosses the threshold; HNSW keeps it up to date after that. Like the model's index, the build
    holds writes to the table for its duration (~10 s for 19k photos on 2 cores).
    """
    minimum = settings.PHOTOSEARCH_PROFILE_INDEX_MIN
    if not minimum or not profile_ids:
        return []
    big = (
        Photo.objects.filter(embedding_model=model_id, profile_id__in=sorted(set(profile_ids)))
        .values("profile_id").annotate(photos=Count("id")).filter(photos__gte=minimum)
        .values_list("profile_id", "photos")
    )
    created = []
    for profile_id, photos in sorted(big):
        name = embedding_profile_index_name(model_id, profile_id)
        m, ef_construction = hnsw_graph_shape(photos)
        if _hnsw_index_create(name=name, model_id=model_id, dimensions=dimensions, profile_id=profile_id, m=m,
                              ef_construction=ef_construction):
            logger.info("Created %s: the HNSW index of profile %s's %s vectors", name, profile_id, model_id)
            created.append(name)
    return created


def _hnsw_index_create(*, name: str, model_id: str, dimensions: int, m: int, ef_construction: int,
                       profile_id: int | None = None, replace: bool = False) -> bool:
    """Create the partial HNSW index ``name`` over ``model_id``'s vectors (of one profile, when given) unless it
    exists; True when this call created it. With ``replace``, build a new one beside it and swap them at the end (the
    old graph answers searches during the build; writes wait, as for any build)."""
    with transaction.atomic(), connection.cursor() as cursor:
        exists = _index_claim(cursor, name)
        if exists and not replace:
            return False
        # DDL takes no bind parameters: the model id goes in as a properly quoted literal, the profile id as an int.
        predicate = f"embedding_model = {sql.Literal(model_id).as_string(cursor.connection)}"
        if profile_id is not None:
            predicate += f" AND profile_id = {int(profile_id)}"
        building = f"{name}_next" if exists else name
        cursor.execute(f"DROP INDEX IF EXISTS {building}")  # a rebuild that was interrupted
        cursor.execute(
            f"CREATE INDEX {building} ON profiles_photo "
            f"USING hnsw ({embedding_expression(dimensions)} halfvec_cosine_ops) "
            f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)}) "
            f"WHERE {predicate}"
        )
        if exists:
            cursor.execute(f"DROP INDEX {name}")
            cursor.execute(f"ALTER INDEX {building} RENAME TO {name}")
    return True


def _hnsw_index_m(name: str) -> int | None:
    """The ``m`` the HNSW index ``name`` was built with (pgvector's default, 16, when not given); None if missing."""
    options = index_build_options(name)
    return None if options is None else int(options.get("m", 16))
