"""The People pages: every person (a face each, photo counts, named first), one person's photos, and the edits a
signed-in user with the right may make there (rename, merge, hide, "not this person" on a face).

Reads follow the one public-reads switch like every page (``photosearch.middleware.ReadAccessMiddleware``); each
edit is a POST (CSRF-checked) by a staff user or one granted ``search.change_person``, then back to the person's page.
With ``PHOTOSEARCH_FACES=none`` the People page says faces are off and how to turn them on; no person is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from photosearch.errors import InvalidInput, StateConflict
from search.inputs import clean_offset, offset_parse
from search.people_selectors import faces_enabled, person_get, person_list, person_photos
from search.selectors import InvalidQuery
from search.services.person_edits import face_not_person, person_hide, person_rename, persons_merge
from search.views import require_GET, require_POST

PEOPLE_PAGE_SIZE = 60
PHOTOS_PAGE_SIZE = 24
MERGE_CHOICES = 500  # persons offered in the merge form's list
EDIT_PERMISSION = "search.change_person"


def may_edit_people(user: Any) -> bool:
    """Whether ``user`` may rename, merge and hide persons and take faces from them: staff, or granted the right."""
    return bool(user.is_authenticated and user.is_active and (user.is_staff or user.has_perm(EDIT_PERMISSION)))


@require_GET
def people_page(request: HttpRequest) -> HttpResponse:
    """Every person holding faces: a face each, photo counts, named first; ``q`` narrows by name or handle."""
    query = request.GET.get("q", "").strip()[:200]
    context: dict[str, Any] = {"enabled": faces_enabled(), "query": query, "persons": [], "more_url": ""}
    status = 200
    if context["enabled"]:
        try:
            offset = _offset(request)
        except InvalidQuery as exc:
            context["error"], status, offset = exc.labelled, 400, 0
        rows = list(person_list(query=query)[offset : offset + PEOPLE_PAGE_SIZE + 1])
        context["persons"] = rows[:PEOPLE_PAGE_SIZE]
        if len(rows) > PEOPLE_PAGE_SIZE:
            more = request.GET.copy()
            more["offset"] = str(offset + PEOPLE_PAGE_SIZE)
            context["more_url"] = f"?{more.urlencode()}"
    return render(request, "search/people.html", context, status=status)


@require_GET
def person_page(request: HttpRequest, person_id: int) -> HttpResponse:
    """One person: its photos (newest first, a page at a time) and, for those who may, the forms that edit it."""
    person = person_get(person_id=person_id) if faces_enabled() else None
    if person is None:
        raise Http404("Faces are off." if not faces_enabled() else "No such person.")
    try:
        offset = _offset(request)
    except InvalidQuery:
        offset = 0
    rows = list(person_photos(person_id=person.pk)[offset : offset + PHOTOS_PAGE_SIZE + 1])
    editor = may_edit_people(request.user)
    context = {
        "person": person,
        "photos": rows[:PHOTOS_PAGE_SIZE],
        "more_url": f"?offset={offset + PHOTOS_PAGE_SIZE}" if len(rows) > PHOTOS_PAGE_SIZE else "",
        "may_edit": editor,
        "others": list(person_list(include_hidden=True).exclude(pk=person.pk)[:MERGE_CHOICES]) if editor else [],
    }
    return render(request, "search/person.html", context)


def _offset(request: HttpRequest) -> int:
    return clean_offset(offset_parse(request.GET.get("offset")))


def _edit(view: Callable[..., str]) -> Callable[..., HttpResponseBase]:
    """A POST that edits a person: the user must be allowed; the view returns the message to show, and the answer
    goes back to the person's page (a domain error is shown there instead)."""

    @require_POST
    def wrapper(request: HttpRequest, **kwargs: int) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("login"))
        if not may_edit_people(request.user):
            raise PermissionDenied("Only staff, or users allowed to change persons, may do this.")
        if not faces_enabled():
            raise Http404("Faces are off.")
        try:
            messages.success(request, view(request, **kwargs))
        except (InvalidInput, StateConflict) as exc:
            messages.error(request, str(exc))
        target = kwargs.get("person_id") or request.POST.get("back", "")
        return HttpResponseRedirect(
            reverse("person", kwargs={"person_id": int(target)}) if str(target).isdigit() else reverse("people")
        )

    wrapper.__name__, wrapper.__doc__ = view.__name__, view.__doc__
    return wrapper


@_edit
def person_rename_page(request: HttpRequest, person_id: int) -> str:
    """POST ``name``: type the person's name (empty: back to the handle found on its photos)."""
    person = person_rename(person_id=person_id, name=request.POST.get("name", ""))
    return f"Renamed to {person.shown_name}." if person.shown_name else "Name cleared."


@_edit
def person_merge_page(request: HttpRequest, person_id: int) -> str:
    """POST ``from`` (one or more person ids): merge them into this person."""
    try:
        others = [int(value) for value in request.POST.getlist("from") if value.strip()]
    except ValueError:
        raise InvalidInput("Choose the persons to merge by their ids.", field="from") from None
    person = persons_merge(into_id=person_id, from_ids=others)
    return f"Merged {len(others)} into {person.shown_name or f'person {person.pk}'}."


@_edit
def person_hide_page(request: HttpRequest, person_id: int) -> str:
    """POST ``hidden`` (1 or 0): hide the person from the lists, or show it again."""
    hidden = request.POST.get("hidden", "1") == "1"
    person_hide(person_id=person_id, hidden=hidden)
    return "Hidden from the People page." if hidden else "Shown on the People page again."


@_edit
def face_not_person_page(request: HttpRequest, face_id: int) -> str:
    """POST: take the face from its person (``back``: the person page to return to)."""
    face_not_person(face_id=face_id)
    return "Taken from this person; it will not be grouped with them again."
