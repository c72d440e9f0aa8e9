"""Request guards: the body size, refused before anything reads the body, and who may read (one switch for
anonymous reads: pages, photo pages, media and API alike)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from photosearch.uploads import upload_body_too_large, upload_max_bytes, upload_too_large_message


class RequestSizeLimitMiddleware:
    """Answer 413 to a request whose declared body exceeds any acceptable upload, before a byte of it is read.

    Why: the CSRF check reads the form, and Django spools any multipart body to disk first. A chunked body (no
    Content-Length) is never read by Django, so the declared length is enough."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.headers.get("content-length") or 0)
        except ValueError:
            declared = 0  # Django reads no body for an unreadable length either
        if not upload_body_too_large(declared):
            return self.get_response(request)
        message = upload_too_large_message()
        response: HttpResponse
        if request.path.startswith("/api/"):
            # The API's error shape (photosearch/api.py), as SearchByImageApi answers an oversized image itself.
            response = JsonResponse(
                {"error": f"image: {message}", "details": {"image": [message], "max_bytes": upload_max_bytes()}},
                status=413,
            )
        else:
            response = HttpResponse(render_to_string("413.html", {"message": message}, request=request), status=413)
        return response


def anonymous_reads_allowed() -> bool:
    """Whether anyone may read without signing in (PHOTOSEARCH_API_PUBLIC_READS, read at request time)."""
    return settings.PHOTOSEARCH_API_PUBLIC_READS


def may_read(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Whether ``user`` (a session's or a token's; anonymous included) may read photos, pages and media."""
    return anonymous_reads_allowed() or bool(user is not None and user.is_authenticated)


class ReadAccessMiddleware:
    """With anonymous reads off, every page and media file needs a session or an API token (API clients fetch the
    thumbnails their answers link to). By path, not per view, so a page added later is closed too.

    Always open: sign-in, the admin, static files, and the API (its ``ReadPermission`` answers in the API's shape).
    Pages redirect to sign-in; media gets a bare 403, since an ``<img>`` cannot follow a login form."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if anonymous_reads_allowed() or _always_open(request) or may_read(_reader(request)):
            return self.get_response(request)
        if request.path_info.startswith(settings.MEDIA_URL):
            return HttpResponse("Sign in to see photos.", status=403, content_type="text/plain; charset=utf-8")
        return redirect_to_login(request.get_full_path(), reverse("login"))


def _always_open(request: HttpRequest) -> bool:
    # reverse() and STATIC_URL carry the script prefix, as request.path does; the URLconf mounts the API at api/.
    return request.path.startswith(
        (reverse("login"), reverse("admin:index"), settings.STATIC_URL)
    ) or request.path_info.startswith("/api/")


def _reader(request: HttpRequest) -> AbstractBaseUser | AnonymousUser | None:
    """The session's user, else a valid ``Authorization: Token …`` header's, else None. ``request.user`` is left
    alone: a token's user there would make DRF's session authentication demand CSRF from token clients."""
    user: AbstractBaseUser | AnonymousUser | None = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    try:
        # Before DRF wraps the request: the token check reads only the Authorization header, which this one has.
        found: tuple[AbstractBaseUser, object] | None = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    except AuthenticationFailed:
        return None
    return found[0] if found else None
