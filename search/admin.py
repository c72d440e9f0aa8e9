"""Search's part of the admin: the profiles list's "Re-embed all photos" action (profiles knows nothing of
embeddings, so the action is added from here)."""

from django.contrib import admin, messages

from profiles.admin import ProfileAdmin
from search.services.embedding import photos_reembed


@admin.action(description="Re-embed all photos")
def reembed(modeladmin, request, queryset):
    count = photos_reembed(profile_ids=list(queryset.values_list("pk", flat=True)))
    modeladmin.message_user(request, f"Queued {count} photos for embedding.", messages.SUCCESS)


ProfileAdmin.actions = [*ProfileAdmin.actions, reembed]
