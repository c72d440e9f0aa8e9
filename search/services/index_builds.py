"""Writes that keep the search indexes in shape: the HNSW graphs (a model's, a big profile's) in the shape the
library's size calls for, a big profile's own word index, and the GIN pending lists merged after writers of words.
Their names and SQL are in ``search.ranking.indexes``."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Count
from psycopg import sql

from profiles.models import TEXT_INDEX_NAME, Photo
from search.ranking.indexes import (
    EMBEDDING_INDEX_PREFIX,
    TEXT_PROFILE_INDEX_PREFIX,
    embedding_expression,
    embedding_index_name,
    embedding_profile_index_name,
    hnsw_graph_shape,
    like_pattern,
    text_profile_index_name,
)
from search.selectors import index_build_options

logger = logging.getLogger(__name__)


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
            [TEXT_INDEX_NAME, like_pattern(TEXT_PROFILE_INDEX_PREFIX, "")],
        )
        return int(cursor.fetchone()[0])


def text_indexes_after_import(*, profile_id: int, changed: int, **_signal: object) -> None:
    """``import_finished`` receiver, with or without embedding: a profile that has grown big gets its own word index
    (``text_profile_indexes_ensure``), and the imported rows' words join the GIN indexes proper
    (``text_index_flush``). Nothing to do when no photo changed."""
    if not changed:
        return
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
        .values("profile_id")
        .annotate(photos=Count("id"))
        .filter(photos__gte=minimum)
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


def embedding_index_ensure(*, model_id: str, dimensions: int) -> str:
    """Create the partial HNSW index (cosine, halfvec) for ``model_id``'s vectors if missing, shaped for the library's
    size (``search.ranking.indexes.hnsw_graph_shape``); rebuild it once when the library grows past
    PHOTOSEARCH_HNSW_LARGE_LIBRARY (searches use the old graph meanwhile)."""
    name = embedding_index_name(model_id)
    photos = Photo.objects.filter(embedding_model=model_id).count()
    m, ef_construction = hnsw_graph_shape(photos)
    if _hnsw_index_create(name=name, model_id=model_id, dimensions=dimensions, m=m, ef_construction=ef_construction):
        return name
    built = _hnsw_index_m(name)
    if built is not None and built < m:
        logger.info(
            "Rebuilding %s for %s photos: m %s → %s, ef_construction %s", name, photos, built, m, ef_construction
        )
        _hnsw_index_create(
            name=name, model_id=model_id, dimensions=dimensions, m=m, ef_construction=ef_construction, replace=True
        )
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
        .values("profile_id")
        .annotate(photos=Count("id"))
        .filter(photos__gte=minimum)
        .values_list("profile_id", "photos")
    )
    created = []
    for profile_id, photos in sorted(big):
        name = embedding_profile_index_name(model_id, profile_id)
        m, ef_construction = hnsw_graph_shape(photos)
        if _hnsw_index_create(
            name=name,
            model_id=model_id,
            dimensions=dimensions,
            profile_id=profile_id,
            m=m,
            ef_construction=ef_construction,
        ):
            logger.info("Created %s: the HNSW index of profile %s's %s vectors", name, profile_id, model_id)
            created.append(name)
    return created


def _hnsw_index_create(
    *,
    name: str,
    model_id: str,
    dimensions: int,
    m: int,
    ef_construction: int,
    profile_id: int | None = None,
    replace: bool = False,
) -> bool:
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
    options = index_build_options(name=name)
    return None if options is None else int(options.get("m", 16))


def profile_indexes_drop(*, profile_id: int) -> list[str]:
    """Drop the indexes of its own that profile ``profile_id`` had (an HNSW graph per model, its word index); return
    their names. For a deleted profile: they would stay behind, empty (profile ids are not reused)."""
    graphs = like_pattern(EMBEDDING_INDEX_PREFIX, f"_p{int(profile_id)}")  # embedding_profile_index_name, any model
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'profiles_photo' "
            "AND (indexname LIKE %s OR indexname = %s)",
            [graphs, text_profile_index_name(profile_id)],
        )
        names = sorted(row[0] for row in cursor.fetchall())
        for name in names:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")  # names of ours, found by the patterns above
    if names:
        logger.info("Dropped %s: the indexes of deleted profile %s", ", ".join(names), profile_id)
    return names


def profile_indexes_drop_after_delete(*, instance, **_signal) -> None:
    """``post_delete`` receiver of ``Profile``: its own indexes go once the deletion is committed (``DROP INDEX``
    inside the deleting transaction would fail on its pending foreign-key checks)."""
    profile_id = instance.pk
    transaction.on_commit(lambda: profile_indexes_drop(profile_id=profile_id))
