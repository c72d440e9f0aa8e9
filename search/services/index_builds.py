"""Writes that keep the search indexes in shape: HNSW graphs sized to the library, big profiles' own indexes, GIN
pending lists merged. Names and SQL live in ``search.ranking.indexes``."""

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
    """Merge the GIN word indexes' pending lists into the indexes proper; return the pages merged. Every search scans
    a pending list in full until autovacuum merges it, so each writer of words calls this when it finishes
    (docs/benchmarks.md, "Web tier and queries never seen before")."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(gin_clean_pending_list(c.oid)), 0) FROM pg_class c "
            "WHERE c.relkind = 'i' AND (c.relname = %s OR c.relname LIKE %s)",
            [TEXT_INDEX_NAME, like_pattern(TEXT_PROFILE_INDEX_PREFIX, "")],
        )
        return int(cursor.fetchone()[0])


def text_indexes_after_import(*, profile_id: int, changed: int, **_signal: object) -> None:
    """``import_finished`` receiver, embedding or not: a grown profile gets its own word index, and the new words are
    merged into the GIN indexes."""
    if not changed:
        return
    text_profile_indexes_ensure(profile_ids=[profile_id])
    text_index_flush()


def text_profile_indexes_ensure(*, profile_ids: Iterable[int]) -> list[str]:
    """Give each of ``profile_ids`` with at least PHOTOSEARCH_PROFILE_INDEX_MIN photos a partial GIN index over its
    words; return the names created. Without it a filtered search costs what the library's postings cost, not the
    profile's (docs/benchmarks.md, "A big profile's own word index")."""
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
    """Serialise the creators of index ``name`` for the cursor's transaction (an existence check, even IF NOT EXISTS,
    races between sessions) and ready it for the build; return whether the index exists already."""
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    exists = cursor.fetchone()[0]
    # Inside a caller's transaction, deferred FK checks on new rows would block CREATE INDEX: run them now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # A build is fastest when it fits in maintenance_work_mem; for this transaction only.
    cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [settings.PHOTOSEARCH_INDEX_BUILD_MEMORY])
    return exists


def embedding_index_ensure(*, model_id: str, dimensions: int) -> str:
    """Create the partial HNSW index for ``model_id``'s vectors if missing, shaped for the library's size; rebuild it
    once past PHOTOSEARCH_HNSW_LARGE_LIBRARY (searches use the old graph meanwhile)."""
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
    """Give each of ``profile_ids`` with at least PHOTOSEARCH_PROFILE_INDEX_MIN ``model_id`` vectors a partial HNSW
    index of its own; return the names created. Why: docs/benchmarks.md, "The targets" (filtered at 1M). The build
    holds writes to the table while it runs."""
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
    """Create the partial HNSW index ``name`` (of one profile, when given) unless it exists; True if this call did.
    ``replace`` builds a new one beside it and swaps them, so the old graph serves searches meanwhile."""
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
    """Drop a deleted profile's own indexes, which would otherwise stay behind empty; return their names."""
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
