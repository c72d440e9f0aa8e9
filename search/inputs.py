"""Checks of what a search is asked, before any of it reaches SQL. Each refusal is an ``InvalidQuery`` naming its
field (``q`` for the query text), with a message meant for the user."""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from PIL import Image

from profiles.images import ImageRejected, image_open
from profiles.models import MediaType
from search.ranking.loader import MARK_START, MARK_STOP
from search.types import InvalidQuery, RankingOptions, SearchFilters

MAX_LIMIT = 100
MAX_OFFSET = 10_000
MAX_DEPTH = 1000
MAX_WEIGHT = 10.0
SORTS = ("relevance", "newest", "oldest")


def clean_query(query: str) -> str:
    """The query with its whitespace collapsed; refused when empty, too long or carrying control characters."""
    query = " ".join((query or "").split())
    if not query:
        raise InvalidQuery("The query is empty; type a few words describing the photo.", field="q")
    if len(query) > settings.PHOTOSEARCH_MAX_QUERY_LENGTH:
        raise InvalidQuery(f"The query is too long ({len(query)} characters, at most "
                           f"{settings.PHOTOSEARCH_MAX_QUERY_LENGTH}).", field="q")
    # The marks would pass through ts_headline and turn the user's own text into <mark> tags.
    if "\x00" in query or MARK_START in query or MARK_STOP in query:
        raise InvalidQuery("The query contains control characters.", field="q")
    return query


def clean_limit(limit: int) -> int:
    """``limit`` as an int within 1…MAX_LIMIT."""
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    return int(limit)


def clean_offset(offset: int) -> int:
    """``offset`` as an int within 0…MAX_OFFSET."""
    if not 0 <= int(offset) <= MAX_OFFSET:
        raise InvalidQuery(f"offset must be between 0 and {MAX_OFFSET}.", field="offset")
    return int(offset)


def clean_sort(sort: str) -> str:
    """``sort`` if it is one of SORTS."""
    if sort not in SORTS:
        raise InvalidQuery(f"sort must be one of {', '.join(SORTS)}.", field="sort")
    return sort


def clean_filters(filters: SearchFilters) -> SearchFilters:
    """``filters`` if its media type is a known one (the rest is typed by the dataclass's callers)."""
    if filters.media_type is not None and filters.media_type not in MediaType.values:
        raise InvalidQuery(f"media_type must be one of {', '.join(MediaType.values)}.", field="media_type")
    return filters


def clean_ranking(ranking: RankingOptions) -> RankingOptions:
    """Fill in the settings' defaults and refuse values outside the limits."""
    filled = replace(
        ranking,
        vector_weight=settings.PHOTOSEARCH_VECTOR_WEIGHT if ranking.vector_weight is None else ranking.vector_weight,
        text_weight=settings.PHOTOSEARCH_TEXT_WEIGHT if ranking.text_weight is None else ranking.text_weight,
        vector_depth=settings.PHOTOSEARCH_VECTOR_CANDIDATES if ranking.vector_depth is None else ranking.vector_depth,
        text_depth=settings.PHOTOSEARCH_TEXT_CANDIDATES if ranking.text_depth is None else ranking.text_depth,
        cutoff=settings.PHOTOSEARCH_CUTOFF if ranking.cutoff is None else ranking.cutoff,
    )
    for name in ("vector_weight", "text_weight"):
        if not 0 <= getattr(filled, name) <= MAX_WEIGHT:
            raise InvalidQuery(f"{name} must be between 0 and {MAX_WEIGHT:g}.", field=name)
    for name in ("vector_depth", "text_depth"):
        if not 1 <= getattr(filled, name) <= MAX_DEPTH:
            raise InvalidQuery(f"{name} must be between 1 and {MAX_DEPTH}.", field=name)
    if not 0 <= filled.cutoff <= 2:
        raise InvalidQuery("cutoff must be between 0 and 2 (a cosine distance).", field="cutoff")
    return replace(filled, vector_weight=float(filled.vector_weight), text_weight=float(filled.text_weight),
                   cutoff=float(filled.cutoff))


def clean_image(data: bytes) -> Image.Image:
    """Decode an uploaded query image with the same guards as imports (Pillow verify, pixel cap), as RGB."""
    try:
        image = image_open(data, max_pixels=settings.PHOTOSEARCH_MAX_IMAGE_PIXELS)
    except ImageRejected as exc:
        raise InvalidQuery(f"The upload is not a usable image: {exc}.", field="image") from None
    return image.convert("RGB")
