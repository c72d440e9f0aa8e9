"""A query as the search runs it: the parser's understood parts (``search.query.parser``, pure) read against this
library's places and profiles, turned into filters that combine with the explicit ones (an explicit filter wins),
and the description that remains for the vector and words channels."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from profiles.selectors import profile_ids_for_handle
from search.inputs import person_wanted
from search.query.parser import ParsedQuery, Understood, Vocabulary, query_parse
from search.query.vocabulary import query_vocabulary
from search.types import InvalidQuery, PersonWanted, SearchFilters, day_range

# The library's places and profiles change only when an import ends. Each process keeps the vocabulary it read in
# memory (a library's thousands of names, unpickled from a cache on every search, would cost more than parsing);
# the shared cache holds only a token that an ended import replaces (``vocabulary_forget``), so every process —
# web workers and the Celery worker alike — rereads it at its next search. And at the latest after this long.
VOCABULARY_CACHE_KEY = "search:query-vocabulary-version"
VOCABULARY_CACHE_SECONDS = 600
# While the shared cache does not answer (no token: photosearch.cache answers a miss), an ended import cannot tell the
# other processes; each then rereads its vocabulary this often instead.
VOCABULARY_TOKENLESS_SECONDS = 60
_vocabularies: dict[str, tuple[str, float, Vocabulary]] = {}  # database alias → (token, read at, vocabulary)


@dataclass(frozen=True)
class Understanding:
    """``description``: what the channels search; ``understood``: the parts taken as filters (those of a kind the
    user asked to keep as words are left in the description); ``filters``: the explicit filters with the understood
    ones added where the explicit ones leave the field open."""

    description: str
    understood: tuple[Understood, ...]
    filters: SearchFilters


def vocabulary_cached(*, using: str = DEFAULT_DB_ALIAS) -> Vocabulary:
    """The library's vocabulary (``search.query.vocabulary.query_vocabulary``, read from database ``using`` when this
    process holds none, or an older one than the last ended import's), kept until the next import ends."""
    token = cache.get(VOCABULARY_CACHE_KEY)
    if token is None:
        cache.add(VOCABULARY_CACHE_KEY, uuid.uuid4().hex, None)
        token = cache.get(VOCABULARY_CACHE_KEY)
    held = _vocabularies.get(using)
    keep = VOCABULARY_CACHE_SECONDS if token is not None else VOCABULARY_TOKENLESS_SECONDS
    if held is not None and held[0] == token and time.monotonic() - held[1] < keep:
        return held[2]
    vocabulary = query_vocabulary(using=using)
    _vocabularies[using] = (token, time.monotonic(), vocabulary)
    return vocabulary


def vocabulary_forget() -> None:
    """Make every process read the vocabulary again (an import changed the places or profiles). With the shared
    cache down this process forgets its own at once and the others within ``VOCABULARY_TOKENLESS_SECONDS``."""
    _vocabularies.clear()
    cache.set(VOCABULARY_CACHE_KEY, uuid.uuid4().hex, None)


def query_understand(
    *, query: str, filters: SearchFilters, plain: frozenset[str] = frozenset(), using: str = DEFAULT_DB_ALIAS
) -> Understanding:
    """``query`` parsed against the library (its places and profiles as database ``using`` has them, today in the
    display time zone). Parts of a kind in ``plain`` stay words (the page's ✕ on a chip)."""
    parsed: ParsedQuery = query_parse(query, vocabulary=vocabulary_cached(using=using), today=timezone.localdate())
    kept = tuple(part for part in parsed.understood if part.kind not in plain)
    description = parsed.description if len(kept) == len(parsed.understood) else _without(query, kept)
    return Understanding(
        description=description, understood=kept, filters=filters_with_understood(filters, kept, using=using)
    )


def _without(query: str, parts: tuple[Understood, ...]) -> str:
    """``query`` with the words of ``parts`` taken out (each part's text is exactly as typed, in query order)."""
    rest, position = query, 0
    for part in parts:
        found = rest.find(part.text, position)
        if found < 0:
            continue
        rest = rest[:found] + " " + rest[found + len(part.text) :]
        position = found
    return " ".join(rest.split())


def filters_with_understood(
    filters: SearchFilters, parts: tuple[Understood, ...], *, using: str = DEFAULT_DB_ALIAS
) -> SearchFilters:
    """``filters`` plus what ``parts`` say, field by field: a field the explicit filters set is kept as it is (the
    form or API parameter wins); hashtags and persons add up (each is required). Profiles and persons are looked up
    on database ``using``."""
    changes: dict[str, Any] = {}
    place_set = bool(filters.country_codes or filters.cities or filters.regions or filters.near)
    for part in parts:
        if (
            part.kind == "date"
            and filters.taken_from is None
            and filters.taken_to is None
            and "taken_from" not in changes
        ):
            changes["taken_from"], changes["taken_to"] = day_range(part.date_from, part.date_to)
        elif part.kind == "place" and part.place is not None and not place_set and "_place" not in changes:
            changes["_place"] = True
            field = {"city": "cities", "region": "regions", "country": "country_codes"}[part.place.kind]
            value = part.place.country_code if part.place.kind == "country" else part.place.name
            changes[field] = (value,)
            if part.place.kind != "country":
                changes["country_codes"] = (part.place.country_code,)
        elif part.kind == "profile" and not filters.profile_ids and "profile_ids" not in changes:
            # The vocabulary holds handles lower-cased: "NatGeo" is found by "from natgeo".
            if ids := tuple(profile_ids_for_handle(handle=part.value, ignore_case=True, using=using)):
                changes["profile_ids"] = ids
        elif part.kind == "person" and (wanted := _person(part, using=using)) is not None:
            # A handle or a name: the persons' faces, or the handle among the post's people.
            changes["persons"] = (*changes.get("persons", filters.persons), wanted)
        elif part.kind == "hashtag":
            changes["hashtags"] = (*changes.get("hashtags", filters.hashtags), part.value)
        elif part.kind == "media_type" and filters.media_type is None:
            changes["media_type"] = part.value
        elif part.kind == "has_text" and filters.has_image_text is None:
            changes["has_image_text"] = True
    changes.pop("_place", None)
    return replace(filters, **changes)


def _person(part: Understood, *, using: str) -> PersonWanted | None:
    """The person a part names (an @handle: by its handle; a name: by name or handle), None if no longer known."""
    try:
        wanted = person_wanted(part.shown or f"@{part.value}", using=using)
    except InvalidQuery:
        return None
    return replace(wanted, said=part.shown or wanted.said)
