"""JSON API v1 for profiles and import jobs: one APIView per operation (``photosearch/api.py``: what they share)."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from photosearch.api import ApiView, Conflict, NullableCharField, WritePermission, error_responses
from photosearch.db.replicas import search_read
from profiles.models import ImportJob, SourceKind
from profiles.selectors import (
    import_job_get,
    import_job_status_words,
    place_counts,
    profile_get,
    profile_get_with_last_import,
    profile_list_with_last_import,
)
from profiles.services.imports import import_job_enqueue, profile_create_with_import
from profiles.sources.registry import SourceOptionsInvalid, source_option_fields, source_options_check

# --- Output -----------------------------------------------------------------------------------------------------


class JobSummaryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=ImportJob.Status.values)
    fast_update = serializers.SerializerMethodField()
    total = serializers.IntegerField(allow_null=True, help_text="Known in advance for folders and URL lists.")
    processed = serializers.IntegerField()
    imported = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    last_error = NullableCharField(
        source="public_error", help_text="Why the job stopped; server paths cut short. Null: no error."
    )
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    next_step = serializers.SerializerMethodField(
        help_text="What to do about the job's state, in words "
        "(Instagram could not be reached: rerun when online…); "
        "null when there is nothing to do."
    )

    def get_url(self, job) -> str:
        return self.context["request"].build_absolute_uri(reverse("api-job", kwargs={"job_id": job.pk}))

    def get_fast_update(self, job) -> bool:
        return bool(job.options.get("fast_update"))

    def get_next_step(self, job) -> str | None:
        return import_job_status_words(job=job)[1] or None


class ProblemOutputSerializer(serializers.Serializer):
    source_id = serializers.CharField()
    reason = serializers.CharField()

    def to_representation(self, instance):
        source_id, reason = instance  # stored as [source id, reason]
        return super().to_representation({"source_id": source_id, "reason": reason})


class JobOutputSerializer(JobSummaryOutputSerializer):
    profile = serializers.CharField(source="profile.handle")
    profile_id = serializers.IntegerField()
    problems = ProblemOutputSerializer(many=True, help_text="Skipped or failed items (the first 200).")


class ProfileOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    source_kind = serializers.ChoiceField(choices=SourceKind.values)
    handle = serializers.CharField()
    display_name = NullableCharField()
    photo_count = serializers.IntegerField()
    embedded_count = serializers.IntegerField()
    duplicate_count = serializers.IntegerField(
        help_text="Photos whose image another photo of the profile has: never embedded, they share its "
        "index (57 indexed + 5 duplicates)."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_job = serializers.SerializerMethodField()

    def get_url(self, profile) -> str:
        return self.context["request"].build_absolute_uri(reverse("api-profile", kwargs={"profile_id": profile.pk}))

    @extend_schema_field(JobSummaryOutputSerializer(allow_null=True))
    def get_last_job(self, profile):
        job = getattr(profile, "last_import", None)
        return JobSummaryOutputSerializer(job, context=self.context).data if job else None


# --- Where a new profile imports from: the source registry's options -------------------------------------------


class ProfileOptionsInputSerializer(serializers.Serializer):
    """Where a new profile imports from; which keys apply depends on its source kind (checked by the source
    registry, as the admin and the commands check them)."""

    def get_fields(self):
        return {
            name: serializers.CharField(required=False, help_text=f"{kind}: {help_text}")
            for name, (kind, help_text) in source_option_fields().items()
        }

    def to_internal_value(self, data):
        if isinstance(data, dict) and (unknown := sorted(set(data) - set(self.fields))):
            raise ValidationError({unknown[0]: ["Unknown option."]})
        return super().to_internal_value(data)


def _checked_options(kind: str, options: dict[str, str]) -> dict[str, str]:
    try:
        return source_options_check(kind=kind, options=options)
    except SourceOptionsInvalid as exc:
        raise ValidationError({"options": exc.errors}) from None


# --- Views --------------------------------------------------------------------------------------------------------


class ProfileListApi(ApiView):
    """GET /api/v1/profiles/ — every profile with its photo counts and last import."""

    class OutputSerializer(serializers.Serializer):
        results = ProfileOutputSerializer(many=True)

    @extend_schema(
        operation_id="profile_list", summary="Profiles", responses={200: OutputSerializer, **error_responses(401)}
    )
    def get(self, request):
        profiles = profile_list_with_last_import()
        return Response(self.OutputSerializer({"results": profiles}, context={"request": request}).data)


class ProfileCreateApi(ApiView):
    """POST /api/v1/profiles/ — create a profile and queue its first import (staff only)."""

    permission_classes = [WritePermission]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        source_kind = serializers.ChoiceField(choices=SourceKind.values)
        handle = serializers.CharField(
            max_length=255, help_text="Instagram user name, Flickr album/user, or a name you choose."
        )
        display_name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        options = ProfileOptionsInputSerializer(required=False, default=dict)

        def validate(self, data):
            return {**data, "options": _checked_options(data["source_kind"], data.get("options") or {})}

    class OutputSerializer(serializers.Serializer):
        profile = ProfileOutputSerializer()
        job = JobOutputSerializer()

    @extend_schema(
        operation_id="profile_create",
        summary="Create a profile and start its import",
        description="The import runs in a Celery worker (or in-process, before this answer, without a broker); "
        "`job` is its state at the time of the answer. Follow `job.url` for progress.",
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 401, 403, 409)},
    )
    def post(self, request):
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        existing = profile_get(source_kind=data["source_kind"], handle=data["handle"])
        if existing is not None:
            raise Conflict(
                f"A {existing.source_kind} profile named {existing.handle!r} exists already (id {existing.pk}); "
                f"POST to its imports URL to import it again."
            )
        profile, job = profile_create_with_import(
            source_kind=data["source_kind"],
            handle=data["handle"],
            display_name=data["display_name"],
            source_options=data["options"],
        )
        # Without a broker the import ran on commit, just now: answer with what it did.
        job = import_job_get(job_id=job.pk)
        output = self.OutputSerializer(
            {"profile": profile_get_with_last_import(profile_id=profile.pk), "job": job}, context={"request": request}
        ).data
        return Response(output, status=status.HTTP_201_CREATED, headers={"Location": output["profile"]["url"]})


class ProfileDetailApi(ApiView):
    """GET /api/v1/profiles/<id>/ — one profile with its photo counts and last import."""

    @extend_schema(
        operation_id="profile_retrieve",
        summary="A profile",
        responses={200: ProfileOutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request, profile_id: int):
        profile = profile_get_with_last_import(profile_id=profile_id)
        if profile is None:
            raise Http404(f"No profile with id {profile_id}.")
        return Response(ProfileOutputSerializer(profile, context={"request": request}).data)


class ProfileImportApi(ApiView):
    """POST /api/v1/profiles/<id>/imports/ — queue another import of a profile (staff only)."""

    permission_classes = [WritePermission]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        fast_update = serializers.BooleanField(
            required=False, default=False, help_text="Instagram: stop at the first post already imported."
        )

    @extend_schema(
        operation_id="profile_import",
        summary="Start an import of a profile",
        request=InputSerializer,
        responses={202: JobOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, profile_id: int):
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        profile = profile_get(profile_id=profile_id)
        if profile is None:
            raise Http404(f"No profile with id {profile_id}.")
        options = {"fast_update": True} if params.validated_data["fast_update"] else {}
        with transaction.atomic():
            job = import_job_enqueue(profile=profile, options=options)
        output = JobOutputSerializer(import_job_get(job_id=job.pk), context={"request": request}).data
        return Response(output, status=status.HTTP_202_ACCEPTED, headers={"Location": output["url"]})


class JobDetailApi(ApiView):
    """GET /api/v1/jobs/<id>/ — an import job's status and counts."""

    @extend_schema(
        operation_id="job_retrieve",
        summary="An import job",
        responses={200: JobOutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request, job_id: int):
        job = import_job_get(job_id=job_id)
        if job is None:
            raise Http404(f"No import job with id {job_id}.")
        return Response(JobOutputSerializer(job, context={"request": request}).data)


class PlaceCityOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    photos = serializers.IntegerField()


class PlaceCountryOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="ISO 3166-1 alpha-2.")
    name = serializers.CharField()
    photos = serializers.IntegerField()
    cities = PlaceCityOutputSerializer(many=True)


class PlaceListApi(ApiView):
    """GET /api/v1/places/ — the countries and towns photos were taken in, with how many photos each: the values the
    search filters ``country`` and ``city`` take."""

    class OutputSerializer(serializers.Serializer):
        countries = PlaceCountryOutputSerializer(many=True)

    @extend_schema(
        operation_id="place_list", summary="Places", responses={200: OutputSerializer, **error_responses(401)}
    )
    def get(self, request):
        countries: dict[str, dict] = {}
        for row in search_read(place_counts)():
            country = countries.setdefault(
                row["country_code"],
                {"code": row["country_code"], "name": row["country"] or row["country_code"], "photos": 0, "cities": []},
            )
            country["photos"] += row["photos"]
            if row["city"]:
                country["cities"].append({"name": row["city"], "photos": row["photos"]})
        ordered = sorted(countries.values(), key=lambda country: country["name"].casefold())
        return Response(self.OutputSerializer({"countries": ordered}).data)
