"""JSON API v1 of search (DRF): one APIView per operation, each with its own input and output serializers; what views
share is in ``photosearch/api.py`` and ``search/api_serializers.py``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from photosearch.api import ApiView, NullableCharField, PayloadTooLarge, cursor_encode, error_responses
from photosearch.db.replicas import search_read
from photosearch.uploads import upload_body_too_large, upload_max_bytes, upload_size_error, upload_too_large_message
from profiles.selectors import photo_get
from search.api_serializers import (
    CameraOutputSerializer,
    FilterInputSerializer,
    PlaceOutputSerializer,
    ResultsOutputSerializer,
    SearchResultsOutputSerializer,
    SortedFilterInputSerializer,
    TakenAtField,
    absolute_thumbnail_url,
)
from search.inputs import MAX_CUTOFF
from search.people_apis import FaceOutputSerializer
from search.people_selectors import faces_shown
from search.query.image import upload_type_error
from search.ranking.words import WORDS_MODES
from search.selectors import (
    MAX_DEPTH,
    MAX_OFFSET,
    MAX_WEIGHT,
    RankingOptions,
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
            "total": len(result.hits) if result.total is None else result.total,
            "total_is_estimate": result.total_is_estimate,
            "next": next_url,
            "model": result.model_id,
            "warnings": result.warnings,
            "understood": result.understood,
            "description": result.description,
        },
        context={"request": request, "query": query},
    ).data
    return Response(data)


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
            required=False,
            min_value=0,
            max_value=MAX_CUTOFF,
            help_text="Keep a photo found only by its looks while its distance is within this of the best one's "
            "(cosine distance); 0: off.",
        )
        words = serializers.ChoiceField(
            choices=WORDS_MODES,
            required=False,
            help_text="any (default): photos holding any of the query's words match by words, the more (and the rarer) "
            "the better; all: only photos holding every word. Quoted phrases and -exclusions are strict either way.",
        )
        literal = serializers.BooleanField(
            required=False,
            default=False,
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
        ranking = RankingOptions(
            **{
                name: data.get(name)
                for name in ("vector_weight", "text_weight", "vector_depth", "text_depth", "cutoff", "words")
            }
        )
        result = photo_search(
            query=data["q"],
            filters=params.filters(),
            sort=data["sort"],
            limit=data["limit"],
            offset=data.get("cursor", 0),
            ranking=ranking,
            literal=data["literal"],
        )
        return results_response(request, result, serializer=SearchResultsOutputSerializer, query=data["q"])


class SearchByImageApi(ApiView):
    """POST /api/v1/search/by-image/ — photos that look like an uploaded image. A read, though it is a POST."""

    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(SortedFilterInputSerializer):
        vector_depth = serializers.IntegerField(required=False, min_value=1, max_value=MAX_DEPTH)
        cutoff = serializers.FloatField(
            required=False,
            min_value=0,
            max_value=MAX_CUTOFF,
            help_text="Keep a photo while its distance is within this of the best one's; 0: off.",
        )
        image = serializers.FileField(
            allow_empty_file=False, help_text="JPEG, PNG, WebP or GIF, at most PHOTOSEARCH_MAX_UPLOAD_BYTES."
        )

        def validate_image(self, upload):
            if not_image := upload_type_error(content_type=upload.content_type, name=upload.name):
                raise ValidationError(not_image)
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
        if upload_body_too_large(int(request.headers.get("content-length") or 0)):
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
            data=data["image"].read(),
            filters=params.filters(),
            sort=data["sort"],
            limit=data["limit"],
            offset=data.get("cursor", 0),
            ranking=RankingOptions(vector_depth=data.get("vector_depth"), cutoff=data.get("cutoff")),
        )
        return results_response(request, result)


def _upload_too_large() -> PayloadTooLarge:
    message = upload_too_large_message()
    return PayloadTooLarge(f"image: {message}", details={"image": [message], "max_bytes": upload_max_bytes()})


class PhotoDetailApi(ApiView):
    """GET /api/v1/photos/<id>/ — one photo's public fields."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        profile = serializers.CharField(source="profile.handle")
        profile_id = serializers.IntegerField()
        source_id = serializers.CharField(help_text="Stable id within the source (shortcode, relative path, URL…).")
        permalink = NullableCharField()
        thumbnail_url = serializers.SerializerMethodField()
        width = serializers.IntegerField(allow_null=True, help_text="Of the original image, upright.")
        height = serializers.IntegerField(allow_null=True, help_text="Of the original image, upright.")
        taken_at = TakenAtField(source="*")
        taken_at_offset = serializers.IntegerField(
            allow_null=True, help_text="The UTC offset of `taken_at`'s place in minutes; null: unknown."
        )
        media_type = serializers.CharField()
        text = NullableCharField(source="source_text")
        caption = NullableCharField(help_text="Generated caption; null: none yet.")
        hashtags = serializers.ListField(child=serializers.CharField(), source="hashtag_list")
        alt_text = NullableCharField()
        likes = serializers.IntegerField(allow_null=True)
        taken_at_source = NullableCharField(
            help_text="Where taken_at came from: source, exif, file_name, file_time; null when unknown."
        )
        place = PlaceOutputSerializer(source="*", allow_null=True)
        people = serializers.ListField(
            child=serializers.CharField(),
            source="people_list",
            help_text="Handles without '@': tagged accounts, @mentions, the Flickr owner.",
        )
        camera = CameraOutputSerializer(source="*", allow_null=True)
        ocr_text = NullableCharField(
            source="shown_ocr_text", help_text="Words read in the image; null when none (or not read yet)."
        )
        extra = serializers.JSONField(help_text="Source metadata kept as is: licence, owner, post…")
        duplicate_of = serializers.IntegerField(source="duplicate_of_id", allow_null=True)
        embedding_model = NullableCharField(help_text="Model of its vector; null if not embedded yet.")
        embedded_at = serializers.DateTimeField(allow_null=True)
        imported_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()
        similar_url = serializers.SerializerMethodField()
        faces = serializers.SerializerMethodField(
            help_text="The faces found in its image, largest first; [] while faces are off (PHOTOSEARCH_FACES=none)."
        )

        def get_thumbnail_url(self, photo) -> str | None:
            return absolute_thumbnail_url(self.context["request"], photo)

        def get_similar_url(self, photo) -> str:
            return self.context["request"].build_absolute_uri(
                reverse("api-photo-similar", kwargs={"photo_id": photo.pk})
            )

        @extend_schema_field(FaceOutputSerializer(many=True))
        def get_faces(self, photo) -> list[dict[str, Any]]:
            return list(FaceOutputSerializer(faces_shown(photo_id=photo.pk), many=True).data)

    @extend_schema(
        operation_id="photo_retrieve", summary="A photo", responses={200: OutputSerializer, **error_responses(401, 404)}
    )
    def get(self, request, photo_id: int):
        photo = search_read(photo_get)(photo_id=photo_id)
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
        photo = search_read(photo_get)(photo_id=photo_id)
        if photo is None:
            raise Http404(f"No photo with id {photo_id}.")
        result = photo_similar(photo=photo, filters=params.filters(), limit=data["limit"], offset=data.get("cursor", 0))
        return results_response(request, result)
