"""The persons part of the face benchmarks, in a database of their own (``bench.data.bench_database``; its faces,
persons, photos and profiles are replaced on every run, so never name the user's database):

- ``persons_evaluate`` (``evaluate_faces``): the labelled folder imported into a profile (``import_folder``, into a
  temporary media folder), the real faces stage (``photos_find_faces``) and grouping (``persons_update``) run on it,
  and the persons scored against the labels.
- ``persons_bench`` (``bench_faces --cluster N``): N synthetic descriptors shaped like dlib's (``synthetic_faces``)
  loaded as ``Face`` rows, and ``persons_update`` timed end to end and scored against the synthetic identities.

Scores (``clustering_scores``) are over faces that carry an identity: on the labelled folder, the largest face of
each portrait (a photo labelled with one identity and one face); faces of group photos have no per-face label and
are left out of the scores, though they are grouped with the rest. Pairwise precision: of the pairs of labelled
faces put in one person, the share of one identity; pairwise recall: of the pairs of one identity that both got a
person, the share put in one person (``pairwise_recall_all`` counts the pairs with an unassigned face as missed).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from bench.faces import labelled_folder
from search.ml.faces import FaceEngine

DEFAULT_DATABASE = "photosearch_bench_faces"
SYNTHETIC_ENGINE = "bench/synthetic-dlib-128"
DIMENSIONS = 128
# Fitted to dlib's descriptors of tests/data/faces (109 faces, 279 same- and 2,349 different-person pairs): norms
# 1.32–1.62 (median 1.44) around a mean of norm 1.32 shared by every face; same-person distance median 0.33 (p5 0.23,
# p95 0.44), different-person median 0.90 (p5 0.73, p95 1.05).
COMMON_NORM = 1.32  # the mean every descriptor sits around
IDENTITY_DIMENSIONS = 48  # identities differ in a subspace: the different-person distances spread as the real ones
IDENTITY_SPREAD = 0.086  # per direction: identity centres ~0.84 apart
SAMPLE_RADIUS = 0.233  # a face's distance from its identity's centre (median): same-person pairs ~0.33 apart
SAMPLE_SPREAD = 0.25  # log-normal sigma of that radius per face (pose, light, blur)
SINGLETON_SHARE = 0.3  # faces of people seen once (strangers in the background)


def clustering_scores(
    *, identity: Mapping[int, str], person: Mapping[int, int | None], at_least: int = 3
) -> dict[str, Any]:
    """Pairwise precision and recall of the persons against the identities, over the faces of ``identity`` (face id
    → identity; ``person``: face id → person or None). Counted from the person × identity table, so a million faces
    cost no more than a pass over them."""
    table: Counter[tuple[int, str]] = Counter()
    by_identity: Counter[str] = Counter()
    persons_of: dict[str, set[int]] = defaultdict(set)
    identities_of: dict[int, set[str]] = defaultdict(set)
    unassigned = 0
    for face, who in identity.items():
        by_identity[who] += 1
        owner = person.get(face)
        if owner is None:
            unassigned += 1
            continue
        table[owner, who] += 1
        persons_of[who].add(owner)
        identities_of[owner].add(who)
    assigned_by_person: Counter[int] = Counter()
    assigned_by_identity: Counter[str] = Counter()
    for (owner, who), count in table.items():
        assigned_by_person[owner] += count
        assigned_by_identity[who] += count
    both = sum(_pairs(count) for count in table.values())
    same_person = sum(_pairs(count) for count in assigned_by_person.values())
    same_identity = sum(_pairs(count) for count in assigned_by_identity.values())
    same_identity_all = sum(_pairs(count) for count in by_identity.values())
    big = [who for who, count in by_identity.items() if count >= at_least]
    return {
        "labelled_faces": len(identity),
        "identities": len(by_identity),
        "persons": len(identities_of),
        "faces_unassigned": unassigned,
        "pairwise_precision": round(both / same_person, 4) if same_person else None,
        "pairwise_recall": round(both / same_identity, 4) if same_identity else None,
        "pairwise_recall_all": round(both / same_identity_all, 4) if same_identity_all else None,
        "persons_mixing_identities": sum(len(whos) > 1 for whos in identities_of.values()),
        "persons_per_identity": round(float(np.mean([len(p) for p in persons_of.values()])), 3) if persons_of else None,
        "persons_per_identity_max": max((len(p) for p in persons_of.values()), default=0),
        f"identities_{at_least}plus": len(big),
        f"identities_{at_least}plus_one_person": sum(len(persons_of[who]) == 1 for who in big),
        f"identities_{at_least}plus_split": sorted(who for who in big if len(persons_of[who]) > 1)[:20],
        f"identities_{at_least}plus_no_person": sorted(who for who in big if not persons_of[who])[:20],
    }


def _pairs(count: int) -> int:
    return count * (count - 1) // 2


def persons_evaluate(
    *, engine: FaceEngine, folder: Path, database: str = DEFAULT_DATABASE, on_step: Callable[[str], None]
) -> dict[str, Any]:
    """Import ``folder`` into a fresh bench database ``database``, find its faces with ``engine`` and group them
    with ``persons_update``; the persons scored against the portraits' identities (``clustering_scores``)."""
    from bench.data import bench_database
    from search.models import Face
    from search.services.faces import photos_find_faces
    from search.services.persons import persons_update

    portraits = {photo.name: photo.identity for photo in labelled_folder(folder) if photo.identity and photo.faces == 1}
    with (
        bench_database(database),
        tempfile.TemporaryDirectory(prefix="evaluate-faces-") as scratch,
        override_settings(PHOTOSEARCH_AUTO_EMBED=False, MEDIA_ROOT=scratch),
    ):
        _bench_tables_empty()
        on_step(f"importing {folder} into {database}")
        profile = f"evaluate-faces-{uuid.uuid4().hex[:8]}"
        call_command("import_folder", str(folder), "--profile", profile, "--no-embed", stdout=StringIO())
        on_step("finding faces (photos_find_faces)")
        started = time.perf_counter()
        found = photos_find_faces(engine=engine)
        find_s = time.perf_counter() - started
        on_step(f"{found}; grouping (persons_update)")
        started = time.perf_counter()
        summary = persons_update()
        group_s = time.perf_counter() - started
        person: dict[int, int | None] = {}
        largest: dict[str, tuple[int, int]] = {}  # portrait → (size, -face id) of its largest face
        for face_id, source_id, size, person_id in Face.objects.values_list(
            "id", "photo__source_id", "size", "person_id"
        ):
            person[face_id] = person_id
            name = source_id.rsplit("/", 1)[-1]
            if name in portraits:
                largest[name] = max(largest.get(name, (size, -face_id)), (size, -face_id))
        identity = {-face: portraits[name] for name, (_, face) in largest.items()}
        figures = {
            "min_group": settings.PHOTOSEARCH_FACES_MIN_GROUP,
            "faces_found": found.faces,
            "faces_total_unassigned": sum(owner is None for owner in person.values()),
            "portraits_without_a_face": len(portraits) - len(identity),
            **clustering_scores(identity=identity, person=person),
            "persons_created": summary.created,
            "find_faces_s": round(find_s, 2),
            "persons_update_s": round(group_s, 2),
        }
        _bench_tables_empty()
    return figures


def _bench_tables_empty() -> None:
    """Empty the bench database's photos, faces and persons (the bench database's only: see the module)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE search_face, search_facescan, search_person, profiles_photo, profiles_importjob, "
            "profiles_profile RESTART IDENTITY CASCADE"
        )


@dataclass(frozen=True)
class SyntheticFaces:
    descriptors: np.ndarray  # (n, 128) float32
    identities: np.ndarray  # (n,) int: identity of each face
    photos: np.ndarray  # (n,) int: photo of each face, 0-based; an identity is at most once in a photo
    sizes: np.ndarray  # (n,) int: face box side in pixels
    qualities: np.ndarray  # (n,) float 0..1


def synthetic_faces(count: int, *, seed: int = 0) -> SyntheticFaces:
    """``count`` descriptors shaped like dlib's (see the constants): identities of Zipf-like sizes (a few with
    thousands of faces, many with a handful) plus ``SINGLETON_SHARE`` of faces seen once; photos of one to five faces
    (two thirds of them portraits); sizes and qualities spread so that about a sixth of faces are too poor to seed
    a person."""
    rng = np.random.default_rng(seed)
    grouped = count - round(count * SINGLETON_SHARE)
    sizes_of: list[int] = []
    while sum(sizes_of) < grouped:
        sizes_of.append(min(int(rng.zipf(1.8)) + 1, max(2, grouped // 20), grouped - sum(sizes_of)))
    identities = np.concatenate(
        [np.repeat(np.arange(len(sizes_of)), sizes_of), len(sizes_of) + np.arange(count - grouped)]
    ).astype(np.int64)
    total = int(identities.max()) + 1 if count else 0
    common = _unit(rng.normal(size=DIMENSIONS)) * COMMON_NORM
    basis = np.linalg.qr(rng.normal(size=(DIMENSIONS, IDENTITY_DIMENSIONS)))[0].T  # orthonormal rows
    centres = common + rng.normal(scale=IDENTITY_SPREAD, size=(total, IDENTITY_DIMENSIONS)) @ basis
    radius = SAMPLE_RADIUS * np.exp(rng.normal(scale=SAMPLE_SPREAD, size=count))
    noise = rng.normal(size=(count, DIMENSIONS))
    noise *= (radius / np.linalg.norm(noise, axis=1))[:, None]
    descriptors = (centres[identities] + noise).astype(np.float32)
    order = rng.permutation(count)  # faces arrive in no identity's order
    identities, descriptors = identities[order], descriptors[order]
    photos = _photos(identities, rng)
    sizes = np.clip(rng.lognormal(np.log(80), 0.5, size=count), 20, 600).astype(np.int64)
    qualities = np.clip(rng.beta(4, 2, size=count), 0, 1)
    return SyntheticFaces(descriptors, identities, photos, sizes, qualities)


def _photos(identities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Consecutive faces share a photo (one to five per photo) unless their identity is already in it."""
    photos = np.empty(len(identities), dtype=np.int64)
    photo, left, present = -1, 0, set[int]()
    for index, who in enumerate(identities.tolist()):
        if left == 0 or who in present:
            photo, present = photo + 1, set()
            left = 1 if rng.random() < 2 / 3 else int(rng.integers(2, 6))
        photos[index] = photo
        present.add(who)
        left -= 1
    return photos


def _unit(vector: np.ndarray) -> np.ndarray:
    return np.asarray(vector / np.linalg.norm(vector))


def distance_quantiles(faces: SyntheticFaces, *, pairs: int = 20_000, seed: int = 1) -> dict[str, dict[str, float]]:
    """Same- and different-identity distance quantiles over random pairs: to set beside the real ones."""
    from bench.faces import quantiles

    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(faces.identities), size=(2, pairs))
    different = faces.identities[a] != faces.identities[b]
    distances = np.linalg.norm(faces.descriptors[a] - faces.descriptors[b], axis=1)
    by_identity: dict[int, list[int]] = defaultdict(list)
    for index, who in enumerate(faces.identities.tolist()):
        by_identity[who].append(index)
    multi = [members for members in by_identity.values() if len(members) > 1]
    same = []
    for _ in range(min(pairs, 10 * len(multi))):
        members = multi[int(rng.integers(len(multi)))]
        i, j = rng.choice(len(members), size=2, replace=False)
        same.append(float(np.linalg.norm(faces.descriptors[members[i]] - faces.descriptors[members[j]])))
    return {
        "synthetic_same_distances": quantiles(same),
        "synthetic_different_distances": quantiles(distances[different].tolist()),
        "synthetic_norms": quantiles(np.linalg.norm(faces.descriptors, axis=1).tolist()),
    }


def faces_load(faces: SyntheticFaces, *, chunk: int = 20_000) -> None:
    """Replace the bench database's photos and faces with ``faces`` (COPY; the HNSW index built after the load)."""
    from pgvector import Vector
    from pgvector.django import HnswIndex
    from pgvector.psycopg import register_vector

    from profiles.models import Profile
    from search.models import Face

    _bench_tables_empty()
    index = next(index for index in Face._meta.indexes if isinstance(index, HnswIndex))
    with connection.schema_editor() as editor:
        editor.remove_index(Face, index)
    profile = Profile.objects.create(source_kind="folder", handle="bench-faces", display_name="bench faces")
    connection.ensure_connection()
    raw = connection.connection
    register_vector(raw)
    now = datetime.now(UTC)
    photo_count = int(faces.photos.max()) + 1 if len(faces.photos) else 0
    with raw.cursor() as cursor:
        for start in range(0, photo_count, chunk):
            with cursor.copy(
                "COPY profiles_photo (id, profile_id, source_id, permalink, original_url, thumbnail, source_text, "
                "hashtags, alt_text, caption, content_hash, embedding_model, taken_at, imported_at, updated_at, "
                "media_type, extra) FROM STDIN"
            ) as copy:
                for photo in range(start, min(start + chunk, photo_count)):
                    copy.write_row(
                        (
                            photo + 1,
                            profile.pk,
                            f"f{photo}",
                            "",
                            "",
                            f"f/{photo}.jpg",
                            "",
                            "",
                            "",
                            "",
                            f"{photo:064x}",
                            "",
                            now,
                            now,
                            now,
                            "image",
                            "{}",
                        )
                    )
        cursor.execute("SELECT setval('profiles_photo_id_seq', %s)", [max(photo_count, 1)])
        for start in range(0, len(faces.photos), chunk):
            with cursor.copy(
                "COPY search_face (photo_id, x, y, w, h, score, quality, size, descriptor, engine, crop, created_at) "
                "FROM STDIN"
            ) as copy:
                for i in range(start, min(start + chunk, len(faces.photos))):
                    copy.write_row(
                        (
                            int(faces.photos[i]) + 1,
                            0.4,
                            0.3,
                            0.2,
                            0.25,
                            1.0,
                            float(faces.qualities[i]),
                            int(faces.sizes[i]),
                            Vector(faces.descriptors[i]),
                            SYNTHETIC_ENGINE,
                            "",
                            now,
                        )
                    )
    raw.commit()
    with connection.schema_editor() as editor:
        editor.add_index(Face, index)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_face")


def persons_bench(
    *, count: int, seed: int = 0, database: str = DEFAULT_DATABASE, on_step: Callable[[str], None]
) -> dict[str, Any]:
    """``count`` synthetic faces loaded into bench database ``database``, ``persons_update`` timed (wall and this
    process's CPU; the database server's CPU is the rest) and scored against the synthetic identities."""
    from bench.data import bench_database
    from search.models import Face
    from search.services.persons import persons_update

    faces = synthetic_faces(count, seed=seed)
    with bench_database(database):
        on_step(f"loading {count:,} synthetic faces into {database}")
        started = time.perf_counter()
        faces_load(faces)
        load_s = time.perf_counter() - started
        on_step("grouping (persons_update)")
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = persons_update()
        update_s, update_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        person = dict(Face.objects.values_list("id", "person_id"))
        ids = list(Face.objects.order_by("id").values_list("id", flat=True))  # COPY order: the faces' order
        _bench_tables_empty()
    identity = {face: str(who) for face, who in zip(ids, faces.identities.tolist(), strict=True)}
    return {
        "cluster_faces": count,
        "cluster_identities": int(len(np.unique(faces.identities))),
        "cluster_photos": int(faces.photos.max()) + 1 if count else 0,
        "cluster_seedable_faces": int(
            np.sum(
                (faces.sizes >= settings.PHOTOSEARCH_FACES_SEED_SIZE)
                & (faces.qualities >= settings.PHOTOSEARCH_FACES_SEED_QUALITY)
            )
        ),
        "cluster_load_s": round(load_s, 1),
        "cluster_persons_update_s": round(update_s, 1),
        "cluster_persons_update_cpu_s": round(update_cpu_s, 1),
        "cluster_persons_created": summary.created,
        "cluster_faces_joined": summary.joined,
        **{f"cluster_{key}": value for key, value in clustering_scores(identity=identity, person=person).items()},
        **distance_quantiles(faces),
    }
