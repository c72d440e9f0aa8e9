"""Search hits from the ranking statement's rows: photos and their profiles built from the statement's own columns,
headlines escaped and marked."""

from __future__ import annotations

import html

from django.db import connections, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

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
    for the photos and their profiles.

    ``build`` makes the instance ``Model.from_db`` would, without its per-field walk: ``from_db`` pads the values
    with DEFERRED for the left-out fields and ``Model.__init__`` then sets every field one ``setattr`` at a time,
    sending ``pre_init``/``post_init``. For a field whose class attribute is a plain (non-data) descriptor that
    ``setattr`` only stores the value in the instance's ``__dict__``, so those are stored at once; a field behind a
    data descriptor (a foreign key's id, a file) still gets its ``setattr``. A model with its own ``__init__`` or
    ``from_db``, or with ``pre_init``/``post_init`` receivers, goes through ``from_db`` as before. Building a page of
    20 hits through ``from_db`` was the largest piece of an API request's Python after the statement's round trip
    (docs/benchmarks.md, "Where an API request's time goes, by layer"); tests/search/test_ranking_loader.py checks
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
        self._own_init = (model.__init__ is not models.Model.__init__
                          or model.from_db.__func__ is not models.Model.from_db.__func__)

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


PHOTO_LOADER = Loader(Photo, leave_out=("embedding", "search_vector"))
PROFILE_LOADER = Loader(Profile, leave_out=())
_PROFILE_CACHE = Photo.profile.field


def hits_from_rows(rows: list[tuple], *, using: str) -> list[SearchHit]:
    """``SearchHit``s from ranking rows read from database ``using``, each photo with its profile already attached."""
    hits = []
    photo_end = RANK_COLUMNS + PHOTO_LOADER.width
    photo_direct, profile_direct = PHOTO_LOADER.direct(), PROFILE_LOADER.direct()
    for row in rows:
        pid, score, vector_rank, distance, text_rank, text_score, headline, image_text = row[:RANK_COLUMNS]
        photo = PHOTO_LOADER.build(row[RANK_COLUMNS:photo_end], using=using, direct=photo_direct)
        profile = PROFILE_LOADER.build(row[photo_end:], using=using, direct=profile_direct)
        _PROFILE_CACHE.set_cached_value(photo, profile)
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
