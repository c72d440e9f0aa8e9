"""JSON API v1 (DRF): one APIView per operation, each with its own input and output serializers."""

from __future__ import annotations

from django.http import Http404
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from profiles.selectors import photo_get, profile_ids_for_handle
from search.selectors import (
    MAX_LIMIT,
    InvalidQuery,
    NotEmbedded,
    SearchFilters,
    SearchResult,
    photo_search,
    photo_similar,
)


def exception_handler(exc, context):
    """Every API error has the same body: ``{"error": "<one sentence>", "details": {...}}``."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError) and isinstance(exc.detail, dict):
        field, messages = next(iter(exc.detail.items()))
        message = messages[0] if isinstance(messages, list) and messages else messages
        where = "" if field == "non_field_errors" else f"{field}: "
        response.data = {"error": f"{where}{message}", "details": exc.detail}
    else:
        detail = response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data
        response.data = {"error": str(detail), "details": {}}
    return response


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class HitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="photo.id")
    score = serializers.FloatField()
    profile = serializers.CharField(source="photo.profile.handle")
    caption = serializers.CharField(source="photo.caption")
    text = serializers.CharField(source="photo.source_text")
    thumbnail_url = serializers.SerializerMethodField()
    permalink = serializers.CharField(source="photo.permalink")
    taken_at = serializers.DateTimeField(source="photo.taken_at")
    match = serializers.SerializerMethodField()

    def get_thumbnail_url(self, hit) -> str | None:
        if not hit.photo.thumbnail:
            return None
        return self.context["request"].build_absolute_uri(hit.photo.thumbnail.url)

    def get_match(self, hit) -> dict:
        return {
            "vector_rank": hit.vector_rank,
            "vector_distance": hit.vector_distance,
            "text_rank": hit.text_rank,
            "text_score": hit.text_score,
        }


def _results_response(request, result: SearchResult) -> Response:
    hits = HitOutputSerializer(result.hits, many=True, context={"request": request}).data
    return Response({"results": hits, "count": len(hits), "model": result.model_id, "warnings": result.warnings})


class SearchApi(APIView):
    """GET /api/v1/search/?q=…&profile=…&limit=… — hybrid search by description."""

    class InputSerializer(serializers.Serializer):
        q = serializers.CharField(max_length=500)
        profile = serializers.CharField(required=False, max_length=255)
        limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=MAX_LIMIT)

    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        profile_ids = None
        if data.get("profile"):
            profile_ids = profile_ids_for_handle(data["profile"])
            if not profile_ids:
                raise ValidationError({"profile": [f"No profile named {data['profile']!r}."]})
        try:
            result = photo_search(
                query=data["q"], filters=SearchFilters(profile_ids=tuple(profile_ids or ())), limit=data["limit"]
            )
        except InvalidQuery as exc:
            raise ValidationError({"q": [str(exc)]}) from None
        return _results_response(request, result)


class PhotoSimilarApi(APIView):
    """GET /api/v1/photos/<id>/similar/?limit=… — photos that look like this one."""

    class InputSerializer(serializers.Serializer):
        limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=MAX_LIMIT)

    def get(self, request, photo_id: int):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        photo = photo_get(photo_id=photo_id)
        if photo is None:
            raise Http404(f"No photo with id {photo_id}.")
        try:
            result = photo_similar(photo=photo, limit=params.validated_data["limit"])
        except NotEmbedded as exc:
            raise Conflict(str(exc)) from None
        return _results_response(request, result)
