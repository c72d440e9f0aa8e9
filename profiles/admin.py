from django import forms
from django.contrib import admin, messages
from django.contrib.postgres.search import SearchQuery
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from profiles.models import TEXT_SEARCH_CONFIG, ImportJob, Photo, Profile, SourceKind
from profiles.selectors import import_job_status_words, import_jobs_in_flight, profile_list_for_admin
from profiles.services.imports import ImportBusy, import_job_enqueue
from profiles.sources.registry import SOURCE_KINDS, SourceOptionsInvalid, source_options_check


def _thumbnail_tag(photo: Photo, size: int) -> str:
    if not photo.thumbnail:
        return "—"
    return format_html(
        '<img src="{}" alt="{}" style="max-width:{}px;max-height:{}px;border-radius:4px">',
        photo.thumbnail.url,
        photo.caption or photo.source_id,
        size,
        size,
    )


# One form field per option of every source kind, from the source registry (declared on a base class: the admin
# asks for them by name in its fieldsets).
_OPTION_FIELDS = {
    option.admin_field: forms.CharField(
        required=False, label=option.label, help_text=f"{SourceKind(spec.kind).label}: {option.help}"
    )
    for spec in SOURCE_KINDS.values()
    for option in spec.options
}
_SourceOptionFields = type("_SourceOptionFields", (forms.Form,), dict(_OPTION_FIELDS))


class ProfileForm(_SourceOptionFields, forms.ModelForm):  # type: ignore[valid-type, misc]  # a class made at import
    """A profile and where it imports from; the chosen kind's options are checked by the source registry — the
    API's and the commands' rules."""

    class Meta:
        model = Profile
        fields = ["source_kind", "handle", "display_name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        spec = SOURCE_KINDS.get(self.instance.source_kind)
        for option in spec.options if spec else ():
            self.fields[option.admin_field].initial = self.instance.source_options.get(option.name, "")

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("source_kind")
        if kind not in SOURCE_KINDS:
            return cleaned
        fields = {option.name: option.admin_field for option in SOURCE_KINDS[kind].options}
        given = {name: cleaned[field].strip() for name, field in fields.items() if (cleaned.get(field) or "").strip()}
        try:
            self.source_options = source_options_check(kind=kind, options=given)
        except SourceOptionsInvalid as exc:
            for name, messages in exc.errors.items():
                for message in messages:
                    self.add_error(fields.get(name), message)
        return cleaned

    def save(self, commit=True):
        # Options of the profile's kind only, as the registry normalised them (absolute paths).
        self.instance.source_options = {
            **{
                key: value
                for key, value in self.instance.source_options.items()
                if key not in SOURCE_KINDS[self.instance.source_kind].option_names
            },
            **self.source_options,
        }
        return super().save(commit)


def _next_step(job: ImportJob) -> str:
    return (import_job_status_words(job=job)[1] if job.pk else "") or "—"  # no pk: the inline's empty form


class RecentJobsInline(admin.TabularInline):
    model = ImportJob
    fields = (
        "status",
        "imported",
        "updated",
        "unchanged",
        "skipped",
        "failed",
        "created_at",
        "finished_at",
        "last_error",
        "next_step",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at"]
    verbose_name_plural = "Recent imports"

    def get_formset(self, request, obj=None, **kwargs):
        request.jobs_of_profile = obj  # on the request, not on this shared admin instance
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="What to do")
    def next_step(self, obj):
        return _next_step(obj)

    def get_queryset(self, request):
        profile = getattr(request, "jobs_of_profile", None)
        recent = ImportJob.objects.filter(profile=profile).order_by("-created_at").values_list("pk", flat=True)[:10]
        return super().get_queryset(request).filter(pk__in=list(recent))


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    form = ProfileForm
    list_display = (
        "handle",
        "display_name",
        "source_kind",
        "photo_count",
        "embedded_count",
        "duplicate_count",
        "last_import",
        "open_search",
    )
    list_filter = ("source_kind",)
    search_fields = ("handle", "display_name")
    inlines = [RecentJobsInline]
    actions = ["import_now", "fast_update"]  # search adds "Re-embed all photos" (search/admin.py)
    readonly_fields = ("open_search",)
    fieldsets = [
        (None, {"fields": ["source_kind", "handle", "display_name", "open_search"]}),
        ("Where to import from", {"fields": list(_OPTION_FIELDS)}),
    ]

    def get_queryset(self, request):
        return profile_list_for_admin()

    @admin.display(ordering="photo_count")
    def photo_count(self, obj):
        return obj.photo_count

    @admin.display(ordering="embedded_count", description="Indexed")
    def embedded_count(self, obj):
        return obj.embedded_count

    @admin.display(ordering="duplicate_count", description="+ duplicates")
    def duplicate_count(self, obj):
        # Never indexed themselves, they share their original's index.
        return f"+ {obj.duplicate_count}" if obj.duplicate_count else "—"

    @admin.display(description="Search")
    def open_search(self, obj):
        if not obj.pk:
            return "—"
        url = f"{reverse('search')}?{urlencode({'profile': obj.handle})}"
        return format_html('<a href="{}">Open search in {}</a>', url, obj.handle)

    @admin.display(description="Last import")
    def last_import(self, obj):
        if obj.last_import_status is None:
            return "—"
        job = ImportJob(
            profile=obj,
            status=obj.last_import_status,
            options=obj.last_import_options,
            created_at=obj.last_import_created_at,
            failed=obj.last_import_failed,
        )
        status, step = import_job_status_words(job=job)
        return f"{status} ({obj.last_import_imported} new){' — ' + step if step else ''}"

    def _enqueue(self, request, queryset, options):
        for profile in queryset:
            try:
                job = import_job_enqueue(profile=profile, options=options)
            except ImportBusy as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            self.message_user(request, f"Queued import #{job.pk} of {profile}.", messages.SUCCESS)

    @admin.action(description="Import now")
    def import_now(self, request, queryset):
        self._enqueue(request, queryset, {})

    @admin.action(description="Fast update (new posts only)")
    def fast_update(self, request, queryset):
        self._enqueue(request, queryset, {"fast_update": True})


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "profile",
        "status",
        "progress",
        "imported",
        "updated",
        "unchanged",
        "skipped",
        "failed",
        "created_at",
        "finished_at",
        "last_error",
        "next_step",
    )
    list_filter = ("status", "profile__source_kind")
    list_select_related = ("profile",)
    readonly_fields = [field.name for field in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="What to do")
    def next_step(self, obj):
        return _next_step(obj)

    @admin.display(description="Progress")
    def progress(self, obj):
        return f"{obj.processed}/{obj.total}" if obj.total else str(obj.processed)

    def changelist_view(self, request, extra_context=None):
        # The list reloads itself while imports are in flight: live status without JavaScript.
        active = import_jobs_in_flight()
        return super().changelist_view(request, {**(extra_context or {}), "auto_refresh": active})


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = (
        "thumb",
        "source_id",
        "profile",
        "media_type",
        "taken_at",
        "place",
        "embedding_model",
        "imported_at",
    )
    list_filter = ("profile", "media_type", "country", "taken_at_source", "embedding_model", "ocr_engine")
    search_fields = ("source_id", "source_text", "caption", "hashtags", "alt_text")
    list_select_related = ("profile",)
    readonly_fields = (
        "preview",
        "content_hash",
        "embedding_model",
        "embedded_at",
        "width",
        "height",
        "duplicate_of",
        "taken_at_source",
        "camera_make",
        "camera_model",
        "lens",
        "city",
        "region",
        "country",
        "country_code",
        "ocr_text",
        "ocr_engine",
        "ocr_at",
        "imported_at",
        "updated_at",
    )
    exclude = ("embedding", "thumbnail", "text_image")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "preview",
                    "profile",
                    "source_id",
                    "permalink",
                    "original_url",
                    "media_type",
                    "likes",
                    "duplicate_of",
                )
            },
        ),
        (
            "Words",
            {
                "fields": (
                    "source_text",
                    "hashtags",
                    "hashtag_words",
                    "alt_text",
                    "text_config",
                    "caption",
                    "ocr_text",
                    "ocr_engine",
                    "ocr_at",
                )
            },
        ),
        (
            "When, where, who",
            {
                "fields": (
                    "taken_at",
                    "taken_at_source",
                    "place_name",
                    "place_id",
                    "latitude",
                    "longitude",
                    "city",
                    "region",
                    "country",
                    "country_code",
                    "people",
                    "camera_make",
                    "camera_model",
                    "lens",
                )
            },
        ),
        (
            "Image and index",
            {
                "fields": (
                    "width",
                    "height",
                    "content_hash",
                    "embedding_model",
                    "embedded_at",
                    "extra",
                    "imported_at",
                    "updated_at",
                )
            },
        ),
    )
    raw_id_fields = ("profile",)
    date_hierarchy = "taken_at"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("embedding")

    @admin.display(description="Place", ordering="country")
    def place(self, obj):
        return obj.place

    def get_search_results(self, request, queryset, search_term):
        """Words search the photo's full-text vector (GIN index: post text, caption, tags, alt text), with the
        same websearch syntax as the search page; a source id also matches exactly."""
        if not search_term.strip():
            return queryset, False
        words = SearchQuery(search_term, search_type="websearch", config=TEXT_SEARCH_CONFIG)
        return queryset.filter(Q(search_vector=words) | Q(source_id=search_term.strip())), False

    @admin.display(description="Thumbnail")
    def thumb(self, obj):
        return _thumbnail_tag(obj, 80)

    @admin.display(description="Preview")
    def preview(self, obj):
        return _thumbnail_tag(obj, 400)
