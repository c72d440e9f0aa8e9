"""Dates in a query (for ``search.query.parser``): which token shapes count as one, and the days each covers.

dateparser supplies the words and their meaning against ``today``, but is never asked to find dates in free text
("may", "sun", "66" would be dates): each shape here needs something that makes it a date (a year, a connecting word,
"last"/"this"). The shapes are listed in README.md, "Queries in your own words".
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from dateparser.date import DateDataParser
from dateparser.languages.loader import default_loader
from dateutil.relativedelta import relativedelta  # dateparser's own dependency, its arithmetic

from search.query import lexicon as words
from search.query.tokens import Token, fold, free, keys, phrase_at

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_YEAR = re.compile(r"^(\d{4})$")
_YEARS = re.compile(r"^(\d{4})[-–](\d{4})$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|er|e|º)?$")
_NUMBER = re.compile(r"^\d{1,2}$")
# dateparser's relative phrases that name a past or present day, week, month or year.
_RELATIVE_KEYS = re.compile(r"^(?:[012] (?:day|week|month|year) ago|last (?:mon|tues|wednes|thurs|fri|satur|sun)day)$")
# Season → its months in the northern hemisphere; the southern one's is six months away.
_NORTH = {"spring": 3, "summer": 6, "autumn": 9, "winter": 12}


@dataclass(frozen=True)
class Atom:
    """One date, not yet resolved: a fixed span, a year, a month or a season (the last two maybe without a year)."""

    kind: str  # "fixed" | "year" | "month" | "season"
    fixed: tuple[date, date] | None = None
    year: int | None = None
    month: int | None = None
    season: str | None = None
    mode: str = "in"  # without a year: "in" (the latest that has begun) | "last" (the latest that has ended)


@dataclass(frozen=True)
class DateSpec:
    """A date understood at tokens [start, end): one atom, a range of two, or "since" one."""

    start: int
    end: int
    first: Atom
    last: Atom | None = None
    since: bool = False


def date_match(tokens: list[Token], i: int, taken: set[int], *, today: date) -> DateSpec | None:
    """The longest confident date starting at token ``i``: a range, "since …", a connecting word and a date, or a
    date sure of itself (a year aside: see ``date_bare_year``)."""
    found: list[DateSpec] = []
    for opener, joiner in _ranges():
        start = i + (phrase_at(tokens, i, opener, taken) if opener else 0)
        if opener and start == i:
            continue
        if not (first := _atom(tokens, start, taken, today)) or not (
            width := phrase_at(tokens, first[0], joiner, taken)
        ):
            continue
        if (last := _atom(tokens, first[0] + width, taken, today)) and (opener or first[2] or last[2]):
            found.append(DateSpec(i, last[0], *_years_shared(first[1], last[1])))
    for since in _SINCE:
        if (width := phrase_at(tokens, i, since, taken)) and (atom := _atom(tokens, i + width, taken, today)):
            found.append(DateSpec(i, atom[0], atom[1], since=True))
    for connecting in _CONNECTING:
        if (
            (width := phrase_at(tokens, i, connecting, taken))
            and (atom := _atom(tokens, i + width, taken, today))
            and not _holiday(tokens, i, atom)
            and (atom[2] or atom[1].kind == "year" or connecting not in _OF)
        ):
            found.append(DateSpec(i, atom[0], atom[1]))
    if (atom := _atom(tokens, i, taken, today)) and atom[2]:
        found.append(DateSpec(i, atom[0], atom[1]))
    return max(found, key=lambda spec: spec.end, default=None)


def date_bare_year(tokens: list[Token], i: int, taken: set[int], *, today: date) -> DateSpec | None:
    """Token ``i`` as a year on its own (the caller decides where one may stand)."""
    if free(tokens, i, taken) and (year := _year(tokens[i].key, today)):
        return DateSpec(i, i + 1, Atom("year", year=year))
    return None


def date_title_follows(tokens: list[Token], i: int) -> bool:
    """An article after token ``i``: a year there starts a title ("1984 the novel")."""
    return i + 1 < len(tokens) and tokens[i + 1].key in words.TITLE_ARTICLES


def date_resolve(spec: DateSpec, *, today: date, south: bool) -> tuple[date, date] | None:
    """The first and last days (inclusive) ``spec`` covers, or None when it makes no sense (an upside-down range)."""
    first_from, first_to = _days(spec.first, today, south)
    if spec.since:
        return (first_from, today) if first_from <= today else None
    if spec.last is None:
        return first_from, first_to
    last_from, last_to = _days(spec.last, today, south)
    if first_from > last_to and spec.first.kind == "month" and spec.first.year is None:
        first_from = first_from.replace(year=first_from.year - 1)
    return (first_from, last_to) if first_from <= last_to else None


def _atom(tokens: list[Token], i: int, taken: set[int], today: date) -> tuple[int, Atom, bool] | None:
    """The longest date at ``i``: (end, atom, sure of itself — True — or needing a connecting word)."""
    if not free(tokens, i, taken):
        return None
    found: list[tuple[int, Atom, bool]] = []
    key = tokens[i].key
    for phrase, text, language in _relatives_from().get(key, ()):
        if (width := phrase_at(tokens, i, phrase, taken)) and (days := _parsed(text, language, today)):
            found.append((i + width, Atom("fixed", fixed=days), True))
    found.extend(_ago(tokens, i, taken, today))
    if (year := _year(key, today)) is not None:
        found.append((i + 1, Atom("year", year=year), False))
    if (match := _YEARS.match(key)) and (first := _year(match[1], today)) and (last := _year(match[2], today)):
        if first <= last:
            found.append((i + 1, Atom("fixed", fixed=(date(first, 1, 1), date(last, 12, 31))), True))
    if match := _ISO_DAY.match(key) or _ISO_MONTH.match(key):
        found.extend(_iso(match, i, today))
    found.extend(_month_or_season(tokens, i, taken, today))
    found.extend(_day_month_year(tokens, i, taken, today))
    return max(found, key=lambda item: item[0], default=None)


# "of"/"de" only lead to a year ("class of 2019", "photos de 2019"): "last day of summer", "photos de juin" stay words.
_OF = {(word,) for word in (*words.OF_WORDS, "du")}


def _holiday(tokens: list[Token], i: int, atom: tuple[int, Atom, bool]) -> bool:
    """A day number next to a month without a year ("4th of july", "on july 4th", "14 de julio"): a holiday's name,
    not last July."""
    if atom[1].kind != "month" or atom[1].year is not None:
        return False
    return (i > 0 and bool(_DAY.match(tokens[i - 1].key))) or (
        atom[0] < len(tokens) and bool(_DAY.match(tokens[atom[0]].key))
    )


def _month_or_season(tokens: list[Token], i: int, taken: set[int], today: date) -> list[tuple[int, Atom, bool]]:
    found = []
    article = 1 if free(tokens, i, taken) and tokens[i].key in words.SEASON_ARTICLES else 0
    for start, before in ((i, ""), (i + article, "article")):
        if not free(tokens, start, taken) or not (atom := _named(tokens[start].key)):
            continue
        end = start + 1
        of = 1 if free(tokens, end, taken) and tokens[end].key in words.OF_WORDS else 0
        if free(tokens, end + of, taken) and (year := _year(tokens[end + of].key, today)):
            found.append((end + of + 1, replace(atom, year=year), True))
        if free(tokens, end, taken) and tokens[end].key in words.LAST_AFTER:
            found.append((end + 1, replace(atom, mode="last"), True))
        if not before:
            found.append((end, atom, False))
    if free(tokens, i, taken) and tokens[i].key in (*words.LAST_BEFORE, *words.THIS_BEFORE):
        atom = _named(tokens[i + 1].key) if free(tokens, i + 1, taken) else None
        # "this may" is a verb more often than a month: only seasons follow "this".
        if atom and (tokens[i].key in words.LAST_BEFORE or atom.kind == "season"):
            found.append((i + 2, replace(atom, mode="last" if tokens[i].key in words.LAST_BEFORE else "in"), True))
    return found


def _day_month_year(tokens: list[Token], i: int, taken: set[int], today: date) -> list[tuple[int, Atom, bool]]:
    """ "4 july 2019", "le 14 juillet 2019", "july 4th, 2019": checked by dateparser, which must read a day."""
    found = []
    start = i + (1 if free(tokens, i, taken) and tokens[i].key in ("le", "the", "el", "am", "il", "o") else 0)
    shapes = ((start, "day", "month"), (start, "month", "day"))
    for first, *order in shapes:
        at, parts = first, {}
        for part in order:
            if part == "month" and free(tokens, at, taken) and tokens[at].key in words.OF_WORDS and "day" in parts:
                at += 1
            if not free(tokens, at, taken):
                break
            if part == "day" and _DAY.match(tokens[at].key):
                parts["day"] = at
            elif part == "month" and tokens[at].key in _months():
                parts["month"] = at
            else:
                break
            at += 1
        if len(parts) == 2 and free(tokens, at, taken) and _year(tokens[at].key, today):
            text = " ".join(tokens[k].key for k in range(first, at + 1))
            parsed = _parser(_months()[tokens[parts["month"]].key][1], today).get_date_data(text)
            if parsed.date_obj and parsed.period == "day":
                day = parsed.date_obj.date()
                found.append((at + 1, Atom("fixed", fixed=(day, day)), True))
    return found


def _ago(tokens: list[Token], i: int, taken: set[int], today: date) -> list[tuple[int, Atom, bool]]:
    """ "3 days ago", "il y a 2 ans", "vor 2 jahren": the words from dateparser's locale, the meaning too."""
    found = []
    for language, (agos, units) in _ago_words().items():
        for ago in agos:
            shapes = ((ago, ("n",), ("unit",)), (("n",), ("unit",), ago))
            for shape in shapes:
                at, ok = i, True
                for part in shape:
                    if part == ("n",):
                        ok = free(tokens, at, taken) and bool(_NUMBER.match(tokens[at].key))
                        at += 1
                    elif part == ("unit",):
                        ok = free(tokens, at, taken) and tokens[at].key in units
                        at += 1
                    else:
                        width = phrase_at(tokens, at, part, taken)
                        ok, at = bool(width), at + width
                    if not ok:
                        break
                if ok and (days := _ago_days([tokens[k].key for k in range(i, at)], language, today)):
                    found.append((at, Atom("fixed", fixed=days), True))
    return found


def _ago_days(phrase: list[str], language: str, today: date) -> tuple[date, date] | None:
    """The days "N units ago" covers. dateparser reads the phrase with N = 1 (so each phrase is parsed once a day,
    whatever N) to learn the unit; N is counted back here."""
    number = next(int(key) for key in phrase if _NUMBER.match(key))
    one = " ".join("1" if _NUMBER.match(key) else key for key in phrase)
    if (read := _read(one, language, today)) is None:
        return None
    period = read[1]
    units: dict[str, Any] = {f"{period}s": number}  # years=, months=, weeks= or days=
    try:
        day = today - relativedelta(**units)
    except (ValueError, OverflowError):
        return None
    days = _period(day, period)
    return days if days[0] <= today else None


def _iso(match: re.Match[str], i: int, today: date) -> list[tuple[int, Atom, bool]]:
    year, month = int(match[1]), int(match[2])
    if not (_year(match[1], today) and 1 <= month <= 12):
        return []
    last = calendar.monthrange(year, month)[1]
    if match.re is _ISO_MONTH:
        return [(i + 1, Atom("month", year=year, month=month), True)]
    if not 1 <= int(match[3]) <= last:
        return []
    day = date(year, month, int(match[3]))
    return [(i + 1, Atom("fixed", fixed=(day, day)), True)]


def _named(key: str) -> Atom | None:
    if key in _months():
        return Atom("month", month=_months()[key][0])
    if season := _seasons().get(key):
        return Atom("season", season=season)
    return None


def _year(key: str, today: date) -> int | None:
    return int(key) if _YEAR.match(key) and 1900 <= int(key) <= today.year else None


def _years_shared(first: Atom, last: Atom) -> tuple[Atom, Atom]:
    """ "between may and july 2021": a month without a year takes the other end's (the year before when it would
    come after it: "between november and february 2020")."""
    if first.kind == "month" and first.year is None and last.year is not None and last.kind in ("month", "year"):
        late = last.kind == "month" and _month(first) > _month(last)
        first = replace(first, year=last.year - 1 if late else last.year)
    if last.kind == "month" and last.year is None and first.year is not None and first.kind == "month":
        last = replace(last, year=first.year + 1 if _month(last) < _month(first) else first.year)
    return first, last


def _days(atom: Atom, today: date, south: bool) -> tuple[date, date]:
    if atom.kind == "fixed":
        assert atom.fixed is not None  # each kind of atom has its field set: "fixed" its span, "year" its year…
        return atom.fixed
    if atom.kind == "year":
        assert atom.year is not None
        return date(atom.year, 1, 1), date(atom.year, 12, 31)
    if atom.kind == "month":
        year, month = atom.year, _month(atom)
        if year is None and atom.mode == "in":
            year = today.year if month <= today.month else today.year - 1
        elif year is None:
            year = today.year if month < today.month else today.year - 1
        return _span(year, month, 1)
    assert atom.season is not None
    first_month = (_NORTH[atom.season] + (6 if south else 0) - 1) % 12 + 1
    if atom.year is not None:
        return _span(atom.year, first_month, 3)
    year = today.year
    while (span := _span(year, first_month, 3))[0 if atom.mode == "in" else 1] >= today + timedelta(
        days=0 if atom.mode == "last" else 1
    ):
        year -= 1
    return span


def _month(atom: Atom) -> int:
    assert atom.month is not None  # called on "month" atoms only, which have one
    return atom.month


def _span(year: int, month: int, months: int) -> tuple[date, date]:
    """``months`` months from the first of ``month`` ``year`` (a season may run into the next year)."""
    end_month, end_year = (month + months - 2) % 12 + 1, year + (month + months - 2) // 12
    return date(year, month, 1), date(end_year, end_month, calendar.monthrange(end_year, end_month)[1])


def _period(day: date, period: str) -> tuple[date, date]:
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if period == "month":
        return _span(day.year, day.month, 1)
    if period == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    return day, day


def _parsed(text: str, language: str, today: date) -> tuple[date, date] | None:
    if (read := _read(text, language, today)) is None:
        return None
    days = _period(*read)
    return days if days[0] <= today else None


# dateparser is slow: each phrase is parsed once a day.
@lru_cache(maxsize=1024)
def _read(text: str, language: str, today: date) -> tuple[date, str] | None:
    """(the day dateparser reads in ``text``, its period: day, week, month or year) or None."""
    parsed = _parser(language, today).get_date_data(text)
    if not parsed.date_obj or parsed.period not in ("day", "week", "month", "year"):
        return None
    return parsed.date_obj.date(), parsed.period


@lru_cache(maxsize=32)
def _parser(language: str, today: date) -> DateDataParser:
    return DateDataParser(
        languages=[language],
        settings={
            "RELATIVE_BASE": datetime(today.year, today.month, today.day),
            "PREFER_DATES_FROM": "past",
            "PREFER_DAY_OF_MONTH": "first",
            "RETURN_TIME_AS_PERIOD": False,
        },
    )


@lru_cache(maxsize=1)
def _months() -> dict[str, tuple[int, str]]:
    """Folded month name → (month, language), from dateparser's locales: full names, and shortened ones of four
    letters or more ("sept", "janv"); "mar", "jun", "dec" are words."""
    names: dict[str, tuple[int, str]] = {}
    for language in words.DATE_LANGUAGES:
        info = default_loader.get_locale(language).info
        for number, month in enumerate(_MONTHS, start=1):
            found = [name for name in info.get(month) or () if name.replace(".", "").isalpha()]
            full = max(found, key=len, default="")
            for name in found:
                if name == full or len(name) >= 4:
                    names.setdefault(fold(name), (number, language))
    return names


@lru_cache(maxsize=1)
def _relatives() -> tuple[tuple[tuple[str, ...], str, str], ...]:
    """(keys, phrase, language) of dateparser's relative phrases for a past or present day, week, month, year or
    weekday, longest first; short forms ("last wk", "this yr", "last fri") are left out as too easily something else."""
    found = []
    for language in words.DATE_LANGUAGES:
        for meaning, phrases in (default_loader.get_locale(language).info.get("relative-type") or {}).items():
            if not _RELATIVE_KEYS.match(meaning):
                continue
            for phrase in phrases:
                if (
                    (phrase_keys := keys(phrase))
                    and all(len(word) > 3 for word in phrase_keys[1:])
                    and "till" not in phrase_keys
                ):
                    found.append((phrase_keys, phrase, language))
    return tuple(sorted(found, key=lambda item: -len(item[0])))


@lru_cache(maxsize=1)
def _relatives_from() -> dict[str, tuple[tuple[tuple[str, ...], str, str], ...]]:
    """``_relatives()`` by their first key, in the same order: a token is tried only against those that start there."""
    found: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
    for relative in _relatives():
        found.setdefault(relative[0][0], []).append(relative)
    return {key: tuple(relatives) for key, relatives in found.items()}


@lru_cache(maxsize=1)
def _ago_words() -> dict[str, tuple[list[tuple[str, ...]], set[str]]]:
    """Per language: the words for "ago" (before or after the number, as the language puts them) and the units."""
    found = {}
    for language in words.DATE_LANGUAGES:
        info = default_loader.get_locale(language).info
        agos = [keys(word) for word in info.get("ago") or () if word not in ("before",)]
        units = {
            fold(word) for unit in ("day", "week", "month", "year") for word in info.get(unit) or () if len(word) >= 3
        }
        found[language] = (agos, units)
    return found


@lru_cache(maxsize=1)
def _seasons() -> dict[str, str]:
    return {name: season for table in words.SEASONS.values() for name, season in table.items()}


@lru_cache(maxsize=1)
def _ranges() -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    pairs = {
        (keys(opener) if opener else (), keys(joiner))
        for group in words.RANGE_WORDS.values()
        for opener, joiner in group
    }
    return tuple(sorted(pairs))


def _phrases(phrases: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(dict.fromkeys(keys(phrase) for phrase in phrases))


_SINCE = _phrases(words.SINCE_WORDS)
_CONNECTING = _phrases(w for group in words.DATE_WORDS.values() for w in group)
