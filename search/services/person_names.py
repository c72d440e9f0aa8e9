"""Persons named from the posts: the handle the images holding a person's faces are tagged with, else the one their
captions @mention. The typed ``Person.name`` is never written here.

- The owner's handle counts on its own photos only where the image is tagged with it: it is on all of them.
- A handle leads when it is on at least ``MIN_PHOTOS`` photos, half those that name anyone, and ``LEAD`` times the
  next handle's: tags first, else tags and mentions together.
- A handle names one person: the one it is on the largest share of photos of.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.db.models import Q

from profiles.models import Photo, SourceKind
from profiles.sources.base import mentions_in
from search.models import Face, Person

MIN_PHOTOS = 2
LEAD = 2.0


def persons_name() -> int:
    """Give every person the handle its photos name (rule: the module), with the evidence; returns how many persons
    have a handle now."""
    photos_of: dict[int, set[int]] = defaultdict(set)
    for person_id, photo_id in Face.objects.filter(person__isnull=False).values_list("person_id", "photo_id"):
        photos_of[person_id].add(photo_id)
    words = _photo_handles(photo_ids={photo for photos in photos_of.values() for photo in photos})
    chosen: dict[str, tuple[tuple[float, int, int], int, dict[str, Any]]] = {}
    for person_id, photos in sorted(photos_of.items()):
        evidence = person_evidence(photos=[words.get(photo, (set(), set())) for photo in sorted(photos)])
        if evidence:
            rank = (evidence["share"], evidence["count"], -person_id)
            held = chosen.get(evidence["handle"])
            if held is None or rank > held[0]:
                chosen[evidence["handle"]] = (rank, person_id, evidence)
    winners = {person_id: evidence for _, person_id, evidence in chosen.values()}
    changed = []
    for person in Person.objects.only("id", "handle", "name_evidence"):
        evidence = winners.get(person.pk, {})
        stored = {key: value for key, value in evidence.items() if key not in ("share", "count")}
        handle = evidence.get("handle", "")
        if (person.handle, person.name_evidence) != (handle, stored):
            person.handle, person.name_evidence = handle, stored
            changed.append(person)
    Person.objects.bulk_update(changed, ["handle", "name_evidence"])
    return len(winners)


def person_evidence(*, photos: list[tuple[set[str], set[str]]]) -> dict[str, Any]:
    """The handle a person's photos (each: handles tagged, handles only mentioned) name, with the counts that chose
    it; {} when none leads (rule: the module)."""
    tagged = Counter(handle for tags, _ in photos for handle in tags)
    named = Counter(handle for tags, mentions in photos for handle in tags | mentions)
    for source, counts, naming in (
        ("tagged", tagged, sum(1 for tags, _ in photos if tags)),
        ("mention", named, sum(1 for tags, mentions in photos if tags or mentions)),
    ):
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if not ranked:
            continue
        handle, count = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0
        if count >= MIN_PHOTOS and count * 2 >= naming and count >= LEAD * runner_up:
            return {
                "handle": handle,
                "source": source,
                "tagged": tagged[handle],
                "mentioned": named[handle] - tagged[handle],
                "photos": len(photos),
                "next": runner_up,
                "share": count / len(photos),
                "count": count,
            }
    return {}


def _photo_handles(*, photo_ids: set[int]) -> dict[int, tuple[set[str], set[str]]]:
    """Photo id (an original) → (handles its image is tagged with, handles its caption only mentions), its
    duplicates' words included, the owner left out unless tagged."""
    result: dict[int, tuple[set[str], set[str]]] = {}
    rows = Photo.objects.filter(Q(id__in=photo_ids) | Q(duplicate_of_id__in=photo_ids)).values_list(
        "id", "duplicate_of_id", "people", "source_text", "extra", "profile__handle", "profile__source_kind"
    )
    for photo_id, original_id, people, text, extra, profile_handle, kind in rows.iterator():
        tags, mentions = photo_tags_and_mentions(
            people=people,
            text=text,
            extra=extra or {},
            profile_handle=profile_handle,
            instagram=kind == SourceKind.INSTAGRAM,
        )
        held = result.setdefault(original_id or photo_id, (set(), set()))
        held[0].update(tags)
        held[1].update(mentions)
    for tags, mentions in result.values():
        mentions -= tags
    return result


def photo_tags_and_mentions(
    *, people: str, text: str, extra: dict[str, Any], profile_handle: str, instagram: bool
) -> tuple[set[str], set[str]]:
    """The handles one photo's image is tagged with and those its caption @mentions (rule: the module)."""
    owners = {handle.lower() for handle in (extra.get("owner"), profile_handle if instagram else None) if handle}
    mentions = set(mentions_in(text or ""))
    if isinstance(extra.get("tagged"), list):
        tags = {str(handle).lower() for handle in extra["tagged"]}
    elif instagram:  # imported before the image's own tags were kept: what people holds beyond owner and mentions
        tags = set(people.split()) - mentions - owners
    else:
        tags = set()
    return tags, mentions - owners - tags
