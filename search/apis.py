"""JSON API v1 (DRF): one APIView per operation, each with its own input and output serializers.

This module also holds what every API view shares: the error body, who may call a view, anonymous throttling, the
opaque cursor, the search filters, and the OpenAPI schema tweaks (drf-spectacular). Profile and import-job endpoints
live in ``profiles/apis.py``.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import date

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import APIException, NotFound, Throttled, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from photosearch.throttling import AnonThrottle
from profiles.fetch import IMAGE_CONTENT_TYPES
from profiles.models import MediaType
from profiles.selectors import photo_get, profile_ids_for_handle
from search.selectors import (
    MAX_DEPTH,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_WEIGHT,
    SORTS,
    InvalidQuery,
    NotEmbedded,
    RankingOptions,
    SearchFilters,
    SearchResult,
    day_range,
    photo_search,
    photo_search_by_image,
    photo_similar,
)

# --- OpenAPI schema (drf-spectacular) -------------------------------------------------------------------------------
# First in the module: REST_FRAMEWORK names ApiAutoSchema as DEFAULT_SCHEMA_CLASS, and every @extend_schema below
# subclasses that setting's class as it decorates, importing this module while it is still being imported.


class ApiAutoSchema(AutoSchema):
    """Names components after the view of a nested serializer (``ProfileCreateInput``, not a clash of ``Input``s)
    and marks reads as open to anonymous callers when ``ReadPermission`` lets them in."""

    def get_serializer_name(self, serializer, direction):
        name = type(serializer).__qualname__
        if "." in name:
            view, nested = name.rsplit(".", 1)
            return view.removesuffix("Api") + nested.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)

    def get_auth(self):
        auths = super().get_auth()
        anonymous = any(getattr(p, "allows_anonymous", lambda: False)() for p in self.view.get_permissions())
        if anonymous and {} not in auths:
            auths.append({})
        return auths


class ApiEndpointEnumerator(EndpointEnumerator):
    def _get_api_endpoints(self, patterns, prefix):
        endpoints = super()._get_api_endpoints(patterns, prefix)
        for pattern in self.patterns if patterns is None else patterns:
            method_views = getattr(getattr(pattern, "callback", None), "method_views", None)
            if method_views:
                path_regex = prefix + str(pattern.pattern)
                path = self.get_path_from_regex(path_regex)
                endpoints.extend((path, path_regex, method, view.as_view()) for method, view in method_views.items())
        return endpoints


class ApiSchemaGenerator(SchemaGenerator):
    """drf-spectacular's generator, aware of ``method_dispatch`` URLs."""

    endpoint_inspector_cls = ApiEndpointEnumerator


# --- Errors -----------------------------------------------------------------------------------------------------


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"

    def __init__(self, detail=None, *, details: dict | None = None):
        super().__init__(detail)
        self.details = details or {}


def exception_handler(exc, context):
    """Every API error has the same body: ``{"error": "<one sentence>", "details": {...}}``.

    A validation error names the first offending field (``"options.path: No such folder on the server."``) and keeps
    every field's messages in ``details``; a throttled request says when to retry (``details.retry_after``).
    """
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(str(exc) or PayloadTooLarge.default_detail)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        where, message = _first_error(exc.detail)
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"error": f"{where}: {message}" if where else message, "details": details}
    else:
        detail = response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data
        details = getattr(exc, "details", {})
        if isinstance(exc, Throttled) and exc.wait is not None:
            details = {"retry_after": math.ceil(exc.wait)}
        response.data = {"error": str(detail), "details": details}
    return response


def _first_error(detail, path: tuple[str, ...] = ()) -> tuple[str, str]:
    """(dotted field path, first message) of a nested DRF error detail."""
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        return _first_error(value, path if key == api_settings.NON_FIELD_ERRORS_KEY else (*path, str(key)))
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], path)
    return ".".join(path), str(detail)


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer."""

    error = serializers.CharField(help_text="One sentence; starts with the field it is about (`q: …`) if any.")
    details = serializers.DictField(help_text="Per-field messages for a 400; `retry_after` (seconds) for a 429.")


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The schema's error answers of a view: the given codes, plus 429 (anonymous throttling) for every view."""
    return {code: OpenApiResponse(ErrorSerializer, description=_ERROR_MEANINGS[code]) for code in (*codes, 429)}


_ERROR_MEANINGS = {
    400: "A parameter is missing or invalid; `error` names it.",
    401: "No valid token (reads need one when PHOTOSEARCH_API_PUBLIC_READS is false).",
    403: "The token's user is not staff (writes need a staff user).",
    404: "No such object.",
    409: "The request conflicts with the current state.",
    413: "The upload is larger than PHOTOSEARCH_MAX_UPLOAD_BYTES.",
    429: "Too many anonymous requests (PHOTOSEARCH_API_ANON_RATE); `details.retry_after` says when to retry.",
}


# --- Who may call, how often ----------------------------------------------------------------------------------------


class ReadPermission(permissions.BasePermission):
    """Reads are public unless PHOTOSEARCH_API_PUBLIC_READS is false; then any authenticated user (token) may read.

    Read at request time, so the setting can change without restarting the test server."""

    def allows_anonymous(self) -> bool:
        return settings.PHOTOSEARCH_API_PUBLIC_READS

    def has_permission(self, request, view) -> bool:
        return self.allows_anonymous() or bool(request.user and request.user.is_authenticated)


class WritePermission(permissions.IsAdminUser):
    """Writes (creating profiles, starting imports) need a staff user: a staff user's token or admin session."""

    message = "Only staff users may do this."


class ApiView(APIView):
    """Base of the photosearch API views: public (or token) reads, anonymous throttling. Write views set
    ``permission_classes = [WritePermission]``."""

    permission_classes = [ReadPermission]
    throttle_classes = [AnonThrottle]


# --- Paging -------------------------------------------------------------------------------------------------------

_CURSOR = re.compile(r"o(\d{1,9})")


def cursor_encode(offset: int) -> str:
    """The opaque cursor for ``offset`` (clients must not build cursors themselves; the encoding may change)."""
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


class CursorField(serializers.CharField):
    """A ``next`` cursor from an earlier answer; validates to the offset it encodes."""

    default_error_messages = {"invalid_cursor": "Invalid cursor; use the `next` URL of an earlier answer."}

    def to_internal_value(self, data) -> int:
        text = super().to_internal_value(data)
        try:
            match = _CURSOR.fullmatch(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            match = None
        if match is None or int(match[1]) > MAX_OFFSET:
            self.fail("invalid_cursor")
        return int(match[1])


def results_response(request, result: SearchResult) -> Response:
    """A page of hits in the documented shape, with the ``next`` URL (same parameters, next cursor) or null."""
    next_url = None
    if result.has_more and result.next_offset is not None and result.next_offset <= MAX_OFFSET:
        next_url = replace_query_param(request.build_absolute_uri(), "cursor", cursor_encode(result.next_offset))
    data = ResultsOutputSerializer(
        {
            "results": result.hits,
            "count": len(result.hits),
            "next": next_url,
            "model": result.model_id,
            "warnings": result.warnings,
        },
        context={"request": request},
    ).data
    return Response(data)


# --- Filters shared by search, search by image and similar ------------------------------------------------------

# The days a date filter may name: one day inside date.min/date.max, so that a day's end (the next midnight) and its
# time-zone shift still exist (9999-12-31 answered a 500 before).
FIRST_DAY, LAST_DAY = date(1, 1, 2), date(9999, 12, 30)


def day_in_range(day: date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(f"Must be a day between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}.")



class FilterInputSerializer(serializers.Serializer):
    """Filters and paging of every result list."""

    # `from` and `to` are Python keywords: declared as date_from/date_to, renamed in get_fields.
    profile = serializers.ListField(
        child=serializers.CharField(max_length=2000),
        required=False,
        help_text="Profile handle; repeat the parameter or separate handles with commas for several.",
    )
    date_from = serializers.DateField(
        required=False, validators=[day_in_range], help_text="Taken on or after this day (YYYY-MM-DD)."
    )
    date_to = serializers.DateField(
        required=False, validators=[day_in_range], help_text="Taken on or before this day (YYYY-MM-DD)."
    )
    media_type = serializers.ChoiceField(choices=MediaType.values, required=False)
    has_text = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="true: only photos with words of their own (caption, title, sidecar text); false: only without.",
    )
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=MAX_LIMIT)
    cursor = CursorField(required=False, help_text="Opaque; taken from the `next` URL of the previous page.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("date_from")
        fields["to"] = fields.pop("date_to")
        return fields

    def validate(self, data):
        if data.get("from") and data.get("to") and data["from"] > data["to"]:
            raise ValidationError({"to": ["Must not be before `from`."]})
        return data


class SortedFilterInputSerializer(FilterInputSerializer):
    sort = serializers.ChoiceField(choices=SORTS, required=False, default="relevance")


def search_filters(data: dict) -> SearchFilters:
    """The selector's filters from validated filter input: handles resolved to ids, days to aware datetimes."""
    profile_ids: list[int] = []
    for handle in (h.strip() for value in data.get("profile", []) for h in value.split(",")):
        if handle:
            ids = profile_ids_for_handle(handle)
            if not ids:
                raise ValidationError({"profile": [f"No profile named {handle!r}."]})
            profile_ids.extend(ids)
    taken_from, taken_to = day_range(data.get("from"), data.get("to"))
    return SearchFilters(
        profile_ids=tuple(dict.fromkeys(profile_ids)),
        taken_from=taken_from,
        taken_to=taken_to,
        media_type=data.get("media_type"),
        has_text=data.get("has_text"),
    )


# --- Output -----------------------------------------------------------------------------------------------------


def _absolute_thumbnail_url(request, photo) -> str | None:
    return request.build_absolute_uri(photo.thumbnail.url) if photo.thumbnail else None


class MatchOutputSerializer(serializers.Serializer):
    """Why a photo matched: its place in each channel (null: not a candidate there)."""

    vector_rank = serializers.IntegerField(allow_null=True)
    vector_distance = serializers.FloatField(allow_null=True, help_text="Cosine distance to the query.")
    text_rank = serializers.IntegerField(allow_null=True)
    text_score = serializers.FloatField(allow_null=True, help_text="ts_rank_cd of the full-text match.")
    headline = serializers.CharField(
        help_text="HTML-safe snippet of the photo's words with matches in <mark>…</mark>; empty if no word matched."
    )


class HitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="photo.id")
    score = serializers.FloatField(help_text="Fused score (weighted reciprocal rank).")
    profile = serializers.CharField(source="photo.profile.handle")
    caption = serializers.CharField(source="photo.caption", help_text="Generated caption.")
    text = serializers.CharField(source="photo.source_text", help_text="The source's own words.")
    thumbnail_url = serializers.SerializerMethodField()
    permalink = serializers.CharField(source="photo.permalink")
    taken_at = serializers.DateTimeField(source="photo.taken_at", allow_null=True)
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

    @extend_schema(
        operation_id="search",
        summary="Search photos by description",
        parameters=[InputSerializer],
        responses={200: ResultsOutputSerializer, **error_responses(400, 401)},
    )
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        ranking = RankingOptions(**{
            name: data.get(name) for name in ("vector_weight", "text_weight", "vector_depth", "text_depth", "cutoff")
        })
        try:
            result = photo_search(
                query=data["q"], filters=search_filters(data), sort=data["sort"], limit=data["limit"],
                offset=data.get("cursor", 0), ranking=ranking,
            )
        except InvalidQuery as exc:
            raise ValidationError({getattr(exc, "field", "q"): [str(exc)]}) from None
        return results_response(request, result)


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
        max_bytes = settings.PHOTOSEARCH_MAX_UPLOAD_BYTES
        # Refuse an oversized body before reading it; the form's other fields are small, allow them some room.
        if int(request.META.get("CONTENT_LENGTH") or 0) > max_bytes + 64 * 1024:
            raise _upload_too_large(max_bytes)
        upload = request.FILES.get("image")
        if upload is not None and upload.size > max_bytes:
            raise _upload_too_large(max_bytes)
        fields = request.query_params.copy()
        for key in request.data:
            fields.setlist(key, request.data.getlist(key))
        params = self.InputSerializer(data=fields)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            result = photo_search_by_image(
                data=data["image"].read(), filters=search_filters(data), sort=data["sort"], limit=data["limit"],
                offset=data.get("cursor", 0),
                ranking=RankingOptions(vector_depth=data.get("vector_depth"), cutoff=data.get("cutoff")),
            )
        except InvalidQuery as exc:
            raise ValidationError({getattr(exc, "field", "image"): [str(exc)]}) from None
        return results_response(request, result)


def _upload_too_large(max_bytes: int) -> PayloadTooLarge:
    message = f"The upload is larger than {max_bytes:,} bytes."
    return PayloadTooLarge(f"image: {message}", details={"image": [message], "max_bytes": max_bytes})


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
        try:
            result = photo_similar(
                photo=photo, filters=search_filters(data), limit=data["limit"], offset=data.get("cursor", 0)
            )
        except NotEmbedded as exc:
            raise Conflict(str(exc)) from None
        except InvalidQuery as exc:
            raise ValidationError({getattr(exc, "field", api_settings.NON_FIELD_ERRORS_KEY): [str(exc)]}) from None
        return results_response(request, result)


class ApiNotFound(ApiView):
    """Any other path under /api/: a 404 in the API's error shape instead of Django's HTML page."""

    permission_classes = [permissions.AllowAny]
    schema = None  # not an endpoint

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound(f"No API endpoint at {request.path}.")


# --- Several operations on one URL --------------------------------------------------------------------------------


def method_dispatch(**views: type[APIView]):
    """One URL, one APIView per HTTP method: ``method_dispatch(GET=ProfileListApi, POST=ProfileCreateApi)``.

    Keeps one view (and its serializers, permissions, schema) per operation where REST puts two operations on one
    URL. The schema generator below lists each view under its own method.
    """
    handlers = {method.upper(): view.as_view() for method, view in views.items()}
    if "GET" in handlers:
        handlers.setdefault("HEAD", handlers["GET"])
    fallback = next(iter(handlers.values()))
    allowed = ", ".join([*handlers, "OPTIONS"])

    @csrf_exempt  # like every APIView: token clients have no CSRF token; session users are checked by DRF
    def dispatch(request, *args, **kwargs):
        response = handlers.get(request.method, fallback)(request, *args, **kwargs)
        if request.method == "OPTIONS" or response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            response["Allow"] = allowed
        return response

    dispatch.method_views = {method.upper(): view for method, view in views.items()}
    return dispatch
