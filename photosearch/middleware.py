"""Request guards that must run before anything reads the request body."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from photosearch.uploads import upload_body_too_large, upload_max_bytes, upload_too_large_message


class RequestSizeLimitMiddleware:
    """Answer 413 to a request whose declared body is larger than anything photosearch accepts (an image for search
    by image, PHOTOSEARCH_MAX_UPLOAD_BYTES), before a byte of it is read.

    Without it Django streams any multipart body to a temporary file first: the CSRF check reads the form, so a 10 GB
    POST to the search-by-image page filled the disk before the view could refuse it. A body without a
    Content-Length (chunked) is never read by Django at all, so the declared length is the whole story.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django reads no body for an unreadable length either
        if not upload_body_too_large(declared):
            return self.get_response(request)
        message = upload_too_large_message()
        if request.path.startswith("/api/"):
            # The API's error shape (photosearch/api.py), as SearchByImageApi answers an oversized image itself.
            response = JsonResponse(
                {"error": f"image: {message}", "details": {"image": [message], "max_bytes": upload_max_bytes()}},
                status=413,
            )
        else:
            response = HttpResponse(
                render_to_string("413.html", {"message": message}, request=request), status=413
            )
        return response
