"""Synthetic libraries for search benchmarks, in a database of their own.

Vectors are clustered like real CLIP embeddings (uniform random 512-d vectors are the worst case for HNSW and
measure nothing): each photo is a topic centre, plus variation within that topic's own low-dimensional subspace
(``SUBSPACE`` directions: real CLIP embeddings have an intrinsic dimension of a few tens, not 512), plus a little
isotropic noise; its caption uses that topic's words. A query is the same kind of point, so it has real neighbours
in both channels. (An earlier version used isotropic 512-d noise within topics: at a million photos, ~3,900 per
topic, every topic member is then almost equidistant from a query — random vectors again, inside each topic — and
HNSW's recall@10 fell to 0.85 at ef_search 100. docs/benchmarks.md keeps that figure.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from django.core.management import call_command
from django.db import connection, connections

from photosearch.embedded_db import create_database, embedded_server

BENCH_MODEL = "bench/clustered-512"
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
WORDS = (
    "beach sunset sea waves sand palm surf boat harbour lighthouse mountain snow peak hiking trail forest lake river "
    "waterfall city street night lights traffic tram bus bridge market food coffee pizza cake dinner friends party "
    "wedding dance concert crowd stage guitar dog cat horse bird flowers garden park tree autumn leaves rain fog "
    "portrait smile child family baby selfie mirror fashion dress shoes art museum painting graffiti church castle "
    "ruins desert camel road car bicycle train station airport plane window sky clouds stars moon fireworks winter "
    "summer spring kitchen breakfast wine beer cocktail gym yoga running football stadium skyline tower rooftop"
).split()


@contextlib.contextmanager
def bench_database(name: str = "photosearch_bench") -> Iterator[None]:
    """Point the default connection (and the read replicas') at database ``name`` (created and migrated if needed),
    then back.

    The embedded server creates it next to the real one; with DATABASE_URL, the user must be allowed to create it.
    """
    default = connections["default"]
    original = default.settings_dict["NAME"]
    default.close()
    if "EMBEDDED_DATA_DIR" in default.settings_dict:
        # With the server settings, as the project's own connections start it: a bench that is the first process to
        # start the server must not leave it on the stock shared_buffers (PHOTOSEARCH_EMBEDDED_SHARED_BUFFERS).
        server = embedded_server(
            Path(default.settings_dict["EMBEDDED_DATA_DIR"]), default.settings_dict.get("EMBEDDED_SERVER_SETTINGS")
        )
        create_database(server, name)
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')  # a fixed name of ours, not user input
        default.close()
    # Read replicas (DATABASE_REPLICA_URLS) replay the primary's every database: they read the bench one too.
    moved = {
        alias: connections[alias].settings_dict["NAME"]
        for alias, database in connections.settings.items()
        if database.get("REPLICA")
    }
    for alias in moved:
        connections[alias].close()
        connections[alias].settings_dict["NAME"] = name
    default.settings_dict["NAME"] = name
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield
    finally:
        for alias, replica_name in {"default": original, **moved}.items():
            connections[alias].close()
            connections[alias].settings_dict["NAME"] = replica_name


def fill_synthetic(
    *,
    photos: int,
    profiles: int,
    dimensions: int = 512,
    topics: int = 256,
    seed: int = 0,
    on_progress=lambda done: None,
) -> np.ndarray:
    """Replace the bench database's photos with ``photos`` synthetic ones over ``profiles`` profiles (sizes skewed
    like real accounts). Returns the topic centres (unit vectors), from which queries are drawn."""
    from pgvector import HalfVector
    from pgvector.psycopg import register_vector

    from profiles.models import Profile

    centres = topic_centres(topics=topics, dimensions=dimensions, seed=seed)
    rng = np.random.default_rng(seed + 1)
    topic_words = [rng.choice(WORDS, size=6, replace=False) for _ in range(topics)]
    from search.selectors import embedding_index_name
    from search.services.index_builds import text_index_flush

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE profiles_photo, profiles_importjob, profiles_profile RESTART IDENTITY CASCADE")
        # Bulk load first, index after: faster, and the caller can time the build.
        cursor.execute(f"DROP INDEX IF EXISTS {embedding_index_name(BENCH_MODEL)}")
    Profile.objects.bulk_create(
        [Profile(source_kind="instagram", handle=f"bench{i:04}", display_name=f"bench {i}") for i in range(profiles)]
    )
    profile_ids = list(Profile.objects.order_by("id").values_list("id", flat=True))
    weights = 1.0 / np.arange(1, profiles + 1)  # a few big accounts, many small ones
    weights /= weights.sum()
    connection.ensure_connection()
    raw = connection.connection
    register_vector(raw)
    chunk = 10_000
    bases = topic_bases(topics=topics, dimensions=dimensions, seed=seed)
    for start in range(0, photos, chunk):
        count = min(chunk, photos - start)
        topic = rng.integers(0, topics, size=count)
        vectors = topic_points(centres, bases, topic, rng)
        owners = rng.choice(profile_ids, size=count, p=weights)
        days = rng.integers(0, 3650, size=count)
        with (
            raw.cursor() as cursor,
            cursor.copy(
                "COPY profiles_photo (profile_id, source_id, permalink, original_url, thumbnail, source_text, "
                "hashtags, alt_text, caption, content_hash, embedding, embedding_model, taken_at, imported_at, "
                "updated_at, media_type, extra) FROM STDIN"
            ) as copy,
        ):
            for i in range(count):
                words = topic_words[topic[i]]
                own = " ".join(rng.choice(words, size=3)) + " " + " ".join(rng.choice(WORDS, size=3))
                copy.write_row(
                    (
                        int(owners[i]),
                        f"s{start + i}",
                        "",
                        "",
                        "",
                        own,
                        "",
                        "",
                        f"{words[0]}, {words[1]} and {words[2]}",
                        f"{start + i:064x}",
                        HalfVector(vectors[i]),
                        BENCH_MODEL,
                        EPOCH + timedelta(days=int(days[i])),
                        "now",
                        "now",
                        "image",
                        "{}",
                    )
                )
        raw.commit()
        on_progress(start + count)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE profiles_photo")
    text_index_flush()  # as an import leaves it: the COPY's words merged into the GIN index proper
    return centres


def topic_centres(*, topics: int = 256, dimensions: int = 512, seed: int = 0) -> np.ndarray:
    """The topic centres of ``fill_synthetic`` with the same arguments (unit vectors)."""
    return _unit(np.random.default_rng(seed).normal(size=(topics, dimensions)).astype(np.float32))


SUBSPACE = 32  # directions of variation within a topic
SPREAD = 1.0  # norm of the within-topic variation (the centre has norm 1: photo–centre cosine ~0.7)
NOISE = 0.3  # norm of the isotropic remainder


def topic_bases(*, topics: int = 256, dimensions: int = 512, seed: int = 0) -> np.ndarray:
    """(topics, SUBSPACE, dimensions): each topic's directions of variation (random, ~unit norm)."""
    rng = np.random.default_rng(seed + 7)
    return (rng.normal(size=(topics, SUBSPACE, dimensions)) / np.sqrt(dimensions)).astype(np.float32)


def topic_points(
    centres: np.ndarray, bases: np.ndarray, topic: np.ndarray, rng: np.random.Generator, *, spread: float = SPREAD
) -> np.ndarray:
    """Unit vectors of the given topics: centre + variation in the topic's subspace + a little isotropic noise."""
    count, dimensions = len(topic), centres.shape[1]
    weights = rng.normal(scale=spread / np.sqrt(SUBSPACE), size=(count, SUBSPACE)).astype(np.float32)
    variation = np.empty((count, dimensions), dtype=np.float32)
    for t in np.unique(topic):  # one small matrix product per topic, not a (count, SUBSPACE, dimensions) gather
        rows = topic == t
        variation[rows] = weights[rows] @ bases[t]
    noise = rng.normal(scale=NOISE / np.sqrt(dimensions), size=(count, dimensions))
    return _unit(centres[topic] + variation + noise)


def query_vectors(centres: np.ndarray, count: int, *, seed: int = 1, data_seed: int = 0) -> np.ndarray:
    """Queries among the photos of random topics, as a text embedding lands near the photos it describes."""
    rng = np.random.default_rng(seed)
    bases = topic_bases(topics=len(centres), dimensions=centres.shape[1], seed=data_seed)
    return topic_points(centres, bases, rng.integers(0, len(centres), size=count), rng)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)).astype(np.float32)


def topic_words(*, topics: int = 256, seed: int = 0) -> list[list[str]]:
    """The six words of each topic that ``fill_synthetic`` with the same arguments puts in its photos' captions."""
    rng = np.random.default_rng(seed + 1)  # the same draws, in the same order, as fill_synthetic's first ones
    return [list(rng.choice(WORDS, size=6, replace=False)) for _ in range(topics)]


def topic_queries(
    count: int, *, topics: int = 256, dimensions: int = 512, seed: int = 2, data_seed: int = 0
) -> tuple[list[str], np.ndarray]:
    """``count`` (text, vector) queries that agree with each other: two of a topic's caption words, and a vector near
    that topic's centre (as a text embedding of those words would land near the photos they describe)."""
    centres = topic_centres(topics=topics, dimensions=dimensions, seed=data_seed)
    words = topic_words(topics=topics, seed=data_seed)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, topics, size=count)
    texts = [" ".join(rng.choice(words[t][:3], size=2, replace=False)) for t in picks]
    vectors = topic_points(centres, topic_bases(topics=topics, dimensions=dimensions, seed=data_seed), picks, rng)
    return texts, vectors
