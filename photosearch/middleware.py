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
    """Answer 413 to a request whose declared body is larger than anything photosearch accepts (an image for search
    by image, PHOTOSEARCH_MAX_UPLOAD_BYTES), before a byte of it is read.

    Without it Django streams any multipart body to a temporary file first: the CSRF check reads the form, so a 10 GB
    POST to the search-by-image page filled the disk before the view could refuse it. A body without a
    Content-Length (chunked) is never read by Django at all, so the declared length is the whole story.
    """

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
    """Whether anyone may read without signing in (PHOTOSEARCH_API_PUBLIC_READS), read at request time so the
    setting can change under a running test server. The API's ``ReadPermission`` asks the same question."""
    return settings.PHOTOSEARCH_API_PUBLIC_READS


def may_read(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Whether ``user`` (a session's or a token's; anonymous included) may read photos, pages and media."""
    return anonymous_reads_allowed() or bool(user is not None and user.is_authenticated)


class ReadAccessMiddleware:
    """With anonymous reads off, every page, photo page and media file needs a signed-in user (an admin session, or
    an API token: an API client must be able to fetch the thumbnails its answers link to).

    Deciding here, by path, and not with a decorator per view: a page added later is closed too. Open whatever the
    switch: the sign-in page, the admin (it guards itself), static files, and the API, whose ``ReadPermission``
    applies the same predicate and answers in the API's error shape (401 with ``WWW-Authenticate``). An anonymous
    page visit is sent to the site's sign-in page with ``?next=`` (any active user signs in there; the admin's own
    login takes staff only); a media request gets a bare 403 (an ``<img>`` cannot follow
    a login form). Media a bucket or a web server serves never reaches Django and is not covered.
    """

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
    """The session's user, else the user of a valid ``Authorization: Token …`` header, else None.

    ``request.user`` is left as it is: setting it to a token's user would make DRF's session authentication
    demand a CSRF token from token clients."""
    user: AbstractBaseUser | AnonymousUser | None = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    try:
        # Before DRF wraps the request: the token check reads only the Authorization header, which this one has.
        found: tuple[AbstractBaseUser, object] | None = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    except AuthenticationFailed:
        return None
    return found[0] if found else None
