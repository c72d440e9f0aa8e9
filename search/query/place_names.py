"""Towns named in other languages ("Lisboa", "Lisbonne" → "Lisbon"), from CLDR's exemplar cities that Babel ships:
nothing is downloaded. Read once per process, the first time a typed town is not one of the library's own names.
"""

from __future__ import annotations

from functools import cache

from search.query.tokens import fold

LANGUAGES = (
    "fr",
    "pt",
    "es",
    "de",
    "it",
    "nl",
    "ca",
    "pl",
    "cs",
    "sv",
    "da",
    "nb",
    "fi",
    "tr",
    "ro",
    "hu",
    "el",
    "ru",
    "uk",
    "ja",
    "zh",
    "ko",
)


@cache
def _english_names() -> dict[str, frozenset[str]]:
    from babel import Locale

    found: dict[str, set[str]] = {}
    for language in LANGUAGES:
        for zone, names in Locale(language).time_zones.items():
            city = names.get("city")
            if city:
                # A zone's id names its city in English ("Europe/Lisbon", "America/Sao_Paulo").
                found.setdefault(fold(city), set()).add(zone.rsplit("/", 1)[-1].replace("_", " "))
    return {name: frozenset(english) for name, english in found.items()}


def town_names_in_english(name: str) -> frozenset[str]:
    """The English names of the towns ``name`` names in another language ("Lisboa" → {"Lisbon"}); empty when it names
    none of CLDR's exemplar cities. Accents, case and spacing are ignored, as in every place name typed."""
    return _english_names().get(fold(name), frozenset())
