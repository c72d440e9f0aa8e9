"""Search hits from the ranking statement's rows: photos and their profiles built from the statement's own columns,
headlines escaped and marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from django.db import connections, models

from profiles.models import Photo, Profile

# The marks and their options live with the highlights; named here too, where the search input and tests have
# always found them.
from search.ranking.highlights import HEADLINE_OPTIONS, MARK_START, MARK_STOP, SNIPPET_FIELDS, marked, matched_from
from search.types import SearchHit

# photo_id, fused_score, vector_rank, vector_distance, text_rank, text_score, total, total_is_estimate, matched; then
# photo, then profile.
RANK_COLUMNS = 9

_M = TypeVar("_M", bound=models.Model)


class Loader(Generic[_M]):
    """Model instances from the ranking statement's own columns, built as the ORM builds them (the backend's
    converters, then ``Model.from_db`` with the left-out fields deferred), so a search is one round trip, not a
    ranking query plus a query for the photos and their profiles."""

    def __init__(self, model: type[_M], *, leave_out: tuple[str, ...]) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if f.name not in leave_out]
        self.attnames = [f.attname for f in self.fields]
        self.width = len(self.fields)
        self._converters: list[tuple[int, Any, list[Any]]] | None = None

    def select(self, alias: str) -> str:
        """The select list of this model's columns on table ``alias``, in the order ``build`` reads them."""
        return ", ".join(f'{alias}."{field.column}"' for field in self.fields)

    def build(self, values: Sequence[Any], *, using: str) -> _M:
        """One instance from its columns' raw database values, read from database ``using``."""
        connection = connections[using]
        if self._converters is None:
            # Resolved on first use: converters depend on the connection's backend, unknown at import time.
            converters = []
            for i, field in enumerate(self.fields):
                col = field.get_col(self.model._meta.db_table)
                found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                if found:
                    converters.append((i, col, found))
            self._converters = converters
        values = list(values)
        for i, col, found in self._converters:
            for convert in found:
                values[i] = convert(values[i], col, connection)
        return self.model.from_db(using, self.attnames, values)


__all__ = [
    "HEADLINE_OPTIONS",
    "MARK_START",
    "MARK_STOP",
    "PHOTO_LOADER",
    "PROFILE_LOADER",
    "RANK_COLUMNS",
    "Loader",
    "hits_from_rows",
    "marked",
    "photos_by_id",
    "rows_total",
]

PHOTO_LOADER = Loader(Photo, leave_out=("embedding", "search_vector"))
PROFILE_LOADER = Loader(Profile, leave_out=())
_PROFILE_CACHE = Photo.profile.field


def hits_from_rows(rows: list[tuple[Any, ...]], *, using: str) -> list[SearchHit]:
    """``SearchHit``s from ranking rows read from database ``using``, each photo with its profile already attached."""
    hits = []
    photo_end = RANK_COLUMNS + PHOTO_LOADER.width
    for row in rows:
        pid, score, vector_rank, distance, text_rank, text_score, _total, _estimate, found = row[:RANK_COLUMNS]
        photo = PHOTO_LOADER.build(row[RANK_COLUMNS:photo_end], using=using)
        profile = PROFILE_LOADER.build(row[photo_end:], using=using)
        _PROFILE_CACHE.set_cached_value(photo, profile)
        matched = matched_from(found, photo=photo)
        hits.append(
            SearchHit(
                photo=photo,
                score=float(score),
                vector_rank=vector_rank,
                vector_distance=None if distance is None else float(distance),
                text_rank=text_rank,
                text_score=None if text_score is None else float(text_score),
                headline=" · ".join(matched[name] for name in SNIPPET_FIELDS if name in matched),
                in_image_text="image_text" in matched,
                matched=matched,
            )
        )
    return hits


def rows_total(rows: list[tuple[Any, ...]]) -> tuple[int, bool] | None:
    """How many results the ranking statement had in all (every row carries it) and whether that is only a lower
    bound (a channel reached its depth); None for no rows."""
    if not rows:
        return None
    return int(rows[0][6]), bool(rows[0][7])


def photos_by_id(ids: list[int], *, using: str) -> dict[int, Photo]:
    """Photos with their profiles, vectors and tsvectors deferred (browsing: no ranking columns to build from), read
    from database ``using``."""
    return Photo.objects.using(using).select_related("profile").defer("embedding", "search_vector").in_bulk(ids)
