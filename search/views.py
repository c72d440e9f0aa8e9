"""Server-rendered pages: thin shells that parse the request, call one selector and render a template.

Every input problem — an empty or over-long query, an unknown profile, a bad date, an upload that is too large or
not an image — is an ``InvalidQuery`` whose message is shown on the page with status 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods

from photosearch.throttling import throttled_page
from profiles.models import MediaType
from profiles.selectors import (
    photo_get,
    profile_ids_for_handle,
    profile_list_with_counts,
    profile_list_with_last_import,
)
from search.apis import FIRST_DAY, LAST_DAY
from search.selectors import (
    SORTS,
    InvalidQuery,
    NotEmbedded,
    SearchFilters,
    day_range,
    photo_browse,
    photo_search,
    photo_search_by_image,
    photo_similar,
)

PAGE_SIZE = 24
SIMILAR_SIZE = 12

SORT_CHOICES = dict(zip(SORTS, ("Best match", "Newest first", "Oldest first"), strict=True))
MEDIA_CHOICES = {"": "Any", MediaType.IMAGE: "Photos", MediaType.VIDEO: "Videos"}
HAS_TEXT_CHOICES = {"": "Any", "yes": "Has its own words", "no": "No words of its own"}
_HAS_TEXT = {"": None, "yes": True, "no": False}


def _allow(*methods: str):
    """Like Django's ``require_http_methods``, but the 405 says so on a page of the site instead of an empty body."""

    def decorator(view):
        checked = require_http_methods(methods)(view)

        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = checked(request, *args, **kwargs)
            if response.status_code == 405 and not response.content:
                response.content = render_to_string(
                    "405.html", {"method": request.method, "allowed": ", ".join(methods)}, request=request
                )
                response["Content-Type"] = "text/html; charset=utf-8"
            return response

        wrapper.__name__, wrapper.__doc__ = view.__name__, view.__doc__
        return wrapper

    return decorator


require_GET = _allow("GET", "HEAD")
require_POST = _allow("POST")


@dataclass(frozen=True)
class SearchParams:
    """The search form's fields as typed in: shown again in the form, checked when turned into a search."""

    query: str = ""
    profile: str = ""
    taken_from: str = ""  # YYYY-MM-DD
    taken_to: str = ""  # YYYY-MM-DD, inclusive
    media: str = ""
    has_text: str = ""
    sort: str = "relevance"
    offset: str = "0"

    @classmethod
    def from_data(cls, data: QueryDict) -> SearchParams:
        return cls(
            query=data.get("q", ""), profile=data.get("profile", "").strip(), taken_from=data.get("from", "").strip(),
            taken_to=data.get("to", "").strip(), media=data.get("media", ""), has_text=data.get("has_text", ""),
            sort=data.get("sort") or "relevance", offset=data.get("offset") or "0",
        )


@require_GET
@throttled_page
def search_page(request: HttpRequest) -> HttpResponse:
    """The search form and, when a query was typed, one page of results (``offset`` for the next pages)."""
    params = SearchParams.from_data(request.GET)
    context, status = _search_context(params=params), 200
    try:
        filters, sort, offset = _filters(params=params), _sort(params=params), _offset(params=params)
        if params.query.strip():
            result = photo_search(query=params.query, filters=filters, sort=sort, limit=PAGE_SIZE, offset=offset)
            context.update(result=result, shown_from=offset + 1, shown_to=offset + len(result.hits))
        elif filters:
            # No words but a profile or other filter (e.g. the profiles page's links): browse, newest first.
            result = photo_browse(filters=filters, sort=sort, limit=PAGE_SIZE, offset=offset)
            context.update(result=result, browsing=True, shown_from=offset + 1, shown_to=offset + len(result.hits))
    except InvalidQuery as exc:
        context["error"], status = str(exc), 400
    return render(request, "search/index.html", context, status=status)


@require_POST
@throttled_page
def search_by_image_page(request: HttpRequest) -> HttpResponse:
    """Results for an uploaded picture (multipart ``image``), with the search form's filters and sort."""
    params = SearchParams.from_data(request.POST)
    upload = request.FILES.get("image")
    context, status = _search_context(params=params), 200
    context.update(by_image=True, upload_name=upload.name if upload else "")
    try:
        context["result"] = photo_search_by_image(
            data=_upload_bytes(upload), filters=_filters(params=params), sort=_sort(params=params), limit=PAGE_SIZE,
        )
    except InvalidQuery as exc:
        context["error"], status = str(exc), 400
    return render(request, "search/index.html", context, status=status)


@require_GET
def photo_page(request: HttpRequest, photo_id: int) -> HttpResponse:
    """One photo: its image, words, caption, source, and the photos that look most like it."""
    photo = photo_get(photo_id=photo_id)
    if photo is None:
        raise Http404("No such photo.")
    # A duplicate shares the original's image, caption and vector; its own words and link stay its own.
    shown = photo.duplicate_of or photo
    context = {"photo": photo, "shown": shown, "similar": None, "similar_error": ""}
    try:
        context["similar"] = photo_similar(photo=shown, limit=SIMILAR_SIZE)
    except NotEmbedded:
        context["similar_error"] = (
            "This photo has not been indexed yet, so there is nothing to compare it with. "
            "Run python manage.py embed_photos and reload."
        )
    return render(request, "search/photo.html", context)


@require_GET
def profiles_page(request: HttpRequest) -> HttpResponse:
    """Every profile with its photo and embedding counts and its last import."""
    return render(request, "profiles/list.html", {"profiles": profile_list_with_last_import()})


# --- Parsing ------------------------------------------------------------------------------------------------------


def _search_context(*, params: SearchParams) -> dict:
    return {
        "params": params,
        "profiles": profile_list_with_counts(),
        "result": None,
        "error": "",
        "by_image": False,
        "sort_choices": SORT_CHOICES,
        "media_choices": MEDIA_CHOICES,
        "has_text_choices": HAS_TEXT_CHOICES,
        "max_upload_mb": _max_upload_bytes() // (1024 * 1024),
    }


def _filters(*, params: SearchParams) -> SearchFilters:
    """The selector's filters, or ``InvalidQuery`` naming the bad field. The profile is looked up by handle; dates
    are whole days in the display time zone, the To day included."""
    profile_ids: tuple[int, ...] = ()
    if params.profile:
        # PostgreSQL text cannot hold NUL: no handle has one, and the query would fail.
        profile_ids = () if "\x00" in params.profile else tuple(profile_ids_for_handle(params.profile))
        if not profile_ids:
            raise InvalidQuery(f"There is no profile named “{params.profile}”.")
    if params.media not in MEDIA_CHOICES:
        raise InvalidQuery(f"Unknown media type “{params.media}”; choose image or video.")
    if params.has_text not in HAS_TEXT_CHOICES:
        raise InvalidQuery(f"Unknown words filter “{params.has_text}”; choose yes or no.")
    taken_from = _date(value=params.taken_from, label="From")
    taken_to = _date(value=params.taken_to, label="To")
    if taken_from and taken_to and taken_from > taken_to:
        raise InvalidQuery("The From date is after the To date.")
    taken_from_at, taken_to_at = day_range(taken_from, taken_to)
    return SearchFilters(
        profile_ids=profile_ids,
        taken_from=taken_from_at,
        taken_to=taken_to_at,
        media_type=params.media or None,
        has_text=_HAS_TEXT[params.has_text],
    )


def _sort(*, params: SearchParams) -> str:
    if params.sort not in SORT_CHOICES:
        raise InvalidQuery(f"Unknown sort “{params.sort}”; choose one of {', '.join(SORTS)}.")
    return params.sort


def _offset(*, params: SearchParams) -> int:
    if not (params.offset.isascii() and params.offset.isdigit()):  # not "²", which isdigit() but int() refuses
        raise InvalidQuery("offset must be a whole number.")
    return int(params.offset)  # the selector checks the range


def _date(*, value: str, label: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidQuery(f"{label} date “{value}” is not a date like 2024-06-30.") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidQuery(f"{label} date {value} is out of range ({FIRST_DAY} to {LAST_DAY}).")
    return day


def _max_upload_bytes() -> int:
    return settings.PHOTOSEARCH_MAX_UPLOAD_BYTES


def _upload_bytes(upload) -> bytes:
    """The uploaded file's bytes; refused before reading when it is missing or larger than the limit."""
    if upload is None:
        raise InvalidQuery("Choose an image file to search with.")
    limit = _max_upload_bytes()
    if upload.size > limit:
        raise InvalidQuery(
            f"“{upload.name}” is too large ({upload.size / 1048576:.1f} MB; at most {limit / 1048576:g} MB)."
        )
    # The browser's word for the type is only a hint (the selector decodes the bytes), but text/html is never a photo.
    if upload.content_type and upload.content_type.split("/")[0] in {"text", "audio", "video"}:
        raise InvalidQuery(f"“{upload.name}” is not an image ({upload.content_type}).")
    return upload.read()
