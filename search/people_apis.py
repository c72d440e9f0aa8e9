"""JSON API v1 of the People feature: persons (list, one, its photos), renaming, hiding and merging them (staff), and
the faces of a photo as the photo detail shows them. One APIView per operation (``photosearch/api.py``).

With ``PHOTOSEARCH_FACES=none`` the list is empty and says why, a person is not found, and edits answer 409.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from photosearch.api import ApiView, CursorField, NullableCharField, WritePermission, cursor_encode, error_responses
from photosearch.errors import StateConflict
from search.api_serializers import TakenAtField, absolute_thumbnail_url
from search.models import Person
from search.people_selectors import faces_enabled, person_get, person_list, person_photos
from search.selectors import MAX_LIMIT, MAX_OFFSET
from search.services.person_edits import MERGE_MAX, NAME_MAX_LENGTH, person_hide, person_rename, persons_merge

FACES_OFF = (
    "Faces are off (PHOTOSEARCH_FACES=none): no face is looked for and no person is shown. "
    "Set PHOTOSEARCH_FACES=dlib and run python manage.py embed_photos to find them."
)


def crop_url(request: Request, crop: str | None) -> str | None:
    """The absolute URL of a face's picture; None when it has none. Served as media: anonymous reads follow
    PHOTOSEARCH_API_PUBLIC_READS (``photosearch.middleware.ReadAccessMiddleware``)."""
    return request.build_absolute_uri(default_storage.url(crop)) if crop else None


# --- Output -------------------------------------------------------------------------------------------------------


class FacePersonOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = NullableCharField(help_text="The typed name, else @handle found on its photos; null: unnamed.")


class FaceOutputSerializer(serializers.Serializer[Any]):
    """A face in a photo: where, and whose (null: no person, or a hidden one)."""

    box = serializers.ListField(
        child=serializers.FloatField(min_value=0, max_value=1),
        min_length=4,
        max_length=4,
        help_text="[x, y, width, height] of the face, relative to the image's width and height (0..1, from the top "
        "left).",
    )
    person = FacePersonOutputSerializer(allow_null=True)


class PersonOutputSerializer(serializers.Serializer[Person]):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    name = NullableCharField(source="shown_name", help_text="The typed name, else @handle; null: unnamed.")
    typed_name = NullableCharField(source="name", help_text="The name a person typed; null: none (the handle shows).")
    handle = NullableCharField(help_text="The account its photos tag or @mention, without '@'; null: none found.")
    name_evidence = serializers.JSONField(help_text='Why the handle: {"handle", "source", "tagged", "photos"…}.')
    hidden = serializers.BooleanField()
    photo_count = serializers.IntegerField()
    face_count = serializers.IntegerField()
    cover_url = serializers.SerializerMethodField(help_text="A picture of its best face; null: none kept.")
    photos_url = serializers.SerializerMethodField()

    def get_url(self, person: Person) -> str:
        return str(self.context["request"].build_absolute_uri(reverse("api-person", kwargs={"person_id": person.pk})))

    def get_cover_url(self, person: Person) -> str | None:
        return crop_url(self.context["request"], getattr(person, "cover_crop", None))

    def get_photos_url(self, person: Person) -> str:
        request: Request = self.context["request"]
        return request.build_absolute_uri(reverse("api-person-photos", kwargs={"person_id": person.pk}))


class PageInputSerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=MAX_LIMIT)
    cursor = CursorField(
        required=False, max_offset=MAX_OFFSET, help_text="Opaque; taken from the `next` URL of the previous page."
    )


class PersonPhotoOutputSerializer(serializers.Serializer[Any]):
    """A photo showing a person, with the person's face in it."""

    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    profile = serializers.CharField(source="profile.handle")
    thumbnail_url = serializers.SerializerMethodField()
    taken_at = TakenAtField(source="*")  # type: ignore[no-untyped-call]  # search.api_serializers: not strict yet
    face_id = serializers.IntegerField(help_text="The person's face in it.")
    face_url = serializers.SerializerMethodField(help_text="A picture of that face; null: none kept.")

    def get_url(self, photo: Any) -> str:
        request: Request = self.context["request"]
        return request.build_absolute_uri(reverse("api-photo", kwargs={"photo_id": photo.pk}))

    def get_thumbnail_url(self, photo: Any) -> str | None:
        return absolute_thumbnail_url(self.context["request"], photo)

    def get_face_url(self, photo: Any) -> str | None:
        return crop_url(self.context["request"], photo.face_crop)


def _page(request: Request, queryset: Any, params: dict[str, Any]) -> tuple[list[Any], str | None]:
    """One page of ``queryset`` and the URL of the next (same parameters, next cursor), or None."""
    offset, limit = params.get("cursor", 0), params["limit"]
    rows = list(queryset[offset : offset + limit + 1])
    more = len(rows) > limit and offset + limit <= MAX_OFFSET
    next_url = (
        replace_query_param(request.build_absolute_uri(), "cursor", cursor_encode(offset + limit)) if more else None
    )
    return rows[:limit], next_url


def _writable(person_id: int) -> None:
    """An edit needs faces on (409 otherwise: the state, not the request) and the person (404)."""
    if not faces_enabled():
        raise StateConflict(FACES_OFF)
    _person_or_404(person_id)


def _person_or_404(person_id: int) -> Person:
    person = person_get(person_id=person_id) if faces_enabled() else None
    if person is None:
        raise Http404(FACES_OFF if not faces_enabled() else f"No person with id {person_id}.")
    return person


# --- Views --------------------------------------------------------------------------------------------------------


class PersonListApi(ApiView):
    """GET /api/v1/people/ — persons, named first, then most photos; ``q`` by name or handle."""

    class InputSerializer(PageInputSerializer):
        q = serializers.CharField(
            required=False, allow_blank=True, max_length=200, help_text="Part of the name or handle (@ optional)."
        )
        include_hidden = serializers.BooleanField(required=False, default=False)

    class OutputSerializer(serializers.Serializer[Any]):
        results = PersonOutputSerializer(many=True)
        count = serializers.IntegerField(help_text="Persons on this page.")
        next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
        enabled = serializers.BooleanField(help_text="false: faces are off (PHOTOSEARCH_FACES=none).")
        notice = NullableCharField(help_text="Why the list is empty when faces are off; null otherwise.")

    @extend_schema(
        operation_id="person_list",
        summary="People",
        parameters=[InputSerializer],
        responses={200: OutputSerializer, **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        rows: list[Person] = []
        next_url = None
        if faces_enabled():
            queryset = person_list(query=data.get("q", ""), include_hidden=data["include_hidden"])
            rows, next_url = _page(request, queryset, data)
        output = {
            "results": rows,
            "count": len(rows),
            "next": next_url,
            "enabled": faces_enabled(),
            "notice": None if faces_enabled() else FACES_OFF,
        }
        return Response(self.OutputSerializer(output, context={"request": request}).data)


class PersonDetailApi(ApiView):
    """GET /api/v1/people/<id>/ — one person (hidden ones too)."""

    @extend_schema(
        operation_id="person_retrieve",
        summary="A person",
        responses={200: PersonOutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, person_id: int) -> Response:
        return Response(PersonOutputSerializer(_person_or_404(person_id), context={"request": request}).data)


class PersonUpdateApi(ApiView):
    """PATCH /api/v1/people/<id>/ — type a name (empty: back to the handle found), hide or show (staff only)."""

    permission_classes = [WritePermission]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer[Any]):
        name = serializers.CharField(
            required=False, allow_blank=True, max_length=NAME_MAX_LENGTH, help_text='"": back to the handle found.'
        )
        hidden = serializers.BooleanField(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs:
                raise ValidationError("Give `name`, `hidden` or both.")
            return attrs

    @extend_schema(
        operation_id="person_update",
        summary="Rename or hide a person",
        request=InputSerializer,
        responses={200: PersonOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, person_id: int) -> Response:
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        _writable(person_id)
        if "name" in data:
            person_rename(person_id=person_id, name=data["name"])
        if "hidden" in data:
            person_hide(person_id=person_id, hidden=data["hidden"])
        return Response(PersonOutputSerializer(_person_or_404(person_id), context={"request": request}).data)


class PersonMergeApi(ApiView):
    """POST /api/v1/people/<id>/merge/ — move the faces of other persons to this one and delete them (staff only)."""

    permission_classes = [WritePermission]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer[Any]):
        from_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
            min_length=1,
            max_length=MERGE_MAX,
            help_text="Ids of the persons merged into this one.",
        )

        def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
            fields = super().get_fields()
            fields["from"] = fields.pop("from_ids")
            return fields

    @extend_schema(
        operation_id="person_merge",
        summary="Merge persons into one",
        description="This person's typed name wins; without one, the first typed name among `from` (in order). "
        "The handle is chosen again from the merged photos.",
        request=InputSerializer,
        responses={200: PersonOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, person_id: int) -> Response:
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        _writable(person_id)
        persons_merge(into_id=person_id, from_ids=params.validated_data["from"])
        return Response(PersonOutputSerializer(_person_or_404(person_id), context={"request": request}).data)


class PersonPhotosApi(ApiView):
    """GET /api/v1/people/<id>/photos/ — the photos showing a person, newest first, a page at a time."""

    class InputSerializer(PageInputSerializer):
        pass

    class OutputSerializer(serializers.Serializer[Any]):
        results = PersonPhotoOutputSerializer(many=True)
        count = serializers.IntegerField(help_text="Photos on this page.")
        next = serializers.URLField(allow_null=True, help_text="The next page, or null.")

    @extend_schema(
        operation_id="person_photos",
        summary="Photos of a person",
        parameters=[InputSerializer],
        responses={200: OutputSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, person_id: int) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        person = _person_or_404(person_id)
        rows, next_url = _page(request, person_photos(person_id=person.pk), params.validated_data)
        output = {"results": rows, "count": len(rows), "next": next_url}
        return Response(self.OutputSerializer(output, context={"request": request}).data)
