"""Serializers the search API's views share: the filters of every result list (their values parsed by
``search/inputs.py``, as the pages' are) and the shapes of hits, result pages, places and cameras."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from datetime import timezone as fixed_offset
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from photosearch.api import CursorField, NullableCharField, field_copy
from photosearch.errors import InvalidInput
from profiles.models import MediaType
from profiles.sources.text import text_clean
from search.inputs import (
    DEFAULT_NEAR_KM,
    day_parse,
    faces_parse,
    has_text_parse,
    media_type_parse,
    near_parse,
    search_filters_lookup,
    sort_parse,
)
from search.query.parser import KINDS
from search.selectors import MAX_LIMIT, MAX_OFFSET, SORTS, SearchFilters

# --- Filters shared by search, search by image and similar ------------------------------------------------------
# DRF fields for the schema and the first checks; their values go through search/inputs.py, as the pages' do, so one
# mistake has one message wherever it is made.


class _Parsed:
    """Mixin: a field whose value is parsed by one of ``search.inputs``'s parsers."""

    parse: Callable[..., Any] | None = None

    def to_internal_value(self, data):
        try:
            return type(self).parse(data, field=self.field_name)
        except InvalidInput as exc:
            raise ValidationError(str(exc)) from None


class DayField(_Parsed, serializers.DateField):
    parse = staticmethod(day_parse)


class MediaTypeField(_Parsed, serializers.ChoiceField):
    parse = staticmethod(media_type_parse)


class HasTextField(_Parsed, serializers.BooleanField):
    parse = staticmethod(has_text_parse)


class NearField(_Parsed, serializers.CharField):
    parse = staticmethod(near_parse)


class FacesField(_Parsed, serializers.CharField):
    parse = staticmethod(faces_parse)


class SortField(_Parsed, serializers.ChoiceField):
    parse = staticmethod(sort_parse)


class FilterInputSerializer(serializers.Serializer):
    """Filters and paging of every result list."""

    # `from` and `to` are Python keywords: declared as date_from/date_to, renamed in get_fields.
    profile = serializers.ListField(
        child=serializers.CharField(max_length=2000),
        required=False,
        help_text="Profile handle; repeat the parameter or separate handles with commas for several.",
    )
    date_from = DayField(required=False, help_text="Taken on or after this day (YYYY-MM-DD).")
    date_to = DayField(required=False, help_text="Taken on or before this day (YYYY-MM-DD).")
    media_type = MediaTypeField(choices=MediaType.values, required=False)
    has_text = HasTextField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only photos with words of their own (caption, title, sidecar text); false: only without.",
    )
    country = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="Taken in this country: ISO code (PT) or a name photos were taken in (Portugal); repeat or separate "
        "with commas for several. `GET /api/v1/places/` lists them.",
    )
    city = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="Taken in this town (accents and case ignored); repeat or separate with commas for several.",
    )
    near = NearField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Taken within a distance of a point: `LAT,LON,KM` in decimal degrees and km (`38.72,-9.14,5`; "
        f"without KM, {DEFAULT_NEAR_KM:g} km).",
    )
    person = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="A person in the photo: an id (`GET /api/v1/people/`), a handle (`@maria` or `maria`) or a typed "
        "name, case-insensitive; photos holding a face of that person, or whose post tags (or mentions) that handle. "
        "Hidden persons' faces never match. Repeat the parameter for several: each one required.",
    )
    faces = FacesField(
        required=False,
        allow_null=True,
        default=None,
        help_text="How many faces were found: `0`, `1`, `2-5` (both included) or `3+`. Photos the faces stage has "
        "not looked at yet have no count and pass no value, not even `0`.",
    )
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=MAX_LIMIT)
    cursor = CursorField(
        required=False, max_offset=MAX_OFFSET, help_text="Opaque; taken from the `next` URL of the previous page."
    )

    def get_fields(self):
        # Each instance's copies of the declared fields, as DRF's get_fields makes them but cheaper (field_copy).
        fields = {name: field_copy(field) for name, field in self._declared_fields.items()}
        fields["from"] = fields.pop("date_from")
        fields["to"] = fields.pop("date_to")
        return fields

    def filters(self) -> SearchFilters:
        """The selector's filters from the validated input (handles resolved to ids where searches read, days to aware
        datetimes)."""
        data = self.validated_data
        return search_filters_lookup(
            profiles=data.get("profile", []),
            day_from=data.get("from"),
            day_to=data.get("to"),
            media_type=data.get("media_type"),
            has_text=data.get("has_text"),
            near=data.get("near"),
            countries=data.get("country", []),
            cities=data.get("city", []),
            persons=data.get("person", []),
            faces=data.get("faces"),
        )


class SortedFilterInputSerializer(FilterInputSerializer):
    sort = SortField(choices=SORTS, required=False, default="relevance")


# --- Output -----------------------------------------------------------------------------------------------------


def absolute_thumbnail_url(request, photo) -> str | None:
    return request.build_absolute_uri(photo.thumbnail.url) if photo.thumbnail else None


def _place_known(photo) -> bool:
    return bool(photo.place_name or photo.place_id or photo.city or photo.country_code or photo.latitude is not None)


def place_representation(photo) -> dict | None:
    """A photo's ``place`` in the API, as ``PlaceOutputSerializer`` declares it (built directly for result pages)."""
    if not _place_known(photo):
        return None
    return {
        "name": photo.place or None,
        "source_name": photo.place_name or None,
        "source_id": photo.place_id or None,
        "city": photo.city or None,
        "region": photo.region or None,
        "country": photo.country or None,
        "country_code": photo.country_code or None,
        "latitude": photo.latitude,
        "longitude": photo.longitude,
    }


class PlaceOutputSerializer(serializers.Serializer):
    """Where a photo was taken, the same object in results and in a photo's detail; null when nothing is known."""

    name = NullableCharField(source="place", help_text="As the photo page shows it.")
    source_name = NullableCharField(source="place_name", help_text="The source's name (Instagram location…).")
    source_id = NullableCharField(source="place_id", help_text="The source's id of the place.")
    city = NullableCharField()
    region = NullableCharField()
    country = NullableCharField()
    country_code = NullableCharField(help_text="ISO 3166-1 alpha-2.")
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)

    def to_representation(self, photo) -> dict | None:  # type: ignore[override]  # null: nothing known
        return super().to_representation(photo) if _place_known(photo) else None


class CameraOutputSerializer(serializers.Serializer):
    """What took the photo; null when nothing is known."""

    name = NullableCharField(source="camera", help_text="Make and model as one name.")
    make = NullableCharField(source="camera_make")
    model = NullableCharField(source="camera_model")
    lens = NullableCharField()

    def to_representation(self, photo) -> dict | None:  # type: ignore[override]  # null: nothing known
        known = photo.camera_make or photo.camera_model or photo.lens
        return super().to_representation(photo) if known else None


class MatchOutputSerializer(serializers.Serializer):
    """Why a photo matched: its place in each channel (null: not a candidate there)."""

    vector_rank = serializers.IntegerField(allow_null=True)
    vector_distance = serializers.FloatField(allow_null=True, help_text="Cosine distance to the query.")
    text_rank = serializers.IntegerField(allow_null=True)
    text_score = serializers.FloatField(
        allow_null=True,
        help_text="How well its words match: the share of the query's words it holds, each weighted by its rarity "
        "(0–1), plus up to 0.2 for where they are (own text, caption, tags) and how close together.",
    )
    headline = serializers.CharField(
        help_text="HTML-safe snippet of the photo's words with matches in <mark>…</mark>; empty if no word matched."
    )
    in_image_text = serializers.BooleanField(
        help_text="true when some of the query's words were read in the picture itself (a sign, a poster, a menu: "
        "OCR), false otherwise."
    )
    highlights = serializers.DictField(
        source="matched",
        child=serializers.CharField(),
        help_text="Where the query's words matched, each field HTML-safe with the matches in <mark>…</mark>: `text` "
        "(the post's own words and alt text), `caption` (generated), `image_text` (read in the picture), `place`, "
        "`people` (@handles), `hashtags` (#tags); a field that did not match is absent. Words the query's language "
        "drops (the, in, of…) never match.",
    )
    filters = serializers.ListField(
        child=serializers.CharField(),
        help_text='The filters that hold the photo in the results, in words ("in Lisbon", "@maria", '
        '"#sunset", "taken in 2019", "from natgeo"); the only reason it is here when `score` is null.',
    )


HIT_TEXT_MAX_CHARS = 1000  # a page of hits stays small however long a photo's words are (they may be 50,000)


class ShortenedCharField(NullableCharField):
    """A string cut to ``max_chars`` (at a word boundary when one is near, then "…") on output; null when empty."""

    def __init__(self, *, max_chars: int, **kwargs):
        self.max_chars = max_chars
        super().__init__(**kwargs)

    def to_representation(self, value) -> str | None:  # type: ignore[override]  # null: the point of it
        return text_clean(super().to_representation(value) or "", max_chars=self.max_chars) or None


class TakenAtField(serializers.DateTimeField):
    """A photo's ``taken_at`` (its ``source`` is the photo) as ISO 8601 with the offset it was taken at
    (``2022-01-10T07:30:00+11:00``); when that offset is unknown, as before: in the current time zone (UTC: ``Z``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault(
            "help_text",
            "When it was taken: ISO 8601 in the offset of the place, its local time; in "
            "the server's zone when that offset is unknown (`taken_at_offset` null). Null: unknown.",
        )
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        photo = super().get_attribute(instance)
        return None if photo is None or photo.taken_at is None else photo

    def to_representation(self, photo) -> str:
        if photo.taken_at_offset is None:
            return super().to_representation(photo.taken_at)
        return photo.taken_at.astimezone(fixed_offset(timedelta(minutes=photo.taken_at_offset))).isoformat()


def _taken_at_offset_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(
        allow_null=True,
        help_text="The UTC offset of `taken_at`'s place in minutes (Sydney in summer: 660); null: unknown.",
        **kwargs,
    )


class AlsoInOutputSerializer(serializers.Serializer):
    """The same image under another profile: one result names every profile that holds it."""

    profile = serializers.CharField(help_text="The other profile's handle.")
    photo_id = serializers.IntegerField(help_text="The image's photo in that profile.")


class HitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="photo.id")
    score = serializers.FloatField(
        allow_null=True,
        help_text="Fused score (weighted reciprocal rank); null when no channel found the photo and "
        "only filters hold it (`match.filters`).",
    )
    profile = serializers.CharField(source="photo.profile.handle")
    caption = NullableCharField(source="photo.caption", help_text="Generated caption; null: none yet.")
    text = ShortenedCharField(
        source="photo.source_text",
        max_chars=HIT_TEXT_MAX_CHARS,
        help_text=f"The source's own words, cut to {HIT_TEXT_MAX_CHARS:,} characters (the photo's URL has them all).",
    )
    thumbnail_url = serializers.SerializerMethodField()
    permalink = NullableCharField(source="photo.permalink")
    taken_at = TakenAtField(source="photo")
    taken_at_offset = _taken_at_offset_field(source="photo.taken_at_offset")
    place = PlaceOutputSerializer(source="photo", allow_null=True)
    media_type = serializers.CharField(source="photo.media_type")
    match = MatchOutputSerializer(source="*")
    also_in = AlsoInOutputSerializer(
        many=True, help_text="The same image in other profiles (collapsed into this result)."
    )

    def get_thumbnail_url(self, hit) -> str | None:
        return absolute_thumbnail_url(self.context["request"], hit.photo)

    def to_representation(self, hit) -> dict:
        # Built directly: DRF's walk over the declared fields (a copy of each field per response, then a lookup and a
        # conversion per field per hit) cost more CPU than the search's own Python. The declared fields still define
        # the OpenAPI schema, and tests/search/test_api_serializers.py checks this equals their representation.
        photo = hit.photo
        return {
            "id": photo.id,
            "score": None if hit.score is None else float(hit.score),
            "profile": photo.profile.handle,
            "caption": photo.caption or None,
            "text": text_clean(photo.source_text, max_chars=HIT_TEXT_MAX_CHARS) or None,
            "thumbnail_url": absolute_thumbnail_url(self.context["request"], photo),
            "permalink": photo.permalink or None,
            "taken_at": None if photo.taken_at is None else self._taken_at.to_representation(photo),
            "taken_at_offset": photo.taken_at_offset,
            "place": place_representation(photo),
            "media_type": photo.media_type,
            "also_in": [dict(other) for other in hit.also_in],
            "match": {
                "vector_rank": hit.vector_rank,
                "vector_distance": None if hit.vector_distance is None else float(hit.vector_distance),
                "text_rank": hit.text_rank,
                "text_score": None if hit.text_score is None else float(hit.text_score),
                "headline": hit.headline,
                "in_image_text": bool(hit.in_image_text),
                "highlights": dict(hit.matched),
                "filters": list(hit.filters),
            },
        }

    @cached_property
    def _taken_at(self) -> TakenAtField:
        # An unbound field, used only for its conversion: as the declared field gives it, with the current time zone
        # (for an unknown offset) looked up once per page (per hit it was a third of the page's rendering).
        return TakenAtField(default_timezone=timezone.get_current_timezone() if settings.USE_TZ else None)


class ResultsOutputSerializer(serializers.Serializer):
    results = HitOutputSerializer(many=True)
    count = serializers.IntegerField(help_text="Results on this page.")
    total = serializers.IntegerField(
        help_text="Results in all, over every page: exact unless `total_is_estimate`, then at least this many."
    )
    total_is_estimate = serializers.BooleanField(
        help_text="true when `total` is a lower bound: browsing by filters counts at most 10,000 photos, and a "
        "search by looks or words stops at its channels' depth (a deeper page may bring more)."
    )
    next = serializers.URLField(allow_null=True, help_text="The next page (same parameters, next cursor), or null.")
    model = serializers.CharField(
        allow_null=True, help_text="Embedding model searched; null if vectors were unavailable."
    )
    warnings = serializers.ListField(child=serializers.CharField())

    def to_representation(self, instance) -> dict:
        # Directly, as HitOutputSerializer (its field copies are most of what a page of results costs to render).
        hits = HitOutputSerializer(context=self.context)
        return {
            "results": [hits.to_representation(hit) for hit in instance["results"]],
            "count": instance["count"],
            "total": instance["total"],
            "total_is_estimate": instance["total_is_estimate"],
            "next": instance["next"],
            "model": instance["model"],
            "warnings": [str(warning) for warning in instance["warnings"]],
        }


class UnderstoodOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KINDS)
    text = serializers.CharField(help_text="The words taken from the query, as typed.")
    value = serializers.CharField(
        help_text="Normalised: a date range `YYYY-MM-DD/YYYY-MM-DD` (both days included), a place with its country, "
        "a handle or hashtag without @ or #, `video`, `image` (text in the image)."
    )


class SearchResultsOutputSerializer(ResultsOutputSerializer):
    understood = UnderstoodOutputSerializer(
        many=True,
        help_text="What the query was understood to say, each part applied as a filter (an explicit "
        "filter parameter wins over it); empty with `literal=true`.",
    )
    description = serializers.CharField(
        help_text="What was searched by looks and words once the understood parts were taken out (empty: the "
        "filters alone, newest first)."
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["understood"] = [
            {"kind": part.kind, "text": part.text, "value": part.value} for part in instance["understood"]
        ]
        # Nothing understood (or literal): the query as typed.
        data["description"] = self.context["query"] if instance["description"] is None else instance["description"]
        return data
