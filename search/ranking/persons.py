"""The persons a search names, read for the filters and the reasons: who ``person=maria`` or "photos of maria" is,
the names a query may say, and which of the asked-for persons have a face on a page's photos. Hidden persons are
never found here."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q

from search.models import Face, FaceScan, Person


def persons_named(*, name: str, using: str = DEFAULT_DB_ALIAS) -> list[Person]:
    """The persons (hidden ones aside) a search names: ``@handle`` by their handle, a bare word or words by their
    typed name or their handle; case-insensitive, oldest first."""
    text = name.strip()
    if not text.removeprefix("@"):
        return []
    wanted = Q(handle__iexact=text.removeprefix("@"))
    if not text.startswith("@"):
        wanted |= Q(name__iexact=text)
    return list(Person.objects.using(using).filter(wanted, hidden=False).order_by("id"))


def person_by_id(*, person_id: int, using: str = DEFAULT_DB_ALIAS) -> Person | None:
    """The person ``person_id`` (hidden or not), or None."""
    return Person.objects.using(using).filter(pk=person_id).first()


def persons_shown_names(*, using: str = DEFAULT_DB_ALIAS) -> list[tuple[str, str]]:
    """(typed name, handle) of every person not hidden that has either: the names a query may say."""
    rows = Person.objects.using(using).filter(hidden=False).exclude(name="", handle="").order_by("id")
    return list(rows.values_list("name", "handle"))


def persons_with_faces_on(
    *, person_ids: Sequence[int], photo_ids: Sequence[int], using: str = DEFAULT_DB_ALIAS
) -> dict[int, set[int]]:
    """Photo id → which of ``person_ids`` (hidden ones aside) have a face on it, among ``photo_ids``: one query."""
    found: dict[int, set[int]] = {}
    if not person_ids or not photo_ids:
        return found
    rows = Face.objects.using(using).filter(person_id__in=person_ids, photo_id__in=photo_ids, person__hidden=False)
    for photo_id, person_id in rows.values_list("photo_id", "person_id"):
        found.setdefault(photo_id, set()).add(person_id)
    return found


def faces_scanned(*, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the faces stage has looked at any photo (the search form then shows its person and faces fields)."""
    return FaceScan.objects.using(using).exists()
