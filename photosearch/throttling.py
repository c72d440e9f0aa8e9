"""One anonymous rate limit for every search entry point: the API's views and the search pages count against the
same budget per client address, in the default cache (Redis when configured: see ``CACHES`` in settings, so that
every web process shares the count).

The rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"]`` (``PHOTOSEARCH_API_ANON_RATE``). Signed-in users
(token or admin session) are not throttled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle


class AnonThrottle(AnonRateThrottle):
    """DRF's anonymous throttle (keyed by client address, counted in the default cache), with the rate looked up on
    every request: DRF's own class keeps the rates it saw at import time, so a changed setting would be ignored."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


def throttled_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Apply the anonymous rate limit to a page view: over it, a 429 page that says when to retry (and a
    ``Retry-After`` header), counted together with the API's requests."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        throttle = AnonThrottle()
        if throttle.allow_request(request, None):
            return view(request, *args, **kwargs)
        wait = math.ceil(throttle.wait() or 1)
        response = HttpResponse(render_to_string("429.html", {"wait": wait}, request=request), status=429)
        response["Retry-After"] = str(wait)
        return response

    return wrapper
