"""What every API view shares: OpenAPI conventions, the one error shape and its handler, permissions, throttling,
the paging cursor, and one URL serving one view per method."""

from __future__ import annotations

import base64
import binascii
import copy
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, OpenApiResponse
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import APIException, NotFound, Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from photosearch.errors import InvalidInput, StateConflict
from photosearch.middleware import anonymous_reads_allowed, may_read
from photosearch.throttling import AnonThrottle

# --- OpenAPI schema (drf-spectacular) -------------------------------------------------------------------------------
# REST_FRAMEWORK names ApiAutoSchema as DEFAULT_SCHEMA_CLASS: every @extend_schema of the apps' views subclasses it as
# it decorates, so this module must import nothing of theirs.


class ApiAutoSchema(AutoSchema):
    """Names components after the view of a nested serializer (``ProfileCreateInput``, not a clash of ``Input``s)
    and marks reads as open to anonymous callers when ``ReadPermission`` lets them in."""

    def get_serializer_name(self, serializer: serializers.Serializer[Any], direction: Direction) -> str:
        name = type(serializer).__qualname__
        if "." in name:
            view, nested = name.rsplit(".", 1)
            return view.removesuffix("Api") + nested.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)

    def get_auth(self) -> list[dict[str, Any]]:
        # An operation anyone may call has no security requirement at all: an optional one (`{}` among the schemes)
        # still draws Swagger UI's lock, and clients read the lock as "a token is required".
        if any(getattr(p, "allows_anonymous", lambda: False)() for p in self.view.get_permissions()):
            return []
        return super().get_auth()


_Endpoint = tuple[str, str, str, Callable[..., HttpResponseBase]]  # path, its regex, method, view


class ApiEndpointEnumerator(EndpointEnumerator):
    # drf-spectacular's enumerator is unannotated (py.typed notwithstanding): its two methods are untyped calls
    def _get_api_endpoints(self, patterns: Sequence[URLPattern | URLResolver] | None, prefix: str) -> list[_Endpoint]:
        endpoints: list[_Endpoint] = super()._get_api_endpoints(patterns, prefix)  # type: ignore[no-untyped-call]
        for pattern in self.patterns or () if patterns is None else patterns:
            method_views = getattr(getattr(pattern, "callback", None), "method_views", None)
            if method_views:
                path_regex = prefix + str(pattern.pattern)
                path = self.get_path_from_regex(path_regex)  # type: ignore[no-untyped-call]
                endpoints.extend((path, path_regex, method, view.as_view()) for method, view in method_views.items())
        return endpoints


class ApiSchemaGenerator(SchemaGenerator):
    """drf-spectacular's generator, aware of ``method_dispatch`` URLs."""

    endpoint_inspector_cls = ApiEndpointEnumerator


# --- Errors -----------------------------------------------------------------------------------------------------


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"

    def __init__(self, detail: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.details = details or {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Give every API error one body: ``{"error": "<one sentence>", "details": {...}}``.

    ``InvalidInput`` becomes a 400 naming its field, ``StateConflict`` a 409; a validation error names its first field
    and keeps every message in ``details``; a 429 carries ``details.retry_after``."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(str(exc) or PayloadTooLarge.default_detail)
    elif isinstance(exc, InvalidInput):
        exc = ValidationError({exc.field or api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]})
    elif isinstance(exc, StateConflict):
        exc = Conflict(str(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        where, message = _first_error(exc.detail)
        details: dict[str, Any] = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"error": f"{where}: {message}" if where else message, "details": details}
    else:
        detail = response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data
        details = getattr(exc, "details", {})
        wait: float | None = getattr(exc, "wait", None)  # Throttled's; its stub does not declare it
        if isinstance(exc, Throttled) and wait is not None:
            details = {"retry_after": math.ceil(wait)}
        response.data = {"error": str(detail), "details": details}
    return response


def _first_error(detail: object, path: tuple[str, ...] = ()) -> tuple[str, str]:
    """(dotted field path, first message) of a nested DRF error detail."""
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        return _first_error(value, path if key == api_settings.NON_FIELD_ERRORS_KEY else (*path, str(key)))
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], path)
    return ".".join(path), str(detail)


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every error answer."""

    error = serializers.CharField(help_text="One sentence; starts with the field it is about (`q: …`) if any.")
    details = serializers.DictField(help_text="Per-field messages for a 400; `retry_after` (seconds) for a 429.")


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The schema's error answers of a view: the given codes, plus 429 (anonymous throttling) for every view."""
    return {code: OpenApiResponse(ErrorSerializer, description=_ERROR_MEANINGS[code]) for code in (*codes, 429)}


_ERROR_MEANINGS = {
    400: "A parameter is missing or invalid; `error` names it.",
    401: "No valid token (reads need one when PHOTOSEARCH_API_PUBLIC_READS is false).",
    403: "The token's user is not staff (writes need a staff user).",
    404: "No such object.",
    409: "The request conflicts with the current state.",
    413: "The upload is larger than PHOTOSEARCH_MAX_UPLOAD_BYTES.",
    429: "Too many anonymous requests (PHOTOSEARCH_API_ANON_RATE); `details.retry_after` says when to retry.",
}


# --- Who may call, how often ----------------------------------------------------------------------------------------


class ReadPermission(permissions.BasePermission):
    """Reads are public unless PHOTOSEARCH_API_PUBLIC_READS is false; then any authenticated user (token or session)
    may read. The same predicate as the pages' and media's (``photosearch.middleware.may_read``)."""

    def allows_anonymous(self) -> bool:
        return anonymous_reads_allowed()

    def has_permission(self, request: Request, view: APIView) -> bool:
        return may_read(request.user)


class WritePermission(permissions.IsAdminUser):
    """Writes (creating profiles, starting imports) need a staff user: a staff user's token or admin session."""

    message = "Only staff users may do this."


class ApiView(APIView):
    """Base of the photosearch API views: public (or token) reads, anonymous throttling. Write views set
    ``permission_classes = [WritePermission]``."""

    permission_classes = [ReadPermission]
    throttle_classes = [AnonThrottle]


# --- Input serializers' fields ---------------------------------------------------------------------------------


def field_copy(field: serializers.Field[Any, Any, Any, Any]) -> serializers.Field[Any, Any, Any, Any]:
    """What ``copy.deepcopy`` makes of a declared field in DRF's ``get_fields``, without re-running its ``__init__``
    (why: docs/benchmarks.md, "Where an API request's time goes, by layer").

    Sound because a declared field is never bound and holds only what ``__init__`` set; the containers it holds are
    only read, so copies share them. A ``child`` gets its own copy; a nested serializer is deep-copied."""
    if isinstance(field, serializers.BaseSerializer):
        return copy.deepcopy(field)
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    child = field.__dict__.get("child")
    if isinstance(child, serializers.Field):
        copied = field_copy(child)
        vars(copied)["parent"] = clone  # its name and source ("") were set when the declared field bound it
        vars(clone)["child"] = copied  # a ListField's or DictField's, set as its __init__ sets it
    return clone


# --- Output fields ------------------------------------------------------------------------------------------------


class NullableCharField(serializers.CharField):
    """Text that is null, not "", when missing (a photo with no caption, a job with no error): clients test one value
    for "none". ``allow_null`` marks it nullable in the schema."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]  # null: the point of it
        return super().to_representation(value) or None


# --- Paging -------------------------------------------------------------------------------------------------------

_CURSOR = re.compile(r"o(\d{1,9})")


def cursor_encode(offset: int) -> str:
    """The opaque cursor for ``offset`` (clients must not build cursors themselves; the encoding may change)."""
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


class CursorField(serializers.CharField):
    """A ``next`` cursor from an earlier answer; validates to the offset it encodes, at most ``max_offset``."""

    default_error_messages = {"invalid_cursor": "Invalid cursor; use the `next` URL of an earlier answer."}

    def __init__(self, *, max_offset: int, **kwargs: Any) -> None:
        self.max_offset = max_offset
        super().__init__(**kwargs)

    def to_internal_value(self, data: str) -> int:  # type: ignore[override]  # the offset, not the text
        text = super().to_internal_value(data)
        try:
            match = _CURSOR.fullmatch(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            match = None
        if match is None or int(match[1]) > self.max_offset:
            self.fail("invalid_cursor")
        return int(match[1])


class ApiNotFound(ApiView):
    """Any other path under /api/: a 404 in the API's error shape instead of Django's HTML page."""

    permission_classes = [permissions.AllowAny]
    schema = None  # not an endpoint

    def http_method_not_allowed(self, request: HttpRequest | Request, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotFound(f"No API endpoint at {request.path}.")


# --- Several operations on one URL --------------------------------------------------------------------------------


def method_dispatch(**views: type[APIView]) -> Callable[..., HttpResponseBase]:
    """One URL, one APIView per HTTP method: ``method_dispatch(GET=ProfileListApi, POST=ProfileCreateApi)``;
    ``ApiSchemaGenerator`` lists each view under its method."""
    handlers = {method.upper(): view.as_view() for method, view in views.items()}
    if "GET" in handlers:
        handlers.setdefault("HEAD", handlers["GET"])
    fallback = next(iter(handlers.values()))
    allowed = ", ".join([*handlers, "OPTIONS"])

    @csrf_exempt  # like every APIView: token clients have no CSRF token; session users are checked by DRF
    def dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = handlers.get(request.method or "", fallback)(request, *args, **kwargs)
        if request.method == "OPTIONS" or response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            response["Allow"] = allowed
        return response

    dispatch.method_views = {method.upper(): view for method, view in views.items()}  # type: ignore[attr-defined]
    return dispatch
