"""JSON API v1 of search (DRF): one APIView per operation, each with its own input and output serializers. What
every API view shares — base view, permissions, throttling, the error shape, paging cursor — is in
``photosearch/api.py``; filters are parsed by ``search/inputs.py``, as the pages parse them.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from photosearch.api import ApiView, CursorField, PayloadTooLarge, cursor_encode, error_responses
from photosearch.errors import InvalidInput
from photosearch.uploads import upload_body_too_large, upload_max_bytes, upload_size_error, upload_too_large_message
from profiles.fetch import IMAGE_CONTENT_TYPES
from profiles.models import MediaType
from profiles.selectors import photo_get
from profiles.sources.text import text_clean
from search.inputs import (
    DEFAULT_NEAR_KM,
    city_parse,
    country_parse,
    day_parse,
    has_text_parse,
    media_type_parse,
    near_parse,
    profile_ids_parse,
    search_filters_build,
    sort_parse,
)
from search.ranking.words import WORDS_MODES
from search.understanding import KINDS
from search.selectors import (
    MAX_DEPTH,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_WEIGHT,
    SORTS,
    RankingOptions,
    SearchFilters,
    SearchResult,
    photo_search,
    photo_search_by_image,
    photo_similar,
)

def results_response(request, result: SearchResult, *, serializer=None, query: str = "") -> Response:
    """A page of hits in the documented shape (``serializer``: ``ResultsOutputSerializer``, or for a search by words
    ``SearchResultsOutputSerializer`` with its ``query``), with the ``next`` URL (same parameters, next cursor) or
    null."""
    next_url = None
    if result.has_more and result.next_offset is not None and result.next_offset <= MAX_OFFSET:
        next_url = replace_query_param(request.build_absolute_uri(), "cursor", cursor_encode(result.next_offset))
    data = (serializer or ResultsOutputSerializer)(
        {
            "results": result.hits,
            "count": len(result.hits),
            "next": next_url,
            "model": result.model_id,
            "warnings": result.warnings,
            "understood": result.understood,
            "description": result.description,
        },
        context={"request": request, "query": query},
    ).data
    return Response(data)


# --- Filters shared by search, search by image and similar ------------------------------------------------------
# DRF fields for the schema and the first checks; their values go through search/inputs.py, as the pages' do, so one
# mistake has one message wherever it is made.


class _Parsed:
    """Mixin: a field whose value is parsed by one of ``search.inputs``'s parsers."""

    parse = None

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
        required=False, allow_null=True, default=None,
        help_text="true: only photos with words of their own (caption, title, sidecar text); false: only without.",
    )
    country = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False,
        help_text="Taken in this country: ISO code (PT) or a name photos were taken in (Portugal); repeat or separate "
        "with commas for several. `GET /api/v1/places/` lists them.",
    )
    city = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False,
        help_text="Taken in this town (accents and case ignored); repeat or separate with commas for several.",
    )
    near = NearField(
        required=False, allow_null=True, default=None,
        help_text="Taken within a distance of a point: `LAT,LON,KM` in decimal degrees and km (`38.72,-9.14,5`; "
        f"without KM, {DEFAULT_NEAR_KM:g} km).",
    )
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=MAX_LIMIT)
    cursor = CursorField(
        required=False, max_offset=MAX_OFFSET, help_text="Opaque; taken from the `next` URL of the previous page."
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("date_from")
        fields["to"] = fields.pop("date_to")
        return fields

    def filters(self) -> SearchFilters:
        """The selector's filters from the validated input (handles resolved to ids, days to aware datetimes)."""
        data = self.validated_data
        country_codes = country_parse(data.get("country", []))
        return search_filters_build(
            profile_ids=profile_ids_parse(data.get("profile", [])), day_from=data.get("from"),
            day_to=data.get("to"), media_type=data.get("media_type"), has_text=data.get("has_text"),
            country_codes=country_codes, cities=city_parse(data.get("city", []), country_codes=country_codes),
            near=data.get("near"),
        )


class SortedFilterInputSerializer(FilterInputSerializer):
    sort = SortField(choices=SORTS, required=False, default="relevance")


# --- Output -----------------------------------------------------------------------------------------------------


def _absolute_thumbnail_url(request, photo) -> str | None:
    return request.build_absolute_uri(photo.thumbnail.url) if photo.thumbnail else None


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


HIT_TEXT_MAX_CHARS = 1000  # a page of hits stays small however long a photo's words are (they may be 50,000)


class ShortenedCharField(serializers.CharField):
    """A string cut to ``max_chars`` (at a word boundary when one is near, then "…") on output."""

    def __init__(self, *, max_chars: int, **kwargs):
        self.max_chars = max_chars
        super().__init__(**kwargs)

    def to_representation(self, value) -> str:
        return text_clean(super().to_representation(value), max_chars=self.max_chars)


class HitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="photo.id")
    score = serializers.FloatField(help_text="Fused score (weighted reciprocal rank).")
    profile = serializers.CharField(source="photo.profile.handle")
    caption = serializers.CharField(source="photo.caption", help_text="Generated caption.")
    text = ShortenedCharField(
        source="photo.source_text", max_chars=HIT_TEXT_MAX_CHARS,
        help_text=f"The source's own words, cut to {HIT_TEXT_MAX_CHARS:,} characters (the photo's URL has them all).",
    )
    thumbnail_url = serializers.SerializerMethodField()
    permalink = serializers.CharField(source="photo.permalink")
    taken_at = serializers.DateTimeField(source="photo.taken_at", allow_null=True)
    place = serializers.CharField(source="photo.place", help_text="Where it was taken; empty when unknown.")
    media_type = serializers.CharField(source="photo.media_type")
    match = MatchOutputSerializer(source="*")

    def get_thumbnail_url(self, hit) -> str | None:
        return _absolute_thumbnail_url(self.context["request"], hit.photo)


class ResultsOutputSerializer(serializers.Serializer):
    results = HitOutputSerializer(many=True)
    count = serializers.IntegerField(help_text="Results on this page.")
    next = serializers.URLField(allow_null=True, help_text="The next page (same parameters, next cursor), or null.")
    model = serializers.CharField(
        allow_null=True, help_text="Embedding model searched; null if vectors were unavailable."
    )
    warnings = serializers.ListField(child=serializers.CharField())


class UnderstoodOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KINDS)
    text = serializers.CharField(help_text="The words taken from the query, as typed.")
    value = serializers.CharField(
        help_text="Normalised: a date range `YYYY-MM-DD/YYYY-MM-DD` (both days included), a place with its country, "
        "a handle or hashtag without @ or #, `video`, `image` (text in the image).")


class SearchResultsOutputSerializer(ResultsOutputSerializer):
    understood = UnderstoodOutputSerializer(
        many=True, help_text="What the query was understood to say, each part applied as a filter (an explicit "
        "filter parameter wins over it); empty with `literal=true`.")
    description = serializers.CharField(
        help_text="What was searched by looks and words once the understood parts were taken out (empty: the "
        "filters alone, newest first).")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.get("description") is None:  # nothing understood: the query as typed
            data["description"] = self.context["query"]
        return data


# --- Views --------------------------------------------------------------------------------------------------------


class SearchApi(ApiView):
    """GET /api/v1/search/ — hybrid search by description, filtered, sorted, a page at a time."""

    class InputSerializer(SortedFilterInputSerializer):
        q = serializers.CharField(max_length=settings.PHOTOSEARCH_MAX_QUERY_LENGTH, help_text="What the photo shows.")
        vector_weight = serializers.FloatField(required=False, min_value=0, max_value=MAX_WEIGHT)
        text_weight = serializers.FloatField(required=False, min_value=0, max_value=MAX_WEIGHT)
        vector_depth = serializers.IntegerField(required=False, min_value=1, max_value=MAX_DEPTH)
        text_depth = serializers.IntegerField(required=False, min_value=1, max_value=MAX_DEPTH)
        cutoff = serializers.FloatField(
            required=False, min_value=0, max_value=1,
            help_text="Keep a photo found only by its looks while its distance is within this of the best one's "
            "(cosine distance); 0: off.",
        )
        words = serializers.ChoiceField(
            choices=WORDS_MODES, required=False,
            help_text="any (default): photos holding any of the query's words match by words, the more (and the rarer) "
            "the better; all: only photos holding every word. Quoted phrases and -exclusions are strict either way.",
        )
        literal = serializers.BooleanField(
            required=False, default=False,
            help_text="true: search the words as typed; dates, places, @people, #hashtags… are not understood.",
        )

    @extend_schema(
        operation_id="search",
        summary="Search photos by description",
        parameters=[InputSerializer],
        responses={200: SearchResultsOutputSerializer, **error_responses(400, 401)},
    )
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        ranking = RankingOptions(**{
            name: data.get(name)
            for name in ("vector_weight", "text_weight", "vector_depth", "text_depth", "cutoff", "words")
        })
        result = photo_search(
            query=data["q"], filters=params.filters(), sort=data["sort"], limit=data["limit"],
            offset=data.get("cursor", 0), ranking=ranking, literal=data["literal"],
        )
        return results_response(request, result, serializer=SearchResultsOutputSerializer, query=data["q"])


class SearchByImageApi(ApiView):
    """POST /api/v1/search/by-image/ — photos that look like an uploaded image. A read, though it is a POST."""

    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(SortedFilterInputSerializer):
        vector_depth = serializers.IntegerField(required=False, min_value=1, max_value=MAX_DEPTH)
        cutoff = serializers.FloatField(
            required=False, min_value=0, max_value=1,
            help_text="Keep a photo while its distance is within this of the best one's; 0: off.",
        )
        image = serializers.FileField(
            allow_empty_file=False, help_text="JPEG, PNG, WebP or GIF, at most PHOTOSEARCH_MAX_UPLOAD_BYTES."
        )

        def validate_image(self, upload):
            content_type = (upload.content_type or "").split(";")[0].strip().lower()
            if not content_type.startswith(IMAGE_CONTENT_TYPES):
                raise ValidationError(f"Not an image (content type {content_type or 'missing'}).")
            return upload

    @extend_schema(
        operation_id="search_by_image",
        summary="Search photos that look like an image",
        description="Multipart form: `image` plus the same filters as search. The fields may also come in the query "
        "string, which is how `next` carries the cursor: POST the same image and fields to the `next` URL.",
        request={"multipart/form-data": InputSerializer},
        responses={200: ResultsOutputSerializer, **error_responses(400, 401, 413)},
    )
    def post(self, request):
        # Refuse an oversized body before reading it (the middleware does for a declared length; this covers a
        # server without it), then an oversized file.
        if upload_body_too_large(int(request.META.get("CONTENT_LENGTH") or 0)):
            raise _upload_too_large()
        upload = request.FILES.get("image")
        if upload is not None and upload_size_error(upload.size):
            raise _upload_too_large()
        fields = request.query_params.copy()
        for key in request.data:
            fields.setlist(key, request.data.getlist(key))
        params = self.InputSerializer(data=fields)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        result = photo_search_by_image(
            data=data["image"].read(), filters=params.filters(), sort=data["sort"], limit=data["limit"],
            offset=data.get("cursor", 0),
            ranking=RankingOptions(vector_depth=data.get("vector_depth"), cutoff=data.get("cutoff")),
        )
        return results_response(request, result)


def _upload_too_large() -> PayloadTooLarge:
    message = upload_too_large_message()
    return PayloadTooLarge(f"image: {message}", details={"image": [message], "max_bytes": upload_max_bytes()})


class PlaceOutputSerializer(serializers.Serializer):
    name = serializers.CharField(source="place", help_text="As the photo page shows it; empty when unknown.")
    source_name = serializers.CharField(source="place_name", help_text="The source's name (Instagram location…).")
    source_id = serializers.CharField(source="place_id", help_text="The source's id of the place.")
    city = serializers.CharField()
    region = serializers.CharField()
    country = serializers.CharField()
    country_code = serializers.CharField(help_text="ISO 3166-1 alpha-2.")
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)


class CameraOutputSerializer(serializers.Serializer):
    name = serializers.CharField(source="camera", help_text="Make and model as one name.")
    make = serializers.CharField(source="camera_make")
    model = serializers.CharField(source="camera_model")
    lens = serializers.CharField()


class PhotoDetailApi(ApiView):
    """GET /api/v1/photos/<id>/ — one photo's public fields."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        profile = serializers.CharField(source="profile.handle")
        profile_id = serializers.IntegerField()
        source_id = serializers.CharField(help_text="Stable id within the source (shortcode, relative path, URL…).")
        permalink = serializers.CharField()
        thumbnail_url = serializers.SerializerMethodField()
        width = serializers.IntegerField(allow_null=True, help_text="Of the original image, upright.")
        height = serializers.IntegerField(allow_null=True, help_text="Of the original image, upright.")
        taken_at = serializers.DateTimeField(allow_null=True)
        media_type = serializers.CharField()
        text = serializers.CharField(source="source_text")
        caption = serializers.CharField(help_text="Generated caption.")
        hashtags = serializers.ListField(child=serializers.CharField(), source="hashtag_list")
        alt_text = serializers.CharField()
        likes = serializers.IntegerField(allow_null=True)
        taken_at_source = serializers.CharField(
            help_text="Where taken_at came from: source, exif, file_name, file_time; empty when unknown.")
        place = PlaceOutputSerializer(source="*")
        people = serializers.ListField(
            child=serializers.CharField(), source="people_list",
            help_text="Handles without '@': tagged accounts, @mentions, the Flickr owner.")
        camera = CameraOutputSerializer(source="*")
        ocr_text = serializers.CharField(
            source="shown_ocr_text", help_text="Words read in the image; empty when none (or not read yet).")
        extra = serializers.JSONField(help_text="Source metadata kept as is: licence, owner, post…")
        duplicate_of = serializers.IntegerField(source="duplicate_of_id", allow_null=True)
        embedding_model = serializers.CharField(help_text="Model of its vector; empty if not embedded yet.")
        embedded_at = serializers.DateTimeField(allow_null=True)
        imported_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()
        similar_url = serializers.SerializerMethodField()

        def get_thumbnail_url(self, photo) -> str | None:
            return _absolute_thumbnail_url(self.context["request"], photo)

        def get_similar_url(self, photo) -> str:
            return self.context["request"].build_absolute_uri(
                reverse("api-photo-similar", kwargs={"photo_id": photo.pk})
            )

    @extend_schema(
        operation_id="photo_retrieve",
        summary="A photo",
        responses={200: OutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request, photo_id: int):
        photo = photo_get(photo_id=photo_id)
        if photo is None:
            raise Http404(f"No photo with id {photo_id}.")
        return Response(self.OutputSerializer(photo, context={"request": request}).data)


class PhotoSimilarApi(ApiView):
    """GET /api/v1/photos/<id>/similar/ — photos that look like this one, filtered, a page at a time."""

    class InputSerializer(FilterInputSerializer):
        pass

    @extend_schema(
        operation_id="photo_similar",
        summary="Photos that look like a photo",
        parameters=[InputSerializer],
        responses={200: ResultsOutputSerializer, **error_responses(400, 401, 404, 409)},
    )
    def get(self, request, photo_id: int):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        photo = photo_get(photo_id=photo_id)
        if photo is None:
            raise Http404(f"No photo with id {photo_id}.")
        result = photo_similar(
            photo=photo, filters=params.filters(), limit=data["limit"], offset=data.get("cursor", 0)
        )
        return results_response(request, result)


