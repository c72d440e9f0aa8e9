"""One anonymous rate limit per client address, shared by the API and the pages, counted in the default cache (in
each process's memory while it is down, never unlimited). Signed-in users are not throttled."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.core.cache import cache as default_cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle


class AnonThrottle(AnonRateThrottle):
    """DRF's anonymous throttle with the rate read per request: DRF's keeps the rates it saw at import time."""

    def get_rate(self) -> str | None:
        return cast("dict[str | None, str | None]", api_settings.DEFAULT_THROTTLE_RATES).get(self.scope)

    @property
    def cache(self) -> BaseCache:  # type: ignore[override]  # DRF reads it; a property is what makes it per request
        """The default cache, or this process's memory while the default cache is marked down."""
        breaker = getattr(default_cache, "breaker", None)
        return _LOCAL_COUNTS if breaker is not None and breaker.is_down else default_cache


# Counts kept while the shared cache is down (a process-wide dict behind a lock; LocMemCache's own name keys it).
_LOCAL_COUNTS = LocMemCache("photosearch-throttle-fallback", {"MAX_ENTRIES": 100_000})


def throttled_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Apply the anonymous rate limit to a page view: over it, a 429 page with ``Retry-After``."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = AnonThrottle()
        # A page has no DRF Request or view: the throttle reads only META and user, which an HttpRequest has.
        if throttle.allow_request(request, None):  # type: ignore[arg-type]
            return view(request, *args, **kwargs)
        wait = math.ceil(throttle.wait() or 1)
        response = HttpResponse(render_to_string("429.html", {"wait": wait}, request=request), status=429)
        response["Retry-After"] = str(wait)
        return response

    return wrapper
