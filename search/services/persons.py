"""Faces grouped into persons, incrementally, through the descriptor index; one grouping at a time (advisory lock),
ordered by id so the same faces give the same persons.

1. **Join**: a lone face joins the person most of its ``NEIGHBOURS`` nearest assigned faces within the distance
   belong to, if it is within the distance of more than half of that person's faces among them (of
   ``min(NEIGHBOURS, faces of the person)``), unless that person is already in the photo or the face was marked
   "not this person".
2. **Seed**: good lone faces (``PHOTOSEARCH_FACES_SEED_*``) form a new person from ``PHOTOSEARCH_FACES_MIN_GROUP``
   faces each within the distance of *every* member, one per photo: look-alikes do not chain into one person.
3. **Join** again, so the faces too poor to seed may join the new persons.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from search.models import Face, FaceScan, Person
from search.query.understanding import vocabulary_forget
from search.services.person_names import persons_name

logger = logging.getLogger(__name__)

NEIGHBOURS = 10  # assigned faces asked of the index per lone face: the vote of its nearest
SEED_CANDIDATES = 64  # lone faces asked of the index per seed; a group is rarely this big in one pass
CHUNK = 1_000  # lone faces whose nearest faces one statement asks of the index
PERSONS_LOCK = 0x50455253  # "PERS": advisory lock held while persons are grouped


@dataclass
class PersonsSummary:
    joined: int = 0
    created: int = 0
    named: int = 0
    carried_over: int = 0  # recluster: old persons (names, hidden flags, ids) mapped onto new groups
    lost_names: list[str] = field(default_factory=list)  # recluster: typed names whose faces formed no person

    def __str__(self) -> str:
        text = f"{self.joined} faces joined persons, {self.created} new persons, {self.named} named from the posts"
        if self.carried_over or self.lost_names:
            text += f"; {self.carried_over} persons carried over"
        if self.lost_names:
            text += f", names without a person now: {', '.join(self.lost_names)}"
        return text


@dataclass(frozen=True)
class _Rules:
    distance: float
    min_group: int
    seed_size: int
    seed_quality: float

    @classmethod
    def from_settings(cls) -> _Rules:
        return cls(
            distance=settings.PHOTOSEARCH_FACES_DISTANCE,
            min_group=settings.PHOTOSEARCH_FACES_MIN_GROUP,
            seed_size=settings.PHOTOSEARCH_FACES_SEED_SIZE,
            seed_quality=settings.PHOTOSEARCH_FACES_SEED_QUALITY,
        )


def persons_update() -> PersonsSummary:
    """Group the faces no person holds yet (join existing persons, seed new ones) and name the persons from the
    posts. Cheap when nothing is new: run it after every faces stage."""
    rules = _Rules.from_settings()
    summary = PersonsSummary()
    with transaction.atomic():
        _grouping_lock()
        _group(rules=rules, summary=summary)
        summary.named = persons_name()
        if summary.joined or summary.created or summary.named:
            transaction.on_commit(vocabulary_forget)  # queries must know the persons' names at once
    return summary


def persons_recluster() -> PersonsSummary:
    """Group every face from scratch; each old person passes its id, typed name and hidden flag to the new group
    sharing most of its faces (one to one). Old persons no group took are deleted, their names in the summary."""
    rules = _Rules.from_settings()
    summary = PersonsSummary()
    with transaction.atomic():
        _grouping_lock()
        before = dict(Face.objects.filter(person__isnull=False).values_list("id", "person_id"))
        old_ids = set(Person.objects.values_list("id", flat=True))
        Face.objects.filter(person__isnull=False).update(person=None)
        _group(rules=rules, summary=summary)
        after = dict(
            Face.objects.filter(person__isnull=False).exclude(person_id__in=old_ids).values_list("id", "person_id")
        )
        overlaps = Counter((after[face], before[face]) for face in after.keys() & before.keys())
        taken_new: set[int] = set()
        taken_old: set[int] = set()
        for (new, old), _count in sorted(overlaps.items(), key=lambda item: (-item[1], item[0])):
            if new in taken_new or old in taken_old:
                continue
            taken_new.add(new)
            taken_old.add(old)
            Face.objects.filter(person_id=new).update(person_id=old)
            Person.objects.filter(pk=new).delete()
        summary.carried_over = len(taken_old)
        summary.created -= len(taken_old)
        gone = Person.objects.filter(pk__in=old_ids - taken_old)
        summary.lost_names = sorted(name for name in gone.values_list("name", flat=True) if name)
        gone.delete()
        summary.named = persons_name()
        transaction.on_commit(vocabulary_forget)
    return summary


def faces_forget() -> dict[str, int]:
    """Delete every face, crop, scan and person, so the next faces stage looks at every photo again; return the
    counts."""
    with transaction.atomic():
        _grouping_lock()
        faces = Face.objects.all().delete()[0]
        scans = FaceScan.objects.all().delete()[0]
        persons = Person.objects.all().delete()[0]
        transaction.on_commit(vocabulary_forget)
    return {"faces": faces, "scans": scans, "persons": persons}


def _grouping_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PERSONS_LOCK])


def _group(*, rules: _Rules, summary: PersonsSummary) -> None:
    with connection.cursor() as cursor:
        # The searches below filter the graph walk (assigned faces, good lone faces): walk on until enough pass.
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
    summary.joined += _faces_join(rules=rules)
    created = _persons_seed(rules=rules)
    summary.created += created
    if created:
        summary.joined += _faces_join(rules=rules)


def _faces_join(*, rules: _Rules) -> int:
    """Step 1 (see the module): each lone face, oldest first, joins the person its nearest assigned faces vote for.
    The nearest assigned faces of ``CHUNK`` lone faces come from one statement (the descriptor index per face)."""
    lone = list(
        Face.objects.filter(person__isnull=True).order_by("id").values_list("id", "photo_id", "rejected_person_id")
    )
    if not lone or not Face.objects.filter(person__isnull=False).exists():
        return 0
    _statistics_refresh()
    # Who is already in each of these photos: a person is in a photo once.
    present: dict[int, set[int]] = defaultdict(set)
    for photo_id, person_id in Face.objects.filter(
        photo_id__in={photo for _, photo, _ in lone}, person__isnull=False
    ).values_list("photo_id", "person_id"):
        present[photo_id].add(person_id)
    sizes = Counter(
        dict(
            Face.objects.filter(person__isnull=False)
            .values("person_id")
            .annotate(n=Count("id"))
            .values_list("person_id", "n")
        )
    )
    joined = 0
    for start in range(0, len(lone), CHUNK):
        chunk = lone[start : start + CHUNK]
        near = _nearest(
            ids=[face_id for face_id, _, _ in chunk],
            among="g.person_id IS NOT NULL",
            column="g.person_id",
            limit=NEIGHBOURS,
            distance=rules.distance,
        )
        moves: list[tuple[int, int]] = []
        for face_id, photo_id, rejected in chunk:
            votes: dict[int, list[float]] = defaultdict(list)
            for person_id, distance in near.get(face_id, ()):
                if person_id != rejected and person_id not in present[photo_id]:
                    votes[person_id].append(distance)
            # Close to most of the person's nearest faces, not to one: a stranger near its edge stays alone.
            votes = {p: gaps for p, gaps in votes.items() if len(gaps) > min(NEIGHBOURS, sizes[p]) // 2}
            if not votes:
                continue
            person_id = min(votes, key=lambda p: (-len(votes[p]), sum(votes[p]) / len(votes[p]), p))
            moves.append((face_id, person_id))
            present[photo_id].add(person_id)
            sizes[person_id] += 1
        _faces_assign(moves)
        joined += len(moves)
    return joined


def _persons_seed(*, rules: _Rules) -> int:
    """Step 2 (see the module): new persons from mutually close good lone faces; returns how many. A seed that
    step 1's rule would put in a person of this pass founds none: it is left for the join (step 3), so an identity
    with more faces than ``SEED_CANDIDATES`` stays one person."""
    good = Face.objects.filter(person__isnull=True, size__gte=rules.seed_size, quality__gte=rules.seed_quality)
    rows = list(good.order_by("id").values_list("id", "photo_id", "descriptor"))
    if len(rows) < rules.min_group:
        return 0
    photo_of = {face_id: photo_id for face_id, photo_id, _ in rows}
    index_of = {face_id: i for i, (face_id, _, _) in enumerate(rows)}
    vectors = np.asarray([vector for _, _, vector in rows], dtype=np.float32)
    _statistics_refresh()
    neighbours: dict[int, list[tuple[int, float]]] = {}
    for start in range(0, len(rows), CHUNK):
        neighbours.update(
            _nearest(
                ids=[face_id for face_id, _, _ in rows[start : start + CHUNK]],
                among="g.person_id IS NULL AND g.size >= %(size)s AND g.quality >= %(quality)s",
                column="g.id",
                limit=SEED_CANDIDATES,
                distance=rules.distance,
                params={"size": rules.seed_size, "quality": rules.seed_quality},
            )
        )
    density = {face_id: len(neighbours.get(face_id, ())) for face_id in photo_of}  # counts the seed itself
    taken: dict[int, int] = {}  # face → its group (the index in ``groups``)
    groups: list[list[int]] = []
    for seed_id in sorted(photo_of, key=lambda face_id: (-density[face_id], face_id)):
        if seed_id in taken or density[seed_id] < rules.min_group:
            continue
        near = [face_id for face_id, _ in neighbours[seed_id] if face_id != seed_id]
        held = Counter(taken[face_id] for face_id in near if face_id in taken)
        if any(count > min(NEIGHBOURS, len(groups[group])) // 2 for group, count in held.items()):
            continue  # it would join a person of this pass (step 1's rule): the join decides
        members = [seed_id]
        photos = {photo_of[seed_id]}
        for face_id in near:  # closest first, ties by id
            if face_id in taken or photo_of[face_id] in photos:
                continue
            gaps = np.linalg.norm(
                vectors[[index_of[member] for member in members]] - vectors[index_of[face_id]], axis=1
            )
            if float(gaps.max()) <= rules.distance:
                members.append(face_id)
                photos.add(photo_of[face_id])
        if len(members) < rules.min_group:
            continue
        taken.update(dict.fromkeys(members, len(groups)))
        groups.append(members)
    persons = Person.objects.bulk_create([Person() for _ in groups])
    _faces_assign(
        [(face_id, person.pk) for person, members in zip(persons, groups, strict=True) for face_id in members]
    )
    return len(groups)


def _nearest(
    *,
    ids: list[int],
    among: str,
    column: str,
    limit: int,
    distance: float,
    params: dict[str, int | float] | None = None,
) -> dict[int, list[tuple[int, float]]]:
    """For each face of ``ids``: ``column`` of its ``limit`` nearest faces ``g`` passing ``among`` (a fixed SQL
    condition of this module) within ``distance``, closest first, ties by that column; one statement, the
    descriptor index walked once per face."""
    sql = f"""
        SELECT f.id, n.value, n.distance
        FROM search_face f
        CROSS JOIN LATERAL (
            SELECT {column} AS value, g.descriptor <-> f.descriptor AS distance
            FROM search_face g
            WHERE {among}
            ORDER BY g.descriptor <-> f.descriptor
            LIMIT %(limit)s
        ) n
        WHERE f.id = ANY(%(ids)s) AND n.distance <= %(distance)s
    """
    found: dict[int, list[tuple[int, float]]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**(params or {}), "ids": ids, "limit": limit, "distance": distance})
        for face_id, value, gap in cursor.fetchall():
            found[face_id].append((value, gap))
    for near in found.values():
        near.sort(key=lambda row: (row[1], row[0]))  # relaxed order from the index: sorted here
    return found


def _faces_assign(moves: list[tuple[int, int]]) -> None:
    """Put each face of ``moves`` (face id, person id) in its person, in one statement."""
    if not moves:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE search_face f SET person_id = m.person FROM unnest(%s::bigint[], %s::bigint[]) AS m(id, person) "
            "WHERE f.id = m.id",
            [[face for face, _ in moves], [person for _, person in moves]],
        )


def _statistics_refresh() -> None:
    """The planner must know how many faces are assigned now (else it sorts every assigned face, per face,
    instead of walking the descriptor index)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_face")
