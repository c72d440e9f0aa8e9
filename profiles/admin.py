from django.contrib import admin
from django.utils.html import format_html

from profiles.models import Photo, Profile
from profiles.selectors import profile_list_with_counts


def _thumbnail_tag(photo: Photo, size: int) -> str:
    if not photo.thumbnail:
        return "—"
    return format_html('<img src="{}" alt="{}" style="max-width:{}px;max-height:{}px;border-radius:4px">',
                       photo.thumbnail.url, photo.caption or photo.source_id, size, size)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("handle", "display_name", "source_kind", "photo_count", "embedded_count", "updated_at")
    list_filter = ("source_kind",)
    search_fields = ("handle", "display_name")

    def get_queryset(self, request):
        return profile_list_with_counts()

    @admin.display(ordering="photo_count")
    def photo_count(self, obj):
        return obj.photo_count

    @admin.display(ordering="embedded_count")
    def embedded_count(self, obj):
        return obj.embedded_count


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ("thumb", "source_id", "profile", "taken_at", "embedding_model", "imported_at")
    list_filter = ("profile", "embedding_model")
    search_fields = ("source_id", "source_text", "caption", "hashtags", "alt_text")
    list_select_related = ("profile",)
    readonly_fields = ("preview", "content_hash", "embedding_model", "embedded_at", "width", "height",
                       "imported_at", "updated_at")
    exclude = ("embedding", "thumbnail")
    date_hierarchy = "taken_at"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("embedding")

    @admin.display(description="Thumbnail")
    def thumb(self, obj):
        return _thumbnail_tag(obj, 80)

    @admin.display(description="Preview")
    def preview(self, obj):
        return _thumbnail_tag(obj, 400)
