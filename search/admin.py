"""Search's part of the admin: the profiles list's "Re-embed all photos" action (profiles knows nothing of
embeddings, so the action is added from here), and the People feature's persons and faces.

Persons: the list with photo counts and a face each, searched by name or handle; a name is typed by editing it
(empty: back to the handle found), "Merge selected" and "Hide"/"Show" act on a selection. Faces: a read-only list
with each face's picture, person and photo; "Not this person" takes the selected faces from their persons. Every
write goes through ``search.services.person_edits``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from photosearch.errors import InvalidInput, StateConflict
from profiles.admin import ProfileAdmin
from search.models import Face, Person
from search.people_selectors import CountedPerson, persons_with_counts
from search.people_views import EDIT_PERMISSION
from search.services.embedding import photos_reembed
from search.services.person_edits import face_not_person, person_hide, person_rename, persons_merge
from search.templatetags.faces import face_url


@admin.action(description="Re-embed all photos")
def reembed(modeladmin, request, queryset):
    count = photos_reembed(profile_ids=list(queryset.values_list("pk", flat=True)))
    modeladmin.message_user(request, f"Queued {count} photos for embedding.", messages.SUCCESS)


ProfileAdmin.actions = [*ProfileAdmin.actions, reembed]


def _face_tag(crop: str | None, size: int = 48) -> SafeString | str:
    if not crop:
        return "—"
    return format_html(
        '<img src="{}" alt="" width="{}" height="{}" style="border-radius:50%;object-fit:cover">',
        face_url(crop),
        size,
        size,
    )


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["face", "__str__", "name", "handle", "photo_count", "face_count", "hidden"]
    list_display_links = ["face", "__str__"]
    list_filter = ["hidden"]
    search_fields = ["name", "handle"]
    fields = ["face", "name", "handle", "name_evidence", "hidden", "photo_count", "face_count", "created_at", "pages"]
    readonly_fields = ["face", "handle", "name_evidence", "photo_count", "face_count", "created_at", "pages"]
    actions = ["merge_selected", "hide_selected", "show_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CountedPerson]:
        return persons_with_counts().order_by("-photo_count", "id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # persons come from grouping faces

    def has_delete_permission(self, request: HttpRequest, obj: Person | None = None) -> bool:
        return False  # a deleted person's faces would just be grouped again: hide it, or merge it

    @admin.display(description="Face")
    def face(self, person: Person) -> SafeString | str:
        return _face_tag(getattr(person, "cover_crop", None))

    @admin.display(description="Photos", ordering="photo_count")
    def photo_count(self, person: Person) -> int:
        return int(getattr(person, "photo_count", 0))

    @admin.display(description="Faces", ordering="face_count")
    def face_count(self, person: Person) -> int:
        return int(getattr(person, "face_count", 0))

    @admin.display(description="On the site")
    def pages(self, person: Person) -> SafeString:
        return format_html('<a href="{}">Their photos</a>', reverse("person", kwargs={"person_id": person.pk}))

    def save_model(self, request: HttpRequest, obj: Person, form: Any, change: bool) -> None:
        """Through the services: a typed name (empty: the handle shows again) and the hidden flag."""
        try:
            if "name" in form.changed_data:
                person_rename(person_id=obj.pk, name=obj.name)
            if "hidden" in form.changed_data:
                person_hide(person_id=obj.pk, hidden=obj.hidden)
        except (InvalidInput, StateConflict) as exc:
            self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description="Merge selected persons into one", permissions=["change"])
    def merge_selected(self, request: HttpRequest, queryset: QuerySet[CountedPerson]) -> None:
        """Into the one with the most photos (then the oldest); its typed name wins, else the first typed one."""
        ordered = list(queryset.order_by("-photo_count", "id").values_list("pk", flat=True))
        if len(ordered) < 2:
            self.message_user(request, "Select two persons or more to merge.", messages.WARNING)
            return
        try:
            person = persons_merge(into_id=ordered[0], from_ids=ordered[1:])
        except (InvalidInput, StateConflict) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"Merged {len(ordered)} persons into {person}.", messages.SUCCESS)

    @admin.action(description="Hide selected persons", permissions=["change"])
    def hide_selected(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        self._hidden(request, queryset, hidden=True)

    @admin.action(description="Show selected persons again", permissions=["change"])
    def show_selected(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        self._hidden(request, queryset, hidden=False)

    def _hidden(self, request: HttpRequest, queryset: QuerySet[Person], *, hidden: bool) -> None:
        try:
            for person_id in queryset.values_list("pk", flat=True):
                person_hide(person_id=person_id, hidden=hidden)
        except StateConflict as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{'Hid' if hidden else 'Showed'} {queryset.count()} persons.", messages.SUCCESS)


@admin.register(Face)
class FaceAdmin(admin.ModelAdmin):
    """Read-only: faces are the engine's; "Not this person" is the one change made here."""

    list_display = ["picture", "id", "person_link", "photo_link", "size", "quality", "engine"]
    list_select_related = ["person", "photo"]
    list_filter = [("person", admin.EmptyFieldListFilter)]
    search_fields = ["person__name", "person__handle"]
    actions = ["not_this_person"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Face | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Face | None = None) -> bool:
        return False

    def has_unassign_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(EDIT_PERMISSION)  # the admin's own rule: the right to change persons

    @admin.display(description="Face")
    def picture(self, face: Face) -> SafeString | str:
        return _face_tag(face.crop, 64)

    @admin.display(description="Person", ordering="person")
    def person_link(self, face: Face) -> SafeString | str:
        if face.person is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:search_person_change", args=[face.person_id]), str(face.person)
        )

    @admin.display(description="Photo", ordering="photo")
    def photo_link(self, face: Face) -> SafeString:
        return format_html(
            '<a href="{}">Photo {}</a>', reverse("photo", kwargs={"photo_id": face.photo_id}), face.photo_id
        )

    @admin.action(description="Not this person: take the selected faces from their persons", permissions=["unassign"])
    def not_this_person(self, request: HttpRequest, queryset: QuerySet[Face]) -> None:
        taken = 0
        try:
            for face_id in queryset.filter(person__isnull=False).values_list("pk", flat=True):
                face_not_person(face_id=face_id)
                taken += 1
        except StateConflict as exc:
            self.message_user(request, str(exc), messages.ERROR)
        self.message_user(request, f"Took {taken} faces from their persons.", messages.SUCCESS)
