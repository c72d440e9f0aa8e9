"""Faces grouped into persons, incrementally, through the descriptor index; one grouping at a time (advisory lock),
ordered by id so the same faces give the same persons.

1. **Join**: a lone face joins the person most of its ``NEIGHBOURS`` nearest assigned faces within the distance
   belong to, unless that person is already in the photo or the face was marked "not this person".
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
from django.db.models import QuerySet
from pgvector.django import L2Distance

from search.models import Face, FaceScan, Person
from search.query.understanding import vocabulary_forget
from search.services.person_names import persons_name

logger = logging.getLogger(__name__)

NEIGHBOURS = 10  # assigned faces asked of the index per lone face: the vote of its nearest
SEED_CANDIDATES = 64  # lone faces asked of the index per seed; a group is rarely this big in one pass
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
    summary.joined += _faces_join(rules=rules)
    created = _persons_seed(rules=rules)
    summary.created += created
    if created:
        summary.joined += _faces_join(rules=rules)


def _faces_join(*, rules: _Rules) -> int:
    """Step 1 (see the module): each lone face, oldest first, joins the person its nearest assigned faces vote for."""
    lone = list(
        Face.objects.filter(person__isnull=True).order_by("id").values_list("id", "photo_id", "rejected_person_id")
    )
    if not lone or not Face.objects.filter(person__isnull=False).exists():
        return 0
    # Who is already in each of these photos: a person is in a photo once.
    present: dict[int, set[int]] = defaultdict(set)
    for photo_id, person_id in Face.objects.filter(
        photo_id__in={photo for _, photo, _ in lone}, person__isnull=False
    ).values_list("photo_id", "person_id"):
        present[photo_id].add(person_id)
    joined = 0
    for face_id, photo_id, rejected in lone:
        descriptor = Face.objects.filter(pk=face_id).values_list("descriptor", flat=True).get()
        near = (
            Face.objects.filter(person__isnull=False)
            .annotate(distance=L2Distance("descriptor", descriptor))
            .order_by("distance")
            .values_list("person_id", "distance")[:NEIGHBOURS]
        )
        votes: dict[int, list[float]] = defaultdict(list)
        for person_id, distance in near:
            if distance <= rules.distance and person_id != rejected and person_id not in present[photo_id]:
                votes[person_id].append(distance)
        if not votes:
            continue
        person_id = min(votes, key=lambda p: (-len(votes[p]), sum(votes[p]) / len(votes[p]), p))
        Face.objects.filter(pk=face_id).update(person_id=person_id)
        present[photo_id].add(person_id)
        joined += 1
    return joined


def _persons_seed(*, rules: _Rules) -> int:
    """Step 2 (see the module): new persons from mutually close good lone faces; returns how many."""
    good = Face.objects.filter(person__isnull=True, size__gte=rules.seed_size, quality__gte=rules.seed_quality)
    seeds = list(good.order_by("id").values_list("id", "descriptor"))
    if len(seeds) < rules.min_group:
        return 0
    density = {
        face_id: sum(1 for _, distance in _near_lone(good=good, descriptor=descriptor) if distance <= rules.distance)
        for face_id, descriptor in seeds
    }
    taken: set[int] = set()
    created = 0
    for seed_id, descriptor in sorted(seeds, key=lambda item: (-density[item[0]], item[0])):
        if seed_id in taken or density[seed_id] < rules.min_group:  # density counts the seed itself
            continue
        candidates = [
            face_id
            for face_id, distance in _near_lone(good=good, descriptor=descriptor)
            if distance <= rules.distance and face_id not in taken and face_id != seed_id
        ]
        rows = {
            face_id: (photo_id, np.asarray(vector, dtype=np.float32))
            for face_id, photo_id, vector in Face.objects.filter(pk__in=[seed_id, *candidates]).values_list(
                "id", "photo_id", "descriptor"
            )
        }
        members = [seed_id]
        photos = {rows[seed_id][0]}
        for face_id in candidates:  # closest first (the index's order), ties by id
            photo_id, vector = rows[face_id]
            if photo_id in photos:
                continue
            if all(float(np.linalg.norm(vector - rows[member][1])) <= rules.distance for member in members):
                members.append(face_id)
                photos.add(photo_id)
        if len(members) < rules.min_group:
            continue
        person = Person.objects.create()
        Face.objects.filter(pk__in=members).update(person=person)
        taken.update(members)
        created += 1
    return created


def _near_lone(*, good: QuerySet[Face], descriptor: np.ndarray) -> list[tuple[int, float]]:
    """The good lone faces nearest ``descriptor`` (itself included), closest first, ties by id."""
    near = good.annotate(distance=L2Distance("descriptor", descriptor)).order_by("distance")  # the index's order
    return sorted(near.values_list("id", "distance")[:SEED_CANDIDATES], key=lambda row: (row[1], row[0]))
