"""The library's names the query parser knows (``search.query.parser.Vocabulary``): profile handles, the towns,
regions and countries photos were taken in, and the persons' typed names and handles (hidden persons aside).
``search.query.understanding`` caches it until an import ends or persons change."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from profiles.models import Profile
from search.query.parser import PlaceName, Vocabulary
from search.ranking.persons import persons_shown_names

# One aggregate: every (town, region, country) photos were taken in, with how many and their mean latitude (a
# season's hemisphere). Duplicates aside, as the place filters count them.
_PLACES = """
    SELECT city, region, country, country_code, avg(latitude), count(latitude), count(*)
    FROM profiles_photo
    WHERE country_code <> '' AND duplicate_of_id IS NULL
    GROUP BY city, region, country, country_code
    ORDER BY count(*) DESC
"""


def query_vocabulary(*, using: str = DEFAULT_DB_ALIAS) -> Vocabulary:
    """The names of the library (read from database ``using``): profiles' handles (lower case), each town, region
    and country photos were taken in (a name shared by several places lists the one with most photos first), and
    the persons' typed names and handles (a typed name wins over a handle spelled the same)."""
    with connections[using].cursor() as cursor:
        cursor.execute(_PLACES)
        rows = cursor.fetchall()
    # (kind, name, country code) → [latitude × photos, photos with a latitude, photos, country name]
    totals: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [0.0, 0, 0, ""])
    for city, region, country, code, latitude, located, photos in rows:
        for kind, name in (("city", city), ("region", region), ("country", country or code)):
            if not name:
                continue
            total = totals[(kind, name, code)]
            if latitude is not None:
                total[0] += latitude * located
                total[1] += located
            total[2] += photos
            total[3] = country or code
    places = [
        PlaceName(
            name=name, kind=kind, country=country, country_code=code, latitude=weighted / located if located else None
        )
        for (kind, name, code), (weighted, located, _, country) in sorted(totals.items(), key=lambda item: -item[1][2])
    ]
    handles = Profile.objects.using(using).values_list("handle", flat=True)
    named = persons_shown_names(using=using)
    persons = [*(name for name, _ in named if name), *(f"@{handle}" for _, handle in named if handle)]
    return Vocabulary.from_names(places=places, profiles=(handle.lower() for handle in handles), persons=persons)
