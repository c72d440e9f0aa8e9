"""The shared cache as an optional dependency: what it holds is recomputable, so a failed Redis call is a miss, and
opens a per-process circuit breaker for ``DOWN_SECONDS`` so one request never pays several timeouts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

logger = logging.getLogger(__name__)

WARNING_INTERVAL_SECONDS = 60.0

_T = TypeVar("_T")
_F = TypeVar("_F")


class CacheBreaker:
    """Whether a cache server may be called now. Per process and location, not per backend: Django gives each
    thread a backend instance of its own."""

    def __init__(self, location: str, down_seconds: float):
        self.location = location
        self.down_seconds = down_seconds
        self._lock = threading.Lock()
        self._retry_at: float | None = None  # None: closed (calls go through)
        self._warned_at = float("-inf")

    def allow(self) -> bool:
        """Whether a call may go to the server: the breaker is closed, or this caller makes the due probe (the next
        one is put off at once, so concurrent callers keep skipping)."""
        with self._lock:
            if self._retry_at is None:
                return True
            now = time.monotonic()
            if now < self._retry_at:
                return False
            self._retry_at = now + self.down_seconds
            return True

    @property
    def is_down(self) -> bool:
        """Whether the server failed its last call (the breaker is open or probing)."""
        with self._lock:
            return self._retry_at is not None

    def failed(self, error: Exception) -> None:
        """Open the breaker for ``down_seconds``; warn, at most once a minute."""
        now = time.monotonic()
        with self._lock:
            self._retry_at = now + self.down_seconds
            warn = now - self._warned_at >= WARNING_INTERVAL_SECONDS
            if warn:
                self._warned_at = now
        if warn:
            logger.warning(
                "The cache at %s does not answer (%s: %s): caches are recomputed and the anonymous rate "
                "limit is counted in this process's memory until it does; tried again every %g s.",
                self.location,
                type(error).__name__,
                error,
                self.down_seconds,
            )

    def answered(self) -> None:
        """Close the breaker after a call that reached the server."""
        with self._lock:
            if self._retry_at is None:
                return
            self._retry_at = None
        logger.info("The cache at %s answers again.", self.location)


_breakers: dict[str, CacheBreaker] = {}
_breakers_lock = threading.Lock()


def cache_breaker(location: str, down_seconds: float) -> CacheBreaker:
    """The process's breaker for the cache at ``location``."""
    with _breakers_lock:
        breaker = _breakers.get(location)
        if breaker is None:
            breaker = _breakers[location] = CacheBreaker(location, down_seconds)
        return breaker


class ResilientRedisCache(RedisCache):
    """Django's Redis cache with short timeouts, no retries, failures as misses. ``OPTIONS``: ``TIMEOUT_SECONDS``
    (socket connect and read), ``DOWN_SECONDS`` (how long a failure keeps calls away); the rest goes to redis-py."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        timeout = float(options.pop("TIMEOUT_SECONDS", 0.1))
        down_seconds = float(options.pop("DOWN_SECONDS", 5.0))
        # redis-py's defaults (long timeout, retries with backoff) would hold a request for minutes.
        options.setdefault("socket_timeout", timeout)
        options.setdefault("socket_connect_timeout", timeout)
        options.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(server, {**params, "OPTIONS": options})
        self.breaker = cache_breaker(str(server), down_seconds)

    def _guarded(self, call: Callable[..., _T], *args: Any, fallback: _F, **kwargs: Any) -> _T | _F:
        if not self.breaker.allow():
            return fallback
        try:
            result = call(*args, **kwargs)
        except RedisError as error:
            self.breaker.failed(error)
            return fallback
        self.breaker.answered()
        return result

    def add(self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._guarded(super().add, key, value, timeout, version, fallback=False)

    def get(self, key: Any, default: Any | None = None, version: int | None = None) -> Any:
        return self._guarded(super().get, key, default, version, fallback=default)

    def set(self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._guarded(super().set, key, value, timeout, version, fallback=None)

    def touch(self, key: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._guarded(super().touch, key, timeout, version, fallback=False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._guarded(super().delete, key, version, fallback=False)

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        return self._guarded(super().get_many, keys, version, fallback={})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._guarded(super().has_key, key, version, fallback=False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        missing = object()
        result = self._guarded(super().incr, key, delta, version, fallback=missing)
        if result is missing:
            raise ValueError(f"Key {key!r} not found (the cache does not answer).")
        return cast(int, result)

    def set_many(
        self, data: dict[Any, Any], timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        return self._guarded(super().set_many, data, timeout, version, fallback=list(data))

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self._guarded(super().delete_many, keys, version, fallback=None)

    def clear(self) -> bool:  # type: ignore[override]  # Django's RedisCache.clear returns the bool its stub omits
        return cast(bool, self._guarded(super().clear, fallback=False))
