"""Search hits from the ranking statement's rows: photos and their profiles built from the statement's own columns,
headlines escaped and marked."""

from __future__ import annotations

from django.db import connections, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from profiles.models import Photo, Profile

# The marks and their options live with the highlights; named here too, where the search input and tests have
# always found them.
from search.ranking.highlights import HEADLINE_OPTIONS, MARK_START, MARK_STOP, SNIPPET_FIELDS, marked, matched_from
from search.types import SearchHit

# photo_id, fused_score, vector_rank, vector_distance, text_rank, text_score, total, total_is_estimate, matched; then
# photo, then profile.
RANK_COLUMNS = 9


class Loader:
    """Model instances straight from the ranking statement's own columns (as the ORM would build them: same
    converters, the left-out fields deferred), so a search is one round trip, not a ranking query plus a query
    for the photos and their profiles.

    ``build`` makes the instance ``Model.from_db`` would, without its per-field walk: ``from_db`` pads the values
    with DEFERRED for the left-out fields and ``Model.__init__`` then sets every field one ``setattr`` at a time,
    sending ``pre_init``/``post_init``. For a field whose class attribute is a plain (non-data) descriptor that
    ``setattr`` only stores the value in the instance's ``__dict__``, so those are stored at once; a field behind a
    data descriptor (a foreign key's id, a file) still gets its ``setattr``. A model with its own ``__init__`` or
    ``from_db``, or with ``pre_init``/``post_init`` receivers, goes through ``from_db`` as before. Building a page of
    20 hits through ``from_db`` was the largest piece of an API request's Python after the statement's round trip
    (docs/benchmarks.md, "Where an API request's time goes, by layer"); tests/search/ranking/test_loader.py checks
    both ways give the same instances.
    """

    def __init__(self, model, *, leave_out: tuple[str, ...]):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if f.name not in leave_out]
        self.attnames = {f.attname for f in self.fields}
        self.width = len(self.fields)
        self._converters = None
        # Where build stores each value: straight into __dict__, or through the class attribute's __set__.
        self._stored = [(i, f.attname) for i, f in enumerate(self.fields) if not _data_descriptor(model, f.attname)]
        self._set = [(i, f.attname) for i, f in enumerate(self.fields) if _data_descriptor(model, f.attname)]
        self._own_init = (
            model.__init__ is not models.Model.__init__ or model.from_db.__func__ is not models.Model.from_db.__func__
        )

    def select(self, alias: str) -> str:
        """The select list of this model's columns on table ``alias``, in the order ``build`` reads them."""
        return ", ".join(f'{alias}."{field.column}"' for field in self.fields)

    def direct(self) -> bool:
        """Whether ``build`` may skip ``Model.__init__`` now: no ``__init__``/``from_db`` of the model's own, no
        ``pre_init``/``post_init`` receiver (a caller building many instances asks once)."""
        model = self.model
        return not (self._own_init or pre_init.has_listeners(model) or post_init.has_listeners(model))

    def build(self, values, *, using: str, direct: bool | None = None) -> models.Model:
        """One instance from its columns' raw database values, read from database ``using`` (``direct``: what
        ``self.direct()`` answered for this batch; asked here when left out)."""
        connection = connections[using]
        if self._converters is None:
            # Resolved on first use: converters depend on the connection's backend, unknown at import time. Only
            # the fields that have any are kept (the JSON ones: most columns come from psycopg as they are).
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
        model = self.model
        if not (self.direct() if direct is None else direct):
            return model.from_db(using, self.attnames, values)
        instance = model.__new__(model)
        instance._state = state = ModelState()
        state.adding, state.db = False, using
        instance.__dict__.update([(name, values[i]) for i, name in self._stored])
        for i, name in self._set:
            setattr(instance, name, values[i])
        return instance


def _data_descriptor(model, attname: str) -> bool:
    """Whether setting ``attname`` on an instance goes through a descriptor's ``__set__`` (a foreign key's id, a
    file) rather than straight into the instance's ``__dict__``."""
    return hasattr(type(getattr(model, attname, None)), "__set__")


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


def hits_from_rows(rows: list[tuple], *, using: str) -> list[SearchHit]:
    """``SearchHit``s from ranking rows read from database ``using``, each photo with its profile already attached."""
    hits = []
    photo_end = RANK_COLUMNS + PHOTO_LOADER.width
    photo_direct, profile_direct = PHOTO_LOADER.direct(), PROFILE_LOADER.direct()
    for row in rows:
        pid, score, vector_rank, distance, text_rank, text_score, _total, _estimate, found = row[:RANK_COLUMNS]
        photo = PHOTO_LOADER.build(row[RANK_COLUMNS:photo_end], using=using, direct=photo_direct)
        profile = PROFILE_LOADER.build(row[photo_end:], using=using, direct=profile_direct)
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


def rows_total(rows: list[tuple]) -> tuple[int, bool] | None:
    """How many results the ranking statement had in all (every row carries it) and whether that is only a lower
    bound (a channel reached its depth); None for no rows."""
    if not rows:
        return None
    return int(rows[0][6]), bool(rows[0][7])


def photos_by_id(ids: list[int], *, using: str) -> dict[int, Photo]:
    """Photos with their profiles, vectors and tsvectors deferred (browsing: no ranking columns to build from), read
    from database ``using``."""
    return Photo.objects.using(using).select_related("profile").defer("embedding", "search_vector").in_bulk(ids)
