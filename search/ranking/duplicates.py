"""The same image under several profiles is one result: the fused candidates keep one photo per ``content_hash`` and the
hit names the others (``also_in``). It runs before sorting and paging, so a page is never short, at one primary-key
probe per candidate.
"""

from __future__ import annotations

from dataclasses import replace
from textwrap import indent

from django.db import connections

from search.types import SearchHit

# One photo per image among the fused candidates: the best fused score, then the oldest id. A similar-photos search
# also drops copies of its own photo (``%(photo_id)s``: NULL otherwise, which drops nothing): a copy at distance 0 is
# the same picture, not a similar one.
_ONE_PER_IMAGE = (
    "SELECT DISTINCT ON (p.content_hash) f.*\n"
    "FROM (\n"
    "{fused}\n"
    ") f JOIN profiles_photo p ON p.id = f.photo_id\n"
    "WHERE p.content_hash IS DISTINCT FROM (SELECT content_hash FROM profiles_photo WHERE id = %(photo_id)s)\n"
    "ORDER BY p.content_hash, f.fused_score DESC, f.photo_id"
)
# The other photos of the page's images: one probe of the originals' hash index per image of the page.
_OTHER_COPIES = (
    "SELECT c.content_hash, c.id, pr.id, pr.handle\n"
    "FROM profiles_photo c JOIN profiles_profile pr ON pr.id = c.profile_id\n"
    "WHERE c.content_hash = ANY(%s) AND c.duplicate_of_id IS NULL\n"
    "ORDER BY pr.handle, c.id"
)


def one_per_image(fused: str) -> str:
    """The fused candidates of ``fused`` (a SELECT with ``photo_id`` and ``fused_score``), one photo per image."""
    return _ONE_PER_IMAGE.format(fused=indent(fused, " " * 4))


def hits_with_other_profiles(hits: list[SearchHit], *, using: str) -> list[SearchHit]:
    """``hits``, each with ``also_in``: the other profiles that hold the same image, as ``{"profile": handle,
    "photo_id": id}`` by handle (one query for the page)."""
    if not hits:
        return hits
    with connections[using].cursor() as cursor:
        cursor.execute(_OTHER_COPIES, [sorted({hit.photo.content_hash for hit in hits})])
        copies = cursor.fetchall()
    found = []
    for hit in hits:
        photo = hit.photo
        others = tuple(
            {"profile": handle, "photo_id": photo_id}
            for content_hash, photo_id, profile_id, handle in copies
            if content_hash == photo.content_hash and profile_id != photo.profile_id
        )
        found.append(replace(hit, also_in=others) if others else hit)
    return found
