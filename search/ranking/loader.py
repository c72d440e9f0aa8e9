"""Search hits from the ranking statement's rows: photos and their profiles built from the statement's own columns,
headlines escaped and marked."""

from __future__ import annotations

import html

from django.db import connections, models

from profiles.models import Photo, Profile
from search.types import SearchHit

# ts_headline marks matches with these; the snippet is HTML-escaped first, then they become <mark> tags. Control
# characters, because user text cannot contain them (search.inputs refuses queries that do).
MARK_START, MARK_STOP = "\x02", "\x03"
HEADLINE_OPTIONS = f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords=24, MinWords=8, MaxFragments=2"
# photo_id, fused_score, vector_rank, vector_distance, text_rank, text_score, headline, in_image_text; then photo,
# then profile.
RANK_COLUMNS = 8


class Loader:
    """Model instances straight from the ranking statement's own columns (as the ORM would build them: same
    converters, the left-out fields deferred), so a search is one round trip, not a ranking query plus a query
    for the photos and their profiles."""

    def __init__(self, model, *, leave_out: tuple[str, ...]):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if f.name not in leave_out]
        self.attnames = {f.attname for f in self.fields}
        self.width = len(self.fields)
        self._converters = None

    def select(self, alias: str) -> str:
        """The select list of this model's columns on table ``alias``, in the order ``build`` reads them."""
        return ", ".join(f'{alias}."{field.column}"' for field in self.fields)

    def build(self, values, *, using: str) -> models.Model:
        """One instance from its columns' raw database values, read from database ``using``."""
        connection = connections[using]
        if self._converters is None:
            # Resolved on first use: converters depend on the connection's backend, unknown at import time.
            self._converters = []
            for field in self.fields:
                col = field.get_col(self.model._meta.db_table)
                found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                self._converters.append((col, found))
        values = list(values)
        for i, (col, found) in enumerate(self._converters):
            for convert in found:
                values[i] = convert(values[i], col, connection)
        return self.model.from_db(using, self.attnames, values)


PHOTO_LOADER = Loader(Photo, leave_out=("embedding", "search_vector"))
PROFILE_LOADER = Loader(Profile, leave_out=())


def hits_from_rows(rows: list[tuple], *, using: str) -> list[SearchHit]:
    """``SearchHit``s from ranking rows read from database ``using``, each photo with its profile already attached."""
    hits = []
    photo_end = RANK_COLUMNS + PHOTO_LOADER.width
    for row in rows:
        pid, score, vector_rank, distance, text_rank, text_score, headline, image_text = row[:RANK_COLUMNS]
        photo = PHOTO_LOADER.build(row[RANK_COLUMNS:photo_end], using=using)
        Photo.profile.field.set_cached_value(photo, PROFILE_LOADER.build(row[photo_end:], using=using))
        hits.append(SearchHit(
            photo=photo,
            score=float(score),
            vector_rank=vector_rank,
            vector_distance=None if distance is None else float(distance),
            text_rank=text_rank,
            text_score=None if text_score is None else float(text_score),
            headline=marked(headline),
            in_image_text=bool(image_text),
        ))
    return hits


def marked(headline: str | None) -> str:
    """A ts_headline snippet as safe HTML, matches in ``<mark>``."""
    if not headline:
        return ""
    return html.escape(headline).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")


def photos_by_id(ids: list[int], *, using: str) -> dict[int, Photo]:
    """Photos with their profiles, vectors and tsvectors deferred (browsing: no ranking columns to build from), read
    from database ``using``."""
    return Photo.objects.using(using).select_related("profile").defer("embedding", "search_vector").in_bulk(ids)
