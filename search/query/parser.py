"""Queries said the way people say them: ``query_parse`` splits a query into the description left for CLIP and the
words channel, and the parts it understood (date, place, profile, people, hashtags, media type, text in the image).
Only confident parses become filters; in doubt words stay words. Pure: names come in a ``Vocabulary``, the day from
``today``. The rules are listed in README.md, "Queries in your own words".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from search.query import lexicon as words
from search.query.dates import DateSpec, date_bare_year, date_match, date_resolve, date_title_follows
from search.query.tokens import Token, fold, free, keys, phrase_at, tokenize

__all__ = ["KINDS", "PlaceName", "Vocabulary", "Understood", "ParsedQuery", "fold", "query_parse"]

_HANDLE = re.compile(r"^@([a-z0-9._]*[a-z0-9_])$")
_HASHTAG = re.compile(r"^#(\w*[^\W\d_]\w*)$")
# What an understood part may be (``Understood.kind``); a query holds at most one of each single kind.
KINDS = ("date", "place", "profile", "person", "hashtag", "media_type", "has_text")
_SINGLE_KINDS = ("date", "place", "profile", "media_type", "has_text")
_MAX_PLACE_WORDS = 6
_MAX_PERSON_WORDS = 4


@dataclass(frozen=True)
class PlaceName:
    """One name of a place present in the library."""

    name: str  # as stored: "Lisbon"
    kind: str  # "city" | "region" | "country"
    country: str  # "Portugal"
    country_code: str  # "PT"
    latitude: float | None  # for the season's hemisphere


@dataclass(frozen=True)
class Vocabulary:
    """What the library holds: built by ``search.query.vocabulary.query_vocabulary``, by hand in tests."""

    places: Mapping[str, tuple[PlaceName, ...]] = field(default_factory=dict)  # fold(name) → places with that name
    profiles: frozenset[str] = frozenset()  # profile handles, lower-case
    # fold(a person's name or handle) → how it is shown: "Maria Silva", "@maria" (persons not hidden)
    persons: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_names(
        cls,
        *,
        places: Iterable[PlaceName | Mapping[str, Any]] = (),
        profiles: Iterable[str] = (),
        aliases: Mapping[str, Iterable[str]] | None = None,
        persons: Iterable[str] = (),
    ) -> Vocabulary:
        """A vocabulary from plain lists: ``places`` (``PlaceName``s or dicts of its fields), profile handles,
        ``aliases``: a stored name → other names people use for it ("Lisbon" → ["Lisbonne", "Lisboa"]), and
        ``persons``: their typed names and @handles ("Maria Silva", "@maria"). The first place given with a name is
        the one a query naming it gets (list the one with most photos first); the same for a person's name."""
        found: dict[str, list[PlaceName]] = {}
        other_names = {fold(name): tuple(names) for name, names in (aliases or {}).items()}
        for place in places:
            place = place if isinstance(place, PlaceName) else PlaceName(**place)
            for name in (place.name, *other_names.get(fold(place.name), ())):
                if fold(name) and place not in found.setdefault(fold(name), []):
                    found[fold(name)].append(place)
        return cls(
            places={name: tuple(named) for name, named in found.items()},
            profiles=frozenset(handle.lower().lstrip("@") for handle in profiles),
            persons=_person_names(persons),
        )


@dataclass(frozen=True)
class Understood:
    """A part of the query understood as a filter."""

    kind: str  # "date" | "place" | "profile" | "person" | "hashtag" | "media_type" | "has_text"
    text: str  # the words taken from the query, exactly as typed, the connecting word included ("in lisbon")
    value: str  # date: "2019-06-01/2019-08-31" (inclusive); place: "Lisbon, Portugal"; profile/person: handle;
    # hashtag: tag (lower case, no '#'); media_type: "video"; has_text: "image"
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    place: PlaceName | None = None
    shown: str = ""  # person: as a chip shows it, "@maria" or "Maria Silva" (a handle's value has no '@')


@dataclass(frozen=True)
class ParsedQuery:
    description: str  # the query without the understood parts, whitespace collapsed ("" possible)
    understood: tuple[Understood, ...]  # in query order


@dataclass
class _Part:
    start: int  # tokens [start, end)
    end: int
    kind: str
    value: str = ""
    place: PlaceName | None = None
    spec: DateSpec | None = None
    shown: str = ""


def query_parse(query: str, *, vocabulary: Vocabulary, today: date) -> ParsedQuery:
    """``query`` split into the description that remains and the parts understood (see the module's rules);
    relative dates ("last summer", "yesterday") count from ``today``."""
    tokens = tokenize(query)
    parts: list[_Part] = []
    i = 0
    while i < len(tokens):
        part = _anchored(tokens, i, _taken(parts), vocabulary, today, parts) if free(tokens, i, _taken(parts)) else None
        if part and not _has_kind(parts, part.kind):
            parts.append(part)
            i = part.end
        else:
            i += 1
    _trailing(tokens, parts, vocabulary, today)
    _leading(tokens, parts, today)
    parts.sort(key=lambda part: part.start)
    south = any(part.place and part.place.latitude is not None and part.place.latitude < 0 for part in parts)
    understood = []
    for part in parts:
        text = query[tokens[part.start].start : tokens[part.end - 1].end]
        if part.kind != "date":
            understood.append(Understood(part.kind, text, part.value, place=part.place, shown=part.shown))
            continue
        assert part.spec is not None  # a date part carries what date_match understood
        if days := date_resolve(part.spec, today=today, south=south):
            understood.append(Understood("date", text, f"{days[0].isoformat()}/{days[1].isoformat()}", *days))
        else:
            part.kind = "dropped"
    kept = sorted((tokens[p.start].start, tokens[p.end - 1].end) for p in parts if p.kind != "dropped")
    pieces, at = [], 0
    for start, end in kept:
        pieces.append(query[at:start])
        at = end
    pieces.append(query[at:])
    return ParsedQuery(description=" ".join("".join(pieces).split()), understood=tuple(understood))


def _anchored(
    tokens: list[Token], i: int, taken: set[int], vocabulary: Vocabulary, today: date, parts: list[_Part]
) -> _Part | None:
    """The longest part starting at ``i`` that carries its own reason to be one (a connecting word, a mark)."""
    found: list[_Part] = []
    key = tokens[i].key
    if match := _HASHTAG.match(key):
        found.append(_Part(i, i + 1, "hashtag", match[1]))
    for connecting in ((),) + _PERSON:
        width = phrase_at(tokens, i, connecting, taken) if connecting else 0
        if (
            (not connecting or width)
            and free(tokens, i + width, taken)
            and (handle := _HANDLE.match(tokens[i + width].key))
        ):
            profile = not connecting and handle[1] in vocabulary.profiles
            kind = "profile" if profile else "person"
            found.append(_Part(i, i + width + 1, kind, handle[1], shown="" if profile else f"@{handle[1]}"))
    found.extend(_persons_at(tokens, i, taken, vocabulary, parts))
    for connecting in _PROFILE:
        if (width := phrase_at(tokens, i, connecting, taken)) and free(tokens, i + width, taken):
            name = tokens[i + width].key.removeprefix("@")
            if name in vocabulary.profiles:
                found.append(_Part(i, i + width + 1, "profile", name))
    for phrase in _TEXT:
        if width := phrase_at(tokens, i, phrase, taken):
            found.append(_Part(i, i + width, "has_text", "image"))
    if spec := date_match(tokens, i, taken, today=today):
        found.append(_Part(spec.start, spec.end, "date", spec=spec))
    for connecting in _PLACE:
        if width := phrase_at(tokens, i, connecting, taken):
            article = 1 if free(tokens, i + width, taken) and tokens[i + width].key in words.PLACE_ARTICLES else 0
            for skip in {0, article}:
                if place := _place_at(tokens, i + width + skip, taken, vocabulary):
                    found.append(_Part(i, place[0], "place", _place_value(place[1]), place[1]))
    if key in words.MEDIA_WORDS and _connecting_at(tokens, i + 1):
        found.append(_Part(i, i + 1, "media_type", words.MEDIA_WORDS[key]))
    # A kind already taken leaves the words to the other kinds ("from lisbon" after a profile: still a place).
    found = [part for part in found if not _has_kind(parts, part.kind)]
    return max(found, key=lambda part: part.end - part.start, default=None)


def _persons_at(
    tokens: list[Token], i: int, taken: set[int], vocabulary: Vocabulary, parts: list[_Part]
) -> list[_Part]:
    """A person phrase at ``i``: "with maria", "photos of maria", "and joao" after a person (or "me"), or a bare
    name followed by "and" and another person ("maria and joao"). A bare name alone stays a word."""
    found = []
    for connecting in _PERSON + _PERSON_PHOTO:
        if (width := phrase_at(tokens, i, connecting, taken)) and (
            ref := _person_ref(tokens, i + width, taken, vocabulary)
        ):
            found.append(_Part(i, ref[0], "person", ref[1], shown=ref[2]))
    after_person = i > 0 and (
        any(part.kind == "person" and part.end == i for part in parts)
        or (free(tokens, i - 1, taken) and tokens[i - 1].key in words.ME_WORDS)
    )
    if after_person and free(tokens, i, taken) and tokens[i].key in words.AND_WORDS:
        if ref := _person_ref(tokens, i + 1, taken, vocabulary):
            found.append(_Part(i, ref[0], "person", ref[1], shown=ref[2]))
    if (ref := _person_ref(tokens, i, taken, vocabulary, named=True)) and (
        free(tokens, ref[0], taken)
        and tokens[ref[0]].key in words.AND_WORDS
        and _person_ref(tokens, ref[0] + 1, taken, vocabulary)
    ):
        found.append(_Part(i, ref[0], "person", ref[1], shown=ref[2]))
    return found


def _person_ref(
    tokens: list[Token], i: int, taken: set[int], vocabulary: Vocabulary, *, named: bool = False
) -> tuple[int, str, str] | None:
    """A person at ``i``: an @handle (unless ``named``) or the longest person's name the library knows, as (end,
    value, shown); a handle's value is the handle, a name's the name."""
    if not named and free(tokens, i, taken) and (handle := _HANDLE.match(tokens[i].key)):
        return i + 1, handle[1], f"@{handle[1]}"
    for stop in range(min(len(tokens), i + _MAX_PERSON_WORDS), i, -1):
        if (
            all(free(tokens, k, taken) for k in range(i, stop))
            and (shown := vocabulary.persons.get(" ".join(tokens[k].key for k in range(i, stop))))
            and _phrase_ends(tokens, stop, taken)
        ):
            return stop, shown.removeprefix("@"), shown
    return None


def _phrase_ends(tokens: list[Token], i: int, taken: set[int]) -> bool:
    """Whether a name may end before ``i``: the query ends, or a connecting word, "and", a year, an @handle or
    #hashtag, a quoted or understood word follows. "cake with rose petals" keeps its rose a word."""
    if not free(tokens, i, taken):
        return True
    key = tokens[i].key
    return key in _CONNECTING or key in words.AND_WORDS or key[:1] in "@#" or key.isdigit()


def _person_names(names: Iterable[str]) -> dict[str, str]:
    """fold(name) → the name as given, the first one given winning; a handle ("@maria") is found without its '@'."""
    found: dict[str, str] = {}
    for name in names:
        key = fold(name.removeprefix("@"))
        if key and key not in found:
            found[key] = name if not name.startswith("@") else name.lower()
    return found


def _trailing(tokens: list[Token], parts: list[_Part], vocabulary: Vocabulary, today: date) -> None:
    """From the end: while only understood parts follow, a bare place name, year or media word counts too."""
    end = len(tokens)
    while end > 0:
        taken = _taken(parts)
        if end - 1 in taken:
            end -= 1
            continue
        part = None
        if not _has_kind(parts, "date") and (spec := date_bare_year(tokens, end - 1, taken, today=today)):
            part = _Part(end - 1, end, "date", spec=spec)
        elif (
            free(tokens, end - 1, taken)
            and tokens[end - 1].key in words.MEDIA_WORDS
            and not _has_kind(parts, "media_type")
        ):
            part = _Part(end - 1, end, "media_type", words.MEDIA_WORDS[tokens[end - 1].key])
        elif not _has_kind(parts, "place"):
            for start in range(max(0, end - _MAX_PLACE_WORDS), end):
                place = _place_at(tokens, start, taken, vocabulary, end=end)
                if place and not (start > 0 and tokens[start - 1].key in words.OF_WORDS + ("du", "des", "d'")):
                    part = _Part(start, end, "place", _place_value(place[1]), place[1])
                    break
        if part is None:
            return
        parts.append(part)
        end = part.start


def _leading(tokens: list[Token], parts: list[_Part], today: date) -> None:
    """At the start (only understood parts before it): a year not starting a title, a media word."""
    taken = _taken(parts)
    i = _first_free(tokens, taken)
    if i is None or tokens[i].protected:
        return
    if (
        not _has_kind(parts, "date")
        and (spec := date_bare_year(tokens, i, taken, today=today))
        and not date_title_follows(tokens, i)
    ):
        parts.append(_Part(i, i + 1, "date", spec=spec))


def _place_at(
    tokens: list[Token], i: int, taken: set[int], vocabulary: Vocabulary, end: int | None = None
) -> tuple[int, PlaceName] | None:
    """The longest place name at ``i`` (ending exactly at ``end`` when given): (end, place)."""
    stops = range(min(len(tokens), i + _MAX_PLACE_WORDS), i, -1) if end is None else (end,)
    for stop in stops:
        if all(free(tokens, k, taken) for k in range(i, stop)) and (
            named := vocabulary.places.get(" ".join(tokens[k].key for k in range(i, stop)))
        ):
            return stop, named[0]
    return None


def _place_value(place: PlaceName) -> str:
    return place.country if place.kind == "country" else f"{place.name}, {place.country}"


def _connecting_at(tokens: list[Token], i: int) -> bool:
    return i < len(tokens) and not tokens[i].protected and tokens[i].key in _CONNECTING


def _first_free(tokens: list[Token], taken: set[int]) -> int | None:
    return next((k for k in range(len(tokens)) if k not in taken), None)


def _taken(parts: list[_Part]) -> set[int]:
    return {k for part in parts for k in range(part.start, part.end)}


def _has_kind(parts: list[_Part], kind: str) -> bool:
    return kind in _SINGLE_KINDS and any(part.kind == kind for part in parts)


def _phrases(table: Mapping[str, tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    return tuple(dict.fromkeys(keys(w) for group in table.values() for w in group))


# The tables as token keys, once.
_PERSON, _PROFILE, _PLACE = _phrases(words.PERSON_WORDS), _phrases(words.PROFILE_WORDS), _phrases(words.PLACE_WORDS)
_PERSON_PHOTO = _phrases(words.PERSON_PHOTO_WORDS)
_TEXT = tuple(keys(phrase) for phrase in words.TEXT_PHRASES)
_CONNECTING = {
    phrase[0]
    for table in (words.PLACE_WORDS, words.PROFILE_WORDS, words.DATE_WORDS, words.PERSON_WORDS)
    for phrase in _phrases(table)
} | {keys(w)[0] for w in (*words.OF_WORDS, *words.SINCE_WORDS)}
