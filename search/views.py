"""Server-rendered pages: thin shells that parse the request, call one selector and render a template. Every input
problem is an ``InvalidQuery`` whose message is shown on the page with status 400.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, cast

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods

from photosearch.db.replicas import search_read
from photosearch.throttling import throttled_page
from photosearch.uploads import upload_max_bytes, upload_size_error
from profiles.images import IMAGE_EXTENSIONS
from profiles.models import MediaType
from profiles.selectors import (
    photo_get,
    place_cities,
    place_countries,
    profile_list_with_counts,
    profile_list_with_last_import,
)
from search.inputs import offset_parse, search_filters_parse, sort_parse
from search.ml.encoders import encoder_unavailable_reason
from search.people_selectors import faces_shown
from search.query.image import upload_type_error
from search.query.parser import KINDS
from search.ranking.persons import faces_scanned, persons_shown_names
from search.selectors import (
    SORTS,
    InvalidQuery,
    NotEmbedded,
    RankingOptions,
    SearchFilters,
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
WORDS_CHOICES = {"": "Any of the words, best first", "all": "All the words"}


_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def _allow(*methods: str) -> Callable[[_View], _View]:
    """Like Django's ``require_http_methods``, but the 405 says so on a page of the site instead of an empty body."""

    def decorator(view: _View) -> _View:
        checked = require_http_methods(methods)(view)

        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = checked(request, *args, **kwargs)
            if isinstance(response, HttpResponse) and response.status_code == 405 and not response.content:
                response.content = render_to_string(
                    "405.html", {"method": request.method, "allowed": ", ".join(methods)}, request=request
                )
                response["Content-Type"] = "text/html; charset=utf-8"
            return response

        wrapper.__name__, wrapper.__doc__ = view.__name__, view.__doc__
        return cast(_View, wrapper)

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
    plain: str = ""  # kinds of understood parts to keep as words (the chips' ✕), comma-separated
    country: str = ""
    city: str = ""
    near: str = ""
    person: str = ""  # an id, a handle or a typed name
    faces: str = ""  # 0, 1, 2-5, 3+
    sort: str = "relevance"
    words: str = ""
    offset: str = "0"

    @classmethod
    def from_data(cls, data: QueryDict) -> SearchParams:
        return cls(
            query=data.get("q", ""),
            profile=data.get("profile", "").strip(),
            taken_from=data.get("from", "").strip(),
            # "media" is the form's older name of media_type (bookmarked searches)
            taken_to=data.get("to", "").strip(),
            media=data.get("media_type", data.get("media", "")),
            has_text=data.get("has_text", ""),
            plain=data.get("plain", "").strip(),
            country=data.get("country", "").strip(),
            city=data.get("city", "").strip(),
            near=data.get("near", "").strip(),
            person=data.get("person", "").strip(),
            faces=data.get("faces", "").strip(),
            sort=data.get("sort") or "relevance",
            words=data.get("words", ""),
            offset=data.get("offset") or "0",
        )

    @property
    def set_count(self) -> int:
        """How many of the form's filters (sort and match included) differ from their defaults: a phone's page opens
        its Filters disclosure when any does, so what narrows the results stays in sight."""
        chosen = (
            self.profile,
            self.taken_from,
            self.taken_to,
            self.media,
            self.has_text,
            self.country,
            self.city,
            self.near,
            self.person,
            self.faces,
            self.words,
            self.sort != "relevance",
        )
        return sum(1 for value in chosen if value)


@require_GET
@throttled_page
def search_page(request: HttpRequest) -> HttpResponse:
    """The search form and, when a query was typed, one page of results (``offset`` for the next pages)."""
    params = SearchParams.from_data(request.GET)
    context, status = _search_context(params=params), 200
    try:
        filters, sort, offset = _filters(params=params), _sort(params=params), _offset(params=params)
        if params.query.strip():
            plain = frozenset(kind for kind in params.plain.split(",") if kind in KINDS)
            result = photo_search(
                query=params.query,
                filters=filters,
                sort=sort,
                limit=PAGE_SIZE,
                offset=offset,
                ranking=RankingOptions(words=params.words or None),
                plain=plain,
            )
            context.update(
                result=result,
                shown_from=offset + 1,
                shown_to=offset + len(result.hits),
                chips=_chips(request=request, parts=result.understood, plain=plain),
                browsing=result.description == "",
            )
        else:
            # No words: browse what passes the filters (the profiles page's links), or with none the whole library
            # (the home page's recent photos), newest first. An empty library keeps its hint of how to import.
            result = photo_browse(filters=filters, sort=sort, limit=PAGE_SIZE, offset=offset)
            if filters or result.hits:
                context.update(
                    result=result,
                    browsing=True,
                    home=not filters,
                    shown_from=offset + 1,
                    shown_to=offset + len(result.hits),
                )
    except InvalidQuery as exc:
        context["error"], status = exc.labelled, 400
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
            data=_upload_bytes(upload), filters=_filters(params=params), sort=_sort(params=params), limit=PAGE_SIZE
        )
    except InvalidQuery as exc:
        context["error"], status = exc.labelled, 400
    return render(request, "search/index.html", context, status=status)


@require_GET
@throttled_page  # it runs a similarity search: the same budget as searching
def photo_page(request: HttpRequest, photo_id: int) -> HttpResponse:
    """One photo: its image, words, caption, source, and the photos that look most like it."""
    photo = search_read(photo_get)(photo_id=photo_id)  # a failing replica: read again on the primary
    if photo is None:
        raise Http404("No such photo.")
    # A duplicate shares the original's image, caption and vector; its own words and link stay its own.
    shown = photo.duplicate_of or photo
    context: dict[str, Any] = {
        "photo": photo,
        "shown": shown,
        "similar": None,
        "similar_error": "",
        "faces": faces_shown(photo_id=shown.pk),  # none while faces are off
    }
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


@search_read  # the form's lists are search reads too: a replica's when one answers, else (or if it fails) the primary's
def _form_lists(*, country: str, using: str) -> dict:
    countries = place_countries(using=using)
    return {
        "profiles": list(profile_list_with_counts(using=using)),
        "countries": countries,
        # Towns to suggest: those of the chosen country (every town of a big library would make a long page).
        "cities": [city for _, city in place_cities(country_codes=(country,), using=using)]
        if country in dict(countries)
        else [],
        # The person and faces fields, once the faces stage has looked at photos.
        "faces_scanned": faces_scanned(using=using),
        "person_names": [name or f"@{handle}" for name, handle in persons_shown_names(using=using)],
    }


def _search_context(*, params: SearchParams) -> dict:
    return {
        "params": params,
        **_form_lists(country=params.country.upper()),
        "result": None,
        "error": "",
        "by_image": False,
        "home": False,
        "sort_choices": SORT_CHOICES,
        "media_choices": MEDIA_CHOICES,
        "has_text_choices": HAS_TEXT_CHOICES,
        "words_choices": WORDS_CHOICES,
        "max_upload_mb": upload_max_bytes() // (1024 * 1024),
        "image_formats": image_formats_label(),
        "image_accept": ",".join(("image/*", *IMAGE_EXTENSIONS)),  # HEIC is no image/* to some browsers' pickers
        # Why search by looks is off and how to turn it on, shown once above the results (_model_notice.html)
        "model_notice": encoder_unavailable_reason() or "",
    }


# How people write the formats whose name is not just the extension in capitals.
FORMAT_NAMES = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WebP"}


def image_formats_label() -> str:
    """The image formats imports and search by image accept, in words: "JPEG, PNG, … or AVIF" (from the one list,
    ``profiles.images.IMAGE_EXTENSIONS``)."""
    names = list(dict.fromkeys(FORMAT_NAMES.get(ext, ext.lstrip(".").upper()) for ext in IMAGE_EXTENSIONS))
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]


def _filters(*, params: SearchParams) -> SearchFilters:
    """The selector's filters (the API's parser: the same mistake gets the same message on both)."""
    return search_filters_parse(
        {
            "profile": params.profile,
            "from": params.taken_from,
            "to": params.taken_to,
            "media_type": params.media,
            "has_text": params.has_text,
            "country": params.country,
            "city": params.city,
            "near": params.near,
            "person": params.person,
            "faces": params.faces,
        }
    )


CHIP_LABELS = {
    "date": "date",
    "place": "place",
    "profile": "profile",
    "person": "person",
    "hashtag": "hashtag",
    "media_type": "type",
    "has_text": "text in the photo",
}


def _chips(*, request: HttpRequest, parts, plain: frozenset[str]) -> list[dict]:
    """One chip per understood part: what it is, its value as people read it, and the URL of the same search with
    that part taken as plain words (its kind added to ``plain``; back to the first page)."""
    chips = []
    for part in parts:
        undo = request.GET.copy()
        undo["plain"] = ",".join(sorted(plain | {part.kind}))
        undo.pop("offset", None)
        chips.append(
            {
                "kind": part.kind,
                "label": CHIP_LABELS.get(part.kind, part.kind),
                "text": part.text,
                "value": _chip_value(part),
                "undo_url": f"?{undo.urlencode()}",
            }
        )
    return chips


def _chip_value(part) -> str:
    if part.kind == "date" and part.date_from and part.date_to:
        first, last = part.date_from, part.date_to
        if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31):
            return str(first.year) if first.year == last.year else f"{first.year}–{last.year}"
        if first == last:
            return f"{first.day} {first:%B %Y}"
        if (
            first.day == 1
            and (last + timedelta(days=1)).day == 1
            and (first.year, first.month) == (last.year, last.month)
        ):
            return f"{first:%B %Y}"
        return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"
    if part.kind == "place" and part.place is not None:
        return part.place.name if part.place.kind == "country" else f"{part.place.name}, {part.place.country}"
    if part.kind == "person" and part.shown:
        return part.shown  # "@maria", or a person's typed name
    if part.kind in ("person", "profile"):
        return f"@{part.value}"
    if part.kind == "hashtag":
        return f"#{part.value}"
    if part.kind == "media_type":
        return MEDIA_CHOICES.get(part.value, part.value)
    return "yes" if part.kind == "has_text" else part.value


def _sort(*, params: SearchParams) -> str:
    return sort_parse(params.sort)


def _offset(*, params: SearchParams) -> int:
    return offset_parse(params.offset)


def _upload_bytes(upload) -> bytes:
    """The uploaded file's bytes; refused before reading when it is missing or larger than the limit."""
    if upload is None:
        raise InvalidQuery("Choose an image file to search with.", field="image")
    if too_large := upload_size_error(upload.size, name=upload.name):
        raise InvalidQuery(too_large, field="image")
    if not_image := upload_type_error(content_type=upload.content_type, name=upload.name):
        raise InvalidQuery(not_image, field="image")
    return upload.read()
